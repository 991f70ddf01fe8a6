"""Composition, the compiled sheets, determinism, the committed example, and validation."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

import pytest
from openpyxl import load_workbook

from survmig.conventions import LANGUAGES
from survmig.questionnaire import load_questionnaire
from survmig.xlsform import compile_questionnaire, to_sheets, validate_xlsform, write_workbook

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "xlsform" / "example_household.yaml"


@pytest.fixture(scope="module")
def example():
    return load_questionnaire(EXAMPLE)


@pytest.fixture(scope="module")
def sheets(example):
    return to_sheets(example)


def rows_as_dicts(rows):
    header = rows[0]
    return [dict(zip(header, row, strict=True)) for row in rows[1:]]


def test_committed_example_is_what_the_spec_compiles_to_today(example):
    committed = (ROOT / "xlsform" / "example_household.xlsx").read_bytes()
    assert compile_questionnaire(example) == committed, (
        "xlsform/example_household.xlsx is stale: run "
        "survmig build xlsform/example_household.yaml -o xlsform/example_household.xlsx"
    )


def test_two_builds_are_byte_identical(example, tmp_path, run_cli):
    first = compile_questionnaire(example)
    second = compile_questionnaire(load_questionnaire(EXAMPLE))
    assert first == second
    out = tmp_path / "a.xlsx"
    result = run_cli("build", EXAMPLE, "-o", out, "--no-validate")
    assert result.exit_code == 0, result.stderr
    assert out.read_bytes() == first


def test_survey_sheet_columns_and_extra_survmig_columns(sheets):
    header = sheets["survey"][0]
    assert header[:2] == ["type", "name"]
    for field in ("label", "hint", "constraint_message"):
        assert [h for h in header if h.startswith(field + "::")] == [
            f"{field}::{name}" for name in LANGUAGES.values()
        ]
    assert header[-4:] == ["level", "concept", "pii", "module"]
    assert "relevance" not in header


def test_survey_rows_carry_level_concept_pii_module(sheets):
    rows = {r["name"]: r for r in rows_as_dicts(sheets["survey"]) if r["name"]}
    assert rows["member_name"]["pii"] == "yes"
    assert rows["member_name"]["level"] == "person"
    assert rows["sex"]["concept"] == "sex"
    assert rows["hh_size"]["level"] == "household"
    assert rows["rem_amount"]["level"] == "remittance_sender"
    assert rows["cc_country_birth"]["module"] == "census_core"
    assert rows["members"]["type"] == "begin_repeat"
    assert rows["members"]["repeat_count"] == "${hh_size}"
    assert rows["start"]["concept"] == "interview_start"
    # census_core (level person) is placed inside the roster's person repeat
    types = [r["type"] for r in rows_as_dicts(sheets["survey"])]
    names = [r["name"] for r in rows_as_dicts(sheets["survey"])]
    end_members = next(
        i for i, t in enumerate(types) if t == "end_repeat" and i > names.index("members")
    )
    assert names.index("members") < names.index("cc_born_here") < end_members


def test_composition_applies_parameters_overrides_drops_and_added_choices(example, sheets):
    rows = {r["name"]: r for r in rows_as_dicts(sheets["survey"]) if r["name"]}
    assert rows["hh_size"]["constraint"] == ". >= 1 and . <= 40"  # module parameter override
    assert rows["hh_size"]["hint::Français (fr)"].startswith("Comptez toutes les personnes qui")
    assert rows["hh_emigrant_any"]["label::English (en)"].startswith("In the last 5 years")
    assert "cc_mother_cob" not in rows and "cc_father_cob" not in rows
    # built-in parameters per language
    assert rows["cc_born_here"]["label::Français (fr)"].endswith("(Maroc) ?")
    assert rows["cc_born_here"]["label::العربية (ar)"] == "هل وُلد ${member_name} في المغرب؟"
    assert rows["cc_country_birth"]["choice_filter"] == "name != 'MAR'"
    channel = [c.name for c in example.choices["rem_channel"].options]
    assert channel[-4:] == ["16", "17", "18", "-8"]  # added choice before the special code


def test_special_codes_in_lists_and_numbers(example, sheets):
    rows = {r["name"]: r for r in rows_as_dicts(sheets["survey"]) if r["name"]}
    assert rows["rem_amount"]["constraint"] == "(. > 0) or . = -8 or . = -9"
    assert rows["rem_amount"]["hint::English (en)"].endswith("(-8 = Don't know; -9 = Refused)")
    assert rows["cc_arrival_year"]["hint::Français (fr)"] == "(-8 = Ne sait pas)"
    choices = rows_as_dicts(sheets["choices"])
    yes_no_dk = [
        (c["name"], c["label::English (en)"]) for c in choices if c["list_name"] == "yes_no_dk"
    ]
    assert yes_no_dk == [("1", "Yes"), ("0", "No"), ("-8", "Don't know"), ("-9", "Refused")]
    amount = example.variable("rem_amount")
    assert amount.special_codes == (-9, -8)


def test_country_and_currency_lists_are_reordered_by_the_spec(sheets):
    choices = rows_as_dicts(sheets["choices"])
    countries = [c["name"] for c in choices if c["list_name"] == "countries"]
    assert countries[:4] == ["MAR", "FRA", "ESP", "ITA"]
    assert countries[-1] == "-8" and len(countries) == 250
    currencies = [c for c in choices if c["list_name"] == "currencies"]
    assert [c["name"] for c in currencies[:3]] == ["MAD", "EUR", "USD"]
    assert currencies[0]["label::العربية (ar)"] == "الدرهم المغربي (MAD)"


def test_settings_sheet(sheets):
    assert sheets["settings"] == [
        ["form_title", "form_id", "version", "default_language"],
        ["Household migration survey (example)", "example_household", "2025.1", "English (en)"],
    ]


def test_questionnaire_api_variables_levels_and_concepts(example):
    assert example.levels() == {
        "household": None,
        "person": "members",
        "remittance_sender": "rem_senders",
        "remittance_recipient": "rem_recipients",
    }
    age = example.variable("cc_arrival_year")
    assert age.level == "person" and age.path == ("members", "cc_arrival")
    assert age.repeat == "members"
    assert age.relevance == ("${cc_born_here} = 0 or ${cc_ever_abroad} = 1",)
    [cob] = example.by_concept("country_of_birth")
    assert cob.name == "cc_country_birth" and cob.choices.name == "countries"
    assert {v.name for v in example.variables() if v.pii} == {
        "member_name",
        "date_of_birth",
        "rem_sender_name",
    }
    assert (
        example.by_concept("country_of_residence", "remittance_recipient")[0].name == "rec_country"
    )


def test_example_passes_pyxform_without_warnings_and_odk_validate():
    report = validate_xlsform(ROOT / "xlsform" / "example_household.xlsx")
    assert report.odk_validate_ran
    assert report.problems == []
    assert "<h:title>Household migration survey (example)</h:title>" in report.xform


def test_validate_command_reports_sheet_and_row(tmp_path, run_cli):
    header = ["type", "name", "label", "relevant"]
    bad = {
        "survey": [
            header,
            ["integer", "age", "Age", None],
            ["text", "job", "Job", "${age} >>= 15"],
            ["select_one colours", "colour", "Colour", None],
        ],
        "choices": [["list_name", "name", "label"], ["sizes", "1", "One"]],
        "settings": [["form_id"], ["bad"]],
    }
    path = tmp_path / "bad.xlsx"
    path.write_bytes(write_workbook(bad))
    result = run_cli("validate", path, "--no-odk")
    assert result.exit_code == 2
    assert "survey row 4" in result.stdout and "colours" in result.stdout
    assert result.stderr.startswith(f"error: {path}: 1 error(s)")
    # the XPath syntax error is caught by ODK Validate, located at the row of the question
    bad["survey"].pop()
    path.write_bytes(write_workbook(bad))
    result = run_cli("validate", path)
    assert result.exit_code == 2
    assert "error (odk_validate): survey row 3:" in result.stdout, result.stdout


def test_validate_reports_names_too_long_for_other_platforms(tmp_path):
    long_name = "q" * 33
    sheets = {
        "survey": [["type", "name", "label"], ["integer", long_name, "Q"]],
        "settings": [["form_id"], ["f"]],
    }
    report = validate_xlsform(write_workbook(sheets), odk=False)
    [problem] = report.problems
    assert (problem.sheet, problem.row, problem.source) == ("survey", 2, "survmig")
    assert "33 characters" in problem.message


def test_local_module_file_in_a_spec(tmp_path):
    module = tmp_path / "local_extra.yaml"
    module.write_text(
        textwrap.dedent("""\
        id: local_extra
        title: {en: Extra, fr: Extra, ar: إضافي}
        version: "1"
        sources: [{short: National, citation: National statistics office}]
        level: household
        universe: {en: All, fr: Tous, ar: الكل}
        depends_on: [household_roster]
        questions:
          - name: lx_dwelling
            type: integer
            concept: hh_n_forced_migrants
            relevant: ${hh_size} > 1
            label: {en: Rooms, fr: Pièces, ar: غرف}
        """),
        encoding="utf-8",
    )
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        textwrap.dedent("""\
        form_id: local
        title: {en: Local, fr: Local, ar: محلي}
        version: 1
        languages: [en, fr, ar]
        country: TUN
        modules:
          - id: household_roster
            drop: [hh_n_forced]
          - file: local_extra.yaml
        """),
        encoding="utf-8",
    )
    q = load_questionnaire(spec)
    assert q.variable("lx_dwelling").module == "local_extra"
    data = compile_questionnaire(q)
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["survey", "choices", "settings"]
    assert validate_xlsform(data, odk=False).ok


def test_compiled_sheets_are_laid_out_for_people(example):
    """Label columns wide and wrapped, names narrow, expressions readable, header bold and frozen."""
    from survmig.xlsform.layout import EXPRESSION_WIDTH, MAX_FIT, TEXT_WIDTH

    wb = load_workbook(io.BytesIO(compile_questionnaire(example)))
    survey = wb["survey"]
    header = {c.value: c.column_letter for c in survey[1]}
    assert survey.freeze_panes == "A2" and all(c.font.bold for c in survey[1])
    for name, letter in header.items():
        width = survey.column_dimensions[letter].width
        base = name.split("::")[0]
        if base in ("label", "hint", "constraint_message"):
            assert width == TEXT_WIDTH, name
        elif base in ("relevant", "constraint", "calculation", "choice_filter", "repeat_count"):
            assert width == EXPRESSION_WIDTH, name
        elif base == "name":
            assert width == 22
        else:
            assert 8 <= width <= max(MAX_FIT, 26), name
    label = header["label::English (en)"]
    cells = [c for (c,) in survey.iter_rows(min_row=2, min_col=survey[label + "1"].column,
                                             max_col=survey[label + "1"].column) if c.value]  # fmt: skip
    assert cells and all(c.alignment.wrap_text for c in cells)
    name_cells = [survey[f"{header['name']}{i}"] for i in range(2, 12)]
    assert not any(c.alignment.wrap_text for c in name_cells)
    choices = wb["choices"]
    widths = {c.value: choices.column_dimensions[c.column_letter].width for c in choices[1]}
    assert widths["list_name"] == 20 and widths["name"] == 22
    assert widths["label::العربية (ar)"] == TEXT_WIDTH
    assert wb["settings"].column_dimensions["A"].width == TEXT_WIDTH  # form_title
