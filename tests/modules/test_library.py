"""The module format: schema, line-aware errors, concepts, shared lists, the real modules."""

from __future__ import annotations

import re
import shutil
import textwrap
from pathlib import Path

import pytest

from survmig.conventions import LANGUAGES
from survmig.errors import SurvmigError
from survmig.modules import (
    country_list,
    currency_list,
    load_library,
    load_module,
    modules_dir,
)
from survmig.modules.yamlio import load_yaml

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def library_copy(tmp_path: Path) -> Path:
    """A private copy of the library folder (concepts, shared lists, household_roster)."""
    root = tmp_path / "lib"
    root.mkdir()
    for name in ("concepts.yaml", "choices.yaml", "household_roster.yaml"):
        shutil.copy(modules_dir() / name, root / name)
    return root


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


MINIMAL = """\
id: tiny
title: {en: Tiny, fr: Petit, ar: صغير}
version: "1"
sources: [{short: X, citation: Y}]
level: household
universe: {en: All, fr: Tous, ar: الكل}
questions:
  - name: t_size
    type: integer
    concept: hh_size
    label: {en: Size, fr: Taille, ar: الحجم}
"""


def test_locator_finds_the_repository_library():
    assert modules_dir() == ROOT / "modules"


def test_library_loads_with_the_three_foundation_modules():
    library = load_library()
    assert {"household_roster", "census_core", "remittances"} <= set(library.modules)
    roster = library.modules["household_roster"]
    assert roster.level == "household"
    members = roster.item("members")
    assert members.kind == "repeat" and members.level == "person"
    assert roster.item("member_name").pii is True
    assert roster.item("date_of_birth").pii is True
    assert roster.item("age").concept == "age"


def test_every_text_of_every_module_is_in_the_three_languages():
    library = load_library()
    for module in library.modules.values():
        assert module.languages() == list(LANGUAGES), module.id
    for cl in library.shared_choices.values():
        for choice in cl.options:
            assert set(choice.label) == set(LANGUAGES), (cl.name, choice.name)


def test_every_variable_has_a_registered_concept_at_its_level():
    library = load_library()
    concepts = library.concepts
    for module in library.modules.values():
        for q in module.questions():
            if q.base_type == "note":
                assert q.concept is None
            else:
                assert q.concept in concepts.concepts, (module.id, q.name)


def test_yes_and_no_stay_words_and_duplicate_keys_are_errors(tmp_path):
    doc = load_yaml(write(tmp_path / "a.yaml", "a: {en: No, fr: Non}\nb: yes\nc: true\n"))
    assert doc["a"]["en"] == "No" and doc["b"] == "yes" and doc["c"] is True
    write(tmp_path / "b.yaml", "a: 1\nb: 2\na: 3\n")
    with pytest.raises(
        SurvmigError, match=r"b\.yaml:3: duplicate key 'a' \(first given on line 1\)"
    ):
        load_yaml(tmp_path / "b.yaml")


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    write(tmp_path / "bad.yaml", "id: x\nquestions:\n  - name: a\n   type: integer\n")
    with pytest.raises(SurvmigError) as err:
        load_yaml(tmp_path / "bad.yaml")
    assert re.search(r"bad\.yaml:4: YAML syntax error", str(err.value))


def test_minimal_module_loads(library_copy):
    module = load_module(write(library_copy / "tiny.yaml", MINIMAL))
    assert [q.name for q in module.questions()] == ["t_size"]
    assert module.languages() == ["en", "fr", "ar"]


@pytest.mark.parametrize(
    ("change", "message", "line"),
    [
        (
            ("    concept: hh_size\n", "    concept: hh_size\n    colour: red\n"),
            "unknown field 'colour'",
            11,
        ),
        (
            ("concept: hh_size", "concept: hh_sise"),
            "concept 'hh_sise' is not registered in concepts.yaml — did you mean 'hh_size'",
            10,
        ),
        (
            ("concept: hh_size", "concept: age"),
            "concept 'age' is registered for levels person, emigrant, but this question is at "
            "level 'household'",
            10,
        ),
        (("type: integer", "type: select_one sizes"), "choice list 'sizes' is not defined", 9),
        (("type: integer", "type: number"), "unknown question type 'number'", 9),
        (
            ("name: t_size", "name: a_name_that_is_much_too_long_for_stata"),
            "is 38 characters long (at most 32)",
            8,
        ),
        (("name: t_size", "name: 1size"), "'1size' is not a name", 8),
        (("name: t_size", "name: xml_size"), "not a valid XML name", 8),
        (("    label: {en: Size, fr: Taille, ar: الحجم}\n", ""), "a question needs a 'label'", 8),
        (('version: "1"\n', ""), "'version' is a required property", 1),
        (("level: household", "level: village"), "level 'village' is not declared", 5),
    ],
)
def test_module_errors_name_file_line_and_field(library_copy, change, message, line):
    text = MINIMAL.replace(*change)
    assert text != MINIMAL
    path = write(library_copy / "tiny.yaml", text)
    with pytest.raises(SurvmigError) as err:
        load_module(path)
    formatted = str(err.value)
    assert message in formatted
    assert formatted.startswith(f"{path}:{line}:"), formatted


