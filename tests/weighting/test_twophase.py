"""A synthetic two-phase migration survey weighted end to end from weighting.yaml, against R.

Fixture: tests/reference/weighting_twophase.R (PPS EAs, listing, screener, phase-2 rates per class,
nonresponse by stratum × class, then post-stratification / raking / calibration / trimming).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from survmig.weighting.pipeline import run_steps

REF = Path(__file__).resolve().parents[1] / "reference"
FIX = json.loads((REF / "weighting_twophase.json").read_text())
SAMPLE = pd.DataFrame(FIX["sample"])
CASES = FIX["cases"]
C = FIX["controls"]
RESP = SAMPLE["responded"].to_numpy() == 1

BASE = [
    {
        "step": "base",
        "stages": [
            {"pps": {"n": "n_ea", "size": "mos", "size_total": "size_total"}},
            {"listing": {"listed": "listed", "selected": "selected"}},
            {"phase2": {"class": "class", "rates": FIX["rates"]}},
        ],
    },
    {"step": "nonresponse", "response": "responded", "classes": ["stratum", "class"]},
]
REGION = {"by": "stratum", "totals": C["stratum"]}
URBAN = {"by": "urban", "totals": C["urban"]}
CAL = {"margins": [REGION, URBAN], "continuous": {"hhsize": C["persons"]}}
LATER = {
    "base": [],
    "poststratify": [{"step": "poststratify", "by": "stratum", "totals": C["stratum"]}],
    "rake": [{"step": "rake", "margins": [REGION, URBAN], "epsilon": 1e-10, "maxit": 100}],
    "calibrate_linear": [{"step": "calibrate", **CAL}],
    "calibrate_raking": [{"step": "calibrate", "method": "raking", **CAL}],
    "calibrate_logit": [{"step": "calibrate", "method": "logit", "bounds": [0.3, 3], **CAL}],
    "trim": [
        {"step": "calibrate", **CAL},
        {"step": "trim", "lower": {"median": 0.4}, "upper": {"median": 2.5}, "strict": True},
    ],
}


def run(tmp_path: Path, later: list[dict]):
    path = tmp_path / "weighting.yaml"
    path.write_text(yaml.safe_dump({"steps": BASE + later}, sort_keys=False))
    return run_steps(SAMPLE, path)


def test_base_and_nonresponse_weights(tmp_path: Path) -> None:
    res = run(tmp_path, [])
    pi = (
        SAMPLE.n_ea
        * SAMPLE.mos
        / SAMPLE.size_total
        * SAMPLE.selected
        / SAMPLE.listed
        * SAMPLE["class"].map(FIX["rates"])
    )
    base = res.reports[0]
    assert base.after["sum"] == pytest.approx((1 / pi).sum(), rel=1e-12)
    np.testing.assert_array_equal(res.rows, np.flatnonzero(RESP))  # nonrespondents leave
    np.testing.assert_allclose(res.weights, CASES["base"]["weights"], rtol=1e-12)
    # nonresponse keeps each class's total
    nr = res.reports[1]
    assert nr.after["sum"] == pytest.approx(nr.before["sum"], rel=1e-12)
    assert sum(c["respondents"] for c in nr.classes) == RESP.sum()


@pytest.mark.parametrize("case", [c for c in LATER if c != "base"])
def test_adjusted_weights_match_r(tmp_path: Path, case: str) -> None:
    res = run(tmp_path, LATER[case])
    rtol = 1e-6 if "logit" in case else 1e-8
    np.testing.assert_allclose(res.weights, CASES[case]["weights"], rtol=rtol)


def test_cli_base_weights_feed_the_design(run_cli, tmp_path: Path) -> None:
    """design.yaml names a weight column the base step creates; replicates are made from it."""
    SAMPLE.to_csv(tmp_path / "hh.csv", index=False)
    (tmp_path / "design.yaml").write_text(
        yaml.safe_dump({"ids": "ea", "strata": "stratum", "weights": "w", "nest": True})
    )
    (tmp_path / "w.yaml").write_text(
        yaml.safe_dump({"steps": BASE + LATER["calibrate_linear"]}, sort_keys=False)
    )
    out = tmp_path / "hh_w.parquet"
    res = run_cli(
        "weight",
        tmp_path / "hh.csv",
        "--design",
        tmp_path / "design.yaml",
        "--steps",
        tmp_path / "w.yaml",
        "-o",
        out,
    )
    assert res.exit_code == 0, res.stderr
    got = pd.read_parquet(out)
    assert len(got) == RESP.sum()
    np.testing.assert_allclose(got["w"], CASES["calibrate_linear"]["weights"], rtol=1e-8)
    report = json.loads((tmp_path / "hh_w.weighting.json").read_text())
    assert [s["kind"] for s in report["steps"]] == ["base", "nonresponse", "calibrate"]
    assert report["rows_in"] == len(SAMPLE) and report["rows_weighted"] == RESP.sum()
