"""Variance algebra on small arrays: unit-level score sums → variances (R ``svyrecvar``, ``svrVar``).

Inputs are *cells*: one per (sampling unit, domain) with the summed linearized scores of the P
per-domain outputs (C × P). Nothing here touches the rows of the data except the calibration
residuals, which need a few extra group sums (done through the reducer).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable

import numpy as np

from survmig.design.calibration import GregCalibration, PostStratification, Raking
from survmig.design.core import Stage, SurveyDesign, show
from survmig.errors import SurvmigError, SurvmigWarning
from survmig.estimation.reduce import Reducer, dense_group_sums, expand_by_domain

SELF_REPRESENTING = 1e-7  # R: all(f < 1e-7) → the stratum adds no variance


@dataclasses.dataclass
class Cells:
    """Score sums per (unit, domain) cell for P outputs; ``present`` marks cells with cases."""

    unit: np.ndarray  # (C,)
    domain: np.ndarray  # (C,)
    scores: np.ndarray  # (C, P)
    present: np.ndarray  # (C, P) bool


def group_sum(codes: np.ndarray, n_groups: int, values: np.ndarray) -> np.ndarray:
    """Small in-memory group sums over cells (not rows): bincount on flattened keys."""
    k = values.shape[1]
    flat = (codes[:, None] * k + np.arange(k)[None, :]).ravel()
    return np.bincount(flat, weights=values.ravel(), minlength=n_groups * k).reshape(n_groups, k)


def _singleton_rule(
    mask: np.ndarray, rule: str, contrib: np.ndarray, uncentred: np.ndarray, otherwise: float | None
) -> np.ndarray:
    """R's treatment of a single unit: ``adjust`` centres it at zero, ``average`` leaves the stratum
    out (NaN, averaged later); other rules give ``otherwise`` (``None``: keep the usual value)."""
    if rule == "adjust":
        return np.where(mask, uncentred, contrib)
    if rule == "average":
        return np.where(mask, np.nan, contrib)
    return contrib if otherwise is None else np.where(mask, otherwise, contrib)


def stage_variance(
    stage: Stage,
    cells: Cells,
    n_domains: int,
    design: SurveyDesign,
    stage_number: int,
    warn: list[str],
) -> np.ndarray:
    """One stage of R's ``multistage``/``onestage``/``onestrat`` for all domains and outputs (D × P).

    Within each stratum: ``scale * Σ_units (s - mean)^2`` with absent units as zeros; singleton
    strata follow ``design.lonely_psu``; ``lonely_psu_domain`` applies the rule to strata with one
    unit inside a domain; ``average`` rescales by present/usable strata within the enclosing unit.
    """
    D = n_domains
    P = cells.scores.shape[1]
    H = stage.n_strata
    rule = design.lonely_psu
    h_cell = stage.unit_stratum[cells.unit]
    key = h_cell * D + cells.domain
    nhd = H * D
    sum1 = group_sum(key, nhd, cells.scores)
    ncells = np.bincount(key, minlength=nhd).astype(float)
    nsub = group_sum(key, nhd, cells.present.astype(float))
    n_h = stage.n_units.astype(float)
    n_hd = np.repeat(n_h, D)[:, None]
    mean = sum1 / n_hd
    dev = cells.scores - mean[key]
    dev2 = group_sum(key, nhd, dev * dev) + (n_hd - ncells[:, None]) * mean * mean
    raw2 = group_sum(key, nhd, cells.scores * cells.scores)

    f = np.repeat(stage.fpc_factor, D)[:, None]
    scale = np.repeat(stage.scale, D)[:, None]
    present = nsub > 0
    selfrep = f < SELF_REPRESENTING
    lonely = (n_hd == 1) & ~selfrep & present
    contrib = scale * dev2
    if lonely.any():
        strata = np.unique(np.flatnonzero(lonely.any(axis=1)) // D)
        # stage 1: stratum values; later stages: "ea 2 of region 'N'" (the enclosing unit)
        fmt = show if stage_number == 1 else str
        labels = ", ".join(fmt(x) for x in stage.stratum_labels[strata][:6])
        more = f" and {strata.size - 6} more" if strata.size > 6 else ""
        what = "stratum " if stage_number == 1 else ""
        unit = "PSU" if stage_number == 1 else "sampled unit"
        if rule == "fail":
            raise SurvmigError(
                f"{what}{labels}{more} has only one {unit} at stage {stage_number}",
                where="lonely_psu",
                hint="choose lonely_psu remove, certainty, adjust or average (or collapse strata)",
            )
        if rule == "remove":
            warn.append(
                f"{strata.size} stratum/strata with one PSU at stage {stage_number} add no "
                f"variance (lonely_psu: remove): {labels}{more}"
            )
        # remove, certainty: the single unit is its own stratum mean, no variance
        contrib = _singleton_rule(lonely, rule, contrib, scale * raw2, otherwise=0.0)
    if design.lonely_psu_domain:
        single = (nsub == 1) & (n_hd > 1) & ~selfrep
        if single.any():
            strata = np.unique(np.flatnonzero(single.any(axis=1)) // D)
            warn.append(
                f"{strata.size} stratum/strata have one PSU inside a domain at stage "
                f"{stage_number} (lonely_psu_domain with rule {rule})"
            )
            contrib = _singleton_rule(single, rule, contrib, scale * raw2, otherwise=None)
    contrib = np.where(selfrep | ~present, 0.0, contrib)
    multiplier = np.repeat(stage.multiplier, D)[:, None]
    contrib = contrib * multiplier
    # average over usable strata within the enclosing unit (R's nstrat / nokstrat)
    parent = np.repeat(stage.parent, D) * D + np.tile(np.arange(D), H)
    n_parent = (int(stage.parent.max()) + 1) * D
    total = group_sum(parent, n_parent, np.nan_to_num(contrib, nan=0.0))
    if rule == "average" and np.isnan(contrib).any():
        nstrat = group_sum(parent, n_parent, present.astype(float))
        nok = group_sum(parent, n_parent, (present & ~np.isnan(contrib)).astype(float))
        with np.errstate(invalid="ignore", divide="ignore"):
            total = np.where(nstrat > 0, total * nstrat / nok, total)
    return total.reshape(-1, D, P).sum(axis=0)


# ----------------------------------------------------------------------------------------------
# calibration residuals
# ----------------------------------------------------------------------------------------------


@dataclasses.dataclass
class _Basis:
    """A correction ``x ← x - U (V' x)``: U and V are either grouped (one value per row in the
    column of its group) or dense (n × L)."""

    groups: np.ndarray | None
    n_groups: int
    u: np.ndarray  # (n,) grouped values, or (n, L) dense
    v: np.ndarray


def _bases(design: SurveyDesign) -> tuple[list[_Basis], list[int]]:
    """Correction bases and the order in which R applies them (raking: 10 passes)."""
    bases: list[_Basis] = []
    steps: list[int] = []
    for rec in design.calibration:
        if isinstance(rec, GregCalibration):
            a = rec.model_matrix * rec.qr_weights[:, None]
            u_svd, s, _ = np.linalg.svd(a, full_matrices=False)
            keep = s > 1e-7 * (s[0] if s.size else 1.0)
            q = u_svd[:, keep]
            w = rec.weights
            # Units with zero weight have zero scores; R's x/w would be 0/0 for them. Their
            # residual is defined as zero (as R does for post-strata with psw = oldw = 0).
            inv_w = np.divide(1.0, w, out=np.zeros_like(w), where=w != 0)
            bases.append(_Basis(None, q.shape[1], q * w[:, None], q * inv_w[:, None]))
            steps.append(len(bases) - 1)
        elif isinstance(rec, PostStratification):
            psw = rec.weights.copy()
            oldw = np.ones_like(psw) if rec.old_weights is None else rec.old_weights
            psw[(psw == 0) & (oldw == 0)] = 1.0
            g = rec.groups
            _, g = np.unique(g, return_inverse=True)
            G = int(g.max()) + 1
            osum = np.bincount(g, weights=oldw, minlength=G)
            bases.append(_Basis(g, G, psw, oldw / psw / osum[g]))
            steps.append(len(bases) - 1)
        elif isinstance(rec, Raking):
            first = len(bases)
            for groups, psw in rec.margins:
                _, g = np.unique(groups, return_inverse=True)
                G = int(g.max()) + 1
                cnt = np.bincount(g, minlength=G).astype(float)
                bases.append(_Basis(g, G, psw, 1.0 / (psw * cnt[g])))
            steps.extend(list(range(first, len(bases))) * 10)
    return bases, steps


def _cross(a: _Basis, b: _Basis) -> np.ndarray:
    """``V_a' U_b`` (L_a × L_b)."""
    if a.groups is not None and b.groups is not None:
        key = a.groups * b.n_groups + b.groups
        return np.bincount(key, weights=a.v * b.u, minlength=a.n_groups * b.n_groups).reshape(
            a.n_groups, b.n_groups
        )
    if a.groups is not None:  # grouped V, dense U
        return group_sum(a.groups, a.n_groups, b.u * a.v[:, None])
    if b.groups is not None:  # dense V, grouped U
        return group_sum(b.groups, b.n_groups, a.v * b.u[:, None]).T
    return a.v.T @ b.u


