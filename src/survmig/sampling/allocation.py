"""Allocating a sample across strata: proportional, Neyman, cost-optimal, rare-domain, compromise.

All allocations return a :class:`~survmig.sampling.results.Result` whose ``table`` has one row per
stratum with the exact (real) allocation ``n_exact``, the integer allocation ``n`` (largest remainder,
capped at the stratum size, summing to the requested total) and the sampling fraction ``f``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import pandas as pd

from survmig.errors import SurvmigError, show
from survmig.sampling.results import (
    Result,
    as_numbers,
    check_array,
    check_count,
    check_nonnegative,
    check_positive,
    check_unique,
)

__all__ = [
    "allocate",
    "compromise",
    "neyman",
    "optimal",
    "power",
    "proportional",
    "rare_domain",
    "stratified_variance",
    "two_phase_optimum",
]

METHODS = ("proportional", "neyman", "optimal", "rare", "compromise", "power", "two-phase")


def proportional(sizes: Sequence[float], n: int, labels: Sequence | None = None) -> Result:
    """``n_h = n N_h / N`` — self-weighting, the benchmark for every other allocation."""
    big_n = _sizes(sizes, labels)
    n = check_count(n, "n")
    exact = _capped(n * big_n / big_n.sum(), big_n, big_n)
    return _result(
        "Proportional allocation",
        labels,
        big_n,
        exact,
        formula="n_h = n · N_h / N",
        assumptions="equal sampling fraction in every stratum (self-weighting)",
    )


def neyman(
    sizes: Sequence[float], sds: Sequence[float], n: int, labels: Sequence | None = None
) -> Result:
    """Neyman allocation ``n_h ∝ N_h S_h``: the smallest variance of the mean for a total ``n``."""
    big_n = _sizes(sizes, labels)
    s = check_array(sds, "sd", labels=labels)
    n = check_count(n, "n")
    exact = _capped(n * big_n * s / np.sum(big_n * s), big_n, big_n * s)
    return _result(
        "Neyman allocation",
        labels,
        big_n,
        exact,
        formula="n_h = n · N_h S_h / Σ N_k S_k (strata that would exceed N_h are taken whole)",
        assumptions="equal cost per unit in every stratum; S_h known (from a census or pilot)",
        sds=s,
    )


def optimal(
    sizes: Sequence[float],
    sds: Sequence[float],
    costs: Sequence[float],
    *,
    n: int | None = None,
    budget: float | None = None,
    fixed_cost: float = 0.0,
    target_variance: float | None = None,
    labels: Sequence | None = None,
) -> Result:
    """Cost-optimal allocation ``n_h ∝ N_h S_h / √c_h`` for a total ``n``, a budget or a variance.

    The total for a budget ``C`` with fixed cost ``c0`` is ``n = (C − c0) Σ N_h S_h/√c_h /
    Σ N_h S_h √c_h``; for a target variance ``V`` of the mean it is
    ``n = (Σ W_h S_h √c_h)(Σ W_h S_h/√c_h) / (V + Σ W_h S_h²/N)``.
    """
    big_n = _sizes(sizes, labels)
    s = check_array(sds, "sd", labels=labels)
    c = check_array(costs, "cost", labels=labels)
    given = [x is not None for x in (n, budget, target_variance)]
    if sum(given) != 1:
        raise SurvmigError("give exactly one of n, budget or target_variance", where="n")
    share = big_n * s / np.sqrt(c)
    w = big_n / big_n.sum()
    steps: dict[str, float] = {}
    if n is not None:
        total = float(check_count(n, "n"))
        how = "n given"
    elif budget is not None:
        budget, fixed_cost = _check_budget(budget, fixed_cost)
        total = (budget - fixed_cost) * share.sum() / np.sum(big_n * s * np.sqrt(c))
        how = "n = (C − c0) Σ N_h S_h/√c_h / Σ N_h S_h √c_h"
        steps["budget"] = budget
    else:
        v = check_positive(target_variance, "target_variance")
        total = (np.sum(w * s * np.sqrt(c)) * np.sum(w * s / np.sqrt(c))) / (
            v + np.sum(w * s**2) / big_n.sum()
        )
        how = "n = (Σ W_h S_h √c_h)(Σ W_h S_h/√c_h) / (V + Σ W_h S_h²/N)"
        steps["target_variance"] = v
    exact = _capped(total * share / share.sum(), big_n, share)
    res = _result(
        "Cost-optimal allocation",
        labels,
        big_n,
        exact,
        formula=f"n_h = n · (N_h S_h/√c_h) / Σ (N_k S_k/√c_k); {how}",
        assumptions="linear cost C = c0 + Σ c_h n_h; S_h and c_h known",
        sds=s,
        extra={"cost": c},
    )
    steps["cost"] = fixed_cost + float(np.sum(c * res.table["n_exact"]))
    return dataclasses.replace(res, steps={**res.steps, **steps})


def rare_domain(
    sizes: Sequence[float],
    prevalences: Sequence[float],
    *,
    n: int | None = None,
    budget: float | None = None,
    screen_cost: float | None = None,
    interview_cost: float | None = None,
    fixed_cost: float = 0.0,
    sds: Sequence[float] | None = None,
    labels: Sequence | None = None,
) -> Result:
    """Disproportionate stratification for a rare domain: ``k_h ∝ S_h √(P_h / (1 + (c − 1)P_h))``.

    ``n`` is the number of households screened (or give a ``budget`` with screening and interview
    costs). Without costs (``c = 1``) this is ``k_h ∝ √P_h``. The result reports the variance ratio
    ``R = (Σ W_h k_h)(Σ A_h/k_h)`` against proportionate allocation (at equal sample size), its
    minimum ``R_min = (Σ √(W_h A_h))²``, and with costs the ratio at equal cost.
    """
    big_n = _sizes(sizes, labels)
    p = check_array(prevalences, "prevalence", kind="probability", labels=labels)
    s = np.ones_like(p) if sds is None else check_array(sds, "sd", labels=labels)
    if (screen_cost is None) != (interview_cost is None):
        raise SurvmigError(
            "give both screen_cost and interview_cost",
            where="screen_cost" if screen_cost is None else "interview_cost",
        )
    if screen_cost is not None:
        c_s = check_positive(screen_cost, "screen_cost")
        c_i = check_nonnegative(interview_cost, "interview_cost")
        c = (c_s + c_i) / c_s
    else:
        c_s = c_i = None
        c = 1.0
    if (n is None) == (budget is None):
        raise SurvmigError("give exactly one of n or budget", where="n")
    w = big_n / big_n.sum()
    prev = float(np.sum(w * p))
    a = w * p / prev
    k = s * np.sqrt(p / (1 + (c - 1) * p))
    k = k / np.sum(w * k)  # relative to the average rate (proportionate allocation: k = 1)
    unit_cost = 1 + (c - 1) * p  # cost per screened unit in units of c_s
    steps: dict[str, float] = {"P": prev, "c": c}
    if n is not None:
        total = float(check_count(n, "n"))
    else:
        if c_s is None:
            raise SurvmigError("a budget needs screen_cost and interview_cost", where="budget")
        budget, fixed_cost = _check_budget(budget, fixed_cost)
        # C − c0 = c_s Σ n_h (1 + (c−1)P_h), n_h = f N_h k_h
        f = (budget - fixed_cost) / (c_s * np.sum(big_n * k * unit_cost))
        total = float(f * np.sum(big_n * k))
        steps["budget"] = budget
    exact = _capped(total * big_n * k / np.sum(big_n * k), big_n, big_n * k)
    k_real = (exact / big_n) / (exact.sum() / big_n.sum())
    s2a = a * s**2
    ratio = float(np.sum(w * k_real) * np.sum(s2a / k_real) / np.sum(s2a))
    ratio_min = float(np.sum(np.sqrt(w * a * s**2)) ** 2 / np.sum(s2a))
    steps.update({"R": ratio, "R_min": ratio_min})
    formula = (
        "k_h ∝ S_h √(P_h / (1 + (c−1)P_h)), c = (c_s + c_i)/c_s; "
        "R = (Σ W_h k_h)(Σ A_h S_h²/k_h)/Σ A_h S_h²; R_min = (Σ √(W_h A_h S_h²))²/Σ A_h S_h²"
    )
    if c_s is not None:
        ratio_cost = float(
            np.sum(w * k_real * unit_cost)
            * np.sum(s2a / k_real)
            / ((1 + (c - 1) * prev) * np.sum(s2a))
        )
        steps["R_cost"] = ratio_cost
        steps["cost"] = fixed_cost + float(c_s * np.sum(exact * unit_cost))
        formula += "; R_cost = (Σ W_h k_h (1+(c−1)P_h))(Σ A_h S_h²/k_h)/((1+(c−1)P)Σ A_h S_h²)"
    steps["expected_cases"] = float(np.sum(exact * p))
    steps["deff_weighting_total"] = float(np.sum(w * k_real) * np.sum(w / k_real))
    return _result(
        "Disproportionate allocation for a rare domain",
        labels,
        big_n,
        exact,
        formula=formula,
        assumptions=(
            "the domain mean is the target; element variance S_h² of the domain variable "
            "(equal unless sd given); a perfect screener; no fpc; cost c_s per screened unit "
            "and c_i per domain member interviewed"
        ),
        extra={"prevalence": p, "k": k_real, "expected_cases": exact * p, "A": a},
        steps=steps,
        references="Kalton & Anderson (1986); Kalton (2009) Survey Methodology 35(2) eq. (2)–(4)",
    )


def compromise(
    sizes: Sequence[float], n: int, importance: float = 1.0, labels: Sequence | None = None
) -> Result:
    """Kish's compromise ``n_h ∝ √(H⁻² + I·W_h²)`` between equal (I = 0) and proportional (I → ∞).

    ``importance`` I weighs the national estimate against the H stratum (domain) estimates.
    """
    big_n = _sizes(sizes, labels)
    n = check_count(n, "n")
    imp = check_nonnegative(importance, "importance")
    w = big_n / big_n.sum()
    share = np.sqrt(1 / len(w) ** 2 + imp * w**2)
    exact = _capped(n * share / share.sum(), big_n, share)
    return _result(
        "Kish compromise allocation",
        labels,
        big_n,
        exact,
        formula="n_h ∝ √(H⁻² + I·W_h²)",
        assumptions="equal element variances and costs; domains = strata; I the relative "
        "importance of the national estimate",
        references="Kish (1988) Multipurpose sample designs, Survey Methodology 14(1)",
    )


def power(
    sds: Sequence[float],
    means: Sequence[float],
    measures: Sequence[float],
    n: int,
    q: float = 0.5,
    sizes: Sequence[float] | None = None,
    labels: Sequence | None = None,
) -> Result:
    """Bankier's power allocation ``n_h ∝ (S_h/Ȳ_h) X_h^q`` (q = 0: equal CVs; q = 1: Neyman-like)."""
    s = check_array(sds, "sd", labels=labels)
    m = check_array(means, "mean", labels=labels)
    x = check_array(measures, "x", labels=labels)
    n = check_count(n, "n")
    q = check_nonnegative(q, "q")
    if q > 1:
        raise SurvmigError(f"must be between 0 and 1, got {q:g}", where="q")
    share = (s / m) * x**q
    big_n = _sizes(sizes, labels) if sizes is not None else np.full_like(s, np.inf)
    exact = _capped(n * share / share.sum(), big_n, share)
    return _result(
        "Power allocation (Bankier)",
        labels,
        big_n,
        exact,
        formula="n_h ∝ (S_h/Ȳ_h) · X_h^q",
        assumptions="X_h a measure of the stratum's importance (e.g. its total); CV_h = S_h/Ȳ_h",
        references="Bankier (1988) Power allocations, Survey Methodology 14(2)",
    )


