"""``survmig weight`` writes OUT.design.yaml: file-based estimates reproduce the weighted design."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from survmig.design import load_design
from survmig.errors import SurvmigError
from survmig.estimation import estimate
from survmig.weighting.pipeline import weight_design

REF = Path(__file__).resolve().parents[1] / "reference"
STEPS = """steps:
  - step: rake
    margins:
      - {by: stype, totals: {E: 4421, H: 755, M: 1018}}
      - {by: sch.wide, totals: {'No': 1072, 'Yes': 5122}}
    epsilon: 1.0e-10
  - step: trim
    upper: {median: 1.5}
"""


def _api() -> pd.DataFrame:
    api = pd.read_csv(REF / "api" / "apiclus1.csv")
    codes = pd.factorize(api["dnum"], sort=True)[0]
    return api.assign(st=codes % 3)  # three pseudo-strata of whole clusters, for JKn


@pytest.mark.parametrize(
    "create",
    [
        {"type": "JKn"},
        {"type": "bootstrap", "replicates": 50, "seed": 3},
    ],
)
def test_replicate_design_file_reproduces_python(run_cli, tmp_path: Path, create: dict) -> None:
    data = tmp_path / "api.csv"
    _api().to_csv(data, index=False)
    spec = {"ids": "dnum", "strata": "st", "weights": "pw", "nest": True}
    (tmp_path / "d.yaml").write_text(yaml.safe_dump({**spec, "create_replicates": create}))
    (tmp_path / "w.yaml").write_text(STEPS)
    out = tmp_path / "out.csv"
    res = run_cli(
        "weight", data, "--design", tmp_path / "d.yaml", "--steps", tmp_path / "w.yaml", "-o", out
    )
    assert res.exit_code == 0, res.stderr
    written = tmp_path / "out.design.yaml"
    assert str(written) in res.stdout
    # in Python: the same design weighted in memory
    design = load_design(tmp_path / "d.yaml", _api())
    weighted = weight_design(design, str(tmp_path / "w.yaml")).design
    ref = estimate(weighted, mean=["api00"], total=["enroll"], prop=["sch.wide"])
    est = tmp_path / "est.csv"
    res = run_cli(
        "estimate",
        out,
        "--design",
        written,
        "--mean",
        "api00",
        "--total",
        "enroll",
        "--prop",
        "sch.wide",
        "-o",
        est,
    )
    assert res.exit_code == 0, res.stderr
    got = pd.read_csv(est)
    np.testing.assert_allclose(got["estimate"], ref["estimate"], rtol=1e-10)
    np.testing.assert_allclose(got["se"], ref["se"], rtol=1e-10)
    assert (got["df"] == ref["df"]).all()
    # the weighted file without its design file ignores the replicates: smaller df, and a warning
    res = run_cli("estimate", out, "--weight", "pw", "--mean", "api00")
    assert res.exit_code == 0, res.stderr
    assert "look like replicate weights" in res.stderr and "--design" in res.stderr


def test_linearization_design_file_carries_the_calibration(run_cli, tmp_path: Path) -> None:
    data = tmp_path / "api.csv"
    _api().to_csv(data, index=False)
    (tmp_path / "d.yaml").write_text("ids: dnum\nstrata: st\nweights: pw\nnest: true\n")
    (tmp_path / "w.yaml").write_text(STEPS)
    out = tmp_path / "out.parquet"
    res = run_cli(
        "weight", data, "--design", tmp_path / "d.yaml", "--steps", tmp_path / "w.yaml", "-o", out
    )
    assert res.exit_code == 0, res.stderr
    spec = yaml.safe_load((tmp_path / "out.design.yaml").read_text())
    assert spec["ids"] == ["dnum"] and spec["strata"] == "st" and spec["weights"] == "pw"
    assert spec["calibration"]["weights_before"] == "pw_uncalibrated"
    assert [s["step"] for s in spec["calibration"]["steps"]] == ["rake", "trim"]
    assert spec["fixed_adjustments"] == ["trimming (trim)"]
    frame = pd.read_parquet(out)
    file_design = load_design(tmp_path / "out.design.yaml", frame)
    design = load_design(tmp_path / "d.yaml", _api())
    weighted = weight_design(design, str(tmp_path / "w.yaml")).design
    np.testing.assert_allclose(file_design.weights, weighted.weights, rtol=1e-12)
    assert len(file_design.calibration) == len(weighted.calibration) == 1
    a = estimate(file_design, mean="api00", total="enroll", deff=False)
    b = estimate(weighted, mean="api00", total="enroll", deff=False)
    np.testing.assert_allclose(a["se"], b["se"], rtol=1e-10)
    # weights treated as fixed (R: svydesign on the final weights) give other SEs
    fixed = load_design({"ids": "dnum", "strata": "st", "weights": "pw", "nest": True}, frame)
    c = estimate(fixed, mean="api00", total="enroll", deff=False)
    assert np.all(np.abs(c["se"].to_numpy() / a["se"].to_numpy() - 1) > 1e-3)
    assert "trimming" in file_design.weights_note
    # an edited weight column is caught, not silently used with the wrong residuals
    frame.loc[3, "pw"] *= 1.01
    with pytest.raises(SurvmigError, match="does not give the weights"):
        load_design(tmp_path / "out.design.yaml", frame)


def test_negative_weight_names_the_data_file_and_row(run_cli, tmp_path: Path) -> None:
    api = _api()
    api.loc[6, "pw"] = -3.0
    data = tmp_path / "negw.csv"
    api.to_csv(data, index=False)
    steps = tmp_path / "wt_nr.yaml"
    steps.write_text(STEPS)
    res = run_cli("weight", data, "--weight", "pw", "--steps", steps, "-o", tmp_path / "o.csv")
    assert res.exit_code == 2
    assert "negw.csv" in res.stderr and "wt_nr.yaml" not in res.stderr
    assert "row 7" in res.stderr and "-3" in res.stderr and "np." not in res.stderr


def test_negative_weight_with_a_design_names_the_data_file(run_cli, tmp_path: Path) -> None:
    api = _api()
    api.loc[6, "pw"] = -3.0
    data = tmp_path / "negw.csv"
    api.to_csv(data, index=False)
    (tmp_path / "d.yaml").write_text("ids: dnum\nstrata: st\nweights: pw\nnest: true\n")
    (tmp_path / "wt_nr.yaml").write_text(STEPS)
    for args in (
        ["weight", data, "--design", tmp_path / "d.yaml", "--steps", tmp_path / "wt_nr.yaml"]
        + ["-o", tmp_path / "o.csv"],
        ["estimate", data, "--design", tmp_path / "d.yaml", "--mean", "api00"],
    ):
        res = run_cli(*args)
        assert res.exit_code == 2
        assert "negw.csv" in res.stderr and "d.yaml" not in res.stderr
        assert "row 7" in res.stderr and "-3" in res.stderr
