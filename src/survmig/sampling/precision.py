"""Sample sizes beyond the basic chain: domain totals, small prevalences, and detecting a difference.

- A **domain** (migrant households, return migrants) of share ``P_d``: the size to reach a CV for its
  total or its mean (PracTools ``nDomain``); a total needs more, since the domain count is random.
- **Small prevalences**: the Wald margin is symmetric and fails near 0; the Wilson interval
  (``nWilson``) and the log-odds interval (``nLogOdds``) give sizes whose intervals stay in (0, 1).
- **Differences**: two groups (migrant vs non-migrant households) or two rounds of a survey, with
  power; overlapping samples (a panel share γ, correlation ρ) as in ``nProp2sam`` / ``nDep2sam``.
"""

from __future__ import annotations

import math

from scipy import stats

from survmig.errors import SurvmigError
from survmig.sampling.results import (
    Result,
    check_nonnegative,
    check_positive,
    check_probability,
    check_rate,
)

__all__ = [
    "difference_size_means",
    "difference_size_proportions",
    "domain_size",
    "proportion_size_interval",
]

_VDK = "Valliant, Dever & Kreuter (2018) Practical Tools for Designing and Weighting Survey Samples"


def domain_size(
    domain_share: float,
    cv: float,
    *,
    estimate: str = "total",
    unit_cv: float | None = None,
    mean: float | None = None,
    sd: float | None = None,
    population_size: float | None = None,
) -> Result:
    """Elements to sample (from the whole population) for a domain total or mean to reach ``cv``.

    Total: ``n = (CV_d² + Q_d)/(P_d CV0² + (CV_d² + Q_d)/N)``; mean: ``n = CV_d²/(P_d CV0² + CV_d²/N)``
    where ``CV_d`` is the unit CV of the variable within the domain (``unit_cv``, or ``sd/mean``).
    For a domain *count* (the number of migrant households) ``CV_d = 0``.
    """
    p = check_probability(domain_share, "domain_share", hint="the domain's share, e.g. 0.08")
    cv = check_positive(cv, "cv", hint="a target CV such as 0.1")
    if estimate not in ("total", "mean"):
        raise SurvmigError(f"must be 'total' or 'mean', got {estimate!r}", where="estimate")
    if unit_cv is not None and (mean is not None or sd is not None):
        raise SurvmigError("give unit_cv or mean with sd, not both", where="unit_cv")
    if unit_cv is None:
        if (mean is None) != (sd is None):
            raise SurvmigError("give both mean and sd of the variable in the domain", where="sd")
        unit_cv = (
            0.0 if mean is None else check_nonnegative(sd, "sd") / check_positive(mean, "mean")
        )
    cv_d = check_nonnegative(unit_cv, "unit_cv")
    if estimate == "mean" and cv_d == 0:
        raise SurvmigError(
            "a domain mean needs the variable's unit CV (or mean and sd)", where="unit_cv"
        )
    inv_n = (
        0.0 if population_size is None else 1 / check_positive(population_size, "population_size")
    )
    q = 1 - p
    top = cv_d**2 + q if estimate == "total" else cv_d**2
    n = top / (p * cv**2 + top * inv_n)
    return Result(
        title=f"Sample size for a domain {estimate}",
        value=math.ceil(n - 1e-9),
        formula=(
            "n = (CV_d² + Q_d)/(P_d CV0² + (CV_d² + Q_d)/N)"
            if estimate == "total"
            else "n = CV_d²/(P_d CV0² + CV_d²/N)"
        ),
        assumptions=(
            "SRS of the whole population (multiply by a design effect for a clustered design); the "
            "domain cannot be sampled separately (no frame of its members); CV_d the unit CV "
            "of the variable within the domain (0 for a count of the domain)"
        ),
        steps={"domain_share": p, "unit_cv": cv_d, "cv": cv, "n": n, "expected_domain_n": n * p},
        references=_VDK + " (PracTools nDomain)",
    )