def two_phase_optimum(
    shares: Sequence[float],
    sds: Sequence[float],
    means: Sequence[float],
    phase1_cost: float,
    phase2_costs: Sequence[float],
    budget: float,
    *,
    fixed_cost: float = 0.0,
    labels: Sequence | None = None,
) -> Result:
    """Two-phase optimum: phase-1 size ``n′`` and second-phase rates ``ν_h`` by screening class.

    ``ν_h = S_h √(c′ / (c_h (S² − Σ W_h S_h²)))`` (rates above 1 are set to 1 and the rest
    re-optimised), ``n′ = (C − c0)/(c′ + Σ c_h W_h ν_h)``; compared with a single-phase sample of the
    same cost, which interviews every unit at the average cost ``Σ W_h c_h``.
    """
    w = check_array(shares, "share", kind="rate", labels=labels)
    if abs(w.sum() - 1) > 1e-6:
        raise SurvmigError(f"class shares must sum to 1, got {w.sum():g}", where="share")
    s = check_array(sds, "sd", kind="nonnegative", labels=labels)
    ybar = np.asarray(means, dtype=float)
    c1 = check_positive(phase1_cost, "phase1_cost")
    c = check_array(phase2_costs, "cost", labels=labels)
    budget = check_positive(budget, "budget")
    fixed_cost = check_nonnegative(fixed_cost, "fixed_cost")
    if budget <= fixed_cost + c1:
        raise SurvmigError(
            f"the budget {budget:g} does not cover the fixed cost {fixed_cost:g} and one phase-1 unit",
            where="budget",
            hint="raise the budget or lower the fixed cost",
        )
    within = float(np.sum(w * s**2))
    total_var = within + float(np.sum(w * (ybar - np.sum(w * ybar)) ** 2))
    between = total_var - within
    if between <= 0:
        raise SurvmigError(
            "the screening classes have equal means: phase 1 gains nothing", where="mean"
        )
    capped = np.zeros(len(w), dtype=bool)
    for _ in range(len(w) + 1):  # each pass caps at least one class or stops
        a = between + float(np.sum((w * s**2)[capped]))
        c_eff = c1 + float(np.sum((c * w)[capped]))
        nu = np.where(capped, 1.0, s * np.sqrt(c_eff / (c * a)))
        if not np.any((nu > 1) & ~capped):
            break
        capped |= nu > 1
    cost_unit = c1 + float(np.sum(c * w * nu))
    n1 = (budget - fixed_cost) / cost_unit
    if np.round(n1 * w * nu).sum() < 1:
        raise SurvmigError(
            f"the budget {budget:g} buys no phase-2 interview (phase 1: {n1:.1f} units, "
            f"phase 2: {n1 * float(np.sum(w * nu)):.2f} interviews)",
            where="budget",
            hint=f"raise the budget to at least {fixed_cost + cost_unit / float(np.sum(w * nu)):.0f}",
        )
    with np.errstate(divide="ignore"):
        var = between / n1 + float(np.sum(np.where(nu > 0, w * s**2 / (n1 * nu), 0.0)))
    n_single = (budget - fixed_cost) / float(np.sum(w * c))
    var_single = total_var / n_single
    # PracTools ``dub`` reads V = V1/n′ + V2/n2: V1 the between-class variance, V2 the phase-2
    # coefficient ((Σ W_h S_h)² when costs are equal and ν_h ∝ S_h)
    share2 = float(np.sum(w * nu))
    v2 = share2 * float(np.sum(np.where(nu > 0, w * s**2 / np.where(nu > 0, nu, 1.0), 0.0)))
    free = s * np.sqrt(c1 / (c * between))  # the rates the cap at 1 did not allow
    n1_free = (budget - fixed_cost) / (c1 + float(np.sum(c * w * free)))
    with np.errstate(divide="ignore", invalid="ignore"):
        var_free = between / n1_free + float(
            np.sum(np.where(free > 0, w * s**2 / (n1_free * free), 0.0))
        )
    table = pd.DataFrame(
        {
            "stratum": list(labels) if labels is not None else np.arange(1, len(w) + 1),
            "share": w,
            "sd": s,
            "mean": ybar,
            "cost": c,
            "rate": nu,
            "n_exact": n1 * w * nu,
            "n": np.round(n1 * w * nu).astype(int),
        }
    )
    return Result(
        title="Two-phase optimum",
        value=nu,
        formula=(
            "ν_h = S_h √(c′/(c_h (S² − Σ W_h S_h²))) (capped at 1, then re-optimised); "
            "n′ = (C − c0)/(c′ + Σ c_h W_h ν_h); V = (S² − Σ W_h S_h²)/n′ + Σ W_h S_h²/(n′ ν_h) "
            "= V1/n′ + V2/n2 with V1 = Σ W_h (Ȳ_h − Ȳ)², n2 = n′ Σ W_h ν_h; when a rate is capped "
            "at 1, cap_variance_ratio is V over the variance the uncapped rates (ν_h > 1, "
            "impossible) would give at the same cost: the precision the cap costs"
        ),
        assumptions=(
            "phase 1 classifies units without error into classes with shares W_h; "
            "phase 2 subsamples class h at rate ν_h; linear costs; no fpc; the alternative is a "
            "single-phase SRS interviewing every unit at cost Σ W_h c_h"
        ),
        steps={
            "phase1_n": n1,
            "phase2_n": n1 * float(np.sum(w * nu)),
            "variance": var,
            "variance_single_phase": var_single,
            "ratio_to_single_phase": var / var_single,
            "S2": total_var,
            "V1": between,
            "V2": v2,
            "classes_capped": float(capped.sum()),
            "variance_uncapped": var_free,
            "cap_variance_ratio": var / var_free,
        },
        table=table,
        references="Cochran (1977) §12.3; Neyman (1938); Kalton (2009); Valliant, Dever & Kreuter (2018) (PracTools dub)",
    )


