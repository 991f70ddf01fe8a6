"""``survmig small-area`` on a dataset folder: the files it writes equal the Python API's result,
and bad input is a one-line error."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import yaml

from survmig.data import KEY
from survmig.smallarea import read_covariates, small_area
from tests.indicators.survey import build_survey


@pytest.fixture
def survey(tmp_path):
    ds, design = build_survey(strata=4, psus=8, households=12)
    hh = ds.table(ds.root)
    area = (hh["psu"] // 2).map(lambda i: f"A{i:02d}")  # 16 areas of 2 PSUs
    design_data = pd.DataFrame({KEY: hh[KEY], "area": area})
    ds.write(tmp_path / "ds")
    (tmp_path / "design.yaml").write_text(yaml.safe_dump(design))
    design_data.to_csv(tmp_path / "areas.csv", index=False)
    rng = np.random.default_rng(2)
    names = sorted(area.unique()) + ["A99"]  # A99: an area without sample
    cov = pd.DataFrame(
        {"area": names, "census_share": rng.uniform(0.05, 0.3, len(names)), "pop": 1000}
    )
    cov.to_csv(tmp_path / "census.csv", index=False)
    return tmp_path, ds, design, design_data


def test_cli_writes_what_the_api_computes(run_cli, survey):
    tmp, ds, design, design_data = survey
    out = tmp / "sae"
    res = run_cli(
        "small-area",
        tmp / "ds",
        "--design",
        tmp / "design.yaml",
        "--design-data",
        tmp / "areas.csv",
        "--indicator",
        "foreign_born_share",
        "--area",
        "area",
        "--covariates",
        tmp / "census.csv",
        "--population",
        "pop",
        "--variance",
        "gvf",
        "-o",
        out,
    )
    assert res.exit_code == 0, res.stderr
    assert "17 areas (16 sampled)" in res.stdout
    got = pd.read_csv(out / "estimates.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        api = small_area(
            ds,
            design,
            "foreign_born_share",
            "area",
            read_covariates(tmp / "census.csv", "area"),
            design_data=design_data,
            population="pop",
            variance="gvf",
        )
    np.testing.assert_allclose(got["estimate"], api.table["estimate"], rtol=1e-12)
    np.testing.assert_allclose(got["mse"], api.table["mse"], rtol=1e-12)
    # the direct estimates are the engine's (survmig estimate --indicators … --by area)
    from survmig.indicators import compute

    direct = compute(ds, design, ["foreign_born_share"], by=["area"], design_data=design_data).table
    d = got.set_index("area").loc[direct["area"]]
    np.testing.assert_allclose(d["direct"], direct["estimate"], rtol=1e-12)
    # benchmarked to the national direct share with the population weights
    national = compute(ds, design, ["foreign_born_share"], design_data=design_data).table
    assert got["benchmarked"].mean() == pytest.approx(national["estimate"].iloc[0], rel=1e-12)
    assert not got.set_index("area").loc["A99", "sampled"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["sampled_areas"] == 16 and summary["method"] == "REML"
    for name in ("coefficients.csv", "diagnostics.csv", "estimates.png", "diagnostics.png"):
        assert (out / name).stat().st_size > 0


def test_cli_errors(run_cli, survey):
    tmp = survey[0]
    common = [
        "small-area",
        tmp / "ds",
        "--design",
        tmp / "design.yaml",
        "--design-data",
        tmp / "areas.csv",
        "--indicator",
        "foreign_born_share",
        "--area",
        "area",
    ]
    cov = pd.read_csv(tmp / "census.csv")
    cov.iloc[2:].to_csv(tmp / "short.csv", index=False)
    res = run_cli(
        *common, "--covariates", tmp / "short.csv", "--population", "pop", "-o", tmp / "o1"
    )
    assert res.exit_code == 2 and "short.csv" in res.stderr and "A00" in res.stderr
    assert not (tmp / "o1").exists()
    res = run_cli(*common, "--covariates", tmp / "census.csv", "-o", tmp / "o2")
    assert res.exit_code == 2 and "--population" in res.stderr
    res = run_cli(
        *common,
        "--covariates",
        tmp / "census.csv",
        "--benchmark",
        "none",
        "--indicator",
        "no_such_indicator",
        "-o",
        tmp / "o3",
    )
    assert res.exit_code == 2 and "Traceback" not in res.stderr
