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
"""


def question(
    name: str, *, type_: str = "integer", concept: str = "hh_n_forced_migrants", extra: str = ""
) -> str:
    q = f"  - name: {name}\n    type: {type_}\n    concept: {concept}\n"
    if type_ != "calculate":
        q += "    label: {en: Q, fr: Q, ar: س}\n"
    return q + "".join(f"    {line}\n" for line in extra.splitlines() if line)


def run_build(tmp_path: Path, run_cli, spec: str, local: str | None = None) -> str:
    """Build; assert exit 2, one line on stderr, no traceback, nothing written. The line."""
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


SPEC_CASES = {
    "unknown module id": (
        SPEC.replace("id: household_roster", "id: houshold_roster"),
        r"spec\.yaml:8: unknown module 'houshold_roster' — did you mean 'household_roster'",
    ),
    "reference to a dropped question": (
        SPEC + "    drop: [age]\n",
        r"household_roster\.yaml:\d+: module household_roster, question age_check: "
        r"label refers to \$\{age\}, which the spec drops",
    ),
    "unknown language code": (
        SPEC.replace("[en, fr, ar]", "[en, fr, xx]"),
        r"spec\.yaml:4: unknown language code 'xx'",
    ),
    # a language missing from the modules lists every missing text: tests/translations
    "unknown country code": (
        SPEC.replace("country: MAR", "country: MOR"),
        r"spec\.yaml:5: country: 'MOR' is not an ISO 3166-1 alpha-3 code",
    ),
    "unknown main destination": (
        SPEC + "countries:\n  first: [FRA, XYZ]\n",
        r"spec\.yaml:10: countries\.first: 'XYZ' is not an ISO 3166-1",
    ),
    "unknown currency code": (
        SPEC.replace("currency: MAD", "currency: DHS"),
        r"spec\.yaml:6: currency: 'DHS' is not an ISO 4217 alpha-3 code",
    ),
    "YAML syntax error in the spec": (
        SPEC.replace("modules:\n", "modules:\n   - id: census_core\n  - broken: [\n"),
        r"spec\.yaml:\d+: YAML syntax error",
    ),
    "unknown parameter": (
        SPEC + "parameters:\n  refrence_years: 3\n",
        r"spec\.yaml:10: parameter 'refrence_years' is not declared by any module "
        r".*did you mean 'reference_years'",
    ),
    "parameter out of bounds": (
        SPEC + "    parameters: {max_members: 500}\n",
        r"spec\.yaml:9: parameter 'max_members' = 500 must be at most 99",
    ),
    "missing dependency": (
        SPEC.replace("id: household_roster", "id: census_core"),
        r"spec\.yaml:8: module census_core depends on household_roster, which is not "
        r"listed before it",
    ),
    "country-supplied list not supplied": (
        SPEC.replace("survey_year", "x") + "  - id: census_core\n",
        r"spec\.yaml: list 'cc_area' of module census_core is supplied by the country: the spec "
        r"adds none of its options .*add the country's codes under 'add_choices: cc_area:'",
    ),
    "misspelt spec field": (
        SPEC + "    dorp: [sex]\n",
        r"spec\.yaml:9: invalid questionnaire spec: .*unknown field 'dorp'",
    ),
    "drop of an unknown question": (
        SPEC + "    drop: [sexe]\n",
        r"spec\.yaml:9: drop: module household_roster has no question 'sexe' — "
        r"did you mean 'sex'",
    ),
}


@pytest.mark.parametrize(("spec", "pattern"), SPEC_CASES.values(), ids=SPEC_CASES.keys())
def test_bad_spec(tmp_path, run_cli, spec, pattern):
    message = run_build(tmp_path, run_cli, spec)
    assert re.search(pattern, message), message


LONG = "lm_" + "x" * 30
MODULE_CASES = {
    "duplicate variable across modules": (
        question("sex"),
        r"local_mod\.yaml:9: module local_mod, question sex: name 'sex' is used by both "
        r"module household_roster \(question sex\) and module local_mod",
    ),
    "reference to a question that does not exist": (
        question("lm_q", extra="relevant: ${hh_sise} > 1"),
        r"local_mod\.yaml:13: module local_mod, question lm_q: relevant refers to "
        r"\$\{hh_sise\}, which no module defines — did you mean 'hh_size'",
    ),
    "reference to a question not yet asked": (
        question("lm_first", extra="relevant: ${lm_second} = 1")
        + question("lm_second", concept="hh_n_remittance_senders"),
        r"local_mod\.yaml:13: module local_mod, question lm_first: relevant refers to "
        r"\$\{lm_second\}, which is not asked yet",
    ),
    "calculation cycle": (
        question("lm_a", type_="calculate", extra="calculation: ${lm_b} + 1")
        + question(
            "lm_b",
            type_="calculate",
            concept="hh_n_remittance_senders",
            extra="calculation: ${lm_a} * 2",
        ),
        r"local_mod\.yaml:\d+: module local_mod, question lm_\w: "
        r"calculation cycle: lm_a -> lm_b -> lm_a",
    ),
    "name too long": (
        question(LONG),
        rf"local_mod\.yaml:9: name '{LONG}' is 33 characters long \(at most 32\)",
    ),
    "name starting with a digit": (
        question("2nd_q"),
        r"local_mod\.yaml:9: .*'2nd_q' is not a name",
    ),
    "name with a hyphen": (question("lm-q"), r"local_mod\.yaml:9: .*'lm-q' is not a name"),
    "name starting with xml": (question("xmlq"), r"local_mod\.yaml:9: .*not a valid XML name"),
    "choice list used but not defined": (
        question("lm_q", type_="select_one colours", concept="hh_member_abroad"),
        r"local_mod\.yaml:10: module local_mod, question lm_q: choice list 'colours' "
        r"is not defined",
    ),
    "YAML syntax error in a module": (
        question("lm_q") + "  - name: [\n",
        r"local_mod\.yaml:\d+: YAML syntax error",
    ),
    "two variables for one concept at one level": (
        question("lm_q", concept="hh_size"),
        r"module local_mod, question lm_q: concept 'hh_size' at level 'household' is carried "
        r"by both hh_size \(module household_roster\) and lm_q",
    ),
}


@pytest.mark.parametrize(("questions", "pattern"), MODULE_CASES.values(), ids=MODULE_CASES.keys())
def test_bad_module_in_a_spec(tmp_path, run_cli, questions, pattern):
    message = run_build(tmp_path, run_cli, SPEC + "  - file: local_mod.yaml\n", LOCAL + questions)
    assert re.search(pattern, message), message


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
