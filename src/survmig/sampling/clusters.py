"""Cluster planning: the optimum of two- and three-stage designs and their variance components.

Notation follows Valliant, Dever & Kreuter (2018) *Practical Tools for Designing and Weighting Survey
Samples*, ch. 9 (R package PracTools): ``m`` PSUs are selected, ``n̄`` elements per PSU (and, in a
three-stage design, ``n̄`` SSUs per PSU and ``q̄`` elements per SSU). The relvariance of an estimated
total is ``(unit relvar / (m n̄)) · k · (1 + δ(n̄ − 1))`` for two stages, where δ = B²/(B² + W²) is
the measure of homogeneity — the ICC of the planning formulas — and ``k = (B² + W²)/unit relvar``.
:func:`variance_components` estimates B², W², k and δ from a frame (a census or a past survey), so
the ICC a plan uses is measured rather than guessed.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from survmig.errors import SurvmigError
from survmig.sampling.results import Result, check_positive

__all__ = ["cluster_optimum", "cluster_optimum_3stage", "composite_mos", "variance_components"]

_VDK = "Valliant, Dever & Kreuter (2018) Practical Tools for Designing and Weighting Survey Samples"


def cluster_optimum(
    psu_cost: float,
    unit_cost: float,
    delta: float,
    unit_relvar: float,
    *,
    k: float = 1.0,
    budget: float | None = None,
    cv: float | None = None,
) -> Result:
    """The optimal two-stage design for a budget (CV reached) or for a target CV (cost needed).

    ``n̄_opt = √((C1/C2)(1 − δ)/δ)`` elements per PSU; for a budget ``m = C/(C1 + C2 n̄)`` PSUs, for a
    target CV ``m = relvar·k·(1 + δ(n̄ − 1))/(n̄ CV²)`` (PracTools ``clusOpt2``). ``budget`` excludes
    fixed costs. The table adds the practical design: whole takes around the optimum, each with the
    PSUs the budget buys (or the CV needs) and the CV or cost it gives.
    """
    c1 = check_positive(psu_cost, "psu_cost", hint="the cost of one PSU (EA): travel, listing")
    c2 = check_positive(unit_cost, "unit_cost", hint="the cost of one interview within a PSU")
    delta = _check_share(delta, "delta")
    relvar = check_positive(unit_relvar, "unit_relvar", hint="S²/Ȳ² of the variable, e.g. (1−P)/P")
    k = check_positive(k, "k")
    budget, cv = _budget_or_cv(budget, cv)
    take = math.sqrt(c1 / c2 * (1 - delta) / delta)

    def design(n_bar: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        per_psu = relvar * k * (1 + delta * (n_bar - 1)) / n_bar
        if budget is not None:
            m = budget / (c1 + c2 * n_bar)
            return m, np.sqrt(per_psu / m), np.full_like(m, budget)
        m = per_psu / cv**2
        return m, np.full_like(m, cv), c1 * m + c2 * m * n_bar

    m, cv_reached, cost = (float(v[0]) for v in design(np.array([take])))
    takes = _whole_takes(take)
    m_t, cv_t, cost_t = design(takes.astype(float))
    table = pd.DataFrame(
        {"take_per_psu": takes, "psus": m_t, "psus_whole": np.ceil(m_t - 1e-9).astype(int)}
        | {"cv": cv_t, "cost": cost_t, "deff": 1 + delta * (takes - 1)}
    )
    return Result(
        title="Optimal two-stage design",
        value={"psus": m, "take_per_psu": take, "cv": cv_reached, "cost": cost},
        formula=(
            "n̄ = √((C1/C2)(1 − δ)/δ); "
            + ("m = C/(C1 + C2 n̄)" if budget is not None else "m = relvar·k(1 + δ(n̄−1))/(n̄ CV²)")
            + "; CV² = relvar·k(1 + δ(n̄ − 1))/(m n̄); cost = C1 m + C2 m n̄"
        ),
        assumptions=(
            "PSUs selected with replacement (or a small sampling fraction) by PPS or SRS, elements "
            "by SRS within PSUs; linear costs C1 per PSU and C2 per element; δ and k from a frame "
            "or a past survey (see variance_components); the budget excludes fixed costs"
        ),
        steps={"C1": c1, "C2": c2, "delta": delta, "unit_relvar": relvar, "k": k}
        | {"take_per_psu": take, "psus": m, "cv": cv_reached, "cost": cost},
        table=table,
        references=_VDK + " (clusOpt2); Hansen, Hurwitz & Madow (1953)",
    )


def cluster_optimum_3stage(
    costs: tuple[float, float, float],
    delta1: float,
    delta2: float,
    unit_relvar: float,
    *,
    k1: float = 1.0,
    k2: float = 1.0,
    budget: float | None = None,
    cv: float | None = None,
) -> Result:
    """The optimal three-stage design (PSUs, SSUs per PSU, elements per SSU), PracTools ``clusOpt3``.

    ``q̄ = √((1 − δ2)/δ2 · C2/C3)`` elements per SSU and ``n̄ = √((1 − δ2)/δ1 · C1/C3 · k2/k1)/q̄`` SSUs
    per PSU — a typical use is EAs, then listing segments, then households.
    """
    if len(costs) != 3:
        raise SurvmigError("give three costs: per PSU, per SSU and per element", where="costs")
    c1, c2, c3 = (
        check_positive(c, name) for c, name in zip(costs, ("C1", "C2", "C3"), strict=True)
    )
    delta1 = _check_share(delta1, "delta1")
    delta2 = _check_share(delta2, "delta2")
    relvar = check_positive(unit_relvar, "unit_relvar")
    k1 = check_positive(k1, "k1")
    k2 = check_positive(k2, "k2")
    budget, cv = _budget_or_cv(budget, cv)
    q = math.sqrt((1 - delta2) / delta2 * c2 / c3)
    n = math.sqrt((1 - delta2) / delta1 * c1 / c3 * k2 / k1) / q
    per_psu = relvar / (n * q) * (k1 * delta1 * n * q + k2 * (1 + delta2 * (q - 1)))
    if budget is not None:
        m = budget / (c1 + c2 * n + c3 * n * q)
        cv_reached = math.sqrt(per_psu / m)
        cost = budget
    else:
        m = per_psu / cv**2
        cv_reached = cv
        cost = c1 * m + c2 * m * n + c3 * m * n * q
    return Result(
        title="Optimal three-stage design",
        value={"psus": m, "ssus_per_psu": n, "take_per_ssu": q, "cv": cv_reached, "cost": cost},
        formula=(
            "q̄ = √((1−δ2)/δ2 · C2/C3); n̄ = √((1−δ2)/δ1 · C1/C3 · k2/k1)/q̄; "
            "CV² = relvar/(m n̄ q̄)·(k1 δ1 n̄ q̄ + k2(1 + δ2(q̄ − 1))); cost = C1 m + C2 m n̄ + C3 m n̄ q̄"
        ),
        assumptions=(
            "PSUs with replacement (or small fraction), SSUs and elements by SRS; linear costs per "
            "PSU, SSU and element; δ1, δ2, k1, k2 from a frame or a past survey"
        ),
        steps={"C1": c1, "C2": c2, "C3": c3, "delta1": delta1, "delta2": delta2}
        | {"psus": m, "ssus_per_psu": n, "take_per_ssu": q, "cv": cv_reached, "cost": cost},
        references=_VDK + " (clusOpt3)",
    )


def variance_components(
    frame: pd.DataFrame,
    y: str,
    psu: str,
    *,
    size: str | None = None,
    lonely: str = "mean",
) -> Result:
    """B², W², unit relvariance, k and δ of a two-stage design, from a frame of elements.

    With ``size`` (a measure of size per element's PSU, e.g. listed households) PSUs are drawn with
    probabilities proportional to it (PracTools ``BW2stagePPS``); without, by SRS
    (``BW2stageSRS``). ``lonely`` is what a PSU with one element contributes to W²: the mean of the
    other PSUs' variances (``mean``) or ``zero``. A census frame with a migrant indicator gives the
    δ of migrant-household prevalence that :func:`cluster_optimum` and ``sample-size --icc`` need.
    """
    for col in (y, psu) + ((size,) if size else ()):
        if col not in frame.columns:
            raise SurvmigError(
                f"no column {col!r} in the frame",
                where=col,
                hint=f"columns: {', '.join(map(str, frame.columns[:12]))}",
            )
    if lonely not in ("mean", "zero"):
        raise SurvmigError(f"lonely must be 'mean' or 'zero', got {lonely!r}", where="lonely")
    values = pd.to_numeric(frame[y], errors="coerce")
    if values.isna().any():
        row = int(np.flatnonzero(values.isna().to_numpy())[0])
        raise SurvmigError(
            f"must be a number in every row, got {frame[y].iloc[row]!r} at row {row + 2}", where=y
        )
    if frame[psu].isna().any():
        raise SurvmigError("a PSU id is missing", where=psu)
    groups = pd.DataFrame({"y": values.to_numpy(float), "psu": frame[psu].to_numpy()})
    stats = groups.groupby("psu", sort=True)["y"].agg(["sum", "var", "size"])
    if len(stats) < 2:
        raise SurvmigError("needs at least two PSUs", where=psu)
    var_i = stats["var"].to_numpy()
    missing = np.isnan(var_i)
    if missing.all():
        raise SurvmigError("every PSU has a single element: W² cannot be estimated", where=psu)
    var_i = np.where(missing, var_i[~missing].mean() if lonely == "mean" else 0.0, var_i)
    t_i = stats["sum"].to_numpy()
    n_i = stats["size"].to_numpy(float)
    t_u = t_i.sum()
    if t_u == 0:
        raise SurvmigError("the variable totals 0: relvariances are undefined", where=y)
    if size is None:
        b2 = float(np.var(t_i, ddof=1)) / t_i.mean() ** 2
        w2 = len(t_i) * float(np.sum(n_i**2 * var_i)) / t_u**2
        method = "SRS of PSUs (BW2stageSRS)"
    else:
        mos = pd.to_numeric(frame[size], errors="coerce")
        by_psu = pd.DataFrame({"psu": frame[psu].to_numpy(), "mos": mos.to_numpy(float)})
        spread = by_psu.groupby("psu", sort=True)["mos"].agg(["min", "max"])
        if spread.isna().any().any() or (spread["min"] <= 0).any():
            raise SurvmigError(
                "the measure of size must be a positive number in every row", where=size
            )
        if not np.allclose(spread["min"], spread["max"]):
            raise SurvmigError(
                "the measure of size differs within a PSU",
                where=size,
                hint="give the PSU's size on each of its rows",
            )
        pp = spread["min"].to_numpy() / spread["min"].sum()
        b2 = float(np.sum(pp * (t_i / pp - t_u) ** 2)) / t_u**2
        w2 = float(np.sum(n_i**2 * var_i / pp)) / t_u**2
        method = "PPS of PSUs (BW2stagePPS)"
    b2, w2 = float(b2), float(w2)
    relvar = float(np.var(values, ddof=1)) / float(values.mean()) ** 2
    k = (b2 + w2) / relvar
    delta = b2 / (b2 + w2)
    return Result(
        title="Variance components of a two-stage design",
        value=delta,
        formula=(
            "B² = S²_U1/t̄_U² (between PSUs), W² = Σ N_i² S²_U2i/(p_i t_U²) (within); "
            "k = (B² + W²)/unit relvar; δ = B²/(B² + W²)"
        ),
        assumptions=(
            f"{method}; PSUs with replacement; elements by SRS within PSUs; the frame is the whole "
            f"population (a past survey's sample gives estimates); single-element PSUs: {lonely}"
        ),
        steps={"psus": float(len(t_i)), "B2": b2, "W2": w2, "unit_relvar": relvar}
        | {"B2+W2": b2 + w2, "k": k, "delta": delta},
        references=_VDK + " (BW2stagePPS, BW2stageSRS)",
    )


def composite_mos(
    frame: pd.DataFrame,
    psu: str,
    domains: dict[str, float],
    n_psus: int,
    *,
    response_rates: dict[str, float] | None = None,
) -> Result:
    """A composite measure of size for several rare domains (Folsom, Potter & Williams 1987).

    ``S_i = Σ_d f_d N_id`` with ``f_d = n_d/(r_d N_d)`` the overall rate domain d needs; PSUs are
    drawn with ``π_i = m S_i/S`` and, within a selected PSU, domain d at rate ``f_d S/(m S_i)``
    (PracTools ``CompMOS``), which gives each domain its rate overall and every PSU the same
    workload ``Σ n_d/(r_d m)``. ``domains`` maps each count column (e.g. migrant, return-migrant and
    other households listed per EA) to the interviews it needs. A PSU where a within-PSU rate
    exceeds 1 cannot deliver its share: flagged in ``feasible``.
    """
    if psu not in frame.columns:
        raise SurvmigError(f"no column {psu!r} in the frame", where=psu)
    if frame[psu].duplicated().any():
        dup = frame[psu][frame[psu].duplicated()].iloc[0]
        raise SurvmigError(f"PSU {dup!r} appears twice: give one row per PSU", where=psu)
    if not domains:
        raise SurvmigError(
            "give at least one domain count column with its required sample", where="domains"
        )
    rates = response_rates or {}
    unknown = set(rates) - set(domains)
    if unknown:
        raise SurvmigError(
            f"response rates for unknown domains: {', '.join(sorted(unknown))}",
            where="response_rates",
        )
    counts = np.empty((len(frame), len(domains)))
    for j, name in enumerate(domains):
        if name not in frame.columns:
            raise SurvmigError(f"no column {name!r} in the frame", where=name)
        col = pd.to_numeric(frame[name], errors="coerce")
        if col.isna().any() or (col < 0).any():
            row = int(np.flatnonzero((col.isna() | (col < 0)).to_numpy())[0])
            raise SurvmigError(
                f"must be a count ≥ 0 in every row, got {frame[name].iloc[row]!r} at row {row + 2}",
                where=name,
            )
        counts[:, j] = col.to_numpy(float)
    required = np.array([check_positive(v, f"{d} required") for d, v in domains.items()])
    r = np.array([float(rates.get(d, 1.0)) for d in domains])
    if np.any((r <= 0) | (r > 1)):
        raise SurvmigError("response rates must be in (0, 1]", where="response_rates")
    m = int(check_positive(n_psus, "n_psus"))
    big_n = counts.sum(axis=0)
    if np.any(big_n <= 0):
        raise SurvmigError(
            f"domain {list(domains)[int(np.argmin(big_n))]!r} has no units in the frame",
            where="domains",
        )
    n_d = required / r
    f = n_d / big_n
    if np.any(f > 1):
        raise SurvmigError(
            f"domain {list(domains)[int(np.argmax(f))]!r} needs more units than the frame has",
            where="domains",
        )
    size = counts @ f
    total = size.sum()
    prob = m * size / total
    workload = n_d.sum() / m
    with np.errstate(divide="ignore", invalid="ignore"):
        within = np.where(size[:, None] > 0, workload * f[None, :] / size[:, None], 0.0)
    table = pd.DataFrame({psu: frame[psu].to_numpy(), "composite_mos": size, "prob": prob})
    for j, name in enumerate(domains):
        table[f"{name}_rate"] = within[:, j]
        table[f"{name}_take"] = within[:, j] * counts[:, j]
    table["feasible"] = np.all(within <= 1 + 1e-12, axis=1) & (prob <= 1 + 1e-12)
    return Result(
        title="Composite measure of size",
        value=size,
        formula=(
            "S_i = Σ_d f_d N_id, f_d = n_d/(r_d N_d); π_i = m S_i/S; within-PSU rate f_d S/(m S_i); "
            "workload per PSU Σ_d n_d/(r_d m)"
        ),
        assumptions=(
            "PSUs by PPS on S_i, then each domain's units at its within-PSU rate; domain counts "
            "per PSU from a listing or census; a PSU with π_i > 1 is a certainty unit (not handled here)"
        ),
        steps={"psus": float(m), "workload": n_d.sum(), "workload_per_psu": workload}
        | {"infeasible_psus": float((~table["feasible"]).sum())},
        table=table,
        references="Folsom, Potter & Williams (1987) ASA SRMS; " + _VDK + " (PracTools CompMOS)",
    )


def _whole_takes(take: float) -> np.ndarray:
    """Whole takes per PSU around the optimum: what a field plan can use."""
    centre = max(1, round(take))
    return np.unique(
        np.clip(
            np.array(
                [centre - 4, centre - 2, centre - 1, centre, centre + 1, centre + 2, centre + 4]
            ),
            1,
            None,
        )
    )


def _budget_or_cv(budget: float | None, cv: float | None) -> tuple[float | None, float | None]:
    if (budget is None) == (cv is None):
        raise SurvmigError(
            "give exactly one of a budget (the CV it reaches) or a target CV (the cost it needs)",
            where="budget",
        )
    if budget is not None:
        return check_positive(budget, "budget", hint="the variable cost, without fixed costs"), None
    return None, check_positive(cv, "cv", hint="a target CV such as 0.05")


def _check_share(value: float, name: str) -> float:
    value = check_positive(value, name, hint="a measure of homogeneity such as 0.05")
    if not value < 1:
        raise SurvmigError(f"must be strictly between 0 and 1, got {value:g}", where=name)
    return value
