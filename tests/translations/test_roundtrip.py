"""Adding a language: export every text to a sheet, fill the new column, import, build, export again.

Also: a build lists every missing text at once; stale translations are reported and not used; the
import refuses a sheet edited where it must not be (one line per problem, nothing written).
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import yaml
from openpyxl import load_workbook

from survmig.errors import SurvmigError
from survmig.questionnaire import language_label, load_questionnaire
from survmig.translations.overlay import SHOWN_PROBLEMS, MissingTexts
from survmig.translations.sheet import export_sheet, import_sheet
from survmig.xlsform import compile_questionnaire, validate_xlsform
from tests.translations.sheets import EXAMPLE, PT, set_cell


def fake(text: str) -> str:
    """A 'translation' that keeps every {{parameter}} and ${reference} of the source."""
    return f"[pt] {text}"


def rows(path: Path, sheet: str = "translations") -> list[dict]:
    ws = load_workbook(path)[sheet]
    values = list(ws.iter_rows(values_only=True))
    return [dict(zip(values[0], row, strict=True)) for row in values[1:]]


def fill(path: Path, column: str, translate=fake, *, only_empty: bool = True) -> int:
    """Fill the empty cells of ``column`` from the English column; how many were filled."""
    wb = load_workbook(path)
    ws = wb["translations"]
    header = [c.value for c in ws[1]]
    en, target = header.index("English (en)"), header.index(column)
    n = 0
    for row in ws.iter_rows(min_row=2):
        if not row[target].value or not only_empty:
            row[target].value = translate(row[en].value)
            n += 1
    wb.save(path)
    return n


def add_portuguese(spec: Path, files: str = "[translations/pt.yaml]") -> None:
    text = spec.read_text(encoding="utf-8")
    text = text.replace(
        "languages: [en, fr, ar]", f"languages: [en, fr, ar, pt]\ntranslations: {files}"
    )
    spec.write_text(text, encoding="utf-8")


def test_round_trip_export_fill_import_build_export(spec, tmp_path, run_cli):
    sheet = tmp_path / "pt.xlsx"
    result = run_cli("translations", "export", spec, "--lang", "pt", "-o", sheet)
    assert result.exit_code == 0, result.stderr
    table = rows(sheet)
    header = list(table[0])
    assert header == [
        "key",
        "kind",
        "where",
        "English (en)",
        "Français (fr)",
        "العربية (ar)",
        PT,
        "note",
    ]
    by_key = {r["key"]: r for r in table}
    assert len(by_key) == len(table)  # keys are unique
    # every kind of text is there: title, labels, hints, messages, lists, specials, names
    for key in (
        "title",
        "household_roster/hh_size/label",
        "household_roster/hh_size/hint",  # from the spec's override
        "household_roster/hh_size/constraint_message",
        "list/relationship/1",
        "list/cc_area/1",  # the spec's add_choices
        "list/special_codes/-8",
        "list/countries/FRA",
        "list/currencies/EUR",
        "name/country/MAR",
    ):
        assert key in by_key, key
    assert by_key["household_roster/hh_size/hint"]["where"].startswith(f"{spec}:")
    assert re.search(
        r"household_roster\.yaml:\d+$", by_key["household_roster/hh_size/label"]["where"]
    )
    # pycountry has Portuguese names: prefilled, not to translate
    assert by_key["list/countries/FRA"][PT] == "França"
    assert by_key["name/country/MAR"][PT] == "Marrocos"
    assert by_key["household_roster/hh_size/label"][PT] is None
    to_fill = sum(1 for r in table if r[PT] is None)
    assert f"to translate: {to_fill} in pt" in result.stdout

    assert fill(sheet, PT) == to_fill
    overlay = tmp_path / "translations" / "pt.yaml"
    result = run_cli("translations", "import", sheet, "-o", overlay, "--spec", spec)
    assert result.exit_code == 0, result.stderr
    doc = yaml.safe_load(overlay.read_text(encoding="utf-8"))
    assert doc["languages"] == ["pt"] and doc["source_language"] == "en"
    assert len(doc["texts"]) == to_fill  # pycountry's unchanged names are not copied
    entry = doc["texts"]["household_roster/hh_size/constraint_message"]
    assert entry == {
        "en": "Between 1 and {{max_members}} people.",
        "pt": "[pt] Between 1 and {{max_members}} people.",
    }
    assert "still missing" not in result.stdout

    add_portuguese(spec)
    form = tmp_path / "form.xlsx"
    result = run_cli("build", spec, "-o", form)  # pyxform and ODK Validate
    assert result.exit_code == 0, result.stderr
    assert "languages en, fr, ar, pt (validated" in result.stdout
    wb = load_workbook(form)
    survey = list(wb["survey"].iter_rows(values_only=True))
    head = list(survey[0])
    assert f"label::{PT}" in head and f"hint::{PT}" in head and f"constraint_message::{PT}" in head
    by_name = {r[head.index("name")]: r for r in survey[1:]}
    size = by_name["hh_size"]
    assert (
        size[head.index(f"label::{PT}")] == "[pt] How many people usually live in this household?"
    )
    assert (
        size[head.index(f"constraint_message::{PT}")] == "[pt] Between 1 and 40 people."
    )  # filled
    choices = list(wb["choices"].iter_rows(values_only=True))
    ch = list(choices[0])
    labels = {(r[0], str(r[1])): r[ch.index(f"label::{PT}")] for r in choices[1:]}
    assert labels[("countries", "FRA")] == "França"
    assert labels[("relationship", "1")].startswith("[pt] ")
    assert labels[("countries", "-8")] == "[pt] Don't know"
    # numeric questions that accept -8/-9 say so in the Portuguese hint too
    assert any("-8 = [pt] Don't know" in str(r[head.index(f"hint::{PT}")]) for r in survey[1:])
    settings = list(wb["settings"].iter_rows(values_only=True))
    assert settings[1][0] == "Household migration survey (example)"

    again = tmp_path / "again.xlsx"
    result = run_cli("translations", "export", spec, "-o", again)
    assert result.exit_code == 0, result.stderr
    assert "to translate: none" in result.stdout
    filled = {r["key"]: r for r in rows(again)}
    assert filled["household_roster/hh_size/label"][PT].startswith("[pt] ")
    # the re-exported sheet imports to the same translations
    overlay2 = tmp_path / "pt2.yaml"
    import_sheet(again, overlay2)
    assert yaml.safe_load(overlay2.read_text(encoding="utf-8"))["texts"] == doc["texts"]


def test_build_lists_every_missing_text_at_once(spec, tmp_path, run_cli):
    text = spec.read_text(encoding="utf-8").replace("[en, fr, ar]", "[en, fr, ar, pt]")
    spec.write_text(text, encoding="utf-8")
    out = tmp_path / "form.xlsx"
    result = run_cli("build", spec, "-o", out, "--no-validate")
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr and not out.exists()
    with pytest.raises(MissingTexts) as caught:
        load_questionnaire(spec)
    problems = caught.value.problems
    assert len(problems) > 100  # all of them, not the first
    assert {p.language for p in problems} == {"pt"}
    assert len({p.key for p in problems}) == len(problems)
    lines = result.stderr.strip().splitlines()
    assert (
        lines[0] == f"error: {spec}: {len(problems)} text(s) cannot be used (pt: {len(problems)}):"
    )
    shown = [ln for ln in lines if re.match(r"^  \S+\.yaml:\d+: \S+: no pt text", ln)]
    assert len(shown) == SHOWN_PROBLEMS
    assert (
        f"(+{len(problems) - SHOWN_PROBLEMS} more: 'survmig translations check {spec}'"
        in result.stderr
    )
    assert "survmig translations export" in lines[-1]
    assert re.search(
        r"household_roster\.yaml:\d+: household_roster/hh_size/label: no pt text \(label\)",
        result.stderr,
    )
    # the check lists every one, one per line
    result = run_cli("translations", "check", spec)
    assert result.exit_code == 2
    assert len(result.stdout.strip().splitlines()) == len(problems)
    assert run_cli("translations", "check", EXAMPLE).exit_code == 0


def test_stale_translation_is_reported_not_used(spec, tmp_path, run_cli):
    sheet = tmp_path / "pt.xlsx"
    export_sheet(spec, sheet, ["pt"])
    fill(sheet, PT)
    import_sheet(sheet, tmp_path / "translations" / "pt.yaml")
    add_portuguese(spec)
    assert load_questionnaire(spec).languages == ["en", "fr", "ar", "pt"]
    # the country changes the English hint it gives in its override: the Portuguese is now stale
    text = spec.read_text(encoding="utf-8")
    spec.write_text(
        text.replace("en: Count everyone", "en: Please count everyone"), encoding="utf-8"
    )
    with pytest.raises(MissingTexts) as caught:
        load_questionnaire(spec)
    (problem,) = caught.value.problems
    assert problem.key == "household_roster/hh_size/hint"
    assert "stale pt translation: the en text changed since it was translated" in problem.message
    # the sheet shows the earlier translation in a note and leaves the cell to fill
    again = tmp_path / "again.xlsx"
    result = export_sheet(spec, again)
    assert result.to_fill == {"pt": 1}
    row = next(r for r in rows(again) if r["key"] == "household_roster/hh_size/hint")
    assert row[PT] is None
    assert "the en text changed since the translation" in row["note"]
    assert "[pt] Count everyone" in row["note"]
    # importing a sheet exported before the change is refused with --spec
    with pytest.raises(
        SurvmigError, match=r"hh_size/hint: the en text changed in the spec since the export"
    ):
        import_sheet(sheet, tmp_path / "x.yaml", spec_path=spec)
    assert not (tmp_path / "x.yaml").exists()


def test_override_has_the_last_word_and_unknown_keys_are_reported(spec, tmp_path):
    overlay = tmp_path / "translations" / "pt.yaml"
    overlay.parent.mkdir()
    overlay.write_text(
        "survmig_translations: 1\nsource_language: en\nlanguages: [pt]\ntexts:\n"
        "  household_roster/hh_size/hint:\n"
        "    en: Count everyone who usually lives here, including babies, domestic workers who "
        "sleep here and people away for less than 6 months.\n"
        "    pt: Do ficheiro\n"
        "  household_roster/no_such_question/label: {en: X, pt: Y}\n",
        encoding="utf-8",
    )
    add_portuguese(spec)
    text = spec.read_text(encoding="utf-8")
    spec.write_text(
        text.replace("          ar: احسب", "          pt: Da spec\n          ar: احسب"),
        encoding="utf-8",
    )
    with pytest.raises(MissingTexts) as caught:
        load_questionnaire(spec)
    unknown = [p for p in caught.value.problems if "does not have" in p.message]
    assert [p.key for p in unknown] == ["household_roster/no_such_question/label"]
    assert unknown[0].file == overlay and unknown[0].line == 8
    from survmig.questionnaire import compose_texts, load_spec

    q, _ = compose_texts(load_spec(spec))
    item = next(i for i, _ in q.walk() if i.name == "hh_size")
    assert item.hint["pt"] == "Da spec"


def test_translation_file_language_must_be_in_the_spec(spec, tmp_path):
    sheet = tmp_path / "pt.xlsx"
    export_sheet(spec, sheet, ["pt"])
    fill(sheet, PT)
    import_sheet(sheet, tmp_path / "pt.yaml")
    text = spec.read_text(encoding="utf-8")
    spec.write_text(
        text.replace("languages: [en, fr, ar]", "languages: [en, fr, ar]\ntranslations: [pt.yaml]"),
        encoding="utf-8",
    )
    with pytest.raises(
        SurvmigError,
        match=r"pt\.yaml gives language 'pt', which is not one of the spec's languages",
    ):
        load_questionnaire(spec)


def test_a_missing_translation_file_names_the_spec_line(spec):
    add_portuguese(spec, "[translations/pt.yaml]")
    with pytest.raises(
        SurvmigError, match=r"spec\.yaml:10: translations: file .*pt\.yaml not found"
    ):
        load_questionnaire(spec)


def test_a_language_pycountry_does_not_name_gets_every_country_to_translate(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "form_id: cv_form\ntitle: {en: Survey}\nversion: '1'\nlanguages: [en]\ncountry: CPV\n"
        "currency: CVE\ncountries: {only: [CPV, PRT, SEN]}\n"
        "modules:\n  - id: household_roster\n  - id: census_core\n"
        "    add_choices:\n      cc_area: [{name: 1, label: {en: Santiago}}]\n",
        encoding="utf-8",
    )
    sheet = tmp_path / "kea.xlsx"
    result = export_sheet(spec, sheet, ["kea"])
    table = {r["key"]: r for r in rows(sheet)}
    assert "Kabuverdianu (kea)" in rows(sheet)[0]
    assert table["list/countries/PRT"]["Kabuverdianu (kea)"] is None
    assert table["list/countries/PRT"]["English (en)"] == "Portugal"
    assert {k for k in table if k.startswith("list/countries/")} == {
        "list/countries/CPV",
        "list/countries/PRT",
        "list/countries/SEN",
    }
    assert result.to_fill["kea"] == sum(
        1 for r in table.values() if r["Kabuverdianu (kea)"] is None
    )
    # Portuguese: pycountry names them; a name it has only in English is flagged to check
    export_sheet(spec, tmp_path / "pt.xlsx", ["pt"])
    pt = {r["key"]: r for r in rows(tmp_path / "pt.xlsx")}
    assert pt["list/countries/PRT"][PT] == "Portugal"
    assert "pycountry has this name only in en: check it" in pt["list/countries/CPV"]["note"]


def test_sheet_layout(spec, tmp_path):
    sheet = tmp_path / "pt.xlsx"
    export_sheet(spec, sheet, ["pt"])
    wb = load_workbook(sheet)
    assert wb.sheetnames == ["translations", "how to", "survmig"]
    assert wb["survmig"].sheet_state == "hidden"
    ws = wb["translations"]
    assert ws.freeze_panes == "B2"
    assert ws.column_dimensions["A"].width > 30 and ws.column_dimensions["G"].width > 30
    header = [c.value for c in ws[1]]
    ar, pt = header.index("العربية (ar)") + 1, header.index(PT) + 1
    cell = ws.cell(3, ar)
    assert cell.alignment.readingOrder == 2 and cell.alignment.horizontal == "right"
    assert ws.cell(3, pt).alignment.wrap_text
    assert ws.cell(3, pt).fill.fgColor.rgb.endswith("FFF2CC")  # to fill
    assert ws.cell(3, ar).fill.fgColor.rgb.endswith("F2F2F2")  # read-only


def test_language_names_follow_the_xlsform_convention():
    assert language_label("pt") == "Português (pt)"
    assert language_label("es") == "Español (es)"
    assert language_label("sw") == "Swahili (sw)"
    assert language_label("kea") == "Kabuverdianu (kea)"
    assert language_label("fr") == "Français (fr)"


def test_portuguese_form_passes_odk_validate(spec, tmp_path):
    sheet = tmp_path / "pt.xlsx"
    export_sheet(spec, sheet, ["pt"])
    fill(sheet, PT, lambda t: f"Tradução: {t}")
    import_sheet(sheet, tmp_path / "translations" / "pt.yaml")
    add_portuguese(spec)
    report = validate_xlsform(compile_questionnaire(load_questionnaire(spec)))
    assert report.ok and report.odk_validate_ran, [p.format() for p in report.problems]


# --------------------------------------------------------------------------- bad sheets


@pytest.fixture
def filled(spec, tmp_path) -> Path:
    sheet = tmp_path / "pt.xlsx"
    export_sheet(spec, sheet, ["pt"])
    fill(sheet, PT)
    return sheet


def edit_delete_row(path: Path) -> None:
    wb = load_workbook(path)
    ws = wb["translations"]
    ws.delete_rows(5)
    wb.save(path)


def edit_duplicate_row(path: Path) -> None:
    wb = load_workbook(path)
    ws = wb["translations"]
    ws.append([c.value for c in ws[5]])
    wb.save(path)


def edit_add_row(path: Path) -> None:
    wb = load_workbook(path)
    wb["translations"].append(["household_roster/made_up/label", "label", "", "X", "", "", "Y"])
    wb.save(path)


def edit_rename_column(path: Path) -> None:
    wb = load_workbook(path)
    wb["translations"].cell(1, 7).value = "Portuguese"
    wb.save(path)


def edit_drop_hidden_sheet(path: Path) -> None:
    wb = load_workbook(path)
    del wb["survmig"]
    wb.save(path)


BAD_SHEETS = {
    "a grey (module) cell edited": (
        lambda p: set_cell(p, "household_roster/hh_size/label", "Français (fr)", "Autre"),
        r"row \d+, column Français \(fr\): household_roster/hh_size/label: this cell comes from the "
        r"modules and was changed; only yellow cells are imported",
    ),
    "a spec cell edited": (
        lambda p: set_cell(p, "list/cc_area/1", "English (en)", "Tangier"),
        r"column English \(en\): list/cc_area/1: this cell comes from the spec and was changed",
    ),
    "a source-language name edited": (
        lambda p: set_cell(p, "list/countries/FRA", "English (en)", "La France"),
        r"column English \(en\): list/countries/FRA: this cell comes from the source texts",
    ),
    "a reference dropped": (
        lambda p: set_cell(p, "household_roster/member_name/label", PT, "Qual é o nome?"),
        r"household_roster/member_name/label: the translation must use the same \{\{parameters\}\} "
        r"and \$\{references\} as the en text \(lost \$\{line_no\}\)",
    ),
    "a parameter renamed": (
        lambda p: set_cell(
            p, "household_roster/hh_size/constraint_message", PT, "Entre 1 e {{max}}"
        ),
        r"\(lost \{\{max_members\}\}; added \{\{max\}\}\)",
    ),
    "a row deleted": (edit_delete_row, r"key \S+: its row was deleted"),
    "a row duplicated": (edit_duplicate_row, r"row \d+: key \S+ is also on row 5"),
    "a row added": (edit_add_row, r"key household_roster/made_up/label was not exported"),
    "a column renamed": (
        edit_rename_column,
        r"column 7: header 'Portuguese', exported as 'Português \(pt\)'",
    ),
    "the hidden sheet removed": (
        edit_drop_hidden_sheet,
        r"not a sheet written by survmig translations export",
    ),
}


@pytest.mark.parametrize(("edit", "pattern"), BAD_SHEETS.values(), ids=BAD_SHEETS.keys())
def test_bad_sheet_is_refused_and_nothing_written(filled, tmp_path, run_cli, edit, pattern):
    edit(filled)
    out = tmp_path / "translations" / "pt.yaml"
    out.parent.mkdir()
    out.write_text("earlier: file\n", encoding="utf-8")
    result = run_cli("translations", "import", filled, "-o", out)
    assert result.exit_code == 2, result.stdout
    assert "Traceback" not in result.stderr
    assert re.search(pattern, result.stderr), result.stderr
    assert out.read_text(encoding="utf-8") == "earlier: file\n"  # not replaced
    assert sorted(p.name for p in out.parent.iterdir()) == ["pt.yaml"]  # no temporary left


def test_every_problem_is_listed_one_per_line(filled, tmp_path, run_cli):
    set_cell(filled, "household_roster/hh_size/label", "Français (fr)", "Autre")
    set_cell(filled, "household_roster/member_name/label", PT, "Qual é o nome?")
    result = run_cli("translations", "import", filled, "-o", tmp_path / "pt.yaml")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert lines[0] == f"error: {filled}: 2 problem(s); nothing written:"
    assert len(lines) == 3 and all(ln.startswith("  row ") for ln in lines[1:])


def test_empty_cells_are_listed_as_missing(spec, tmp_path, run_cli):
    sheet = tmp_path / "pt.xlsx"
    export_sheet(spec, sheet, ["pt"])
    set_cell(sheet, "title", PT, "Inquérito")
    result = run_cli("translations", "import", sheet, "-o", tmp_path / "pt.yaml")
    assert result.exit_code == 0, result.stderr
    assert re.search(r"still missing in pt: \d+ text\(s\): list/special_codes/-8, ", result.stdout)
    doc = yaml.safe_load((tmp_path / "pt.yaml").read_text(encoding="utf-8"))
    assert doc["texts"] == {
        "title": {"en": "Household migration survey (example)", "pt": "Inquérito"}
    }
    # nothing filled at all: refused
    export_sheet(spec, tmp_path / "empty.xlsx", ["pt"])
    result = run_cli("translations", "import", tmp_path / "empty.xlsx", "-o", tmp_path / "e.yaml")
    assert result.exit_code == 2 and "nothing to import" in result.stderr
    assert not (tmp_path / "e.yaml").exists()


def test_not_a_workbook(tmp_path, run_cli):
    bad = tmp_path / "sheet.xlsx"
    bad.write_bytes(io.BytesIO(b"not a zip").getvalue())
    result = run_cli("translations", "import", bad, "-o", tmp_path / "pt.yaml")
    assert result.exit_code == 2 and "not an .xlsx workbook" in result.stderr
    result = run_cli("translations", "export", EXAMPLE, "--lang", "xx", "-o", tmp_path / "a.xlsx")
    assert result.exit_code == 2 and "unknown language code 'xx'" in result.stderr