def proportion_size_interval(
    proportion: float,
    margin: float,
    *,
    method: str = "wilson",
    relative: bool = False,
    confidence: float = 0.95,
    population_size: float | None = None,
) -> Result:
    """Sample size for a small proportion whose Wilson or log-odds interval has half-width ``margin``.

    ``relative=True`` reads the margin as a share of P (e.g. 0.3 for ±30 % of P). Wilson: PracTools
    ``nWilson``; log-odds: ``nLogOdds`` (the interval on log(P/(1−P)), back-transformed). Both keep
    the interval inside (0, 1) where the Wald formula would not.
    """
    p = check_probability(proportion, "proportion", hint="e.g. 0.03 for 3 %")
    e = check_positive(margin, "margin", hint="0.01 for ±1 point")
    alpha = 1 - check_probability(confidence, "confidence", hint="e.g. 0.95")
    if method not in ("wilson", "log-odds"):
        raise SurvmigError(f"must be 'wilson' or 'log-odds', got {method!r}", where="method")
    if relative:
        e *= p
    if not e < min(p, 1 - p) and method == "log-odds":
        raise SurvmigError(
            f"a margin of {e:g} is not smaller than P = {p:g} (or 1 − P)",
            where="margin",
            hint="give an absolute margin such as 0.01 for one point, or a relative margin below 1",
        )
    if not e < 0.5:
        raise SurvmigError(
            f"must be below 0.5, got {e:g}", where="margin", hint="0.05 for 5 points"
        )
    z = float(stats.norm.ppf(1 - alpha / 2))
    q = 1 - p
    steps: dict[str, float] = {"proportion": p, "margin": e, "z": z}
    if method == "wilson":
        if population_size is not None:
            raise SurvmigError(
                "the Wilson size has no finite-population form", where="population_size"
            )
        rad = e**2 - p * q * (4 * e**2 - p * q)
        n = (p * q - 2 * e**2 + math.sqrt(rad)) * (z / e) ** 2 / 2
        d = z * math.sqrt(z**2 + 4 * n * p * q)
        steps |= {"ci_lower": (2 * n * p + z**2 - d) / 2 / (n + z**2)}
        steps |= {"ci_upper": (2 * n * p + z**2 + d) / 2 / (n + z**2)}
        formula = "n = (PQ − 2e² + √(e² − PQ(4e² − PQ)))·(z/e)²/2 (Wilson interval of half-width e)"
        ref = "nWilson"
    else:
        big_n = (
            math.inf
            if population_size is None
            else check_positive(population_size, "population_size")
        )
        a = 1.0 if math.isinf(big_n) else big_n / (big_n - 1)
        k = q / p
        rad = e**2 * (1 + k**2) ** 2 + k**2 * (1 - 2 * e) * (1 + 2 * e)
        x = (e * (1 + k**2) + math.sqrt(rad)) / (k * (1 - 2 * e))
        n = 1 / (a * (math.sqrt(p * q) / z * math.log(x)) ** 2 + 1 / big_n)
        formula = "n = 1/(a(√(PQ)/z · ln x)² + 1/N), x from the log-odds interval of half-width e"
        ref = "nLogOdds"
    steps["n"] = n
    return Result(
        title=f"Sample size for a small proportion ({method} interval)",
        value=math.ceil(n - 1e-9),
        formula=formula,
        assumptions="SRS (multiply by a design effect for a clustered design); large-sample interval",
        steps=steps,
        references=f"{_VDK} (PracTools {ref}); Newcombe (1998) Statistics in Medicine 17",
    )


def _z_pair(alpha: float, power: float, sided: str) -> tuple[float, float]:
    alpha = check_probability(alpha, "alpha", hint="a significance level such as 0.05")
    power = check_probability(power, "power", hint="e.g. 0.8")
    if sided not in ("two", "one"):
        raise SurvmigError(f"must be 'two' or 'one', got {sided!r}", where="sided")
    za = float(stats.norm.ppf(1 - (alpha / 2 if sided == "two" else alpha)))
    return za, float(stats.norm.ppf(1 - power))


