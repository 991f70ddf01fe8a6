"""Properties every design-based estimator must have, on the synthetic migration survey and api data."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from survmig.design import PostStratification, SurveyDesign
from survmig.estimation import estimate
from survmig.estimation.reduce import duckdb_group_sums, numpy_group_sums


def _mig_design(mig: pd.DataFrame, **kw) -> SurveyDesign:
    return SurveyDesign(
        mig, ids=["ea", "hh"], strata="stratum", fpc=["N_ea", "M_hh"], nest=True, **kw
    )


def _est(design, **kw) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return estimate(design, **kw)


@settings(max_examples=15, deadline=None)
@given(c=st.floats(min_value=0.01, max_value=1000))
def test_scaling_weights_scales_totals_not_means(c: float, rfix) -> None:
    mig = rfix.dataset("mig")
    base = SurveyDesign(mig, ids="ea", strata="stratum", weights="w", nest=True)
    scaled = SurveyDesign(
        mig.assign(w=mig["w"] * c), ids="ea", strata="stratum", weights="w", nest=True
    )
    kw = dict(mean="migrant", total="amount", prop="sex", by="region", na="drop")
    a, b = _est(base, **kw), _est(scaled, **kw)
    totals = a["statistic"] == "total"
    np.testing.assert_allclose(b.loc[totals, "estimate"], c * a.loc[totals, "estimate"], rtol=1e-10)
    np.testing.assert_allclose(b.loc[totals, "se"], c * a.loc[totals, "se"], rtol=1e-10)
    np.testing.assert_allclose(b.loc[~totals, "estimate"], a.loc[~totals, "estimate"], rtol=1e-10)
    np.testing.assert_allclose(b.loc[~totals, "se"], a.loc[~totals, "se"], rtol=1e-8)


def test_domain_totals_add_up(rfix) -> None:
    mig = rfix.dataset("mig")
    design = _mig_design(mig)
    overall = _est(design, total=["migrant", "hhsize"], count=True)
    by = _est(design, total=["migrant", "hhsize"], count=True, by=["region", "sex"])
    sums = by.groupby(["statistic", "variable"])["estimate"].sum()
    for rec in overall.itertuples():
        assert sums[(rec.statistic, rec.variable)] == pytest.approx(rec.estimate, rel=1e-12)
    # the weighted count of every domain is the sum of its weights
    counts = by[by["statistic"] == "count"].set_index(["region", "sex"])["estimate"]
    expected = mig.groupby(["region", "sex"])["w"].sum()
    np.testing.assert_allclose(counts.loc[expected.index], expected, rtol=1e-12)


@pytest.mark.parametrize("kind", ["linearization", "multistage", "calibrated", "replicate"])
def test_domain_equals_subset_design(kind: str, rfix) -> None:
    """A domain estimate is the estimate on the design restricted to the domain the R way."""
    mig = rfix.dataset("mig")
    if kind == "multistage":
        design = _mig_design(mig, variance="multistage")
    else:
        design = SurveyDesign(mig, ids="ea", strata="stratum", weights="w", nest=True)
    if kind == "calibrated":
        g = pd.factorize(mig["region"] + mig["sex"], sort=True)[0]
        w = design.weights
        new = w * (1 + 0.1 * g)
        design = design.with_weights(new, calibration=PostStratification(g, new, w))
    if kind == "replicate":
        design = design.to_replicate("bootstrap", replicates=40, seed=3)
    kw = dict(
        mean="migrant", total="amount", prop="agegroup", quantile={"amount": [0.5]}, na="drop"
    )
    by = _est(design, by="region", **kw)
    for region in ["R1", "R3"]:
        sub = _est(design.subset(mig["region"] == region), **kw)
        dom = by[by["region"] == region].reset_index(drop=True)
        np.testing.assert_allclose(dom["estimate"], sub["estimate"], rtol=1e-9)
        # Woodruff quantile intervals use the df, which R recomputes on a subset: SEs of the rest
        not_q = dom["statistic"] != "quantile"
        np.testing.assert_allclose(dom.loc[not_q, "se"], sub.loc[not_q, "se"], rtol=1e-9)


def test_permuting_rows_changes_nothing(rfix) -> None:
    mig = rfix.dataset("mig")
    perm = mig.sample(frac=1.0, random_state=7).reset_index(drop=True)
    kw = dict(
        mean="migrant",
        ratio=[("amount", "hhsize")],
        prop="agegroup",
        quantile={"amount": [0.25, 0.5]},
        by="urban",
        na="drop",
    )
    a = _est(_mig_design(mig, variance="multistage"), **kw)
    b = _est(_mig_design(perm, variance="multistage"), **kw)
    pd.testing.assert_frame_equal(a, b, rtol=1e-10)


def test_brr_totals_equal_linearization_without_fpc(rfix) -> None:
    pairs = rfix.dataset("migpairs")
    lin = SurveyDesign(pairs, ids="ea", strata="stratum", weights="w", nest=True)
    brr = lin.to_replicate("BRR")
    a = _est(lin, total=["migrant", "hhsize"], by="region")
    b = _est(brr, total=["migrant", "hhsize"], by="region")
    np.testing.assert_allclose(b["se"], a["se"], rtol=1e-10)
    # Fay: the same for totals (the rho scaling cancels exactly)
    c = _est(lin.to_replicate("Fay", rho=0.3), total=["migrant", "hhsize"], by="region")
    np.testing.assert_allclose(c["se"], a["se"], rtol=1e-10)


def test_bootstrap_is_seeded_and_rescaled(rfix) -> None:
    mig = rfix.dataset("mig")
    lin = SurveyDesign(mig, ids="ea", strata="stratum", weights="w", nest=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = lin.to_replicate("bootstrap", replicates=30, seed=11).replicate_weights
        b = lin.to_replicate("bootstrap", replicates=30, seed=11).replicate_weights
        c = lin.to_replicate("bootstrap", replicates=30, seed=12).replicate_weights
    np.testing.assert_array_equal(a.factors, b.factors)
    assert not np.array_equal(a.factors, c.factors)
    st = lin.stages[0]
    # Rao-Wu: n_h - 1 draws per stratum, factor count * n_h / (n_h - 1): factors sum to n_h
    per_stratum = np.zeros((st.n_strata, a.n_replicates))
    np.add.at(per_stratum, st.unit_stratum, a.factors)
    np.testing.assert_allclose(
        per_stratum, np.repeat(st.n_units[:, None], a.n_replicates, 1), rtol=1e-12
    )
    assert a.scale == pytest.approx(1 / 29)


def test_bootstrap_se_close_to_linearization(rfix) -> None:
    mig = rfix.dataset("mig")
    lin = SurveyDesign(mig, ids="ea", strata="stratum", weights="w", nest=True)
    boot = lin.to_replicate("bootstrap", replicates=2000, seed=5)
    a = _est(lin, mean="migrant", total="hhsize")
    b = _est(boot, mean="migrant", total="hhsize")
    np.testing.assert_allclose(b["se"], a["se"], rtol=0.1)


def test_duckdb_reduction_matches_numpy(rfix) -> None:
    rng = np.random.default_rng(1)
    codes = rng.integers(-1, 50, 5000)
    values = rng.normal(size=(5000, 3))
    g1, s1 = numpy_group_sums(codes, 50, values)
    g2, s2 = duckdb_group_sums(codes, 50, values)
    np.testing.assert_array_equal(g1, g2)
    np.testing.assert_allclose(s1, s2, rtol=1e-12)
    mig = rfix.dataset("mig")
    design = _mig_design(mig)
    a = _est(design, mean="migrant", prop="sex", by="region")
    b = _est(design, mean="migrant", prop="sex", by="region", reducer="duckdb")
    pd.testing.assert_frame_equal(a, b, rtol=1e-12)


def test_special_codes_are_missing() -> None:
    df = pd.DataFrame(
        {"psu": [1, 1, 2, 2, 3, 3], "w": [1.0] * 6, "income": [10, -9, 20, -8, 30, 40]}
    )
    design = SurveyDesign(df, ids="psu", weights="w")
    got = _est(design, mean="income", na="drop")
    assert got["estimate"].iloc[0] == pytest.approx(25.0)
    assert got["n"].iloc[0] == 4


def test_textbook_srs_mean() -> None:
    """SRS without replacement: SE = sqrt((1 - n/N) s^2 / n) (Cochran 1977, eq. 2.12)."""
    y = np.array([3.0, 7, 8, 12, 15, 4, 9, 11])
    N = 80
    df = pd.DataFrame({"y": y, "N": N})
    got = _est(SurveyDesign(df, fpc="N"), mean="y", total="y")
    n = y.size
    se = np.sqrt((1 - n / N) * y.var(ddof=1) / n)
    assert got["estimate"].iloc[0] == pytest.approx(y.mean())
    assert got["se"].iloc[0] == pytest.approx(se, rel=1e-12)
    assert got["se"].iloc[1] == pytest.approx(N * se, rel=1e-12)
    assert got["df"].iloc[0] == n - 1


def test_empty_domain_keep_gives_nan_rows(rfix) -> None:
    st = rfix.dataset("apistrat").copy()
    st.loc[st["awards"] == "No", "acs.k3"] = np.nan
    design = SurveyDesign(st, strata="stype", weights="pw")
    got = _est(design, mean="acs.k3", by="awards", na="drop", empty_domains="keep")
    no = got[got["awards"] == "No"].iloc[0]
    assert no["n"] == 0 and np.isnan(no["estimate"]) and np.isnan(no["se"])
    yes = got[got["awards"] == "Yes"].iloc[0]
    ref = _est(design.subset(st["awards"] == "Yes"), mean="acs.k3", na="drop").iloc[0]
    assert yes["estimate"] == pytest.approx(ref["estimate"], rel=1e-12)
    assert yes["se"] == pytest.approx(ref["se"], rel=1e-10)
