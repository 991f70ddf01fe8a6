"""Fay-Herriot small-area estimates from a table of direct estimates and a table of covariates.

:func:`fay_herriot` is the table-level entry: it takes direct estimates with their design SEs and
sample sizes by area (what :func:`survmig.smallarea.small_area` gets from the estimation engine) and
area covariates (census shares, register counts), fits the model on the chosen scale and returns
one row per area: direct, synthetic and EBLUP (model) estimates, shrinkage, MSE, CV, interval and,
with a benchmark, the benchmarked estimate.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from survmig.errors import SurvmigError
from survmig.smallarea import scales
from survmig.smallarea.fayherriot import METHODS, eblup_batch, fit_batch, predict

MSE_METHODS = ("analytic", "bootstrap")


@dataclasses.dataclass
class SmallAreaResult:
    """Area estimates (``table``), the fitted model (``coefficients``, ``sigma2``) and its record."""

    table: pd.DataFrame
    coefficients: pd.DataFrame  # term, estimate, se, z, p
    sigma2: float  # model variance of the area effects (model scale)
    method: str
    transform: str
    variance: str
    mse_method: str
    iterations: int
    converged: bool
    gvf: dict[str, float] | None
    shapiro_p: float
    notes: list[str]

    def summary(self) -> dict[str, Any]:
        """The fit as a flat dict (for the CLI and the JSON sidecar)."""
        t = self.table
        sampled = t["sampled"]
        return {
            "method": self.method,
            "transform": self.transform,
            "variance": self.variance,
            "mse": self.mse_method,
            "sigma2_v": self.sigma2,
            "iterations": self.iterations,
            "converged": self.converged,
            "areas": int(len(t)),
            "sampled_areas": int(sampled.sum()),
            # over the areas with a direct CV (a design SE above 0), so the two compare
            "median_cv_direct": float(t["direct_cv"].median()),
            "median_cv_model": float(t.loc[t["direct_cv"].notna(), "cv"].median()),
            "shapiro_wilk_p": self.shapiro_p,
            "gvf": self.gvf,
            "notes": self.notes,
        }


def _design_matrix(cov: pd.DataFrame, x: Sequence[str], where: str) -> np.ndarray:
    cols = []
    for name in x:
        values = pd.to_numeric(cov[name], errors="coerce")
        bad = values.isna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise SurvmigError(
                f"covariate {name!r} is missing or not a number in row {row + 2} "
                f"(value {cov[name].iloc[row]!r})",
                file=where,
                hint="every area needs a numeric value of every covariate",
            )
        cols.append(values.to_numpy(float))
    matrix = np.column_stack([np.ones(len(cov)), *cols])
    if np.linalg.matrix_rank(matrix) < matrix.shape[1]:
        raise SurvmigError(
            f"the covariates {', '.join(x)} (with an intercept) are collinear",
            file=where,
            hint="drop a covariate that is a combination of the others",
        )
    return matrix


def _check_direct(direct: pd.DataFrame, area: str) -> pd.DataFrame:
    need = {area, "estimate", "se", "n"}
    missing = need - set(direct.columns)
    if missing:
        raise SurvmigError(
            f"the direct estimates lack column(s) {', '.join(sorted(missing))}", where="direct"
        )
    dup = direct[area][direct[area].duplicated()]
    if len(dup):
        raise SurvmigError(
            f"area {dup.iloc[0]!r} has more than one direct estimate", where="direct"
        )
    return direct.assign(**{area: direct[area].astype(str)})


def fay_herriot(
    direct: pd.DataFrame,
    covariates: pd.DataFrame,
    *,
    area: str,
    x: Sequence[str],
    method: str = "REML",
    transform: str = "none",
    variance: str = "direct",
    mse: str = "analytic",
    bootstrap: int = 200,
    seed: int = 1,
    level: float = 0.95,
    benchmark: float | Mapping[Any, float] | None = None,
    benchmark_by: str | None = None,
    population: str | None = None,
    covariates_name: str = "covariates",
    deff: float | None = None,
) -> SmallAreaResult:
    """Fay-Herriot EBLUP of every area of ``covariates`` (areas without a direct estimate get the
    synthetic estimate).

    ``direct``: columns ``area``, ``estimate``, ``se`` (design SE), ``n`` (sample size).
    ``x``: covariate columns of ``covariates`` (an intercept is added). ``method``: ``REML`` or ``ML``.
    ``transform``: ``none``, ``arcsine`` (shares) or ``log`` (counts). ``variance``: ``direct`` design
    variances, ``gvf``-smoothed ones or ``deff``: ``deff / (4 n)`` on the arcsine scale. ``mse``: ``analytic`` (Prasad-Rao / Datta-Lahiri) or
    ``bootstrap`` (parametric, ``bootstrap`` replicates). ``benchmark``: the direct estimate to
    benchmark to (one number, or a mapping from the ``benchmark_by`` groups of ``covariates``);
    for a share ``population`` (a column of ``covariates``) gives the area sizes that weight it.
    """
    method = method.upper()
    if method not in METHODS:
        raise SurvmigError(f"unknown method {method!r}", where="--method", hint="REML or ML")
    if variance not in scales.VARIANCES:
        raise SurvmigError(
            f"unknown variance {variance!r}", where="--variance", hint="direct, gvf or deff"
        )
    if mse not in MSE_METHODS:
        raise SurvmigError(f"unknown MSE {mse!r}", where="--mse", hint="analytic or bootstrap")
    direct = _check_direct(direct, area)
    if area not in covariates.columns:
        raise SurvmigError(
            f"the covariates have no area column {area!r}",
            file=covariates_name,
            hint=f"name the area column {area!r} as in the survey data",
        )
    cov = covariates.assign(**{area: covariates[area].astype(str)}).reset_index(drop=True)
    if cov[area].duplicated().any():
        raise SurvmigError(
            f"area {cov[area][cov[area].duplicated()].iloc[0]!r} appears twice",
            file=covariates_name,
        )
    unknown = sorted(set(direct[area]) - set(cov[area]))
    if unknown:
        raise SurvmigError(
            f"{len(unknown)} sampled area(s) have no covariates: {', '.join(unknown[:5])}",
            file=covariates_name,
            hint="add a row for every area of the survey",
        )
    for name in [*x, population, benchmark_by]:
        if name is not None and name not in cov.columns:
            raise SurvmigError(f"no column {name!r}", file=covariates_name)
    x_all = _design_matrix(cov, x, covariates_name)
    d = direct.set_index(area).reindex(cov[area])
    sampled = d["estimate"].notna().to_numpy()
    if sampled.sum() <= x_all.shape[1]:
        raise SurvmigError(
            f"{sampled.sum()} sampled areas cannot fit {x_all.shape[1]} coefficients and σ²_v",
            where="--covariates",
            hint="use fewer covariates",
        )
    n = d["n"].to_numpy(float)
    y_dir = d["estimate"].to_numpy(float)
    var_dir = d["se"].to_numpy(float) ** 2
    eta, psi = scales.to_model_scale(transform, y_dir, var_dir)
    y_dir, var_dir = scales.to_model_scale("none", y_dir, var_dir)
    gvf_fit = None
    if variance == "gvf":
        psi, gvf_fit = scales.gvf(np.where(sampled, psi, np.nan), n)
    elif variance == "deff":
        if deff is None:
            raise SurvmigError("--variance deff needs a design effect", where="deff")
        psi = scales.deff_variance(transform, n, deff)
        gvf_fit = {"deff": float(deff)}
    bad = sampled & ~(np.isfinite(psi) & (psi > 0))
    if bad.any():
        names = ", ".join(cov[area][bad].head(5))
        raise SurvmigError(
            f"{bad.sum()} area(s) have no positive design variance on the {transform} scale: {names}",
            where="direct estimates",
            hint="smooth the variances with --variance gvf (a share of 0 or 1 has variance 0)",
        )
    y = eta[sampled][:, None]
    ps = psi[sampled][:, None]
    xs = x_all[sampled]
    fit = fit_batch(y, ps, xs, method)
    pred = predict(fit, y, ps, xs, x_all, sampled, method)
    value = scales.back_transform(transform, pred.estimate, pred.g1)
    mse_value = scales.delta_mse(transform, pred.estimate, pred.mse, value)
    notes: list[str] = []
    if float(fit.sigma2[0]) == 0.0:
        notes.append("σ²_v estimated as 0: the model estimates are the synthetic ones")
    if mse == "bootstrap":
        mse_value = _bootstrap_mse(fit, ps, xs, x_all, sampled, method, transform, bootstrap, seed)
    z = stats.norm.ppf(0.5 + level / 2)
    se_eta = np.sqrt(pred.mse if mse == "analytic" else mse_value / _slope2(transform, pred, value))
    low = scales.inverse(transform, pred.estimate - z * se_eta)
    high = scales.inverse(transform, pred.estimate + z * se_eta)
    resid = (y[:, 0] - pred.synthetic[sampled]) / np.sqrt(fit.sigma2[0] + ps[:, 0])
    std_resid = np.full(len(cov), np.nan)
    std_resid[sampled] = resid
    with np.errstate(divide="ignore", invalid="ignore"):
        table = pd.DataFrame(
            {
                area: cov[area],
                "sampled": sampled,
                "n": np.where(sampled, n, 0).astype(int),
                "direct": y_dir,
                "direct_se": np.sqrt(var_dir),
                # a design SE of 0 (an area in one PSU) is not a precision: no CV
                "direct_cv": np.where(var_dir > 0, np.sqrt(var_dir) / np.abs(y_dir), np.nan),
                "model_variance": np.where(sampled, psi, np.nan),
                "synthetic": scales.inverse(transform, pred.synthetic),
                "shrinkage": pred.gamma,
                "estimate": value,
                "mse": mse_value,
                "rmse": np.sqrt(mse_value),
                "cv": np.sqrt(mse_value) / np.abs(value),
                "ci_low": low,
                "ci_high": high,
                "std_residual": std_resid,
            }
        )
    if benchmark is not None:
        groups = cov[benchmark_by].astype(str).to_numpy() if benchmark_by else np.zeros(len(cov))
        targets = (
            {str(k): float(v) for k, v in benchmark.items()}
            if isinstance(benchmark, Mapping)
            else {0.0: float(benchmark)}
        )
        if population is not None:
            size = pd.to_numeric(cov[population], errors="coerce").to_numpy(float)
            tot = pd.Series(size).groupby(groups).transform("sum").to_numpy()
            weights = size / tot
        else:
            weights = np.ones(len(cov))
        table["benchmarked"] = scales.benchmark(value, groups, weights, targets)
        notes.append(
            "benchmarked by the ratio method to the direct estimate"
            + (f" of each {benchmark_by}" if benchmark_by else "")
            + "; MSE and interval are those of the unbenchmarked estimate"
        )
    beta_se = np.sqrt(np.diag(fit.a_inv[0]))
    beta = fit.beta[0]
    coefficients = pd.DataFrame(
        {
            "term": ["(intercept)", *x],
            "estimate": beta,
            "se": beta_se,
            "z": beta / beta_se,
            "p": 2 * stats.norm.sf(np.abs(beta / beta_se)),
        }
    )
    shapiro = float(stats.shapiro(resid).pvalue) if len(resid) >= 3 else float("nan")
    return SmallAreaResult(
        table=table,
        coefficients=coefficients,
        sigma2=float(fit.sigma2[0]),
        method=method,
        transform=transform,
        variance=variance,
        mse_method=mse,
        iterations=int(fit.iterations[0]),
        converged=bool(fit.converged[0]),
        gvf=gvf_fit,
        shapiro_p=shapiro,
        notes=notes,
    )


def _slope2(transform: str, pred: Any, value: np.ndarray) -> np.ndarray:
    """``(dθ/dη)²`` at the estimate: turns an original-scale MSE into a model-scale one."""
    ones = np.ones_like(value)
    slope = scales.delta_mse(transform, pred.estimate, ones, value)
    return np.where(slope > 0, slope, np.nan)


def _bootstrap_mse(
    fit: Any,
    psi: np.ndarray,
    x: np.ndarray,
    x_all: np.ndarray,
    sampled: np.ndarray,
    method: str,
    transform: str,
    replicates: int,
    seed: int,
) -> np.ndarray:
    """Parametric bootstrap MSE on the original scale (González-Manteiga et al. 2008; Rao and
    Molina 2015, sec. 6.2.4): areas drawn from the fitted model, all replicates refitted at once."""
    if replicates < 10:
        raise SurvmigError(
            f"use at least 10 bootstrap replicates, got {replicates}", where="--bootstrap"
        )
    rng = np.random.default_rng(seed)
    s2 = float(fit.sigma2[0])
    mean = x_all @ fit.beta[0]
    theta = mean[:, None] + rng.normal(0.0, np.sqrt(s2), (len(x_all), replicates))
    y = theta[sampled] + rng.normal(0.0, 1.0, (sampled.sum(), replicates)) * np.sqrt(psi)
    refit = fit_batch(y, psi, x, method)
    est, _, cond = eblup_batch(refit, y, psi, x_all, sampled)
    value = scales.back_transform(transform, est, cond)
    truth = scales.inverse(transform, theta)
    return np.mean((value - truth) ** 2, axis=1)
