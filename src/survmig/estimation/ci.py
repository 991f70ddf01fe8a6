"""Confidence intervals: t (design df), and for proportions logit, beta (Korn-Graubard) and Wilson.

All functions are vectorised over arrays of estimates. ``df = inf`` means normal quantiles.
"""

from __future__ import annotations

import numpy as np
from scipy import special, stats

CI_METHODS = ("t", "logit", "beta", "wilson")


def t_quantile(prob: float | np.ndarray, df: float | np.ndarray) -> np.ndarray:
    """``qt(prob, df)`` with ``qnorm`` for infinite df (R's ``tconfint`` convention)."""
    df = np.asarray(df, dtype=float)
    return np.where(
        np.isinf(df), stats.norm.ppf(prob), stats.t.ppf(prob, np.where(np.isinf(df), 1, df))
    )


def ci_t(est: np.ndarray, se: np.ndarray, df: float, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Wald interval with t quantiles on the design df (R ``confint(x, df=degf(design))``)."""
    t = t_quantile(1 - (1 - level) / 2, df)
    return est - t * se, est + t * se


def ci_logit(
    p: np.ndarray, se: np.ndarray, df: float, level: float
) -> tuple[np.ndarray, np.ndarray]:
    """Logit-transformed interval (R ``svyciprop(method="xlogit")``, Stata ``citype(logit)``)."""
    t = t_quantile(1 - (1 - level) / 2, df)
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = special.logit(p)
        se_eta = se / (p * (1 - p))
        return special.expit(eta - t * se_eta), special.expit(eta + t * se_eta)


def ci_beta(
    p: np.ndarray, se: np.ndarray, n: np.ndarray, df: float, level: float
) -> tuple[np.ndarray, np.ndarray]:
    """Korn-Graubard interval (R ``svyciprop(method="beta")``).

    Effective sample size ``p(1-p)/v``, adjusted by ``(qt(a/2, n-1)/qt(a/2, df))^2``, then
    Clopper-Pearson beta quantiles.
    """
    alpha = 1 - level
    with np.errstate(divide="ignore", invalid="ignore"):
        n_eff = p * (1 - p) / se**2
        adj = (
            t_quantile(alpha / 2, np.asarray(n, dtype=float) - 1) / t_quantile(alpha / 2, df)
        ) ** 2
        n_eff = n_eff * adj
        lo = stats.beta.ppf(alpha / 2, n_eff * p, n_eff * (1 - p) + 1)
        hi = stats.beta.ppf(1 - alpha / 2, n_eff * p + 1, n_eff * (1 - p))
    return lo, hi


def ci_wilson(
    p: np.ndarray, se: np.ndarray, df: float, level: float
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval on the effective sample size ``p(1-p)/v`` with a t critical value on
    the design df (the "modified Wilson" interval of Kott & Carr and SAS SURVEYFREQ)."""
    t = t_quantile(1 - (1 - level) / 2, df)
    with np.errstate(divide="ignore", invalid="ignore"):
        n = p * (1 - p) / se**2
        centre = p + t**2 / (2 * n)
        half = t * np.sqrt(p * (1 - p) / n + t**2 / (4 * n**2))
        denom = 1 + t**2 / n
        return (centre - half) / denom, (centre + half) / denom
