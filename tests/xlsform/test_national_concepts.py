"""A country's own module with its own concepts (a concepts file the spec names), and country names
written instead of ISO codes."""

from __future__ import annotations

import textwrap

import openpyxl
import pytest

from survmig.errors import SurvmigError
from survmig.modules.choices import country_code_for
from survmig.questionnaire import load_questionnaire

SPEC = """\
form_id: national_form
title: {en: National, fr: National, ar: وطني}
version: "1"
languages: [en, fr, ar]
country: TUN
currency: TND
concepts: national_concepts.yaml
modules:
  - id: household_roster
  - file: national.yaml
"""

NATIONAL = """\
id: national
title: {en: National questions, fr: Questions nationales, ar: أسئلة وطنية}
version: "1"
sources: [{short: INS, citation: Institut national de la statistique}]
level: household
universe: {en: All, fr: Tous, ar: الكل}
depends_on: [household_roster]
questions:
  - name: hh_ration_card
    type: select_one yes_no
    concept: ration_card_holder
    label: {en: Ration card?, fr: Carte de rationnement ?, ar: بطاقة تموين؟}
"""

CONCEPTS = """\
concepts:
  ration_card_holder:
    levels: [household]
    type: select_one
    definition: The household holds a national food ration card (1 = yes, 0 = no).
"""


def write(tmp_path, spec=SPEC, concepts=CONCEPTS):
    (tmp_path / "spec.yaml").write_text(textwrap.dedent(spec), encoding="utf-8")
    (tmp_path / "national.yaml").write_text(NATIONAL, encoding="utf-8")
    if concepts is not None:
        (tmp_path / "national_concepts.yaml").write_text(concepts, encoding="utf-8")
    return tmp_path / "spec.yaml"


def test_national_concept_reaches_the_form(tmp_path, run_cli):
    spec = write(tmp_path)
    q = load_questionnaire(spec)
    assert [v.name for v in q.by_concept("ration_card_holder", level="household")] == [
        "hh_ration_card"
    ]
    out = tmp_path / "form.xlsx"
    res = run_cli("build", spec, "-o", out, "--no-validate")
    assert res.exit_code == 0, res.stderr
    rows = list(openpyxl.load_workbook(out)["survey"].values)
    header = list(rows[0])
    by_name = {r[header.index("name")]: r for r in rows[1:]}
    assert by_name["hh_ration_card"][header.index("concept")] == "ration_card_holder"


def test_without_the_concepts_file_the_hint_says_how(tmp_path, run_cli):
    spec = write(tmp_path, spec=SPEC.replace("concepts: national_concepts.yaml\n", ""))
    res = run_cli("build", spec, "-o", tmp_path / "form.xlsx", "--no-validate")
    assert res.exit_code == 2
    assert "'ration_card_holder' is not registered" in res.stderr
    assert "concepts: national_concepts.yaml" in res.stderr


def test_a_concept_the_library_has_cannot_be_redefined(tmp_path):
    clash = CONCEPTS.replace(
        "ration_card_holder:",
        "sex:\n    levels: [person]\n    type: select_one\n    definition: x\n  ration_card_holder:",
    )
    spec = write(tmp_path, concepts=clash)
    with pytest.raises(SurvmigError) as err:
        load_questionnaire(spec)
    assert "'sex' is already registered" in err.value.message
    # the line of the entry (its key on line 2, its body from line 3, as concepts.yaml errors)
    assert err.value.file.endswith("national_concepts.yaml") and err.value.line in (2, 3)


def test_a_missing_concepts_file_is_named(tmp_path):
    spec = write(tmp_path, concepts=None)
    with pytest.raises(SurvmigError) as err:
        load_questionnaire(spec)
    assert err.value.file.endswith("national_concepts.yaml") and "not found" in err.value.message


def test_the_library_itself_is_left_alone(tmp_path):
    from survmig.modules import load_library

    library = load_library()
    load_questionnaire(write(tmp_path), library)
    assert "ration_card_holder" not in library.concepts.concepts


@pytest.mark.parametrize("name", ["TUNISIA", "Tunisie", "تونس", "TN", "tunisia"])
def test_country_names_in_three_languages_give_the_code(name):
    assert country_code_for(name) == "TUN"


@pytest.mark.parametrize(
    ("written", "code"),
    [("TUNISIA", "TUN"), ("Maroc", "MAR"), ("مصر", "EGY"), ("Côte d'Ivoire", "CIV")],
)
def test_a_country_name_in_the_spec_suggests_its_code(tmp_path, run_cli, written, code):
    spec = write(tmp_path, spec=SPEC.replace("country: TUN", f'country: "{written}"'))
    res = run_cli("build", spec, "-o", tmp_path / "form.xlsx", "--no-validate")
    assert res.exit_code == 2
    assert f"write its code {code}" in res.stderr and "USA" not in res.stderr
