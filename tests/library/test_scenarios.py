"""Every scenario file of xlsform/scenarios/ played in ODK Web Forms' engine (Node): all must pass.

No skip when Node or the engine is missing: `bash .ci/setup` installs them (survmig test-form
--install-engine), and a missing engine is an error here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from survmig.formtest import run_scenario_files

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((ROOT / "xlsform" / "scenarios").glob("*.yaml"))


def test_every_standard_questionnaire_has_a_scenario_file():
    names = {p.stem for p in SCENARIOS}
    assert {
        "medhims_household",
        "lfs_migration_addon",
        "census_core_short",
        "medhims_community",
    } <= names
    for path in SCENARIOS:
        assert (ROOT / "xlsform" / f"{path.stem}.xlsx").exists(), path.name


@pytest.fixture(scope="module")
def reports():
    pairs = [(ROOT / "xlsform" / f"{p.stem}.xlsx", p) for p in SCENARIOS]
    return run_scenario_files(pairs)


def test_every_scenario_passes_in_the_engine(reports):
    failed = [line for report in reports if not report.ok for line in report.lines()]
    assert not failed, "\n".join(failed)
    names = {r.name for report in reports for r in report.results}
    for required in (
        "household without migrants",
        "two emigrants sending remittances through different channels",
        "return migrant who paid a recruiter",
        "out-of-range age is rejected",
        "forced-migrant household",
        "returned migrant worker with recruitment costs",
        "native household without migration",
    ):
        assert required in names, required


def test_a_wrong_expectation_fails(tmp_path):
    """The same scenarios with one expectation turned around must fail (the checks can fail)."""
    source = (ROOT / "xlsform" / "scenarios" / "medhims_household.yaml").read_text(encoding="utf-8")
    wrong = source.replace(
        'hidden: ["members[1]/im_plans", "members[1]/fm_block", "members[2]/fm_block"]',
        'hidden: ["members[2]/im_plans", "members[1]/fm_block", "members[2]/fm_block"]',
    ).replace(
        '            "rem_senders[2]/rem_channel": 5\n',
        '            "rem_senders[2]/rem_channel": 1\n',
    )
    assert wrong != source
    path = tmp_path / "medhims_household.yaml"
    path.write_text(wrong, encoding="utf-8")
    (report,) = run_scenario_files([(ROOT / "xlsform" / "medhims_household.xlsx", path)])
    failed = {r.name for r in report.results if not r.passed}
    assert failed == {
        "household without migrants",
        "two emigrants sending remittances through different channels",
    }
