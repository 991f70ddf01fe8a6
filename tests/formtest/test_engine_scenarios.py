"""Scenarios played in the real ODK engine (@getodk/xforms-engine under Node): passing and failing.

Each passing file below is matched by a failing twin, so a check that could never fail would show.
"""

from __future__ import annotations

import json

PASSING = """
language: en
scenarios:
  - name: household without migrants
    steps:
      - answer: {hh_size: 3, any_abroad: 2}
        hidden: [n_emig, emig, rem_uses, other_use]
        shown: [hh_size, any_abroad, done]
        values: {n_senders: 0}
        count: {emig: 0}
        submission:
          complete: true
          contains: {hh_size: 3, any_abroad: 2}
          absent: [n_emig, emig, rem_uses]
          count: {emig: 0, visit: 1}

  - name: out-of-range household size is rejected
    steps:
      - answer: {hh_size: 40}
        rejected:
          hh_size: {condition: constraint, message: Between 1 and 30}
      - answer: {hh_size: 0}
        rejected: {hh_size: constraint}
      - answer: {hh_size: 30}
        accepted: [hh_size]

  - name: required questions hold the submission back
    steps:
      - answer: {hh_size: 4}
        rejected: {any_abroad: required}
        submission: {complete: false}
      - answer: {any_abroad: 1}
        rejected: {n_emig: required}
      - answer: {n_emig: 1}
        rejected: {"emig[1]/ename": required}
        accepted: [n_emig]

  - name: two emigrants sending money through different channels
    steps:
      - answer: {hh_size: 5, any_abroad: 1, n_emig: 2}
        shown: [n_emig, emig]
        count: {emig: 2}
        hidden: ["emig[1]/channel", rem_uses]
      - answer:
          emig[1]:
            ename: Amina
            eage: 24
            sends: 1
            channel: wu
          emig[2]/ename: Karim
          emig[2]/eage: 61
          emig[2]/sends: 1
          emig[2]/channel: mobile
        shown:
          - emig[1]/channel
          - emig[2]/channel
          - rem_uses
        values:
          emig[1]/eage_grp: young
          emig[2]/eage_grp: old
          n_senders: 2
      - answer:
          rem_uses: [food, other]
        shown: [other_use]
        values: {rem_uses: other food}
      - answer: {other_use: Wedding}
        submission:
          complete: true
          contains:
            emig[1]/channel: wu
            emig[2]/channel: mobile
            emig[2]/ename: Karim
            rem_uses: food other
            other_use: Wedding
            n_senders: 2
          count: {emig: 2}

  - name: open repeat grows and shrinks
    steps:
      - add: {visit: 2}
        count: {visit: 3}
      - answer:
          visit[1]/place: Rabat
          visit[3]/place: Tunis
        remove: visit[2]
        count: {visit: 2}
        values:
          visit[2]/place: Tunis
      - answer: {hh_size: 2, any_abroad: 2}
        submission:
          complete: true
          count: {visit: 2}
          contains:
            visit[2]/place: Tunis

  - name: emigrant too young, then corrected
    steps:
      - answer: {hh_size: 2, any_abroad: 1, n_emig: 1}
      - answer:
          emig[1]/eage: 12
        rejected:
          emig[1]/eage: constraint
      - answer:
          emig[1]/eage: 15
        accepted:
          - emig[1]/eage
      - answer: {n_emig: 3}
        rejected: {n_emig: constraint}
"""

FAILING = """
scenarios:
  - name: wrong relevance expectation
    steps:
      - answer: {hh_size: 3, any_abroad: 2}
        shown: [n_emig]
  - name: wrong calculation expectation
    steps:
      - answer: {hh_size: 3, any_abroad: 1, n_emig: 1}
        values: {n_senders: 5}
  - name: wrong rejection expectation
    steps:
      - answer: {hh_size: 12}
        rejected: {hh_size: constraint}
  - name: wrong submission expectation
    steps:
      - answer: {hh_size: 3, any_abroad: 2}
        submission:
          contains: {hh_size: 4}
  - name: answering a hidden question
    steps:
      - answer: {hh_size: 3, any_abroad: 2, n_emig: 1}
      - values: {hh_size: 3}
  - name: choice that is not offered
    steps:
      - answer: {any_abroad: 7}
  - name: repeat instance that is not there
    steps:
      - answer: {hh_size: 3, any_abroad: 1, n_emig: 1}
      - answer: {"emig[2]/ename": Ali}
  - name: wrong select_multiple expectation
    steps:
      - answer: {hh_size: 2, any_abroad: 1, n_emig: 1, "emig[1]/sends": 1, rem_uses: food}
        values: {rem_uses: [food, school]}
"""


