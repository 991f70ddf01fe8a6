"""Mistakes in scenario files, forms and the engine set-up: exit 2, one line, file and line named."""

from __future__ import annotations

import pytest

from survmig.formtest import engine
from survmig.formtest.sheets import write_xlsform

ONE_STEP = """scenarios:
  - name: s
    steps:
      - {step}
"""


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        (
            "answer: {hh_sise: 3}",
            "scenarios.yaml:4: unknown question 'hh_sise' in the form (did you mean 'hh_size'?)",
        ),
        (
            "answer: {ename: Ali}",
            "scenarios.yaml:4: 'ename' is inside repeat 'emig': say which instance, e.g. emig[1]/ename",
        ),
        (
            "answer: {'hh_size[2]': 3}",
            "scenarios.yaml:4: 'hh_size[2]': 'hh_size' is not a repeat; drop [N]",
        ),
        (
            "answer: {'emig[0]/ename': x}",
            "scenarios.yaml:4: 'emig[0]/ename': repeat instances are numbered from 1",
        ),
        (
            "answer: {n_senders: 3}",
            "scenarios.yaml:4: answer: 'n_senders' is calculated; it cannot be answered",
        ),
        (
            "answer: {hh_size: 2.5}",
            "scenarios.yaml:4: answer: 'hh_size' is an integer question; 2.5 is not an integer",
        ),
        (
            "answer: {any_abroad: [1, 2]}",
            "scenarios.yaml:4: answer: 'any_abroad' takes one value, not a list",
        ),
        (
            "add: emig",
            "scenarios.yaml:4: repeat 'emig' takes its number of instances from repeat_count",
        ),
        (
            "add: {visit: 0}",
            "scenarios.yaml:4: add: the number of instances for 'visit' must be a positive integer",
        ),
        ("remove: visit", "scenarios.yaml:4: remove: 'visit' is not a repeat instance"),
        ("shownn: [hh_size]", "scenarios.yaml:4: unknown key 'shownn' in a step"),
        (
            "rejected: {hh_size: big}",
            "scenarios.yaml:4: rejected: 'hh_size': condition must be constraint or required",
        ),
        ("count: {hh_size: 1}", "scenarios.yaml:4: count: 'hh_size' is not a repeat"),
        (
            "submission: {complete: yes}",
            "scenarios.yaml:4: submission: complete must be true or false",
        ),
        ("comment: nothing to do", "scenarios.yaml:4: a step needs an action or a check"),
        ("values: {emig: 1}", "scenarios.yaml:4: values: 'emig' is a repeat, not a question"),
    ],
)
def test_scenario_mistakes_name_file_and_line(
    run_cli, household_form, scenario_file, step, expected
):
    result = run_cli("test-form", household_form, scenario_file(ONE_STEP.format(step=step)))
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert expected in result.stderr
    assert result.stdout == ""  # nothing ran


def test_malformed_yaml_names_file_and_line(run_cli, household_form, scenario_file):
    path = scenario_file(
        "scenarios:\n  - name: s\n    steps:\n      - answer: {hh_size: 3\n      - shown: [a]\n"
    )
    result = run_cli("test-form", household_form, path)
    assert result.exit_code == 2
    assert f"error: {path}:5: invalid YAML" in result.stderr


def test_unquoted_bracket_in_flow_style_gets_a_hint(run_cli, household_form, scenario_file):
    path = scenario_file(ONE_STEP.format(step="answer: {emig[1]/ename: Ali}"))
    result = run_cli("test-form", household_form, path)
    assert result.exit_code == 2
    assert f"{path}:4: invalid YAML" in result.stderr
    assert "quote addresses with brackets" in result.stderr


def test_duplicate_keys_and_names_are_errors(run_cli, household_form, scenario_file):
    result = run_cli(
        "test-form",
        household_form,
        scenario_file(ONE_STEP.format(step="answer: {hh_size: 3, hh_size: 4}")),
    )
    assert result.exit_code == 2
    assert "scenarios.yaml:4: duplicate key 'hh_size'" in result.stderr
    twice = "scenarios:\n  - name: a\n    steps: [{shown: [hh_size]}]\n  - name: a\n    steps: [{shown: [hh_size]}]\n"
    result = run_cli("test-form", household_form, scenario_file(twice))
    assert result.exit_code == 2
    assert "scenarios.yaml:4: scenario name 'a' is used twice (first on line 2)" in result.stderr


