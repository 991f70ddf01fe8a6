"""Bad input: one-line message naming the problem, exit status 2, no traceback, nothing written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from survmig.errors import SurvmigError

REF = Path(__file__).resolve().parents[1] / "reference"
API = pd.read_csv(REF / "api" / "apiclus1.csv")
STYPE = {"E": 4421, "H": 755, "M": 1018}
WIDE = {"No": 1072, "Yes": 5122}
CAL = {"margins": [{"by": "stype", "totals": STYPE}], "continuous": {"api99": 3914069}}


def run(run_cli, tmp_path: Path, steps: list[dict], data: pd.DataFrame = API):
    data_path = tmp_path / "data.csv"
    data.to_csv(data_path, index=False)
    steps_path = tmp_path / "weighting.yaml"
    steps_path.write_text(yaml.safe_dump({"steps": steps}, sort_keys=False))
    out = tmp_path / "out" / "weighted.csv"
    res = run_cli("weight", data_path, "--weight", "pw", "--steps", steps_path, "-o", out)
    assert res.exit_code == 2, res.stderr
    assert "Traceback" not in res.stderr and res.stderr.count("\n") == 1
    assert not out.parent.exists() or not any(out.parent.iterdir())
    return res.stderr


def test_data_category_without_control(run_cli, tmp_path):
    err = run(
        run_cli,
        tmp_path,
        [{"step": "poststratify", "by": "stype", "totals": {"E": 4421, "H": 755}}],
    )
    assert "data categories 'M' have no control total" in err and "weighting.yaml:" in err


def test_control_category_without_cases_is_an_empty_class(run_cli, tmp_path):
    err = run(
        run_cli,
        tmp_path,
        [
            {
                "step": "rake",
                "margins": [
                    {"by": "stype", "totals": {**STYPE, "K": 10}},
                    {"by": "sch.wide", "totals": WIDE},
                ],
            }
        ],
    )
    assert "control categories 'K' have no cases" in err and "empty weighting class" in err


def test_zero_response_in_a_class(run_cli, tmp_path):
    data = API.assign(resp=np.where(API["stype"] == "H", 0, 1))
    err = run(
        run_cli, tmp_path, [{"step": "nonresponse", "response": "resp", "classes": ["stype"]}], data
    )
    assert "weighting classes 'H' have no respondents" in err and "collapse" in err


def test_empty_class_in_a_replicate_is_named():
    from survmig.weighting.steps import Nonresponse, WeightState

    resp = np.arange(len(API)) % 2
    # replicate 1 drops every responding middle school but keeps the nonrespondents
    W = np.column_stack([API.pw, API.pw * ~((API.stype == "M") & (resp == 1))])
    state = WeightState(API.assign(resp=resp), W)
    with pytest.raises(SurvmigError, match=r"class 'M' has no respondent weight in replicate 1"):
        Nonresponse(response="resp", classes=["stype"]).apply(state)


def test_raking_not_converging_names_the_margin(run_cli, tmp_path):
    err = run(
        run_cli,
        tmp_path,
        [
            {
                "step": "rake",
                "maxit": 1,
                "epsilon": 1e-12,
                "margins": [{"by": "stype", "totals": STYPE}, {"by": "sch.wide", "totals": WIDE}],
            }
        ],
    )
    assert "raking did not converge in 1 sweeps" in err and "margin stype" in err
    assert "collapse" in err


def test_calibration_not_converging_names_the_margin(run_cli, tmp_path):
    err = run(run_cli, tmp_path, [{"step": "calibrate", "method": "raking", "maxit": 1, **CAL}])
    assert "raking calibration of the full-sample weights did not converge in 1 iterations" in err
    assert "margin" in err and "widen the bounds" in err


def test_infeasible_bounds_found_by_linear_programming(run_cli, tmp_path):
    err = run(
        run_cli, tmp_path, [{"step": "calibrate", "method": "logit", "bounds": [0.9, 1.1], **CAL}]
    )
    assert "infeasible bounds [0.9, 1.1]" in err and "widen" in err


@pytest.mark.parametrize("bounds", [[1.2, 3], [0.2, 0.9]])
def test_bounds_excluding_one_are_infeasible(run_cli, tmp_path, bounds):
    err = run(
        run_cli, tmp_path, [{"step": "calibrate", "method": "logit", "bounds": bounds, **CAL}]
    )
    assert "infeasible bounds" in err


def test_trim_bounds_inverted(run_cli, tmp_path):
    err = run(run_cli, tmp_path, [{"step": "trim", "lower": 50, "upper": 20}])
    assert "infeasible bounds: lower 50 ≥ upper 20" in err


def test_margins_with_different_totals(run_cli, tmp_path):
    err = run(
        run_cli,
        tmp_path,
        [
            {
                "step": "calibrate",
                "margins": [
                    {"by": "stype", "totals": STYPE},
                    {"by": "sch.wide", "totals": {"No": 1000, "Yes": 5122}},
                ],
            }
        ],
    )
    assert "margins do not add up to the same population" in err and "sch.wide" in err


def test_missing_values_in_auxiliary_variable(run_cli, tmp_path):
    data = API.copy()
    data.loc[[3, 7], "stype"] = np.nan
    err = run(run_cli, tmp_path, [{"step": "poststratify", "by": "stype", "totals": STYPE}], data)
    assert "'stype' has 2 missing value(s) (rows 4, 8)" in err


def test_missing_continuous_auxiliary(run_cli, tmp_path):
    data = API.copy()
    data.loc[5, "api99"] = np.nan
    err = run(run_cli, tmp_path, [{"step": "calibrate", **CAL}], data)
    assert "'api99' has 1 missing value(s) (rows 6)" in err


def test_negative_weights_from_linear_calibration(run_cli, tmp_path):
    cal = {"margins": [{"by": "stype", "totals": STYPE}], "continuous": {"api99": 3914069 * 1.6}}
    err = run(run_cli, tmp_path, [{"step": "calibrate", **cal}])
    assert "zero or negative" in err and "bounds" in err


def test_unknown_key_names_the_line(run_cli, tmp_path):
    err = run(run_cli, tmp_path, [{"step": "trim", "upper": 60, "uper": 3}])
    assert "unknown key 'uper' for a trim step" in err and "weighting.yaml:" in err


def test_unknown_column(run_cli, tmp_path):
    err = run(run_cli, tmp_path, [{"step": "poststratify", "by": "region", "totals": {"a": 1}}])
    assert "column 'region' is not in the data" in err
