"""Totals of a factor (R ``svytotal(~factor, deff = TRUE)``, tests/reference/category_totals.R):
one total per category, with R's finite design effect (the SRS variance of the category's total
with N estimated), not the infinite deff of a constant domain."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from survmig.design import SurveyDesign
from survmig.estimation import estimate

REF = Path(__file__).resolve().parents[1] / "reference"
FIX = json.loads((REF / "category_totals.json").read_text())["cases"]


def design(name: str) -> SurveyDesign:
    if name == "clus1":
        data = pd.read_csv(REF / "api" / "apiclus1.csv")
        return SurveyDesign(data, ids="dnum", weights="pw", fpc="fpc")
    data = pd.read_csv(REF / "api" / "apistrat.csv")
    data["ell_na"] = data["awards"].where(data["ell"] <= 30)
    return SurveyDesign(data, strata="stype", weights="pw", fpc="fpc")


@pytest.mark.parametrize("name", [k for k, c in FIX.items() if "by" not in c])
def test_factor_total_matches_svytotal(name: str) -> None:
    case = FIX[name]
    out = estimate(
        design(case["design"]), total=case["total"], na="drop" if case.get("na") else "fail"
    )
    assert [f"{case['total']}{c}" for c in out["category"]] == case["names"]
    assert (out["statistic"] == "total").all()
    for col in ("estimate", "se", "deff"):
        np.testing.assert_allclose(out[col], case[col], rtol=1e-10)


def test_factor_total_by_domain_matches_svyby() -> None:
    case = FIX["clus1_awards_by_stype"]
    out = estimate(design("clus1"), total="awards", by="stype")
    out = out.sort_values(["stype", "category"])
    assert out["stype"].unique().tolist() == case["domains"]
    for col in ("estimate", "se", "deff"):
        np.testing.assert_allclose(out[col], np.ravel(case[col]), rtol=1e-10)


def test_factor_and_numeric_totals_together() -> None:
    """A numeric total keeps its one row; category totals are finite with a deff (no inf)."""
    out = estimate(design("clus1"), total=["enroll", "stype"])
    assert out["category"].isna().tolist() == [True, False, False, False]
    assert np.isfinite(out["deff"]).all()
