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


TYPES = [
    {"type": "date", "name": "d", "label": "D"},
    {"type": "time", "name": "t", "label": "T"},
    {"type": "geopoint", "name": "g", "label": "G"},
    {"type": "decimal", "name": "amt", "label": "Amount", "constraint": ". > 0"},
    {"type": "acknowledge", "name": "ok", "label": "OK"},
    {"type": "rank uses", "name": "rk", "label": "Rank"},
    {"type": "range", "name": "rg", "label": "R", "parameters": "start=1 end=5 step=1"},
    {"type": "calculate", "name": "yr", "calculation": 'format-date(${d}, "%Y")'},
    {"type": "text", "name": "late", "label": "L", "relevant": '${d} > date("2020-01-01")'},
]
TYPES_SCENARIO = """
scenarios:
  - name: every answer type the engine takes
    steps:
      - answer:
          d: 2024-03-05
          t: "10:30:00"
          g: "12.5 -7.25 0 10"
          amt: 2.50
          ok: OK
          rk: [b, a]
          rg: 3
        values:
          d: 2024-03-05
          g: 12.5 -7.25 0.0 10.0
          amt: 2.5
          yr: 2024
          rk: b a
          rg: 3
        shown: [late]
      - answer: {amt: -1}
        rejected: {amt: constraint}
  - name: impossible date
    steps:
      - answer: {d: "2024-13-45"}
"""


def test_answer_types(run_cli, tmp_path, scenario_file):
    form = write_xlsform(
        tmp_path / "types.xlsx",
        TYPES,
        [
            {"list_name": "uses", "name": "a", "label": "A"},
            {"list_name": "uses", "name": "b", "label": "B"},
        ],
    )
    result = run_cli("test-form", form, scenario_file(TYPES_SCENARIO))
    assert result.exit_code == 2
    assert "PASS  every answer type the engine takes" in result.stdout
    assert (
        "scenarios.yaml:25: step 1: d: the engine did not take '2024-13-45' as a date value (it stored nothing)"
        in result.stdout
    )
