"""Addresses in groups and nested repeats, attachments, and the XForm structure survmig reads."""

from __future__ import annotations

import pytest

from survmig.formtest.sheets import write_xlsform
from survmig.formtest.xform import read_xform, xform_from_file

NESTED = [
    {"type": "begin_group", "name": "a", "label": "A"},
    {"type": "integer", "name": "x", "label": "X"},
    {"type": "end_group", "name": ""},
    {"type": "begin_group", "name": "b", "label": "B"},
    {"type": "integer", "name": "x", "label": "X"},
    {"type": "end_group", "name": ""},
    {"type": "begin_repeat", "name": "hh", "label": "Household"},
    {"type": "text", "name": "head", "label": "Head"},
    {"type": "begin_repeat", "name": "person", "label": "Person"},
    {"type": "integer", "name": "page", "label": "Age"},
    {"type": "calculate", "name": "dbl", "calculation": "${page} * 2"},
    {"type": "end_repeat", "name": ""},
    {"type": "end_repeat", "name": ""},
]

NESTED_SCENARIO = """
scenarios:
  - name: nested repeats and same names in two groups
    steps:
      - answer:
          a/x: 1
          b/x: 2
          hh[1]/head: Ali
          hh[1]/person[1]/page: 30
        add:
          hh: 1
          hh[2]/person: 2
        count:
          hh: 2
          hh[1]/person: 1
          hh[2]/person: 2
      - answer:
          hh[2]:
            person[2]:
              page: 7
        values:
          hh[2]/person[2]/dbl: 14
          hh[1]/person[1]/dbl: 60
          a/x: 1
          b/x: 2
        submission:
          contains:
            hh[2]/person[2]/page: 7
            b/x: 2
          count:
            hh[2]/person: 2
  - name: a new instance starts without inner instances
    steps:
      - add: hh
        count:
          hh[2]/person: 0
"""


@pytest.fixture(scope="module")
def nested_form(tmp_path_factory):
    return write_xlsform(tmp_path_factory.mktemp("nested") / "nested.xlsx", NESTED)


def test_nested_repeats_in_the_engine(run_cli, nested_form, scenario_file):
    result = run_cli("test-form", nested_form, scenario_file(NESTED_SCENARIO))
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "2 passed, 0 failed" in result.stdout


def test_resolve_addresses(nested_form):
    model = read_xform(xform_from_file(nested_form))
    assert model.resolve("a/x").ref == "/data/a/x"
    assert model.resolve("hh[2]/person[3]/page").ref == "/data/hh[2]/person[3]/page"
    assert model.resolve("hh[1]/person").ref == "/data/hh[1]/person"
    target = model.resolve("hh[2]")
    assert (target.ref, target.indexed, target.node.kind) == ("/data/hh[2]", True, "repeat")
    assert model.resolve("hh[1]/person[1]/dbl").node.calculated
    with pytest.raises(ValueError, match=r"'x' is ambiguous \(a/x, b/x\)"):
        model.resolve("x")
    with pytest.raises(ValueError, match=r"inside repeat 'person': say which instance"):
        model.resolve("hh[1]/page")
    with pytest.raises(ValueError, match="not a question address"):
        model.resolve("hh[1]//page x")
    assert model.short_address("/data/a/x") == "x"
    assert model.short_address("/data/hh[2]/person[1]/page") == "hh[2]/person[1]/page"


def test_choices_from_a_file_next_to_the_form(run_cli, tmp_path, scenario_file):
    form = write_xlsform(
        tmp_path / "ext.xlsx",
        [
            {"type": "select_one_from_file countries.csv", "name": "cty", "label": "Country"},
            {"type": "text", "name": "why", "label": "Why", "relevant": "${cty} = 'TUN'"},
        ],
    )
    scenarios = scenario_file(
        "scenarios:\n  - name: csv\n    steps:\n      - answer: {cty: TUN}\n        shown: [why]\n"
    )
    result = run_cli("test-form", form, scenarios)
    assert result.exit_code == 2
    assert (
        "cannot load the form: Failed to load resource: jr://file-csv/countries.csv"
        in result.stderr
    )
    assert "put the form's attachment files" in result.stderr
    (tmp_path / "countries.csv").write_text("name,label\nMAR,Morocco\nTUN,Tunisia\n")
    result = run_cli("test-form", form, scenarios)
    assert result.exit_code == 0, result.stdout + result.stderr
