"""Two-phase designs (R ``twophase(method = "full")``): a phase-1 cluster sample, a phase-2
stratified subsample of its units, and the variance of both phases in closed form.

The toolkit's screening designs: phase 1 selects PSUs (EAs) within strata — with probabilities
``probs`` (R: no fpc, "with replacement") or by stratified SRS with ``fpc`` — and lists and screens
every unit (household) in them; phase 2 draws a stratified SRS of the listed units, strata typically
PSU × screening class, from ``N₂ₖ`` listed units of stratum ``k`` (the ``fpc`` column of
``phase2``). Rows may be below the phase-2 unit (persons in households).

R's estimator is the quadratic form ``x' Ď x`` with ``x = y / (π₁ π₂)`` and
``Ď = Ď₁ + Ď₂ − Ď₁ ∘ Ď₂`` (Särndal et al. 1992, 9.3), ``Ď`` being ``Δ_kl / π_kl`` of each phase:

* phase 1 with ``probs``: ``Ď₁ = 1 − p_c`` for two units of the same PSU ``c``, else 0;
  with ``fpc`` (stratified SRS of ``n_s`` of ``N_s`` PSUs): ``1 − f_s`` within a PSU,
  ``−(1 − f_s)/(n_s − 1)`` between PSUs of stratum ``s``, ``f_s = n_s / N_s``;
* phase 2: ``1 − p₂ₖ`` for a unit with itself, ``−(1 − p₂ₖ)/(n₂ₖ − 1)`` between units of stratum
  ``k``, ``p₂ₖ = n₂ₖ / N₂ₖ``.

Every block is constant on groups (PSU, phase-1 stratum, phase-2 stratum, their crossings), so the
form is a sum of weighted outer products of group sums: no n × n matrix (R builds one).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from survmig.design.columns import _readonly, _row_label, numeric_column
from survmig.design.stages import Stage
from survmig.errors import SurvmigError, show

PHASE2_KEYS = {"ids", "strata", "fpc"}


@dataclasses.dataclass(frozen=True, eq=False)
class TwoPhase:
    """Per-row phase-2 unit codes and the constants of the closed-form ``x' Ď x``."""

    ids: tuple[str, ...]  # phase-2 unit column (one)
    strata: tuple[str, ...]  # phase-2 strata columns (crossed)
    fpc: str  # column: phase-2 stratum population (units listed at phase 1)
    phase1: str  # "probs" or "fpc"
    units: np.ndarray  # (n,) phase-2 unit code per row
    n_units: int
    unit_cluster: np.ndarray  # (U,) phase-1 PSU of each phase-2 unit
    unit_stratum1: np.ndarray  # (U,) phase-1 stratum
    unit_stratum2: np.ndarray  # (U,) phase-2 stratum
    n_strata2: int
    a: np.ndarray  # (U,) Ď₁ within a PSU: 1 - p_c or 1 - f_s
    g: np.ndarray  # (U,) Ď₁ between PSUs of a stratum (0 with probs)
    p2: np.ndarray  # (U,) n₂ₖ / N₂ₖ
    e: np.ndarray  # (U,) Ď₂ between units of a phase-2 stratum
    prob2: np.ndarray  # (n,) phase-2 probability of each row's unit
    probs1: tuple[str, ...] = ()  # the design's phase-1 probability columns (empty with fpc)
    prob1: np.ndarray | None = None  # (n,) phase-1 probability of each row's PSU
    #: calibration of phase 2 to phase-1 totals (R ``calibrate(twophase, phase = 2)``): records
    #: whose residuals enter the phase-2 term only
    phase2_calibration: tuple[Any, ...] = ()

    def describe(self) -> str:
        return (
            f"two-phase (phase 2: {self.n_units} units {self.ids[0]} in {self.n_strata2} strata "
            f"{' × '.join(self.strata)} of {self.fpc} listed units; phase 1 by {self.phase1})"
        )

    def spec(self) -> dict[str, Any]:
        """The ``phase2:`` section of ``design.yaml``."""
        strata: Any = self.strata[0] if len(self.strata) == 1 else list(self.strata)
        return {"ids": self.ids[0], "strata": strata, "fpc": self.fpc}

    def renamed(self, names: dict[str, str]) -> TwoPhase:
        """The same phase-2 structure under other column names (a copy of the design's columns)."""
        return dataclasses.replace(
            self,
            ids=tuple(names.get(c, c) for c in self.ids),
            probs1=tuple(names.get(c, c) for c in self.probs1),
            strata=tuple(names.get(c, c) for c in self.strata),
            fpc=names.get(self.fpc, self.fpc),
        )


