"""Every bad spec or module: one clear line naming file and line (or module and question), exit 2,
no traceback, and no .xlsx (not even a partial one) left behind."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

SPEC = """\
form_id: bad_form
title: {en: Bad, fr: Mauvais, ar: سيئ}
version: "1"
languages: [en, fr, ar]
country: MAR
currency: MAD
modules:
  - id: household_roster
"""

LOCAL = """\
id: local_mod
title: {en: Local, fr: Local, ar: محلي}
version: "1"
sources: [{short: NSO, citation: National statistics office}]
level: household
universe: {en: All, fr: Tous, ar: الكل}
depends_on: [household_roster]
questions:
QUESTIONS"""


def question(
    name: str, *, type_: str = "integer", concept: str = "hh_n_forced_migrants", extra: str = ""
) -> str:
    q = f"  - name: {name}\n    type: {type_}\n    concept: {concept}\n"
    if type_ != "calculate":
        q += "    label: {en: Q, fr: Q, ar: س}\n"
    return q + "".join(f"    {line}\n" for line in extra.splitlines() if line)


def run_build(tmp_path: Path, run_cli, spec: str, local: str | None = None):
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(textwrap.dedent(spec), encoding="utf-8")
    if local is not None:
        (tmp_path / "local_mod.yaml").write_text(local, encoding="utf-8")
    out = tmp_path / "out" / "form.xlsx"
    result = run_cli("build", spec_path, "-o", out)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert not out.exists()
    leftovers = list((tmp_path / "out").glob("*")) if (tmp_path / "out").exists() else []
    assert leftovers == []
    return lines[0]


def with_local(questions: str, spec_extra: str = "") -> tuple[str, str]:
    spec = SPEC + "  - file: local_mod.yaml\n" + spec_extra
    return spec, LOCAL.replace("QUESTIONS", questions)


def test_unknown_module_id(tmp_path, run_cli):
    message = run_build(
        tmp_path, run_cli, SPEC.replace("id: household_roster", "id: houshold_roster")
    )
    assert re.search(
        r"spec\.yaml:8: unknown module 'houshold_roster' — did you mean 'household_roster'", message
    )


def test_duplicate_variable_across_modules(tmp_path, run_cli):
    message = run_build(tmp_path, run_cli, *with_local(question("sex")))
    assert re.search(
        r"local_mod\.yaml:9: module local_mod, question sex: name 'sex' is used by "
        r"both module household_roster \(question sex\) and module local_mod",
        message,
    )


def test_reference_to_a_question_that_does_not_exist(tmp_path, run_cli):
    message = run_build(
        tmp_path, run_cli, *with_local(question("lm_q", extra="relevant: ${hh_sise} > 1"))
    )
    assert re.search(
        r"local_mod\.yaml:13: module local_mod, question lm_q: relevant refers to "
        r"\$\{hh_sise\}, which no module defines — did you mean 'hh_size'",
        message,
    )


def test_reference_to_a_question_not_yet_asked(tmp_path, run_cli):
    questions = question("lm_first", extra="relevant: ${lm_second} = 1") + question(
        "lm_second", concept="hh_n_remittance_senders"
    )
    message = run_build(tmp_path, run_cli, *with_local(questions))
    assert re.search(
        r"local_mod\.yaml:13: module local_mod, question lm_first: relevant refers to "
        r"\$\{lm_second\}, which is not asked yet",
        message,
    )


def test_reference_to_a_dropped_question(tmp_path, run_cli):
    spec = SPEC + "    drop: [age]\n"
    message = run_build(tmp_path, run_cli, spec)
    assert re.search(
        r"household_roster\.yaml:\d+: module household_roster, question age_check: "
        r"label refers to \$\{age\}, which the spec drops",
        message,
    )


def test_calculation_cycle(tmp_path, run_cli):
    questions = question("lm_a", type_="calculate", extra="calculation: ${lm_b} + 1") + question(
        "lm_b",
        type_="calculate",
        concept="hh_n_remittance_senders",
        extra="calculation: ${lm_a} * 2",
    )
    message = run_build(tmp_path, run_cli, *with_local(questions))
    assert "calculation cycle: lm_a -> lm_b -> lm_a" in message
    assert re.search(r"local_mod\.yaml:\d+: module local_mod, question lm_\w: ", message)


def test_unknown_language_code(tmp_path, run_cli):
    message = run_build(tmp_path, run_cli, SPEC.replace("[en, fr, ar]", "[en, fr, xx]"))
    assert re.search(r"spec\.yaml:4: unknown language code 'xx'", message)


def test_language_missing_from_a_module(tmp_path, run_cli):
    spec = SPEC.replace("[en, fr, ar]", "[en, es]").replace("ar: سيئ}", "ar: سيئ, es: Malo}")
    message = run_build(tmp_path, run_cli, spec)
    assert re.search(
        r"household_roster\.yaml:\d+: module household_roster, question hh_size: "
        r"label has no text in language 'es'",
        message,
    )


def test_unknown_country_code(tmp_path, run_cli):
    message = run_build(tmp_path, run_cli, SPEC.replace("country: MAR", "country: MOR"))
    assert re.search(r"spec\.yaml:5: country: 'MOR' is not an ISO 3166-1 alpha-3 code", message)


def test_unknown_country_in_main_destinations(tmp_path, run_cli):
    spec = SPEC + "countries:\n  first: [FRA, XYZ]\n"
    message = run_build(tmp_path, run_cli, spec)
    assert re.search(r"spec\.yaml:10: countries\.first: 'XYZ' is not an ISO 3166-1", message)


def test_name_too_long(tmp_path, run_cli):
    long_name = "lm_" + "x" * 30
    message = run_build(tmp_path, run_cli, *with_local(question(long_name)))
    assert re.search(
        rf"local_mod\.yaml:9: name '{long_name}' is 33 characters long \(at most 32\)", message
    )


@pytest.mark.parametrize("bad", ["2nd_q", "lm-q", "xmlq"])
def test_invalid_xml_name(tmp_path, run_cli, bad):
    message = run_build(tmp_path, run_cli, *with_local(question(bad)))
    assert re.search(r"local_mod\.yaml:9: ", message)
    assert "not a name" in message or "not a valid XML name" in message


def test_choice_list_used_but_not_defined(tmp_path, run_cli):
    message = run_build(
        tmp_path,
        run_cli,
        *with_local(question("lm_q", type_="select_one colours", concept="hh_member_abroad")),
    )
    assert re.search(
        r"local_mod\.yaml:10: module local_mod, question lm_q: choice list 'colours' "
        r"is not defined",
        message,
    )


def test_yaml_syntax_error_in_spec(tmp_path, run_cli):
    spec = SPEC.replace("modules:\n", "modules:\n   - id: census_core\n  - broken: [\n")
    message = run_build(tmp_path, run_cli, spec)
    assert re.search(r"spec\.yaml:\d+: YAML syntax error", message)


def test_yaml_syntax_error_in_module(tmp_path, run_cli):
    spec, local = with_local(question("lm_q"))
    message = run_build(
        tmp_path, run_cli, spec, local.replace("level: household", "level: [household")
    )
    assert re.search(r"local_mod\.yaml:\d+: YAML syntax error", message)


def test_unknown_parameter_and_bad_value(tmp_path, run_cli):
    message = run_build(tmp_path, run_cli, SPEC + "parameters:\n  refrence_years: 3\n")
    assert re.search(
        r"spec\.yaml:10: parameter 'refrence_years' is not declared by any module "
        r".*did you mean 'reference_years'",
        message,
    )
    message = run_build(tmp_path, run_cli, SPEC + "    parameters: {max_members: 500}\n")
    assert re.search(r"spec\.yaml:9: parameter 'max_members' = 500 must be at most 99", message)


def test_missing_dependency_and_misspelt_spec_field(tmp_path, run_cli):
    message = run_build(tmp_path, run_cli, SPEC.replace("id: household_roster", "id: census_core"))
    assert re.search(
        r"spec\.yaml:8: module census_core depends on household_roster, which is not "
        r"listed before it",
        message,
    )
    message = run_build(tmp_path, run_cli, SPEC + "    dorp: [sex]\n")
    assert re.search(r"spec\.yaml:9: invalid questionnaire spec: .*unknown field 'dorp'", message)


def test_override_or_drop_of_an_unknown_question(tmp_path, run_cli):
    message = run_build(tmp_path, run_cli, SPEC + "    drop: [sexe]\n")
    assert re.search(
        r"spec\.yaml:9: drop: module household_roster has no question 'sexe' — "
        r"did you mean 'sex'",
        message,
    )


def test_two_variables_for_one_concept_at_one_level(tmp_path, run_cli):
    message = run_build(tmp_path, run_cli, *with_local(question("lm_q", concept="hh_size")))
    assert "concept 'hh_size' at level 'household' is carried by both hh_size" in message


def test_existing_output_is_untouched_when_the_build_fails(tmp_path, run_cli):
    out = tmp_path / "form.xlsx"
    out.write_bytes(b"previous")
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.replace("country: MAR", "country: ZZZ"), encoding="utf-8")
    result = run_cli("build", spec, "-o", out)
    assert result.exit_code == 2 and out.read_bytes() == b"previous"


def test_validate_rejects_a_file_that_is_not_a_workbook(tmp_path, run_cli):
    path = tmp_path / "form.xlsx"
    path.write_text("type,name\n", encoding="utf-8")
    result = run_cli("validate", path)
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: {path}: not an .xlsx workbook"
