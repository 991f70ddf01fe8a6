"""Domain covariances and comparisons against R survey 4.1-1 (tests/reference/contrasts.R):
vcov(svyby(..., covmat = TRUE)) and svycontrast() differences and ratios."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from survmig.design import SurveyDesign
from survmig.errors import SurvmigError
from survmig.estimation.contrasts import compare, domain_covariance
from survmig.weighting import Calibrate, ControlTable
from survmig.weighting.pipeline import weight_design

REF = Path(__file__).resolve().parents[1] / "reference"
FIX = json.loads((REF / "contrasts.json").read_text())
REL = 1e-8


@cache
def design(name: str) -> SurveyDesign:
    clus1 = SurveyDesign(
        pd.read_csv(REF / "api" / "apiclus1.csv"), ids="dnum", weights="pw", fpc="fpc"
    )
    if name == "clus1":
        return clus1
    if name == "jk1":
        return clus1.to_replicate("JK1")
    if name == "calibrated":
        pop = FIX["calibration"]
        stype = ControlTable(
            ("stype",),
            {"E": 6194 - pop["stypeH"] - pop["stypeM"], "H": pop["stypeH"], "M": pop["stypeM"]},
        )
        step = Calibrate(margins=[stype], continuous={"api99": pop["api99"]})
        return weight_design(clus1, [step]).design
    data = pd.read_csv(REF / "api" / "apistrat.csv")
    return SurveyDesign(data, strata="stype", weights="pw", fpc="fpc")


def request(case: dict) -> dict:
    out = {k: case[k] for k in ("mean", "prop", "total") if k in case}
    if "ratio" in case:
        out["ratio"] = [tuple(case["ratio"])]
    return out


@pytest.mark.parametrize("name", list(FIX["cases"]))
def test_domain_covariance_matches_svyby_covmat(name: str) -> None:
    case = FIX["cases"][name]
    table, cov = domain_covariance(design(case["design"]), by=case["by"], **request(case))
    if "prop" in case:  # R: awardsNo for every domain, then awardsYes (as ours)
        assert table["category"].tolist() == ["No"] * 3 + ["Yes"] * 3
    np.testing.assert_allclose(table["estimate"], case["estimate"], rtol=REL)
    np.testing.assert_allclose(table["se"], np.asarray(case["se"]).T.ravel(), rtol=REL)
    want = np.asarray(case["vcov"], dtype=float)
    scale = np.abs(want).max()
    np.testing.assert_allclose(cov.to_numpy(), want, rtol=REL, atol=REL * scale)
    assert cov.index[0].endswith(f"{case['by']}={table[case['by']].iloc[0]!r}")


# (case, contrast) -> (variable, category, label) of our comparison row
ROWS = {
    ("strat_mean", "diff"): ("api00", None, "Yes - No"),
    ("strat_mean", "ratio"): ("api00", None, "Yes / No"),
    ("clus1_means", "diff"): ("api00", None, "H - E"),
    ("clus1_means", "ratio"): ("enroll", None, "M / E"),
    ("clus1_prop", "diff"): ("awards", "Yes", "H - E"),
    ("clus1_total", "diff"): ("enroll", None, "H - E"),
    ("clus1_total", "ratio"): ("enroll", None, "H / E"),
    ("clus1_ratio", "diff"): ("api.stu/enroll", None, "H - E"),
    ("calibrated_mean", "diff"): ("api00", None, "Yes - No"),
    ("calibrated_mean", "ratio"): ("api00", None, "Yes / No"),
    ("jk1_mean", "diff"): ("api00", None, "H - E"),
    ("jk1_mean", "ratio"): ("api00", None, "M / E"),
}


@pytest.mark.parametrize("key", list(ROWS))
def test_comparisons_match_svycontrast(key: tuple[str, str]) -> None:
    name, kind = key
    case = FIX["cases"][name]
    groups, comp = compare(design(case["design"]), case["by"], **request(case))
    variable, category, label = ROWS[key]
    rows = comp[
        (comp["variable"] == variable)
        & (comp[case["by"]] == label)
        & (comp["contrast"] == ("difference" if kind == "diff" else "ratio"))
    ]
    if category is not None:
        rows = rows[rows["category"] == category]
    assert len(rows) == 1
    row = rows.iloc[0]
    ref = case["contrasts"][kind]
    assert row["estimate"] == pytest.approx(ref["estimate"], rel=REL)
    assert row["se"] == pytest.approx(ref["se"], rel=REL)
    assert row["ci_low"] < row["estimate"] < row["ci_high"]
    null = 0.0 if kind == "diff" else 1.0
    assert row["t"] == pytest.approx((row["estimate"] - null) / row["se"], rel=1e-12)
    assert 0 <= row["p_value"] <= 1


def test_comparison_needs_two_groups_and_a_known_reference() -> None:
    d = design("clus1")
    one = SurveyDesign(d.data.assign(one=1), ids="dnum", weights="pw", fpc="fpc")
    with pytest.raises(SurvmigError, match="two or more groups of 'one"):
        compare(one, "one", mean="api00")
    with pytest.raises(SurvmigError, match="reference group 'X"):
        compare(d, "stype", mean="api00", reference="X")
    with pytest.raises(SurvmigError, match="quantiles have no joint covariance"):
        compare(d, "stype", quantile={"api00": [0.5]})
    groups, comp = compare(d, "stype", mean="api00", reference="M", by="sch.wide")
    assert set(comp["stype"]) == {"E - M", "H - M", "E / M", "H / M"}
    assert set(comp["sch.wide"]) == {"No", "Yes"}


def test_cli_compare(run_cli, tmp_path: Path) -> None:
    data = REF / "api" / "apistrat.csv"
    base = ["estimate", data, "--strata", "stype", "--weight", "pw", "--fpc", "fpc"]
    out = tmp_path / "c.csv"
    res = run_cli(*base, "--mean", "api00", "--compare", "sch.wide", "-o", out)
    assert res.exit_code == 0, res.stderr
    got = pd.read_csv(out)
    ref = FIX["cases"]["strat_mean"]["contrasts"]
    diff = got[got["contrast"] == "difference"].iloc[0]
    assert diff["sch.wide"] == "Yes - No"
    assert diff["se"] == pytest.approx(ref["diff"]["se"], rel=REL)
    assert got["contrast"].isna().sum() == 2  # the two groups' own estimates
    res = run_cli(
        *base, "--mean", "api00", "--compare", "sch.wide", "--contrast", "ratio", "-o", out
    )
    assert set(pd.read_csv(out)["contrast"].dropna()) == {"ratio"}
    res = run_cli(*base, "--mean", "api00", "--compare", "nope", "-o", tmp_path / "x.csv")
    assert res.exit_code == 2 and "nope" in res.stderr and not (tmp_path / "x.csv").exists()
    res = run_cli(
        *base, "--mean", "api00", "--compare", "stype", "--by", "sch.wide", "--by", "awards"
    )
    assert res.exit_code == 2 and "one --by" in res.stderr
    res = run_cli(*base, "--mean", "api00", "--reference", "Yes")
    assert res.exit_code == 2 and "--reference goes with --compare" in res.stderr