def _columns(value: Any, what: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple) and value and all(isinstance(v, str) for v in value):
        return list(value)
    raise SurvmigError(f"phase2 {what} must be a column or a list of columns", where="phase2")


def _codes(data: pd.DataFrame, cols: list[str], what: str) -> np.ndarray:
    for c in cols:
        if c not in data.columns:
            raise SurvmigError(
                f"phase2 {what} column {c!r} is not in the data",
                where="phase2",
                hint=f"columns found: {', '.join(map(str, data.columns[:12]))}",
            )
        if data[c].isna().any():
            row = int(np.flatnonzero(data[c].isna().to_numpy())[0])
            raise SurvmigError(
                f"phase2 {what} column {c!r} is missing at row {row + 1}", where="phase2"
            )
    return data.groupby(cols, sort=True, dropna=False).ngroup().to_numpy().astype(np.int64)


def _constant(values: np.ndarray, codes: np.ndarray, n: int, what: str, data: pd.DataFrame) -> Any:
    """One value per group; an error naming the first row that disagrees."""
    first = np.full(n, np.nan)
    first[codes[::-1]] = values[::-1]
    bad = np.flatnonzero(~np.isclose(first[codes], values, rtol=1e-12, atol=0.0))
    if bad.size:
        raise SurvmigError(
            f"{what} varies within its group (row {int(bad[0]) + 1})",
            where="phase2",
            hint="it must be the same for every row of the group",
        )
    return first