def test_file_shape_errors(run_cli, household_form, scenario_file):
    cases = {
        "- name: a\n": "scenarios.yaml:1: a scenario file is a mapping with a 'scenarios' list",
        "scenarios: []\n": "scenarios.yaml:1: 'scenarios' must be a non-empty list",
        "language: de\nscenarios:\n  - name: a\n    steps: [{shown: [hh_size]}]\n": (
            "scenarios.yaml:1: the form has no language 'de'"
        ),
        "scenarios:\n  - steps: [{shown: [hh_size]}]\n": "scenarios.yaml:2: every scenario needs a 'name'",
        "scenarios:\n  - name: a\n": "scenarios.yaml:2: scenario 'a' needs a non-empty 'steps' list",
        "scenario:\n  - name: a\n": "scenarios.yaml:1: unknown key 'scenario' in the scenario file",
    }
    for text, expected in cases.items():
        result = run_cli("test-form", household_form, scenario_file(text))
        assert result.exit_code == 2, text
        assert expected in result.stderr, (text, result.stderr)


def test_bad_form_and_missing_files(run_cli, tmp_path, scenario_file):
    broken = write_xlsform(
        tmp_path / "broken.xlsx", [{"type": "begin_group", "name": "g", "label": "G"}]
    )
    scenarios = scenario_file(ONE_STEP.format(step="shown: [g]"))
    result = run_cli("test-form", broken, scenarios)
    assert result.exit_code == 2
    assert f"error: {broken}: pyxform cannot convert the form" in result.stderr
    result = run_cli("test-form", tmp_path / "nope.xlsx", scenarios)
    assert result.exit_code == 2 and "nope.xlsx: form not found" in result.stderr
    result = run_cli("test-form", broken)
    assert result.exit_code == 2 and "give a form and at least one scenario file" in result.stderr


def test_missing_engine_says_which_command_installs_it(
    run_cli, household_form, scenario_file, tmp_path, monkeypatch
):
    monkeypatch.setenv(engine.ENV_VAR, str(tmp_path / "empty"))
    result = run_cli(
        "test-form", household_form, scenario_file(ONE_STEP.format(step="shown: [hh_size]"))
    )
    assert result.exit_code == 2
    assert "the ODK form engine (@getodk/xforms-engine 0.22.0) is not installed" in result.stderr
    assert "run: survmig test-form --install-engine" in result.stderr
    assert f"{engine.ENV_VAR}=" in result.stderr


def test_engine_home_choice(tmp_path, monkeypatch):
    monkeypatch.delenv(engine.ENV_VAR, raising=False)
    assert engine.engine_home() == engine.NODE_DIR  # the editable checkout is writable
    monkeypatch.setenv(engine.ENV_VAR, str(tmp_path / "x"))
    assert engine.engine_home() == (tmp_path / "x").resolve()
    # a read-only install without node_modules falls back to the per-user cache
    monkeypatch.delenv(engine.ENV_VAR)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(engine, "NODE_DIR", tmp_path / "readonly" / "node")
    (tmp_path / "readonly" / "node").mkdir(parents=True)
    for name in ("package.json", "package-lock.json"):
        (tmp_path / "readonly" / "node" / name).write_bytes(
            (engine.HARNESS.parent / name).read_bytes()
        )
    monkeypatch.setattr(engine.os, "access", lambda path, mode: False)
    home = engine.engine_home()
    assert home.parent == tmp_path / "cache" / "survmig"
    assert home.name.startswith("formtest-node-")


def test_installed_engine_matches_the_lock(monkeypatch):
    monkeypatch.delenv(engine.ENV_VAR, raising=False)
    home = engine.check_engine()  # the set-up installed it; tests never skip
    installed = (home / "node_modules" / "@getodk" / "xforms-engine" / "package.json").read_text()
    assert '"version": "0.22.0"' in installed
    assert engine.pinned_version() == "0.22.0"


def test_too_old_node_is_named(run_cli, household_form, scenario_file, monkeypatch):
    monkeypatch.setattr(engine, "_node_version", lambda node: (18, 19))
    result = run_cli(
        "test-form", household_form, scenario_file(ONE_STEP.format(step="shown: [hh_size]"))
    )
    assert result.exit_code == 2
    assert "Node.js is too old for @getodk/xforms-engine" in result.stderr
    assert "(18.19)" in result.stderr and "20.19 or later" in result.stderr


def test_engine_timeout_is_an_error(run_cli, household_form, scenario_file):
    path = scenario_file(ONE_STEP.format(step="shown: [hh_size]"))
    result = run_cli("test-form", household_form, path, "--timeout", "0.001")
    assert result.exit_code == 2
    assert "the ODK form engine did not finish within 0.001 s" in result.stderr


def test_a_questionnaire_spec_given_as_the_form_says_to_build_it(run_cli, tmp_path, scenario_file):
    spec = tmp_path / "survey.yaml"
    spec.write_text("# standard questionnaire\nform_id: s\n", encoding="utf-8")
    res = run_cli("test-form", spec, scenario_file("scenarios: []\n"))
    assert res.exit_code == 2
    assert "questionnaire spec, not a form" in res.stderr
    assert "survmig build" in res.stderr and "TypeError" not in res.stderr