def calibrated_unit_scores(
    design: SurveyDesign,
    stages: list[Stage],
    base_cells: list[Cells],
    n_domains: int,
    weighted_features: np.ndarray,
    domain: np.ndarray,
    kidx: np.ndarray,
    coef: np.ndarray,
    reducer: Reducer,
) -> list[Cells]:
    """Unit-level scores after R's calibration residualisation, for every stage (dense cells).

    ``x⁰_i(d, p) = 1[d_i = d] Σ_t coef[d, p, t] · wF[i, kidx[p, t]]``; each record replaces the
    current scores by ``x - U (V' x)``. ``V' x`` is computed from group sums of ``wF`` (and the
    small cross products ``V' U`` of earlier corrections), so no n × (D·P) score matrix is built.
    """
    D = n_domains
    P = kidx.shape[0]
    bases, steps = _bases(design)
    # V_j' x0 for each basis: (L_j, D·P)
    r0 = []
    for b in bases:
        if b.groups is not None:
            codes = np.where(domain >= 0, b.groups * D + domain, -1)
            red = dense_group_sums(codes, b.n_groups * D, weighted_features * b.v[:, None], reducer)
            red = red.reshape(b.n_groups, D, -1)
        else:
            expanded = expand_by_domain(domain, D, weighted_features)
            red = np.asarray((expanded.T @ b.v).T).reshape(b.n_groups, D, -1)
        r0.append(contract_scores(red, kidx, coef))
    cross = {(i, j): _cross(bases[i], bases[j]) for i in set(steps) for j in set(steps)}

    def up(s: int, j: int) -> np.ndarray:
        stage, b = stages[s], bases[j]
        U = stage.n_units_total
        if b.groups is not None:
            sums = dense_group_sums(
                stage.units * b.n_groups + b.groups, U * b.n_groups, b.u, reducer
            )
            return sums.reshape(U, b.n_groups)
        return dense_group_sums(stage.units, U, b.u, reducer)

    return residual_cells(stages, base_cells, D, P, steps, r0, cross, up)