def build_twophase(
    data: pd.DataFrame, section: Any, stage1: Any, probs1: np.ndarray | None
) -> TwoPhase:
    """The phase-2 structure over ``data`` from the ``phase2`` section (ids, strata, fpc).

    ``stage1``: the design's first :class:`~survmig.design.stages.Stage` (phase-1 PSUs and strata);
    ``probs1``: per-row phase-1 PSU probabilities, or ``None`` when phase 1 has an fpc instead.
    """
    if not isinstance(section, dict):
        raise SurvmigError("phase2 must be a mapping with ids, strata and fpc", where="phase2")
    unknown = set(section) - PHASE2_KEYS
    if unknown:
        raise SurvmigError(
            f"unknown phase2 field {sorted(unknown)[0]!r}",
            where="phase2",
            hint="phase2 takes ids (the phase-2 unit), strata and fpc (listed units per stratum)",
        )
    for key in ("ids", "fpc"):
        if key not in section:
            raise SurvmigError(
                f"phase2 needs {key}",
                where="phase2",
                hint="ids: the phase-2 unit (household); fpc: the units listed in its stratum",
            )
    ids = _columns(section["ids"], "ids")
    if len(ids) != 1:
        raise SurvmigError("phase2 ids is one column (the phase-2 unit)", where="phase2")
    strata = _columns(section["strata"], "strata") if section.get("strata") else []
    fpc = _columns(section["fpc"], "fpc")
    if len(fpc) != 1:
        raise SurvmigError("phase2 fpc is one column", where="phase2")
    n = len(data)
    units = _codes(data, ids, "ids")
    U = int(units.max()) + 1
    k_row = _codes(data, strata, "strata") if strata else np.zeros(n, dtype=np.int64)
    _codes(data, fpc, "fpc")
    pop = pd.to_numeric(data[fpc[0]], errors="coerce").to_numpy(dtype=float)
    if not np.isfinite(pop).all():
        row = int(np.flatnonzero(~np.isfinite(pop))[0])
        raise SurvmigError(
            f"phase2 fpc column {fpc[0]!r} is not a number at row {row + 1}", where="phase2"
        )
    K = int(k_row.max()) + 1

    def per_unit(codes: np.ndarray, what: str) -> np.ndarray:
        out = np.full(U, -1, dtype=np.int64)
        out[units] = codes
        if (out[units] != codes).any():
            row = int(np.flatnonzero(out[units] != codes)[0])
            raise SurvmigError(
                f"phase-2 unit {data[ids[0]].iloc[row]!r} is in more than one {what} "
                f"(row {row + 1})",
                where="phase2",
                hint="a phase-2 unit lies within one phase-1 PSU and one phase-2 stratum",
            )
        return out

    unit_k = per_unit(k_row, "phase-2 stratum")
    unit_c = per_unit(stage1.units, "phase-1 PSU")
    unit_s = stage1.unit_stratum[unit_c]
    N2 = _constant(pop, k_row, K, f"phase2 fpc {fpc[0]!r}", data)
    n2 = np.bincount(unit_k, minlength=K).astype(float)
    over = np.flatnonzero(n2 > N2 + 1e-9)
    if over.size:
        row = int(np.flatnonzero(k_row == over[0])[0])
        raise SurvmigError(
            f"the phase-2 sample of stratum {_label(data, strata, row)} ({int(n2[over[0]])} units) "
            f"is larger than its population ({fpc[0]} = {N2[over[0]]:g}, row {row + 1})",
            where="phase2",
            hint=f"{fpc[0]} counts the units listed at phase 1 in the stratum (all of them)",
        )
    p2k = n2 / N2
    with np.errstate(divide="ignore", invalid="ignore"):
        e_k = np.where(n2 > 1, -(1.0 - p2k) / (n2 - 1.0), 0.0)
    if probs1 is not None:
        p_c = _constant(probs1, stage1.units, stage1.n_units_total, "the phase-1 probability", data)
        a = 1.0 - p_c[unit_c]
        g = np.zeros(U)
        phase1 = "probs"
    else:
        f = stage1.n_units / stage1.popsize  # n_s / N_s
        n_s = stage1.n_units.astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            g_s = np.where(n_s > 1, -(1.0 - f) / (n_s - 1.0), 0.0)
        a = (1.0 - f)[unit_s]
        g = g_s[unit_s]
        phase1 = "fpc"
    return TwoPhase(
        ids=tuple(ids),
        strata=tuple(strata),
        fpc=fpc[0],
        phase1=phase1,
        units=units,
        n_units=U,
        unit_cluster=unit_c,
        unit_stratum1=unit_s,
        unit_stratum2=unit_k,
        n_strata2=K,
        a=a,
        g=g,
        p2=p2k[unit_k],
        e=e_k[unit_k],
        prob2=p2k[k_row],
    )


def _label(data: pd.DataFrame, cols: list[str], row: int) -> str:
    if not cols:
        return "(one stratum)"
    return " × ".join(f"{c}={data[c].iloc[row]!r}" for c in cols)


def _quad(codes: np.ndarray, weight: np.ndarray, S: np.ndarray, full: bool) -> np.ndarray:
    """``Σ_g w_g G_g G_g'`` with ``G`` the group sums of ``S`` (full) or its diagonal."""
    _, inv = np.unique(codes, return_inverse=True)
    G = np.zeros((int(inv.max()) + 1 if inv.size else 0, S.shape[1]))
    np.add.at(G, inv, S)
    w = np.zeros(G.shape[0])
    w[inv] = weight
    if full:
        return (G * w[:, None]).T @ G
    return (w[:, None] * G * G).sum(axis=0)


