"""Edge cases found against R survey 4.1-1 (issue 13): NaN where R has no number, exact zeros,
readable stage-2 errors, Korn-Graubard with missing values, and the domain's own df."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from survmig.design import SurveyDesign
from survmig.errors import SurvmigError
from survmig.estimation import estimate

REF = Path(__file__).resolve().parents[1] / "reference"


@pytest.fixture
def clus1() -> SurveyDesign:
    d = pd.read_csv(REF / "api" / "apiclus1.csv")
    return SurveyDesign(
        d.assign(zero=0.0, den=np.where(d["stype"] == "H", 0.0, 1.0)),
        ids="dnum",
        weights="pw",
        fpc="fpc",
    )


def test_zero_denominator_ratio_is_an_error_not_inf(clus1: SurveyDesign) -> None:
    """R gives NaN (and stops on replicates); survmig names the domain instead of [inf, inf]."""
    for design in (clus1, clus1.to_replicate("JK1")):
        with pytest.raises(SurvmigError, match="totals zero in domain stype='H'"):
            estimate(design, ratio=[("api00", "den")], by="stype")


def test_domain_of_zeros_has_mean_exactly_zero(clus1: SurveyDesign) -> None:
    got = estimate(clus1, mean=["zero", "api00"], by="stype")
    assert (got.loc[got["variable"] == "zero", "estimate"] == 0.0).all()
    # R: svyby(~api00, ~stype, dclus1, svymean): E 648.8681
    assert got.loc[got["variable"] == "api00", "estimate"].iloc[0] == pytest.approx(
        648.8681, abs=1e-4
    )


def test_one_case_domain_has_no_design_effect(clus1: SurveyDesign) -> None:
    data = clus1.data.assign(g=np.where(np.arange(clus1.n) == 0, "one", "rest"))
    d = SurveyDesign(data, ids="dnum", weights="pw", fpc="fpc")
    got = estimate(d, mean="api00", by="g").set_index("g")
    assert np.isnan(got.loc["one", "deff"]) and np.isfinite(got.loc["rest", "deff"])


def test_stage_two_singleton_names_the_data_labels() -> None:
    d = pd.DataFrame(
        {"region": list("NNNSSS"), "ea": [1, 1, 2, 3, 3, 4], "hh": [1, 2, 1, 1, 2, 1],
         "N1": 10, "N2": 20, "y": [1.0, 2, 3, 4, 5, 6]}
    )  # fmt: skip
    design = SurveyDesign(
        d, ids=["ea", "hh"], strata="region", fpc=["N1", "N2"], variance="multistage"
    )
    with pytest.raises(
        SurvmigError,
        match="ea 2 of region 'N', ea 4 of region 'S' has only one sampled unit at stage 2",
    ):
        estimate(design, mean="y")


def test_korn_graubard_uses_all_rows_of_the_domain(clus1: SurveyDesign) -> None:
    """R svyciprop(method="beta"): n.eff adjusted by qt(a/2, nrow(design) - 1) — rows with a
    missing value count."""
    data = clus1.data.assign(yes=np.where(clus1.data["sch.wide"] == "Yes", 1.0, 0.0))
    data.loc[:9, "yes"] = np.nan
    d = SurveyDesign(data, ids="dnum", weights="pw", fpc="fpc")
    got = estimate(d, prop="yes", na="drop", ci="beta").iloc[1]
    p, se, df = got["estimate"], got["se"], d.df
    n_eff = p * (1 - p) / se**2 * (stats.t.ppf(0.025, d.n - 1) / stats.t.ppf(0.025, df)) ** 2
    assert got["ci_low"] == pytest.approx(
        stats.beta.ppf(0.025, n_eff * p, n_eff * (1 - p) + 1), rel=1e-12
    )
    assert got["n"] == d.n - 10


def test_domain_df_option(clus1: SurveyDesign) -> None:
    design_df = estimate(clus1, mean="api00", by="stype")
    own = estimate(clus1, mean="api00", by="stype", df="domain")
    assert (design_df["df"] == clus1.df).all()
    # PSUs (districts) with cases in each domain, minus one stratum
    psus = clus1.data.groupby("stype")["dnum"].nunique().to_numpy()
    np.testing.assert_array_equal(own["df"], psus - 1)
    np.testing.assert_allclose(own["se"], design_df["se"], rtol=1e-14)
    assert (own["ci_high"] - own["ci_low"] >= design_df["ci_high"] - design_df["ci_low"] - 1e-9).all()
    with pytest.raises(SurvmigError, match="unknown df rule"):
        estimate(clus1, mean="api00", df="nope")
