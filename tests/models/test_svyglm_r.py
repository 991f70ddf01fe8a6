"""Design-based GLMs against R survey 4.1-1 svyglm (tests/reference/models.R): coefficients, SEs,
t, p, confint, vcov and regTermTest, three families, linearization and replicate designs."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from survmig.design import SurveyDesign
from survmig.models import svyglm
from survmig.weighting import Calibrate, ControlTable
from survmig.weighting.pipeline import weight_design

REF = Path(__file__).resolve().parents[1] / "reference"
FIX = json.loads((REF / "models.json").read_text())
REL = 1e-8
FORMULAS = {
    "gaussian": "api00 ~ ell + meals + C(stype)",
    "quasibinomial": "yes ~ ell + meals + C(stype)",
    "poisson": "enroll ~ meals + C(stype)",
}


def _data(name: str) -> pd.DataFrame:
    d = pd.read_csv(REF / "api" / f"{name}.csv")
    return d.assign(yes=(d["sch.wide"] == "Yes").astype(float))


@cache
def design(name: str) -> SurveyDesign:
    if name == "strat":
        return SurveyDesign(_data("apistrat"), strata="stype", weights="pw", fpc="fpc")
    if name == "jkn":
        return design("strat").to_replicate("JKn")
    if name == "clus2":
        return SurveyDesign(
            _data("apiclus2"), ids=["dnum", "snum"], fpc=["fpc1", "fpc2"], variance="multistage"
        )
    clus1 = SurveyDesign(_data("apiclus1"), ids="dnum", weights="pw", fpc="fpc")
    if name == "jk1":
        return clus1.to_replicate("JK1")
    if name == "calibrated":
        pop = FIX["calibration"]
        stype = {"E": 6194 - pop["stypeH"] - pop["stypeM"], "H": pop["stypeH"], "M": pop["stypeM"]}
        step = Calibrate(
            margins=[ControlTable(("stype",), stype)], continuous={"api99": pop["api99"]}
        )
        return weight_design(clus1, [step]).design
    return clus1


def r_name(term: str) -> str:
    """patsy's ``C(stype)[T.H]`` is R's ``stypeH``; ``Intercept`` is ``(Intercept)``."""
    if term == "Intercept":
        return "(Intercept)"
    return re.sub(r"^C\((\w+)\)\[T\.(.+)\]$", r"\1\2", term)


@pytest.mark.parametrize("name", list(FIX["cases"]))
def test_svyglm_matches_r(name: str) -> None:
    case = FIX["cases"][name]
    fam = case["family"]
    res = svyglm(design(case["design"]), FORMULAS[fam], family_name=fam, na="drop")  # R na.omit
    order = [case["terms"].index(r_name(t)) for t in res.table["term"]]
    for col, key in [("estimate", "estimate"), ("se", "se"), ("t", "t"), ("p_value", "p")]:
        want = np.asarray(case[key])[order]
        np.testing.assert_allclose(res.table[col], want, rtol=REL, err_msg=col)
    np.testing.assert_allclose(res.table["ci_low"], np.asarray(case["ci_low"])[order], rtol=REL)
    np.testing.assert_allclose(res.table["ci_high"], np.asarray(case["ci_high"])[order], rtol=REL)
    V = np.asarray(case["vcov"])[np.ix_(order, order)]
    np.testing.assert_allclose(res.vcov.to_numpy(), V, rtol=REL, atol=REL * np.abs(V).max())
    assert res.df_residual == case["df_residual"]
    test = res.wald_test("C(stype)")
    ref = case["test_stype"]
    assert test["F"] == pytest.approx(ref["F"], rel=REL)
    assert (test["df"], test["ddf"]) == (ref["df"], ref["ddf"])
    assert test["p_value"] == pytest.approx(ref["p"], rel=1e-7)


@pytest.mark.parametrize("alias", [("binomial", "quasibinomial"), ("quasipoisson", "poisson")])
def test_families_with_the_same_mean_model_give_r_s_numbers(alias: tuple[str, str]) -> None:
    ours, r = alias
    case = FIX["cases"][f"clus1_{r}"]
    res = svyglm(design("clus1"), FORMULAS[r], family_name=ours)
    order = [case["terms"].index(r_name(t)) for t in res.table["term"]]
    np.testing.assert_allclose(res.table["se"], np.asarray(case["se"])[order], rtol=REL)
    ratio = "odds_ratio" if ours == "binomial" else "rate_ratio"
    np.testing.assert_allclose(res.table[ratio], np.exp(res.table["estimate"]), rtol=1e-14)
    np.testing.assert_allclose(
        res.table[f"{ratio}_ci_low"], np.exp(res.table["ci_low"]), rtol=1e-14
    )


@pytest.mark.parametrize("name", [n for n, c in FIX["cases"].items() if c["family"] != "poisson"])
def test_plain_numeric_formula_matches_r(name: str) -> None:
    """A formula of numeric columns only (``stypeH``, ``stypeM`` as 0/1 columns) is read without
    patsy: the same model matrix, R's numbers."""
    case = FIX["cases"][name]
    des = design(case["design"])
    stype = des.data["stype"]
    des = des.with_columns(
        {"stypeH": (stype == "H").astype(float), "stypeM": (stype == "M").astype(float)}
    )
    outcome = "api00" if case["family"] == "gaussian" else "yes"
    res = svyglm(
        des, f"{outcome} ~ ell + meals + stypeH + stypeM", family_name=case["family"], na="drop"
    )
    order = [case["terms"].index(r_name(t)) for t in res.table["term"]]
    for col, key in [("estimate", "estimate"), ("se", "se"), ("p_value", "p")]:
        want = np.asarray(case[key])[order]
        np.testing.assert_allclose(res.table[col], want, rtol=REL, err_msg=col)
    test = res.wald_test(["stypeH", "stypeM"])
    assert test["F"] == pytest.approx(case["test_stype"]["F"], rel=REL)


def test_plain_formula_with_missing_values() -> None:
    """The direct reader refuses missing values unless na='drop', which leaves the rows out as
    patsy does (``+ 1`` sends the same model through patsy)."""
    from survmig.errors import SurvmigError

    des = design("strat")
    ell = des.data["ell"].where(des.data["meals"] < 80)
    des = des.with_columns({"ell_na": ell})
    with pytest.raises(SurvmigError, match="missing values"):
        svyglm(des, "api00 ~ ell_na + meals")
    direct = svyglm(des, "api00 ~ ell_na + meals", na="drop")
    patsy_read = svyglm(des, "api00 ~ ell_na + meals + 1", na="drop")
    np.testing.assert_allclose(direct.vcov, patsy_read.vcov, rtol=1e-12)
    np.testing.assert_allclose(direct.table["estimate"], patsy_read.table["estimate"], rtol=1e-12)