def twophase_quadratic(
    tp: TwoPhase, S: np.ndarray, full: bool = False, phase2_only: bool = False
) -> np.ndarray:
    """R ``twophase2var``: ``S' Ď S`` for scores ``S`` summed to phase-2 units (U × M), the
    M × M matrix (``full``) or its diagonal.

    ``Ď₁`` (A) + ``Ď₂`` (B) − ``Ď₁ ∘ Ď₂`` (C, nonzero within phase-2 strata only)::

        A = Σ_c (a − g) X_c X_c' + Σ_s g T_s T_s'
        B = Σ_h (1 − p₂ − e) x_h x_h' + Σ_k e S_k S_k'
        C = Σ_h a (1 − p₂ − e) x_h x_h' + Σ_kc e (a − g) S_kc S_kc' + Σ_ks e g S_ks S_ks'

    ``phase2_only``: B alone (R's ``htvar.matrix(x, dcheck$phase2)``).
    """
    c, s, k = tp.unit_cluster, tp.unit_stratum1, tp.unit_stratum2
    a, g, p2, e = tp.a, tp.g, tp.p2, tp.e
    units = np.arange(tp.n_units)
    C1 = int(c.max()) + 1
    S1 = int(s.max()) + 1
    if phase2_only:
        terms = [(units, 1.0 - p2 - e), (k, e)]
    else:
        terms = [
            (c, a - g),
            (s, g),
            (units, (1.0 - p2 - e) * (1.0 - a)),
            (k, e),
            (k * C1 + c, -e * (a - g)),
            (k * S1 + s, -e * g),
        ]
    out = None
    for codes, weight in terms:
        if not np.any(weight):
            continue
        q = _quad(codes, weight, S, full)
        out = q if out is None else out + q
    if out is None:
        M = S.shape[1]
        out = np.zeros((M, M)) if full else np.zeros(M)
    return out


def calibrate_to_phase1(design: Any, step: Any) -> Any:
    """A two-phase design whose phase 2 is calibrated to phase-1 totals (R ``calibrate()`` of a
    ``twophase2`` design with ``phase = 2``).

    ``step``: a :class:`~survmig.weighting.Calibrate` step whose totals are those of the whole
    phase-1 sample (every listed unit, unweighted: what phase 2 estimates). As R, the phase-2 weights
    ``1/p₂`` are calibrated, the final weights are ``g / (p₁ p₂)``, and the calibration residuals
    enter the phase-2 term of the variance only (the phase-1 totals are themselves estimates).
    """
    from survmig.weighting.pipeline import run_steps

    tp = design.twophase
    if tp is None:
        raise SurvmigError(
            "calibration to phase-1 totals needs a two-phase design",
            where="calibration",
            hint="give the design a phase2 section",
        )
    if design.calibration or tp.phase2_calibration:
        raise SurvmigError("the two-phase design is already calibrated", where="calibration")
    d2 = 1.0 / tp.prob2
    res = run_steps(design.data, [step], weights=d2, linearization=True)
    if len(res.rows) != design.n:
        raise SurvmigError("calibration to phase-1 totals keeps every row", where="calibration")
    weights = res.weights / tp.prob1
    new = design.with_weights(weights)
    return new._with_twophase(dataclasses.replace(tp, phase2_calibration=tuple(res.calibration)))


def phase2_structure(
    data: pd.DataFrame,
    section: dict[str, Any],
    stages: list[Stage],
    id_cols: list[str],
    prob_cols: list[str],
    fpc_cols: list[str],
    variance: str,
) -> tuple[TwoPhase, np.ndarray]:
    """The two-phase structure and the per-row phase-1 probabilities (``probs``, or n/N of fpc)."""
    if len(id_cols) > 1 or variance != "ultimate":
        raise SurvmigError(
            "a two-phase design has one phase-1 stage (the PSUs whose units are listed)",
            where="phase2",
            hint="give ids: the phase-1 PSU column; the phase-2 unit goes in phase2: ids",
        )
    if bool(prob_cols) == bool(fpc_cols):
        raise SurvmigError(
            "a two-phase design needs the phase-1 probabilities (probs) or the phase-1 fpc, "
            "one of them",
            where="phase2",
            hint="probs: the PSU's inclusion probability (PPS); fpc: PSUs in the stratum (SRS)",
        )
    st = stages[0]
    if prob_cols:
        p1 = np.ones(len(data))
        for col in prob_cols:
            p1 = p1 * numeric_column(data, col, "probs")
        if (~(p1 > 0) | (p1 > 1)).any():
            first = int(np.flatnonzero(~(p1 > 0) | (p1 > 1))[0])
            raise SurvmigError(
                f"phase-1 probabilities must be in (0, 1]; {show(p1[first])} at "
                f"{_row_label(data, first)}",
                where="probs",
            )
        tp = dataclasses.replace(build_twophase(data, section, st, p1), probs1=tuple(prob_cols))
    else:
        p1 = (st.n_units / st.popsize)[st.strata]
        tp = build_twophase(data, section, st, None)
    return dataclasses.replace(tp, prob1=_readonly(p1)), p1
