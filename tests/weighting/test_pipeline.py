"""The pipeline on designs (replicates recalibrated per replicate), the CLI, formats and properties."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from survmig.design import GregCalibration, PostStratification, Raking, load_design
from survmig.weighting import Calibrate, ControlTable, Nonresponse, PostStratify, Rake, Trim
from survmig.weighting.pipeline import run_steps, weight_design
from survmig.weighting.spec import load_steps

REF = Path(__file__).resolve().parents[1] / "reference"
API = pd.read_csv(REF / "api" / "apiclus1.csv")
FIX = json.loads((REF / "weighting_api.json").read_text())
STYPE = ControlTable(("stype",), {"E": 4421.0, "H": 755.0, "M": 1018.0})
WIDE = ControlTable(("sch.wide",), {"No": 1072.0, "Yes": 5122.0})
CAL = {"margins": [STYPE], "continuous": {"api99": 3914069.0}}
DESIGN = {"ids": "dnum", "weights": "pw", "fpc": "fpc"}


@pytest.fixture(scope="module")
def jk1():
    return load_design(DESIGN, API).to_replicate("JK1")


@pytest.mark.parametrize(
    "case", ["poststratify", "rake_tight", "calibrate_linear", "calibrate_raking"]
)
def test_replicate_design_recalibrated_per_replicate(jk1, case):
    steps = {
        "poststratify": [PostStratify(controls=STYPE)],
        "rake_tight": [Rake(margins=[STYPE, WIDE], epsilon=1e-10, maxit=100)],
        "calibrate_linear": [Calibrate(**CAL)],
        "calibrate_raking": [Calibrate(**CAL, method="raking")],
    }[case]
    ref = FIX["cases"]["jk1"]
    # the engine may number the delete-one replicates in another order than R: match them by the
    # PSU each one drops
    r_base = np.asarray(ref["base"]["repweights"])
    order = [
        int(np.flatnonzero(((jk1.repweights == 0) == (r_base[:, [j]] == 0)).all(axis=0))[0])
        for j in range(r_base.shape[1])
    ]
    np.testing.assert_allclose(jk1.repweights[:, order], r_base, rtol=1e-12)
    res = weight_design(jk1, steps)
    np.testing.assert_allclose(res.design.weights, ref[case]["weights"], rtol=1e-8)
    np.testing.assert_allclose(
        res.design.repweights[:, order], np.asarray(ref[case]["repweights"]), rtol=1e-8
    )
    assert res.design.calibration == ()


def test_linearization_records_follow_r():
    design = load_design(DESIGN, API)
    res = weight_design(
        design, [PostStratify(controls=STYPE), Rake(margins=[STYPE, WIDE]), Calibrate(**CAL)]
    )
    ps, rk, greg = res.design.calibration
    assert (
        isinstance(ps, PostStratification)
        and isinstance(rk, Raking)
        and isinstance(greg, GregCalibration)
    )
    np.testing.assert_allclose(ps.old_weights, API.pw)
    np.testing.assert_allclose(
        ps.weights, FIX["cases"]["linearization"]["poststratify"]["weights"], rtol=1e-12
    )
    # R: whalf = sqrt(weights before calibration), w = g * whalf, so w * whalf = new weights
    np.testing.assert_allclose(greg.weights * greg.qr_weights, res.design.weights, rtol=1e-12)
    assert greg.model_matrix.shape == (len(API), 4)  # (Intercept), stype H, stype M, api99
    # raking record: one (groups, weights) pair per margin, the last margin's weights are final
    assert len(rk.margins) == 2
    raked = run_steps(
        API, [PostStratify(controls=STYPE), Rake(margins=[STYPE, WIDE])], weights=API.pw
    )
    np.testing.assert_allclose(rk.margins[1][1], raked.weights, rtol=1e-12)


def test_scaling_input_weights_leaves_calibrated_weights_unchanged():
    a = run_steps(API, [Calibrate(**CAL, method="logit", bounds=(0.5, 2))], weights=API.pw)
    b = run_steps(API, [Calibrate(**CAL, method="logit", bounds=(0.5, 2))], weights=API.pw * 1.0)
    np.testing.assert_allclose(a.weights, b.weights)
    c = run_steps(API, [Calibrate(**CAL)], weights=API.pw * 3.7)
    d = run_steps(API, [Calibrate(**CAL)], weights=API.pw)
    np.testing.assert_allclose(c.weights, d.weights, rtol=1e-10)


def test_row_order_does_not_matter():
    perm = np.random.default_rng(3).permutation(len(API))
    steps = [
        Rake(margins=[STYPE, WIDE], epsilon=1e-10),
        Trim(upper=1.3, lower=0.7, relative=True, strict=True),
    ]
    a = run_steps(API, steps, weights=API.pw)
    b = run_steps(API.iloc[perm], steps, weights=API.pw.to_numpy()[perm])
    np.testing.assert_allclose(a.weights[perm], b.weights, rtol=1e-12)


def test_trim_strict_keeps_total_and_bounds():
    res = run_steps(
        API,
        [Calibrate(**CAL, method="raking"), Trim(upper=1.1, lower=0.9, relative=True, strict=True)],
        weights=API.pw,
    )
    w = res.weights
    med = np.median(run_steps(API, [Calibrate(**CAL, method="raking")], weights=API.pw).weights)
    assert w.sum() == pytest.approx(6194, rel=1e-7)  # calibration tolerance
    assert w.max() <= 1.1 * med * (1 + 1e-12) and w.min() >= 0.9 * med * (1 - 1e-12)


def test_propensity_classes():
    rng = np.random.default_rng(11)
    data = API.assign(
        resp=(rng.random(len(API)) < 0.5 + 0.4 * (API["sch.wide"] == "Yes")).astype(int)
    )
    res = run_steps(
        data,
        [Nonresponse(response="resp", propensity=["sch.wide", "api99"], n_classes=4)],
        weights=API.pw,
    )
    rep = res.reports[0]
    assert len(rep.classes) == 4
    assert sum(c["cases"] for c in rep.classes) == len(API)
    assert res.weights.sum() == pytest.approx(API.pw.sum(), rel=1e-12)
    assert len(res.weights) == data.resp.sum()  # respondents carry the weight
    # each class's factor = its weight / its respondents' weight
    for c in rep.classes:
        assert c["factor"] == pytest.approx(1 / c["response_rate_weighted"], rel=1e-12)
    assert set(rep.convergence["coefficients"]) == {"const", "sch.wide_Yes", "api99"}


def test_yaml_controls_inline_rows_and_csv(tmp_path):
    cells = API.groupby(["stype", "sch.wide"]).pw.sum().mul(1.1).rename("total").reset_index()
    cells.to_csv(tmp_path / "cells.csv", index=False)
    rows = [dict(r) for r in cells.to_dict("records")]
    spec = {
        "steps": [
            {
                "step": "poststratify",
                "by": ["stype", "sch.wide"],
                "totals": "cells.csv",
                "name": "from csv",
            },
            {"step": "poststratify", "by": ["stype", "sch.wide"], "totals": rows},
        ]
    }
    (tmp_path / "w.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    steps = load_steps(tmp_path / "w.yaml")
    res = run_steps(API, steps, weights=API.pw)
    np.testing.assert_allclose(res.weights, API.pw * 1.1, rtol=1e-12)
    assert res.reports[0].name == "from csv"
    assert {c["category"] for c in res.reports[0].controls} == {
        "E:No",
        "E:Yes",
        "H:No",
        "H:Yes",
        "M:No",
        "M:Yes",
    }


def test_cli_with_design_and_replicates(run_cli, tmp_path):
    API.to_csv(tmp_path / "api.csv", index=False)
    (tmp_path / "design.yaml").write_text(
        yaml.safe_dump({**DESIGN, "create_replicates": {"type": "JK1"}})
    )
    (tmp_path / "weighting.yaml").write_text(
        yaml.safe_dump(
            {
                "steps": [
                    {
                        "step": "calibrate",
                        "margins": [{"by": "stype", "totals": {"E": 4421, "H": 755, "M": 1018}}],
                        "continuous": {"api99": 3914069},
                    },
                ]
            }
        )
    )
    out = tmp_path / "out" / "weighted.csv"
    res = run_cli(
        "weight",
        tmp_path / "api.csv",
        "--design",
        tmp_path / "design.yaml",
        "--steps",
        tmp_path / "weighting.yaml",
        "-o",
        out,
    )
    assert res.exit_code == 0, res.stderr
    assert "calibrate" in res.stdout and "Kish" in res.stdout
    got = pd.read_csv(out)
    ref = FIX["cases"]["jk1"]["calibrate_linear"]
    np.testing.assert_allclose(got["pw"], ref["weights"], rtol=1e-8)  # the design's weight column
    reps = got[[f"repw_{i}" for i in range(1, 16)]].to_numpy()
    r_reps = np.asarray(ref["repweights"])
    order = [
        int(np.flatnonzero(((reps == 0) == (r_reps[:, [j]] == 0)).all(axis=0))[0])
        for j in range(15)
    ]
    np.testing.assert_allclose(reps[:, order], r_reps, rtol=1e-8)
    report = json.loads((out.parent / "weighted.weighting.json").read_text())
    assert report["replicates"] == 15
    step = report["steps"][0]
    assert {r["category"]: r["after"] for r in step["controls"]}["H"] == pytest.approx(755)
    assert step["after"]["kish"] == pytest.approx(len(API) * (got.pw**2).sum() / got.pw.sum() ** 2)
    md = (out.parent / "weighted.weighting.md").read_text()
    assert "| stype | H | 755 |" in md and "Kish" in md


@pytest.mark.parametrize("ext", [".parquet", ".sav", ".dta"])
def test_output_formats(run_cli, tmp_path, ext):
    data = pd.DataFrame({"region": ["a", "b", "a", "b", "c", "c"], "w0": [10.0, 12, 9, 11, 20, 22]})
    data.to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "s.yaml").write_text(
        yaml.safe_dump(
            {
                "steps": [
                    {"step": "poststratify", "by": "region", "totals": {"a": 40, "b": 50, "c": 60}}
                ]
            }
        )
    )
    out = tmp_path / f"o{ext}"
    res = run_cli(
        "weight", tmp_path / "d.csv", "--weight", "w0", "--steps", tmp_path / "s.yaml", "-o", out
    )
    assert res.exit_code == 0, res.stderr
    if ext == ".parquet":
        got = pd.read_parquet(out)
    else:
        import pyreadstat

        got = (pyreadstat.read_sav if ext == ".sav" else pyreadstat.read_dta)(str(out))[0]
    np.testing.assert_allclose(got.groupby("region").w0.sum().to_numpy(), [40, 50, 60])


@pytest.mark.parametrize("keep", [False, True])
def test_cli_nonrespondents(run_cli, tmp_path, keep):
    data = API.assign(resp=(np.arange(len(API)) % 3 != 0).astype(int))
    data.to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "s.yaml").write_text(
        yaml.safe_dump(
            {
                "steps": [
                    {"step": "nonresponse", "response": "resp", "classes": ["stype"]},
                    {
                        "step": "poststratify",
                        "by": "stype",
                        "totals": {"E": 4421, "H": 755, "M": 1018},
                    },
                ]
            }
        )
    )
    out = tmp_path / "o.csv"
    args = [
        "weight",
        tmp_path / "d.csv",
        "--weight",
        "pw",
        "--steps",
        tmp_path / "s.yaml",
        "-o",
        out,
    ]
    res = run_cli(*args, *(["--keep-nonrespondents"] if keep else []))
    assert res.exit_code == 0, res.stderr
    got = pd.read_csv(out)
    n_non = int((data.resp == 0).sum())
    assert f"{n_non} nonrespondent(s)" in res.stdout
    assert len(got) == len(API) if keep else len(got) == len(API) - n_non
    assert (got.pw[got.resp == 0] == 0).all() and (got.pw[got.resp == 1] > 0).all()
    assert got.pw.sum() == pytest.approx(6194)


def test_help_has_an_example(run_cli):
    res = run_cli("weight", "--help")
    assert res.exit_code == 0
    assert (
        "survmig weight survey.csv --design design.yaml --steps weighting.yaml -o weighted.csv"
        in res.stdout
    )
