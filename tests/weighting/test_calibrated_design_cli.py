"""`survmig weight` → OUT.design.yaml → `survmig estimate --design` gives R's calibrated SEs.

Fixtures: tests/reference/calibrated_design.R (R survey calibrate()/rake()/postStratify() with
svymean, svytotal and svyby on apiclus1 and apistrat).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

REF = Path(__file__).resolve().parents[1] / "reference"
FIX = json.loads((REF / "calibrated_design.json").read_text())
C = FIX["controls"]
DESIGNS = {
    "clus1": ("apiclus1.csv", {"ids": "dnum", "weights": "pw", "fpc": "fpc"}),
    "strat": ("apistrat.csv", {"strata": "stype", "weights": "pw", "fpc": "fpc"}),
}
STYPE = {"by": "stype", "totals": C["stype"]}
WIDE = {"by": "sch.wide", "totals": C["sch.wide"]}
CAL = {"margins": [STYPE], "continuous": {"api99": C["api99"]}}
STEPS = {
    "poststratify": {"step": "poststratify", **WIDE},
    "rake": {"step": "rake", "margins": [STYPE, WIDE], "epsilon": 1e-10, "maxit": 100},
    "linear": {"step": "calibrate", **CAL},
    "raking": {"step": "calibrate", "method": "raking", **CAL},
    "logit": {"step": "calibrate", "method": "logit", "bounds": [0.7, 1.7], **CAL},
}


def _weigh(run_cli, tmp_path: Path, case: dict) -> tuple[Path, Path]:
    file, spec = DESIGNS[case["design"]]
    (tmp_path / "design.yaml").write_text(yaml.safe_dump(spec))
    (tmp_path / "weighting.yaml").write_text(
        yaml.safe_dump({"steps": [STEPS[case["calibration"]]]})
    )
    out = tmp_path / "weighted.csv"
    res = run_cli(
        "weight", REF / "api" / file, "--design", tmp_path / "design.yaml",
        "--steps", tmp_path / "weighting.yaml", "-o", out,
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    return out, tmp_path / "weighted.design.yaml"


@pytest.mark.parametrize("name", list(FIX["cases"]))
def test_estimate_with_the_written_design_matches_r(run_cli, tmp_path: Path, name: str) -> None:
    case = FIX["cases"][name]
    data, design = _weigh(run_cli, tmp_path, case)
    np.testing.assert_allclose(pd.read_csv(data)["pw"], case["weights"], rtol=1e-8)
    est = tmp_path / "est.csv"
    res = run_cli(
        "estimate", data, "--design", design, "--mean", "api00", "--total", "enroll",
        "--prop", "awards", "-o", est,
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    got = pd.read_csv(est)
    want = [case["mean_api00"], case["total_enroll"], case["prop_awards"]]
    np.testing.assert_allclose(
        got["estimate"], np.hstack([np.ravel(w["estimate"]) for w in want]), rtol=1e-8
    )
    np.testing.assert_allclose(got["se"], np.hstack([np.ravel(w["se"]) for w in want]), rtol=1e-8)
    est = tmp_path / "by.csv"
    res = run_cli(
        "estimate", data, "--design", design, "--mean", "api00", "--by", "sch.wide", "-o", est
    )
    assert res.exit_code == 0, res.stderr
    got = pd.read_csv(est)
    ref = case["mean_api00_by_sch.wide"]
    assert got["sch.wide"].tolist() == ref["sch.wide"]
    np.testing.assert_allclose(got["estimate"], ref["estimate"], rtol=1e-8)
    np.testing.assert_allclose(got["se"], ref["se"], rtol=1e-8)