def stratified_variance(
    sizes: Sequence[float],
    sds: Sequence[float],
    n_h: Sequence[float],
    *,
    fpc: bool = False,
) -> float:
    """Variance of the stratified mean ``Σ W_h² S_h² (1 − f_h)/n_h`` (``fpc=False`` drops 1 − f_h)."""
    big_n = np.asarray(sizes, dtype=float)
    s = np.asarray(sds, dtype=float)
    n = np.asarray(n_h, dtype=float)
    w = big_n / big_n.sum()
    f = n / big_n if fpc else 0.0
    return float(np.sum(w**2 * s**2 * (1 - f) / n))


def allocate(strata: pd.DataFrame, method: str, **options: float | None) -> Result:
    """Run an allocation from a strata table (columns ``stratum``, ``N`` and what the method needs).

    Columns: ``sd`` (or ``prevalence`` for a proportion: S_h = √(P_h(1−P_h))), ``cost``,
    ``prevalence``, ``mean``, ``x``, ``share`` (two-phase). Errors name the missing column.
    """
    if method not in METHODS:
        raise SurvmigError(
            f"unknown method {method!r}", where="method", hint=f"one of {', '.join(METHODS)}"
        )
    labels = list(_column(strata, "stratum"))
    n = options.get("n")
    if method == "two-phase":
        return two_phase_optimum(
            _column(strata, "share"),
            _sds(strata, labels),
            _means(strata),
            _required(options, "phase1_cost"),
            _column(strata, "cost"),
            _required(options, "budget"),
            fixed_cost=options.get("fixed_cost") or 0.0,
            labels=labels,
        )
    sizes = _column(strata, "N")
    if method in ("proportional", "neyman", "optimal"):
        res = _classic(strata, method, sizes, labels, options)
        if "prevalence" in strata.columns and "sd" not in strata.columns:
            v_srs = variance_srs_proportion(sizes, strata["prevalence"], res.steps["n"])
            res = dataclasses.replace(res, steps={**res.steps, "variance_srs": v_srs})
        return res
    if method == "rare":
        return rare_domain(
            sizes,
            _column(strata, "prevalence"),
            n=n,
            budget=options.get("budget"),
            screen_cost=options.get("screen_cost"),
            interview_cost=options.get("interview_cost"),
            fixed_cost=options.get("fixed_cost") or 0.0,
            sds=_column(strata, "sd") if "sd" in strata.columns else None,
            labels=labels,
        )
    if method == "compromise":
        imp = options.get("importance")
        return compromise(sizes, _required(options, "n"), 1.0 if imp is None else imp, labels)
    q = options.get("q")
    return power(
        _sds(strata, labels),
        _means(strata),
        _column(strata, "x"),
        _required(options, "n"),
        0.5 if q is None else q,
        sizes=sizes,
        labels=labels,
    )


