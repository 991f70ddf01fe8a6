"""Sample-size calculators: proportions and means, design effects, screening for rare groups.

The chain follows the usual planning order (Kish 1965; Kalton 2009): the SRS size ``n0`` for a margin
or a target CV, the finite-population correction, the design effect, the response rate and — for a
rare group found by screening — the number of households to screen.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from survmig.errors import SurvmigError
from survmig.sampling.results import (
    Result,
    check_count,
    check_nonnegative,
    check_positive,
    check_probability,
    check_rate,
)

__all__ = [
    "design_effect",
    "optimal_cluster_take",
    "sample_size_mean",
    "sample_size_proportion",
    "screening",
    "weighting_effect",
    "z_value",
]


def z_value(confidence: float) -> float:
    """Two-sided standard-normal quantile for a confidence level such as 0.95."""
    confidence = check_probability(confidence, "confidence", hint="e.g. 0.95")
    return float(stats.norm.ppf(0.5 + confidence / 2))


def design_effect(cluster_size: float, icc: float, prevalence: float | None = None) -> Result:
    """Kish's clustering design effect ``1 + (m̄ − 1)ρ``; for a rare domain ``m̄·P`` replaces ``m̄``.

    The domain form matters for migrants: a cluster of 20 households holds only 20·P migrant
    households, so the clustering penalty for a migrant-household mean is much smaller.
    """
    cluster_size = check_positive(cluster_size, "cluster_size")
    icc = _check_icc(icc, allow_zero=True)
    m = cluster_size
    formula = "deff = 1 + (m̄ − 1)ρ"
    if prevalence is not None:
        prevalence = check_probability(prevalence, "prevalence")
        m = cluster_size * prevalence
        formula = "deff = 1 + (m̄_d − 1)ρ with m̄_d = m̄·P (domain / cross-class mean)"
    deff = 1 + max(m - 1, 0.0) * icc
    return Result(
        title="Design effect of clustering",
        value=deff,
        formula=formula,
        assumptions=(
            "equal cluster sizes (or m̄ the average take), a common intra-class correlation ρ, "
            "equal weights; for a domain, its members spread evenly over clusters"
        ),
        steps={"cluster_take": m, "icc": icc, "deff": deff},
        references="Kish (1965) Survey Sampling §5.4; Kish (1987) on cross-classes",
    )


def weighting_effect(weights: np.ndarray) -> Result:
    """Kish's weighting effect ``1 + relvar(w) = n Σw² / (Σw)²`` — the cost of unequal weights."""
    w = np.asarray(weights, dtype=float)
    if w.size == 0 or not np.all(np.isfinite(w)) or np.any(w <= 0):
        raise SurvmigError("weights must be positive and finite", where="weights")
    deff_w = w.size * float(np.sum(w**2)) / float(np.sum(w)) ** 2
    return Result(
        title="Weighting effect (Kish)",
        value=deff_w,
        formula="deff_w = 1 + relvar(w) = n Σw² / (Σw)²",
        assumptions="weights unrelated to the survey variable (haphazard unequal weights)",
        steps={"n": float(w.size), "deff_w": deff_w, "effective_n": w.size / deff_w},
        references="Kish (1992) J. Official Statistics 8(2)",
    )


def optimal_cluster_take(
    psu_cost: float,
    unit_cost: float,
    icc: float,
    *,
    screen_cost: float | None = None,
    prevalence: float | None = None,
) -> Result:
    """Optimal take per cluster ``m̄_opt = √((C1/C2)(1 − ρ)/ρ)``.

    For a screened rare group ``C2`` is the cost per *found* member: ``c_i + c_s/P``.
    """
    psu_cost = check_positive(psu_cost, "psu_cost")
    unit_cost = check_positive(unit_cost, "unit_cost")
    icc = _check_icc(icc)
    c2 = unit_cost
    formula = "m̄_opt = √((C1/C2)(1 − ρ)/ρ)"
    steps = {"C1": psu_cost, "C2": c2, "icc": icc}
    if screen_cost is not None or prevalence is not None:
        if screen_cost is None or prevalence is None:
            raise SurvmigError(
                "give both screen_cost and prevalence for a screened rare group",
                where="screen_cost" if screen_cost is None else "prevalence",
            )
        screen_cost = check_nonnegative(screen_cost, "screen_cost")
        prevalence = check_probability(prevalence, "prevalence")
        c2 = unit_cost + screen_cost / prevalence
        steps["C2"] = c2
        formula += " with C2 = c_i + c_s/P (screening cost per member found)"
    m_opt = math.sqrt((psu_cost / c2) * (1 - icc) / icc)
    steps["m_opt"] = m_opt
    return Result(
        title="Optimal take per cluster",
        value=m_opt,
        formula=formula,
        assumptions=(
            "cost C = a·C1 + a·m̄·C2 (linear), variance ∝ (1 + (m̄ − 1)ρ)/(a·m̄); "
            "equal cluster sizes; ρ for the variable of interest"
        ),
        steps=steps,
        references="Kish (1965) §8.3; Hansen, Hurwitz & Madow (1953)",
    )


