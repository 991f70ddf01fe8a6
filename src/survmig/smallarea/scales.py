"""Model scales (arcsine for shares, log for counts), smoothed variances and benchmarking.

Transforms (``y`` the direct estimate, ``ψ`` its design variance, ``η`` the model-scale value):

``arcsine`` (shares)  ``η = asin(√y)``, ``ψ_η = ψ / (4 y (1 - y))`` (delta method; for a simple random
                      sample this is ``1 / (4 n_eff)``). Back: ``E[sin²(η)]`` for ``η ~ N(η̂, c)`` is
                      ``(1 - cos(2η̂) e^(-2c)) / 2`` (bias-corrected), ``c`` the model's conditional
                      variance of the area value (``γψ_η``; ``σ²_v`` without a sample).
``log`` (counts)      ``η = log y``, ``ψ_η = ψ / y²``. Back: ``exp(η̂ + c / 2)`` (log-normal mean).

The analytic MSE is carried back by the delta method (``sin²(2η̂) mse_η`` and ``θ̂² mse_η``); the
parametric bootstrap measures it on the original scale directly and is the better choice with a
transform. Intervals are computed on the model scale and transformed back.

The GVF (generalised variance function) replaces noisy direct variances by ``ψ_i = k / n_i`` fitted
over the areas on the model scale (a constant design effect; on the arcsine scale ``k = deff / 4``),
so an area in a single PSU or with a share of 0 or 1 (design variance 0) still gets a usable variance.
``deff`` uses one design effect instead (the national one by default, well estimated):
``ψ_i = deff / (4 n_i)`` on the arcsine scale.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from survmig.errors import SurvmigError

TRANSFORMS = ("none", "arcsine", "log")
VARIANCES = ("direct", "gvf", "deff")
#: relative size below which an estimate or SE is rounding noise
ROUNDING = 1e-9


def to_model_scale(transform: str, y: np.ndarray, var: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Direct estimates and variances on the model scale (variance NaN where undefined)."""
    y = np.asarray(y, float)
    var = np.asarray(var, float)
    # rounding noise of the engine (a share of -2e-17, an SE of 3e-18) is zero
    scale = np.nanmax(np.abs(y)) if np.isfinite(y).any() else 1.0
    y = np.where(np.abs(y) <= ROUNDING * scale, 0.0, y)
    var = np.where(var <= (ROUNDING * scale) ** 2, 0.0, var)
    if transform == "arcsine":
        y = np.where(np.abs(1 - y) <= ROUNDING, 1.0, y)
    with np.errstate(divide="ignore", invalid="ignore"):
        if transform == "none":
            return y, var
        if transform == "arcsine":
            if ((y < 0) | (y > 1)).any():
                raise SurvmigError(
                    "the arcsine transform is for shares between 0 and 1",
                    where="--transform",
                    hint="use --transform log for counts or none",
                )
            vt = var / (4 * y * (1 - y))
            return np.arcsin(np.sqrt(y)), np.where((y > 0) & (y < 1), vt, np.nan)
        if transform == "log":
            bad = y <= 0
            return np.log(np.where(bad, np.nan, y)), np.where(bad, np.nan, var / y**2)
    raise SurvmigError(
        f"unknown transform {transform!r}", where="--transform", hint=", ".join(TRANSFORMS)
    )


def back_transform(transform: str, eta: np.ndarray, cond_var: np.ndarray) -> np.ndarray:
    """The bias-corrected area value on the original scale."""
    if transform == "arcsine":
        return 0.5 * (1 - np.cos(2 * np.clip(eta, 0, np.pi / 2)) * np.exp(-2 * cond_var))
    if transform == "log":
        return np.exp(eta + cond_var / 2)
    return eta


def inverse(transform: str, eta: np.ndarray) -> np.ndarray:
    """The plain inverse (for interval ends and true values)."""
    if transform == "arcsine":
        return np.sin(np.clip(eta, 0, np.pi / 2)) ** 2
    if transform == "log":
        return np.exp(eta)
    return eta


def delta_mse(transform: str, eta: np.ndarray, mse: np.ndarray, value: np.ndarray) -> np.ndarray:
    """The model-scale MSE carried to the original scale (first-order delta method)."""
    if transform == "arcsine":
        return np.sin(2 * np.clip(eta, 0, np.pi / 2)) ** 2 * mse
    if transform == "log":
        return value**2 * mse
    return mse


def gvf(variance: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
    """Smoothed variances ``k / n_i`` (a constant design effect) and the fit (k, smearing, areas).

    ``log ψ_i + log n_i`` is averaged over the areas with a positive design variance and
    transformed back with Duan's smearing factor. The slope in ``n`` is fixed at -1: with the few
    areas of a survey whose design variance is estimable (an area in a single PSU has none) a free
    slope is too unstable; on the arcsine scale ``k`` is a quarter of the design effect.
    """
    variance = np.asarray(variance, float)
    n = np.asarray(n, float)
    ok = np.isfinite(variance) & (variance > 0) & (n > 0)
    if ok.sum() < 3:
        raise SurvmigError(
            f"the variance function needs at least 3 areas with a positive variance, got {ok.sum()}",
            where="--variance gvf",
        )
    logs = np.log(variance[ok] * n[ok])
    a = float(np.mean(logs))
    smear = float(np.mean(np.exp(logs - a)))
    k = float(np.exp(a) * smear)
    with np.errstate(divide="ignore"):
        smoothed = np.where(n > 0, k / n, np.nan)
    return smoothed, {"k": k, "smearing": smear, "areas": int(ok.sum())}


def deff_variance(transform: str, n: np.ndarray, deff: float) -> np.ndarray:
    """Arcsine-scale variances ``deff / (4 n_i)`` from one design effect (e.g. the national one,
    which the survey estimates well) — what ``1 / (4 n)`` is for a simple random sample."""
    if transform != "arcsine":
        raise SurvmigError(
            "variances from a design effect are for the arcsine scale of a share",
            where="--variance deff",
            hint="use --transform arcsine, or --variance gvf",
        )
    if not np.isfinite(deff) or deff <= 0:
        raise SurvmigError(
            f"the design effect must be positive, got {deff}", where="--variance deff"
        )
    n = np.asarray(n, float)
    with np.errstate(divide="ignore"):
        return np.where(n > 0, deff / (4 * n), np.nan)


def benchmark(
    values: np.ndarray,
    groups: np.ndarray,
    weights: np.ndarray,
    targets: Mapping[object, float],
) -> np.ndarray:
    """Ratio benchmarking: ``θ̂_i T_g / Σ_{j∈g} a_j θ̂_j`` so the weighted model estimates of each
    group add up to its direct estimate ``T_g`` (``a_j``: population shares for a share, 1 for a
    count)."""
    frame = pd.DataFrame({"g": groups, "wv": weights * values})
    sums = frame.groupby("g", sort=False)["wv"].transform("sum").to_numpy()
    target = pd.Series(groups).map(dict(targets)).to_numpy(float)
    missing = sorted({str(g) for g, t in zip(groups, target, strict=True) if not np.isfinite(t)})
    if missing:
        raise SurvmigError(
            f"no direct estimate to benchmark to for {', '.join(missing[:5])}",
            where="--benchmark",
            hint="every benchmarking group needs a direct estimate",
        )
    return values * target / sums