def _classic(
    strata: pd.DataFrame, method: str, sizes: np.ndarray, labels: list, options: dict
) -> Result:
    n = options.get("n")
    if method == "proportional":
        return proportional(sizes, _required(options, "n"), labels)
    if method == "neyman":
        return neyman(sizes, _sds(strata, labels), _required(options, "n"), labels)
    return optimal(
        sizes,
        _sds(strata, labels),
        _column(strata, "cost"),
        n=n,
        budget=options.get("budget"),
        fixed_cost=options.get("fixed_cost") or 0.0,
        target_variance=options.get("target_variance"),
        labels=labels,
    )


# --------------------------------------------------------------------------- helpers


def _check_budget(budget: float, fixed_cost: float) -> tuple[float, float]:
    """A positive budget that covers the fixed cost (else an error naming ``budget``)."""
    budget = check_positive(budget, "budget")
    fixed_cost = check_nonnegative(fixed_cost, "fixed_cost")
    if budget <= fixed_cost:
        raise SurvmigError(
            f"the budget {budget:g} does not cover the fixed cost {fixed_cost:g}",
            where="budget",
            hint="raise the budget or lower the fixed cost",
        )
    return budget, fixed_cost


def _sizes(sizes: Sequence[float], labels: Sequence | None) -> np.ndarray:
    """Stratum sizes; a stratum with no units is an error naming it."""
    arr = as_numbers(sizes, "N", labels)
    bad = ~(np.isfinite(arr) & (arr > 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        label = list(labels)[i] if labels is not None else i + 1
        raise SurvmigError(
            f"stratum {show(label)} has no units (N = {arr[i]:g})",
            where="N",
            hint="drop the empty stratum or merge it with a neighbour",
        )
    return arr


def _capped(exact: np.ndarray, big_n: np.ndarray, share: np.ndarray) -> np.ndarray:
    """Take strata whole where the allocation exceeds N_h, re-allocating the rest by ``share``."""
    exact = exact.astype(float).copy()
    total = exact.sum()
    if total > big_n.sum():
        raise SurvmigError(
            f"the sample ({total:,.0f}) exceeds the population ({big_n.sum():,.0f})", where="n"
        )
    full = np.zeros(len(exact), dtype=bool)
    for _ in range(len(exact)):
        over = (exact > big_n) & ~full
        if not over.any():
            break
        full |= over
        rest = total - big_n[full].sum()
        exact = np.where(full, big_n, rest * share / share[~full].sum())
    return exact


def largest_remainder(exact: np.ndarray, big_n: np.ndarray | None = None) -> np.ndarray:
    """Integers summing to round(Σ exact), each floor or ceil of its exact value (Hamilton)."""
    exact = np.asarray(exact, dtype=float)
    base = np.floor(exact + 1e-9).astype(int)
    short = int(round(exact.sum())) - int(base.sum())
    if short > 0:
        rem = exact - base
        if big_n is not None:
            rem = np.where(base >= big_n, -np.inf, rem)
        base[np.argsort(-rem, kind="stable")[:short]] += 1
    return base


def _result(
    title: str,
    labels: Sequence | None,
    big_n: np.ndarray,
    exact: np.ndarray,
    *,
    formula: str,
    assumptions: str,
    sds: np.ndarray | None = None,
    extra: dict[str, np.ndarray] | None = None,
    steps: dict[str, float] | None = None,
    references: str = "",
) -> Result:
    finite_n = np.isfinite(big_n)
    n_int = largest_remainder(exact, np.where(finite_n, big_n, np.iinfo(np.int64).max))
    table = pd.DataFrame(
        {
            "stratum": list(labels) if labels is not None else np.arange(1, len(exact) + 1),
            "N": big_n,
            "n_exact": exact,
            "n": n_int,
            "f": np.where(finite_n, exact / np.where(finite_n, big_n, 1), np.nan),
        }
    )
    for name, values in (extra or {}).items():
        table[name] = values
    out_steps: dict[str, float] = {"n": float(exact.sum())}
    if sds is not None and finite_n.all():
        out_steps["variance"] = stratified_variance(big_n, sds, exact)
        prop = exact.sum() * big_n / big_n.sum()
        out_steps["variance_proportional"] = stratified_variance(big_n, sds, prop)
    out_steps.update(steps or {})
    return Result(
        title=title,
        value=n_int,
        formula=formula,
        assumptions=assumptions,
        steps=out_steps,
        table=table,
        references=references,
    )


def _column(strata: pd.DataFrame, name: str) -> np.ndarray | pd.Series:
    if name not in strata.columns:
        raise SurvmigError(
            f"the strata table has no column {name!r}",
            where=name,
            hint=f"columns found: {', '.join(map(str, strata.columns))}",
        )
    col = strata[name]
    if name != "stratum" and col.isna().any():
        i = int(np.flatnonzero(col.isna().to_numpy())[0])
        raise SurvmigError(
            f"column {name!r} is empty for stratum {show(strata['stratum'].iloc[i])}"
        )
    if name == "stratum":
        check_unique(col, "stratum")
        return col
    return col.to_numpy()


def _sds(strata: pd.DataFrame, labels: list) -> np.ndarray:
    """``sd`` column, or √(P(1−P)) from a ``prevalence`` column when estimating a proportion."""
    if "sd" in strata.columns:
        return _column(strata, "sd")
    if "prevalence" in strata.columns:
        p = check_array(
            _column(strata, "prevalence"), "prevalence", kind="probability", labels=labels
        )
        return np.sqrt(p * (1 - p))
    raise SurvmigError(
        "the strata table needs an 'sd' column (or 'prevalence' for a proportion)", where="sd"
    )


def _means(strata: pd.DataFrame) -> np.ndarray:
    if "mean" in strata.columns:
        return _column(strata, "mean")
    return _column(strata, "prevalence")


def _required(options: dict, name: str) -> float:
    value = options.get(name)
    if value is None:
        raise SurvmigError("is required for this method", where=name.replace("_", "-"))
    return value


def variance_srs_proportion(
    sizes: Sequence[float], prevalences: Sequence[float], n: float
) -> float:
    """Variance of the SRS proportion ``P(1−P)/n`` with ``P = Σ W_h P_h`` (no fpc)."""
    w = np.asarray(sizes, dtype=float) / np.sum(sizes)
    p = float(np.sum(w * np.asarray(prevalences, dtype=float)))
    return p * (1 - p) / n