def screening(
    cases: float,
    prevalence: float,
    *,
    screener_response: float = 1.0,
    interview_response: float = 1.0,
    screen_cost: float | None = None,
    interview_cost: float | None = None,
) -> Result:
    """Households to screen for a number of completed rare-group interviews, and the cost per case.

    ``n_s = n_d / (P · r_s · r_i)``; cost per completed case ``c_i + c_s/(P·r_s)`` when interviews
    are paid only when completed — otherwise divide by ``r_i`` as well.
    """
    cases = check_positive(cases, "cases")
    prevalence = check_probability(prevalence, "prevalence")
    r_s = check_rate(screener_response, "screener_response")
    r_i = check_rate(interview_response, "interview_response")
    n_screen = cases / (prevalence * r_s * r_i)
    steps = {
        "cases": cases,
        "interviews_to_attempt": cases / r_i,
        "households_to_screen": n_screen,
    }
    formula = "n_s = n_d / (P · r_s · r_i)"
    if screen_cost is not None and interview_cost is not None:
        c_s = check_nonnegative(screen_cost, "screen_cost")
        c_i = check_nonnegative(interview_cost, "interview_cost")
        steps["cost_per_case"] = (c_i + c_s / (prevalence * r_s)) / r_i
        steps["total_cost"] = n_screen * c_s + cases / r_i * c_i
        formula += "; cost per completed case = (c_i + c_s/(P·r_s)) / r_i"
    return Result(
        title="Screening for a rare group",
        value=math.ceil(n_screen),
        formula=formula,
        assumptions=(
            "a perfect screener (no false negatives), screener and interview response "
            "independent of group membership, each screened household costs c_s and each "
            "attempted interview c_i"
        ),
        steps=steps,
        references="Kalton & Anderson (1986) JRSS A 149(1); Kalton (2009) Survey Methodology 35(2)",
    )


def sample_size_proportion(
    proportion: float,
    *,
    margin: float | None = None,
    cv: float | None = None,
    confidence: float = 0.95,
    population_size: float | None = None,
    deff: float | None = None,
    cluster_size: float | None = None,
    icc: float | None = None,
    response_rate: float = 1.0,
    prevalence: float | None = None,
    screener_response: float = 1.0,
) -> Result:
    """Sample size to estimate a proportion with an absolute ``margin`` or a target ``cv``.

    With ``prevalence`` the proportion is estimated *within a rare group* (e.g. the share of migrant
    households that receive remittances); the result then also gives the households to screen.
    """
    p = check_probability(proportion, "proportion", hint="e.g. 0.3 for 30 %")
    if (margin is None) == (cv is None):
        raise SurvmigError("give exactly one of margin or cv", where="margin")
    if margin is not None:
        margin = _check_proportion_margin(margin, p)
        z = z_value(confidence)
        n0 = z**2 * p * (1 - p) / margin**2
        formula = "n0 = z² P(1−P)/e²"
    else:
        cv = check_positive(cv, "cv", hint="a target coefficient of variation such as 0.1")
        n0 = (1 - p) / (p * cv**2)
        formula = "n0 = (1−P)/(P·CV²)"
    design = dict(population_size=population_size, deff=deff, cluster_size=cluster_size)
    design |= dict(icc=icc, response_rate=response_rate, prevalence=prevalence)
    return _chain(n0, formula, "Sample size for a proportion", screener_response, **design)


def sample_size_mean(
    sd: float,
    *,
    mean: float | None = None,
    margin: float | None = None,
    cv: float | None = None,
    confidence: float = 0.95,
    population_size: float | None = None,
    deff: float | None = None,
    cluster_size: float | None = None,
    icc: float | None = None,
    response_rate: float = 1.0,
    prevalence: float | None = None,
    screener_response: float = 1.0,
) -> Result:
    """Sample size to estimate a mean with an absolute ``margin`` or a target ``cv`` (needs ``mean``)."""
    sd = check_positive(sd, "sd")
    if (margin is None) == (cv is None):
        raise SurvmigError("give exactly one of margin or cv", where="margin")
    if margin is not None:
        margin = check_positive(margin, "margin")
        z = z_value(confidence)
        n0 = z**2 * sd**2 / margin**2
        formula = "n0 = z² S²/e²"
    else:
        cv = check_positive(cv, "cv")
        if mean is None:
            raise SurvmigError("a target CV needs the expected mean", where="mean")
        mean = check_positive(mean, "mean")
        n0 = (sd / mean) ** 2 / cv**2
        formula = "n0 = (S/Ȳ)²/CV²"
    design = dict(population_size=population_size, deff=deff, cluster_size=cluster_size)
    design |= dict(icc=icc, response_rate=response_rate, prevalence=prevalence)
    return _chain(n0, formula, "Sample size for a mean", screener_response, **design)