def difference_size_proportions(
    p1: float,
    p2: float,
    *,
    overlap: float = 0.0,
    p_both: float | None = None,
    ratio: float = 1.0,
    alpha: float = 0.05,
    power: float = 0.8,
    sided: str = "two",
    deff: float = 1.0,
) -> Result:
    """Group sizes to detect ``p1 − p2`` with a test of given level and power.

    ``n1 = (P1Q1 + r P2Q2 − 2γ r (P12 − P1P2))/Δ² · (z_α − z_β)²``, ``n2 = n1/r``; γ is the share of
    units in both samples (a panel between two rounds; 0 for two independent groups such as migrant
    and non-migrant households) and ``P12`` the share with the trait in both (PracTools
    ``nProp2sam``). Multiplied by ``deff`` for a clustered design.
    """
    p1 = check_probability(p1, "p1")
    p2 = check_probability(p2, "p2")
    if p1 == p2:
        raise SurvmigError("p1 and p2 are equal: there is no difference to detect", where="p2")
    g = _overlap(overlap)
    r = check_positive(ratio, "ratio", hint="n1/n2, 1 for equal groups")
    deff = check_positive(deff, "deff")
    za, zb = _z_pair(alpha, power, sided)
    s1, s2 = p1 * (1 - p1), p2 * (1 - p2)
    if g > 0:
        if p_both is None:
            raise SurvmigError(
                "overlapping samples need p_both (the trait in both rounds)", where="p_both"
            )
        p12 = check_nonnegative(p_both, "p_both")
        bound = math.sqrt(s1 * s2)
        if not (p1 * p2 - bound <= p12 <= min(p1, p2, p1 * p2 + bound)):
            raise SurvmigError(
                f"p_both = {p12:g} is impossible with p1 = {p1:g} and p2 = {p2:g}", where="p_both"
            )
        cov = p12 - p1 * p2
    else:
        cov = 0.0
    n1 = (s1 + r * s2 - 2 * g * r * cov) / (p1 - p2) ** 2 * (za - zb) ** 2 * deff
    return _difference_result("proportions", n1, r, p1 - p2, g, za, zb, deff, "nProp2sam")


def difference_size_means(
    difference: float,
    sd1: float,
    sd2: float | None = None,
    *,
    overlap: float = 0.0,
    correlation: float = 0.0,
    ratio: float = 1.0,
    alpha: float = 0.05,
    power: float = 0.8,
    sided: str = "two",
    deff: float = 1.0,
) -> Result:
    """Group sizes to detect a difference of means (PracTools ``nDep2sam``).

    ``n1 = (S1² + r S2² − 2γ r ρ S1 S2)/Δ² · (z_α − z_β)²``; ρ is the unit-level correlation between
    the rounds for units in both (γ the overlap), 0 for independent groups.
    """
    delta = float(difference)
    if not math.isfinite(delta) or delta == 0:
        raise SurvmigError("the difference to detect must be a nonzero number", where="difference")
    s1 = check_positive(sd1, "sd1")
    s2 = s1 if sd2 is None else check_positive(sd2, "sd2")
    g = _overlap(overlap)
    rho = check_nonnegative(correlation, "correlation")
    if rho > 1:
        raise SurvmigError(f"must be in [0, 1], got {rho:g}", where="correlation")
    r = check_positive(ratio, "ratio", hint="n1/n2, 1 for equal groups")
    deff = check_positive(deff, "deff")
    za, zb = _z_pair(alpha, power, sided)
    n1 = (s1**2 + r * s2**2 - 2 * g * r * rho * s1 * s2) / delta**2 * (za - zb) ** 2 * deff
    return _difference_result("means", n1, r, delta, g, za, zb, deff, "nDep2sam")


def _overlap(value: float) -> float:
    g = check_nonnegative(value, "overlap")
    return check_rate(g, "overlap") if g > 0 else 0.0


def _difference_result(
    kind: str,
    n1: float,
    r: float,
    delta: float,
    g: float,
    za: float,
    zb: float,
    deff: float,
    ref: str,
) -> Result:
    n2 = n1 / r
    return Result(
        title=f"Sample sizes to detect a difference of {kind}",
        value={"n1": math.ceil(n1 - 1e-9), "n2": math.ceil(n2 - 1e-9)},
        formula=("n1 = (S1² + r S2² − 2γ r S12)/Δ² · (z_α − z_β)² · deff; n2 = n1/r"),
        assumptions=(
            "normal approximation; the two estimates' variances as under SRS times the design "
            "effect; γ the share of units in both samples (0 for independent groups)"
        ),
        steps={"difference": delta, "overlap": g, "ratio": r, "z_alpha": za, "z_beta": zb}
        | {"deff": deff, "n1": n1, "n2": n2},
        references=f"{_VDK} (PracTools {ref})",
    )