def test_passing_scenarios_pass_in_the_engine(run_cli, household_form, scenario_file, tmp_path):
    report = tmp_path / "out" / "report.json"
    result = run_cli("test-form", household_form, scenario_file(PASSING), "--report", report)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "6 passed, 0 failed" in result.stdout
    assert result.stdout.count("PASS  ") == 6
    data = json.loads(report.read_text())
    assert data[0]["passed"] == 6 and data[0]["failed"] == 0
    assert [r["name"] for r in data[0]["results"]][0] == "household without migrants"


def test_each_failure_is_reported_with_its_question_and_line(
    run_cli, household_form, scenario_file
):
    path = scenario_file(FAILING)
    result = run_cli("test-form", household_form, path)
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr
    assert "0 passed, 8 failed" in result.stdout
    lines = result.stdout.splitlines()

    def failure_of(name: str) -> str:
        index = lines.index(f"FAIL  {name}")
        return lines[index + 1]

    assert failure_of("wrong relevance expectation") == (
        "      scenarios.yaml:6: step 1: n_emig: expected shown, but it is hidden (relevance is false)"
    )
    assert "n_senders: expected value '5', found '0'" in failure_of("wrong calculation expectation")
    assert (
        "hh_size: expected rejected (constraint), but the answer '12' was accepted"
        in failure_of("wrong rejection expectation")
    )
    assert "hh_size: expected '4' in the submission, found '3'" in failure_of(
        "wrong submission expectation"
    )
    hidden = failure_of("answering a hidden question")
    assert "scenarios.yaml:22: step 1: n_emig: cannot answer: it is not shown" in hidden
    assert "rest of the scenario was not played" in hidden
    assert "any_abroad: choice '7' is not offered (offered now: 1, 2)" in failure_of(
        "choice that is not offered"
    )
    assert "emig[2]/ename: does not exist" in failure_of("repeat instance that is not there")
    assert "rem_uses: expected value 'food school', found 'food'" in failure_of(
        "wrong select_multiple expectation"
    )
    # the one-line error names the file, the first failing line and the questions
    assert result.stderr.startswith("error: ")
    assert str(path) + ":6:" in result.stderr
    assert "8 of 8 scenarios failed" in result.stderr
    for question in ("n_emig", "n_senders", "hh_size", "any_abroad", "emig[2]/ename", "rem_uses"):
        assert question in result.stderr


def test_only_runs_the_named_scenario(run_cli, household_form, scenario_file):
    result = run_cli(
        "test-form",
        household_form,
        scenario_file(PASSING),
        "--only",
        "open repeat grows and shrinks",
    )
    assert result.exit_code == 0, result.stderr
    assert "1 passed, 0 failed" in result.stdout
    missing = run_cli("test-form", household_form, scenario_file(PASSING), "--only", "nope")
    assert missing.exit_code == 2
    assert "no scenario named 'nope'" in missing.stderr


def test_several_files_run_together_and_french_messages(run_cli, household_form, scenario_file):
    french = scenario_file(
        """
language: fr
scenarios:
  - name: message in French
    steps:
      - answer: {hh_size: 99}
        rejected:
          hh_size: {condition: constraint, message: Entre 1 et 30}
""",
        "fr.yaml",
    )
    english = scenario_file(
        """
scenarios:
  - name: yes stays a string
    steps:
      - answer: {hh_size: 1}
        values: {hh_size: "1"}
""",
        "en.yaml",
    )
    result = run_cli("test-form", household_form, french, english)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert result.stdout.count("1 passed, 0 failed") == 2


def test_the_readme_example_passes(run_cli, household_form, scenario_file, project_root):
    """The scenario file shown in docs/design.md is run against the test form, so the docs stay true."""
    readme = (project_root / "docs" / "design.md").read_text(encoding="utf-8")
    section = readme.split("<!-- section:formtest -->")[1]
    example = section.split("```yaml\n")[1].split("```")[0]
    result = run_cli("test-form", household_form, scenario_file(example))
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "1 passed, 0 failed" in result.stdout