def _chain(
    n0: float,
    formula: str,
    title: str,
    screener_response: float,
    *,
    population_size: float | None,
    deff: float | None,
    cluster_size: float | None,
    icc: float | None,
    response_rate: float,
    prevalence: float | None,
) -> Result:
    """n0 → finite population → design effect → response → screening, each step recorded."""
    steps: dict[str, float] = {"n0": n0}
    formulas = [formula]
    assumptions = ["simple random sampling for n0 (normal approximation)"]
    n = n0
    if population_size is not None:
        big_n = check_count(population_size, "population_size", minimum=2)
        n = n0 / (1 + (n0 - 1) / big_n)
        steps["n_fpc"] = n
        formulas.append("n = n0/(1 + (n0−1)/N)")
    if prevalence is not None:
        prevalence = check_probability(prevalence, "prevalence")
    if deff is not None and (cluster_size is not None or icc is not None):
        raise SurvmigError("give either deff or cluster_size with icc, not both", where="deff")
    if deff is not None:
        deff = check_positive(deff, "deff")
        formulas.append("× deff")
        assumptions.append("the given design effect applies to this estimate")
    elif cluster_size is not None or icc is not None:
        if cluster_size is None or icc is None:
            raise SurvmigError(
                "give both cluster_size and icc", where="icc" if icc is None else "cluster_size"
            )
        deff = float(design_effect(cluster_size, icc, prevalence).value)
        formulas.append(
            "× deff = 1 + (m̄·P − 1)ρ" if prevalence is not None else "× deff = 1 + (m̄ − 1)ρ"
        )
        assumptions.append("a common intra-class correlation ρ and equal cluster takes")
    else:
        deff = 1.0
    steps["deff"] = deff
    n *= deff
    steps["n_deff"] = n
    r = check_rate(response_rate, "response_rate")
    n /= r
    steps["interviews"] = n
    formulas.append("÷ r (response rate)")
    assumptions.append("nonrespondents missing at random; no nonresponse bias")
    value = math.ceil(n - 1e-9)
    if prevalence is not None:
        r_s = check_rate(screener_response, "screener_response")
        n_screen = n / (prevalence * r_s)
        steps["households_to_screen"] = n_screen
        formulas.append("households to screen = interviews / (P · r_s)")
        assumptions.append("a perfect screener; the rare group found at its prevalence P")
        value = math.ceil(n_screen - 1e-9)
    return Result(
        title=title,
        value=value,
        formula="; ".join(formulas),
        assumptions="; ".join(assumptions),
        steps=steps,
        references="Cochran (1977) §4.4; Kish (1965); Kalton (2009) Survey Methodology 35(2)",
    )


def _check_proportion_margin(margin: float, p: float) -> float:
    """An absolute margin for a proportion is a share below min(P, 1 − P): a margin of 5 (meant as
    5 points) or one as wide as P itself gives an interval reaching outside [0, 1] and n ≈ 1."""
    hint = "an absolute margin is a share: 0.05 for 5 points"
    margin = check_positive(margin, "margin", hint=hint)
    if margin >= 0.5:
        raise SurvmigError(f"must be below 0.5, got {margin:g}", where="margin", hint=hint)
    if margin >= min(p, 1 - p):
        raise SurvmigError(
            f"must be below min(P, 1 − P) = {min(p, 1 - p):g}, got {margin:g}: the interval "
            "P ± e would reach outside [0, 1]",
            where="margin",
            hint=f"{hint}; for a rare proportion a target --cv is often easier",
        )
    return margin


def _check_icc(icc: float, allow_zero: bool = False) -> float:
    """ρ in [0, 1) for a design effect (0: no clustering, deff 1); in (0, 1) for the optimal take,
    which is infinite at ρ = 0 (take every unit of few clusters)."""
    icc = check_nonnegative(icc, "icc")
    if icc >= 1 or (icc == 0 and not allow_zero):
        low = "0 ≤ ρ < 1" if allow_zero else "0 < ρ < 1 (at ρ = 0 the optimal take is infinite)"
        raise SurvmigError(
            f"must satisfy {low}, got {icc:g}",
            where="icc",
            hint="intra-class correlations of migration are typically 0.02–0.3",
        )
    return icc
