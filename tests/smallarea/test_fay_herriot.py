"""Fay-Herriot fits against samplics' EblupAreaModel and against the likelihood itself.

samplics (Diallo 2021, archived upstream) ships the milk-expenditure data of Arora and Lahiri (1997),
43 small areas in 4 major areas, the example of Rao and Molina (2015, sec. 6.3 / example 6.1.1).
samplics 0.6.0's ML fit stops after two Fisher-scoring steps (``sigma2_v += …`` updates the array
that ``sigma2_v_previous`` also names, so the convergence check sees no change); we restart it from
its own estimate until it is stable, which reaches samplics' fixed point.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from survmig.errors import SurvmigError
from survmig.smallarea import fay_herriot
from survmig.smallarea.fayherriot import fit_batch

with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)  # samplics says it is archived
    from samplics.datasets import load_expenditure_milk
    from samplics.sae import EblupAreaModel
    from samplics.utils.types import FitMethod


@pytest.fixture(scope="module")
def milk() -> pd.DataFrame:
    return load_expenditure_milk()["data"]


def _samplics(direct: pd.DataFrame, x: np.ndarray, method: str) -> EblupAreaModel:
    start = 0.001
    for _ in range(100):  # restart samplics until its estimate stops moving (see module doc)
        fh = EblupAreaModel(method=FitMethod(method))
        fh.fit(
            yhat=direct["estimate"].to_numpy(),
            X=x,
            area=direct["area"].to_numpy(),
            error_std=direct["se"].to_numpy(),
            intercept=True,
            tol=1e-12,
            maxiter=500,
            re_std_start=start,
        )
        new = float(np.ravel(fh.re_std)[0])
        if abs(new - start) <= 1e-14 * new:
            break
        start = new
    fh.predict(X=x, area=direct["area"].to_numpy(), intercept=True)
    return fh


def _milk_inputs(milk: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray, list[str]]:
    dummies = pd.get_dummies(milk["major_area"], prefix="major", drop_first=True).astype(float)
    direct = pd.DataFrame(
        {
            "area": milk["small_area"].astype(str),
            "estimate": milk["direct_est"],
            "se": milk["std_error"],
            "n": milk["samp_size"],
        }
    )
    covariates = pd.concat([direct[["area"]], dummies], axis=1)
    return direct, covariates, dummies.to_numpy(), list(dummies.columns)


@pytest.mark.parametrize("method", ["REML", "ML"])
def test_matches_samplics_on_the_milk_data(milk, method):
    direct, covariates, x, names = _milk_inputs(milk)
    ours = fay_herriot(direct, covariates, area="area", x=names, method=method)
    ref = _samplics(direct, x, method)
    assert ours.sigma2 == pytest.approx(float(np.ravel(ref.re_std)[0]) ** 2, rel=1e-8)
    np.testing.assert_allclose(ours.coefficients["estimate"], ref.fixed_effects, rtol=1e-8)
    np.testing.assert_allclose(ours.coefficients["se"], ref.fe_std, rtol=1e-6)
    est = direct["area"].map({str(k): v for k, v in ref.area_est.items()})
    mse = direct["area"].map({str(k): v for k, v in ref.area_mse.items()})
    np.testing.assert_allclose(ours.table["estimate"], est, rtol=1e-8)
    np.testing.assert_allclose(ours.table["mse"], mse, rtol=1e-6)
    assert ours.converged


@pytest.mark.parametrize("method", ["REML", "ML"])
def test_sigma2_maximises_the_likelihood(milk, method):
    """Independent of samplics: σ²_v is the maximiser of the (restricted) log-likelihood."""
    direct, _, x, _ = _milk_inputs(milk)
    xi = np.column_stack([np.ones(len(x)), x])
    y = direct["estimate"].to_numpy()
    psi = direct["se"].to_numpy() ** 2

    def negloglik(s2: float) -> float:
        v = s2 + psi
        a = xi.T @ (xi / v[:, None])
        beta = np.linalg.solve(a, xi.T @ (y / v))
        r = y - xi @ beta
        out = 0.5 * (np.sum(np.log(v)) + np.sum(r * r / v))
        return out + (0.5 * np.linalg.slogdet(a)[1] if method == "REML" else 0.0)

    best = optimize.minimize_scalar(
        negloglik, bounds=(1e-8, 1.0), method="bounded", options={"xatol": 1e-13}
    )
    fit = fit_batch(y[:, None], psi[:, None], xi, method)
    assert fit.sigma2[0] == pytest.approx(best.x, rel=1e-6)


def test_batch_fit_equals_one_at_a_time(milk):
    direct, _, x, _ = _milk_inputs(milk)
    xi = np.column_stack([np.ones(len(x)), x])
    rng = np.random.default_rng(3)
    y = direct["estimate"].to_numpy()[:, None] + rng.normal(0, 0.1, (len(x), 5))
    psi = (direct["se"].to_numpy() ** 2)[:, None]
    batch = fit_batch(y, psi, xi, "REML")
    for b in range(5):
        one = fit_batch(y[:, [b]], psi, xi, "REML")
        assert batch.sigma2[b] == pytest.approx(one.sigma2[0], rel=1e-10, abs=1e-14)
        np.testing.assert_allclose(batch.beta[b], one.beta[0], rtol=1e-10)


def test_zero_model_variance_gives_the_synthetic_estimate():
    """Direct estimates that fit the regression better than their sampling variances say: σ²_v = 0
    at the boundary, the EBLUP is the regression (synthetic) estimate and γ = 0."""
    x = np.linspace(0, 1, 12)
    direct = pd.DataFrame(
        {"area": [f"a{i}" for i in range(12)], "estimate": 1 + 2 * x, "se": 0.5, "n": 50}
    )
    cov = pd.DataFrame({"area": direct["area"], "x": x})
    res = fay_herriot(direct, cov, area="area", x=["x"])
    assert res.sigma2 == 0.0
    np.testing.assert_allclose(res.table["estimate"], res.table["synthetic"], rtol=1e-12)
    assert (res.table["shrinkage"] == 0).all()
    assert any("synthetic" in n for n in res.notes)


def test_unsampled_area_gets_synthetic_estimate_and_mse(milk):
    direct, covariates, _, names = _milk_inputs(milk)
    full = fay_herriot(direct, covariates, area="area", x=names)
    part = fay_herriot(direct.iloc[1:], covariates, area="area", x=names)
    row = part.table.iloc[0]
    assert not row["sampled"] and row["n"] == 0 and row["shrinkage"] == 0
    assert row["estimate"] == pytest.approx(row["synthetic"])
    # MSE of the synthetic estimate: σ²_v + x'(X'V⁻¹X)⁻¹x, more than the area's EBLUP MSE
    assert row["mse"] > full.table.iloc[0]["mse"]
    assert row["mse"] > part.sigma2


def test_parametric_bootstrap_agrees_with_the_analytic_mse(milk):
    direct, covariates, _, names = _milk_inputs(milk)
    analytic = fay_herriot(direct, covariates, area="area", x=names)
    boot = fay_herriot(
        direct, covariates, area="area", x=names, mse="bootstrap", bootstrap=3000, seed=4
    )
    ratio = boot.table["mse"] / analytic.table["mse"]
    # Prasad-Rao is second-order unbiased; with 3000 replicates the two agree closely on average
    assert ratio.mean() == pytest.approx(1.0, abs=0.05)
    assert ratio.between(0.7, 1.3).all()


def test_benchmarked_estimates_add_up_to_the_direct_total(milk):
    direct, covariates, _, names = _milk_inputs(milk)
    covariates = covariates.assign(pop=np.arange(1, 44) * 10.0)
    res = fay_herriot(direct, covariates, area="area", x=names, benchmark=1.0, population="pop")
    share = covariates["pop"] / covariates["pop"].sum()
    assert float((share * res.table["benchmarked"]).sum()) == pytest.approx(1.0, rel=1e-12)
    # by group: each major area's weighted benchmarked estimates give its own target
    covariates["major"] = milk["major_area"].astype(str)
    targets = {"1": 1.0, "2": 0.9, "3": 0.8, "4": 0.7}
    res = fay_herriot(
        direct,
        covariates,
        area="area",
        x=names,
        benchmark=targets,
        benchmark_by="major",
        population="pop",
    )
    t = res.table.assign(major=covariates["major"], pop=covariates["pop"])
    got = t.groupby("major").apply(
        lambda g: float((g["pop"] * g["benchmarked"]).sum() / g["pop"].sum()), include_groups=False
    )
    assert got.to_dict() == pytest.approx(targets, rel=1e-12)


def test_arcsine_back_transformation():
    """E[sin²(η)] for η ~ N(μ, c) is (1 - cos(2μ) e^{-2c}) / 2 (checked by quadrature)."""
    from survmig.smallarea.scales import back_transform

    mu, c = 0.3, 0.02
    z = np.linspace(-8, 8, 20001)
    dens = np.exp(-z * z / 2) / np.sqrt(2 * np.pi)
    numeric = np.trapezoid(np.sin(mu + np.sqrt(c) * z) ** 2 * dens, z)
    assert back_transform("arcsine", np.array([mu]), np.array([c]))[0] == pytest.approx(
        numeric, rel=1e-9
    )
    numeric = np.trapezoid(np.exp(mu + np.sqrt(c) * z) * dens, z)
    assert back_transform("log", np.array([mu]), np.array([c]))[0] == pytest.approx(
        numeric, rel=1e-9
    )


def test_bad_inputs_are_errors(milk):
    direct, covariates, _, names = _milk_inputs(milk)
    with pytest.raises(SurvmigError, match="sampled area.*no covariates"):
        fay_herriot(direct, covariates.iloc[1:], area="area", x=names)
    bad = covariates.copy()
    bad.loc[4, names[0]] = None
    with pytest.raises(SurvmigError, match="row 6"):
        fay_herriot(direct, bad, area="area", x=names)
    with pytest.raises(SurvmigError, match="collinear"):
        fay_herriot(
            direct,
            covariates.assign(twice=covariates[names[0]] * 2),
            area="area",
            x=[*names, "twice"],
        )
    zero = direct.copy()
    zero.loc[3, "se"] = 0.0
    with pytest.raises(SurvmigError, match="--variance gvf"):
        fay_herriot(zero, covariates, area="area", x=names)
    smoothed = fay_herriot(zero, covariates, area="area", x=names, variance="gvf")
    assert smoothed.table["model_variance"].gt(0).all()
    with pytest.raises(SurvmigError, match="log"):
        fay_herriot(
            direct.assign(estimate=direct["estimate"] - 1),
            covariates,
            area="area",
            x=names,
            transform="log",
        )
    with pytest.raises(SurvmigError, match="between 0 and 1"):
        fay_herriot(
            direct.assign(estimate=direct["estimate"] + 1),
            covariates,
            area="area",
            x=names,
            transform="arcsine",
        )