def contract_scores(red: np.ndarray, kidx: np.ndarray, coef: np.ndarray) -> np.ndarray:
    """Group sums of weighted features (L, D, K) contracted with the output coefficients: the
    group sums of the linearized scores (L, D·P)."""
    L, D = red.shape[:2]
    gathered = red[:, :, kidx]  # (L, D, P, T)
    return np.einsum("ldpt,dpt->ldp", gathered, coef).reshape(L, D * kidx.shape[0])


def residual_cells(
    stages: list[Stage],
    base_cells: list[Cells],
    n_domains: int,
    n_outputs: int,
    steps: list[int],
    r0: list[np.ndarray],
    cross: dict[tuple[int, int], np.ndarray],
    up: Callable[[int, int], np.ndarray],
) -> list[Cells]:
    """The residualisation on small arrays, whatever computed its group sums (rows in memory, or
    SQL over margin cells): ``r0[j] = V_j' x0`` (L_j, D·P), ``cross[i, j] = V_i' U_j`` and
    ``up(stage, j) = U_j`` summed to the stage's units (U, L_j); ``steps`` the order of the
    corrections. Returns the dense (unit, domain) cells of every stage."""
    D, P = n_domains, n_outputs
    acc = [np.zeros((r.shape[0], D * P)) for r in r0]
    for j in steps:
        phi = r0[j].copy()
        for k in set(steps):
            if acc[k].any():
                phi -= cross[(j, k)] @ acc[k]
        acc[j] += phi
    out = []
    for s, (stage, cells) in enumerate(zip(stages, base_cells, strict=True)):
        U = stage.n_units_total
        dense = np.zeros((U, D, P))
        dense[cells.unit, cells.domain] = cells.scores
        dense = dense.reshape(U, D * P)
        for j, m in enumerate(acc):
            dense -= up(s, j) @ m
        unit = np.repeat(np.arange(U), D)
        dom = np.tile(np.arange(D), U)
        out.append(Cells(unit, dom, dense.reshape(U * D, P), np.ones((U * D, P), dtype=bool)))
    return out


# ----------------------------------------------------------------------------------------------
# replicate variances
# ----------------------------------------------------------------------------------------------


def replicate_variance(
    theta: np.ndarray,
    theta_r: np.ndarray,
    scale: float,
    rscales: np.ndarray,
    mse: bool,
    warn: list[str],
) -> np.ndarray:
    """R's ``svrVar`` for every output at once: ``scale Σ_r rscales_r (θ_r - c)^2``.

    ``theta`` (...,), ``theta_r`` (R, ...). Replicates giving NaN for an output are discarded for that
    output, as R's ``na.omit`` does (with a warning).
    """
    ok = np.isfinite(theta_r)
    rs = rscales.reshape((-1,) + (1,) * (theta_r.ndim - 1))
    if mse:
        centre = theta
    else:
        use = ok & (rs > 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            centre = np.where(use, theta_r, 0.0).sum(axis=0) / use.sum(axis=0)
    dev = np.where(ok, theta_r - centre, 0.0)
    n_bad = (
        int((~ok).any(axis=tuple(range(1, theta_r.ndim))).sum())
        if theta_r.ndim > 1
        else int((~ok).sum())
    )
    if n_bad:
        warn.append(
            f"{n_bad} replicate(s) gave no estimate for some outputs and were discarded for those"
        )
    return scale * (dev * dev * rs).sum(axis=0)


def emit(warn: list[str]) -> None:
    for message in dict.fromkeys(warn):
        warnings.warn(message, SurvmigWarning, stacklevel=3)