def test_parameters_are_checked_and_placeholders_must_be_declared(library_copy):
    text = (
        MINIMAL + "    hint: {en: 'At most {{max_size}}', fr: '{{max_size}}', ar: '{{max_size}}'}\n"
    )
    path = write(library_copy / "tiny.yaml", text)
    with pytest.raises(
        SurvmigError,
        match=r"tiny\.yaml:12: module tiny, question t_size: unknown parameter \{\{max_size\}\}",
    ):
        load_module(path)
    declared = text.replace(
        "questions:",
        "parameters:\n  max_size: {type: integer, default: 50, max: 40, description: d}\nquestions:",
    )
    with pytest.raises(SurvmigError, match=r"parameter 'max_size' = 50 must be at most 40"):
        load_module(write(path, declared))


def test_special_codes_cannot_be_ordinary_options(library_copy):
    text = MINIMAL + textwrap.dedent("""\
        choices:
          sizes:
            options:
              - {name: 1, label: {en: One, fr: Un, ar: واحد}}
              - {name: -8, label: {en: DK, fr: NSP, ar: لا يعرف}}
        """)
    with pytest.raises(SurvmigError, match=r"tiny\.yaml:16: .*code -8 is reserved"):
        load_module(write(library_copy / "tiny.yaml", text))


def test_library_rejects_reference_to_a_module_not_declared(library_copy):
    text = MINIMAL + "    relevant: ${hh_size} > 0\n"
    write(library_copy / "tiny.yaml", text)
    with pytest.raises(SurvmigError, match="does not declare in depends_on"):
        load_library(library_copy)
    write(
        library_copy / "tiny.yaml",
        text.replace("questions:", "depends_on: [household_roster]\nquestions:"),
    )
    assert "tiny" in load_library(library_copy).modules


def test_readme_example_module_loads(library_copy):
    readme = (ROOT / "modules" / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Complete example", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    path = write(library_copy / "example_arrival.yaml", block)
    library = load_library(library_copy)
    module = library.modules["example_arrival"]
    assert module.level == "person" and module.depends_on == ("household_roster",)
    year = module.item("arr_year")
    assert year.specials == ("dont_know",) and year.concept == "year_of_arrival"
    assert path.exists()


def test_generated_lists_come_from_pycountry_in_three_languages():
    countries = {c.name: c.label for c in country_list(("en", "fr", "ar")).options}
    assert len(countries) == 249
    assert countries["MAR"] == {"en": "Morocco", "fr": "Maroc", "ar": "المغرب"}
    currencies = {c.name: c.label for c in currency_list(("en", "fr", "ar")).options}
    assert currencies["MAD"]["fr"] == "Dirham marocain (MAD)"
    assert currencies["EUR"]["en"] == "Euro (EUR)"
    assert countries["TUR"]["ar"] == "تركيا"  # pycountry's Arabic catalogue lacks "Türkiye"
    assert currencies["XOF"]["ar"] == "فرنك غرب أفريقي (XOF)"
    # circulating currencies only: no funds codes, metals, bond units, SDR, testing codes
    for code in ("XBA", "XBD", "XPD", "XAU", "XSU", "XDR", "USN", "BOV", "CLF", "XTS", "XXX"):
        assert code not in currencies, code
    assert {"MAD", "XOF", "XAF", "XCD", "VES", "ZWG"} <= set(currencies)


def test_modules_list_and_show(run_cli):
    result = run_cli("modules", "list")
    assert result.exit_code == 0
    assert "household_roster" in result.stdout and "MED-HIMS MQ1" in result.stdout
    result = run_cli("modules", "show", "remittances")
    assert result.exit_code == 0
    assert "rem_channel" in result.stdout and "concept=remittance_channel" in result.stdout
    assert "max_senders = 10" in result.stdout
    result = run_cli("modules", "show", "remitances")
    assert result.exit_code == 2
    assert "unknown module 'remitances' — did you mean 'remittances'?" in result.stderr
