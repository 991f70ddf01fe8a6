"""The standard questionnaires under xlsform/: they build, validate (pyxform + ODK Validate), are current."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from survmig.questionnaire import load_questionnaire
from survmig.xlsform import compile_questionnaire, validate_xlsform

ROOT = Path(__file__).resolve().parents[2]
FORMS = ("medhims_household", "lfs_migration_addon", "census_core_short", "medhims_community")


@pytest.fixture(scope="module", params=FORMS)
def built(request):
    spec = ROOT / "xlsform" / f"{request.param}.yaml"
    return request.param, load_questionnaire(spec), compile_questionnaire(load_questionnaire(spec))


def survey_rows(data: bytes) -> list[dict]:
    sheet = load_workbook(io.BytesIO(data), read_only=True)["survey"]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    return [dict(zip(rows[0], r, strict=False)) for r in rows[1:]]


def test_committed_xlsx_is_what_the_spec_compiles_to_today(built):
    name, _, data = built
    committed = (ROOT / "xlsform" / f"{name}.xlsx").read_bytes()
    assert data == committed, (
        f"xlsform/{name}.xlsx is stale: run survmig build xlsform/{name}.yaml -o xlsform/{name}.xlsx"
    )


def test_builds_with_no_pyxform_warning_and_passes_odk_validate(built):
    name, _, data = built
    report = validate_xlsform(data)
    assert report.odk_validate_ran, name
    assert report.problems == [], [str(p) for p in report.problems]


def test_every_variable_has_a_concept_and_three_languages(built):
    name, q, data = built
    assert q.languages == ["en", "fr", "ar"]
    rows = survey_rows(data)
    label_cols = [c for c in rows[0] if c and c.startswith("label::")]
    assert len(label_cols) == 3
    for row in rows:
        if row["type"] in (
            "note",
            "begin_group",
            "end_group",
            "begin_repeat",
            "end_repeat",
            "start",
            "end",
            "today",
            "deviceid",
        ):
            continue
        assert row["concept"], (name, row["name"])
        if row["type"] != "calculate":
            assert all(row[c] for c in label_cols), (name, row["name"])


def test_medhims_routing_and_pii_in_the_compiled_form():
    data = (ROOT / "xlsform" / "medhims_household.xlsx").read_bytes()
    rows = {r["name"]: r for r in survey_rows(data) if r["name"]}
    assert rows["emigrant_roster"]["repeat_count"] == (
        "if(${hh_emigrant_any} = 1, ${hh_n_emigrants}, 0)"
    )
    assert rows["emigrant_roster"]["relevant"] == "${hh_emigrant_any} = 1"
    assert rows["return_roster"]["repeat_count"] == "${hh_n_returnees}"
    assert rows["hh_n_returnees"]["calculation"] == (
        "count(${members}[age >= 15 and returned_migrant = 1])"
    )
    assert rows["fm_block"]["relevant"] == "${age} >= 15 and ${forced_to_leave} = 1"
    assert rows["im_block"]["relevant"] == (
        "${age} >= 15 and ${age} <= 59 and ${returned_migrant} = 0 and (${age} < 15 or"
        " ${forced_to_leave} = 0) and ${cc_born_here} = 1 and ${cc_ever_abroad} = 0"
    )
    assert rows["em_dep_year"]["constraint"] == (
        "(. >= 2025 - 5 and . <= ${int_year} and (${int_year} - .) * 12 + ${int_month} - 1 >= 6)"
        " or . = -8"
    )
    # the flagship form measures immigrant stock: the UN census core is in it (issue 12)
    for name in ("cc_country_birth", "cc_citizenship", "cc_arrival_year", "cc_res_1y_area"):
        assert rows[name]["level"] == "person", name
    assert rows["ret_returning"]["concept"] == "returning_migrant"
    for name in ("member_name", "em_name", "ret_name", "rem_sender_name", "date_of_birth"):
        assert rows[name]["pii"] == "yes", name
    assert rows["em_country"]["level"] == "emigrant"
    assert rows["ret_recruiter_fee"]["level"] == "return_migrant"
    assert rows["fm_legal"]["relevant"] == "true()"


def test_lfs_addon_sdg_items_sit_in_their_repeat():
    data = (ROOT / "xlsform" / "lfs_migration_addon.xlsx").read_bytes()
    rows = {r["name"]: r for r in survey_rows(data) if r["name"]}
    assert rows["rc_items"]["repeat_count"] == "6"
    for name in ("rc_amount", "rc_currency", "rc_deducted", "rc_reimbursed"):
        assert rows[name]["level"] == "recruitment_cost_item", name
    assert rows["rc_earn_amount"]["level"] == "person"
    assert rows["rc_year"]["constraint"] == ". >= 2025 - 3 and . <= ${int_year}"


def test_community_form_is_one_submission_per_community():
    data = (ROOT / "xlsform" / "medhims_community.xlsx").read_bytes()
    rows = {r["name"]: r for r in survey_rows(data) if r["name"]}
    assert rows["cm_recruiters"]["concept"] == "community_recruiters_present"
    assert rows["cm_id"]["level"] == "community"
    assert rows["start"]["level"] == "community"
    assert rows["cm_history"]["relevant"] == "${cm_emigration} > 1"


def test_modules_list_shows_every_module_with_sources_and_languages(run_cli):
    result = run_cli("modules", "list")
    assert result.exit_code == 0, result.stderr
    text = " ".join(result.stdout.split())
    for module_id, source in (
        ("emigrants", "MED-HIMS MQ2"),
        ("return_migrants", "MED-HIMS MQ3"),
        ("intending_migrants", "MED-HIMS MQ4"),
        ("forced_migrants", "MED-HIMS MQ5"),
        ("labour_migration", "ILO 20th ICLS"),
        ("recruitment_cost", "SDG 10.7.1"),
        ("community", "MED-HIMS MQ7"),
        ("household_characteristics", "WHO/UNICEF JMP"),
    ):
        assert module_id in text and source in text, module_id
    lines = [line for line in result.stdout.splitlines() if "│" in line and "en, fr, ar" in line]
    assert len(lines) >= 11


def test_every_household_side_module_composes_into_one_valid_form(tmp_path):
    """Names and concepts stay unique when a country combines the whole library (here Tunisia)."""
    modules = [
        "household_roster",
        "census_core",
        "intending_migrants",
        "forced_migrants",
        "labour_migration",
        "recruitment_cost",
        "emigrants",
        "return_migrants",
        "remittances",
        "household_characteristics",
    ]
    spec = tmp_path / "all.yaml"
    spec.write_text(
        "form_id: all_modules\n"
        "title: {en: All, fr: Tout, ar: الكل}\n"
        'version: "1"\n'
        "languages: [en, fr, ar]\n"
        "country: TUN\n"
        "currency: TND\n"
        "survey_year: 2026\n"
        "modules:\n"
        + "".join(f"  - id: {m}\n" for m in modules).replace(
            "  - id: census_core\n",
            "  - id: census_core\n    add_choices:\n      cc_area:\n"
            "        - {name: 11, label: {en: Tunis, fr: Tunis, ar: تونس}}\n",
        ),
        encoding="utf-8",
    )
    q = load_questionnaire(spec)
    assert {v.module for v in q.variables()} - {"questionnaire"} == set(modules)
    report = validate_xlsform(compile_questionnaire(q))
    assert report.problems == [], [str(p) for p in report.problems]
    rows = {r["name"]: r for r in survey_rows(compile_questionnaire(q)) if r["name"]}
    assert rows["em_dep_year"]["constraint"].startswith("(. >= 2026 - 5 and . <= ${int_year} and")
    assert rows["ep_country"]["level"] == "migration_episode"
