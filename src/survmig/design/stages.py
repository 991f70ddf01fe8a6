"""The linearization structure of a design, built as R ``svydesign`` + ``as.fpc`` build it.

A :class:`Stage` per sampling stage holds each row's stratum and sampling unit, the sampled and
population units per stratum and the earlier stages' sampling fractions: stage-2 ids are nested in
stage-1 ids, later-stage strata in the enclosing unit, ``nest`` makes PSU ids unique within strata,
and the fpc is read as population sizes or sampling fractions.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from survmig.design.columns import (
    _no_missing,
    _readonly,
    _row_label,
    combine_codes,
    factorize,
    numeric_column,
    require_columns,
)
from survmig.errors import SurvmigError, show


@dataclasses.dataclass(frozen=True, eq=False)
class Stage:
    """One sampling stage as R's ``svyrecvar`` sees it (codes are per row unless stated)."""

    strata: (
        np.ndarray
    )  # (n,) stratum code at this stage, nested in the enclosing unit for stage ≥ 2
    units: np.ndarray  # (n,) sampling-unit code at this stage, unique across the design
    n_strata: int
    n_units_total: int
    unit_stratum: np.ndarray  # (U,) stratum of each unit
    n_units: np.ndarray  # (H,) sampled units per stratum in the full design (R's sampsize)
    popsize: np.ndarray  # (H,) population units per stratum, inf without fpc
    parent: np.ndarray  # (H,) enclosing unit of the previous stage (0 at stage 1)
    multiplier: np.ndarray  # (H,) product of earlier stages' sampling fractions n/N
    stratum_labels: np.ndarray  # (H,) readable labels for messages

    @property
    def fpc_factor(self) -> np.ndarray:
        """R's ``f = (N - n) / N`` per stratum (1 without fpc)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            f = np.where(np.isinf(self.popsize), 1.0, (self.popsize - self.n_units) / self.popsize)
        return f

    @property
    def scale(self) -> np.ndarray:
        """R's ``scale = f * n / (n - 1)`` per stratum (``f`` for single-unit strata)."""
        n = self.n_units.astype(float)
        f = self.fpc_factor
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n > 1, f * n / (n - 1), f)


def build_stages(
    data: pd.DataFrame,
    id_cols: list[str],
    strata_cols: list[str],
    fpc_cols: list[str],
    nest: bool,
) -> list[Stage]:
    """Strata, units, sampled and population counts per stage, as ``svydesign`` + ``as.fpc`` do."""
    n = len(data)
    n_stages = max(len(id_cols), 1)
    id_codes: list[np.ndarray] = []
    id_labels: list[np.ndarray] = []
    for col in id_cols:
        codes, uniq = factorize(_no_missing(data, col, "ids"))
        id_codes.append(codes)
        id_labels.append(uniq)
    if not id_cols:
        id_codes.append(np.arange(n, dtype=np.int64))
    strata_codes: list[np.ndarray] = []
    strata_labels: list[np.ndarray] = []
    for col in strata_cols:
        codes, uniq = factorize(_no_missing(data, col, "strata"))
        strata_codes.append(codes)
        strata_labels.append(uniq)
    has_strata = bool(strata_cols)

    # ids nested in earlier stages (R: ids[, i] <- interaction(ids[, 1:i]))
    units: list[np.ndarray] = [id_codes[0]]
    for s in range(1, n_stages):
        units.append(combine_codes(units[s - 1], id_codes[s]))
    if nest and has_strata:
        for s in range(n_stages):
            units[s] = combine_codes(strata_codes[min(s, len(strata_codes) - 1)], units[s])
    if int(units[0].max()) == 0 and not (nest and has_strata):
        raise SurvmigError(
            "the design has only one primary sampling unit",
            where="ids",
            hint="variances need at least two PSUs",
        )
    if has_strata and not nest:
        n_h0 = int(strata_codes[0].max()) + 1
        pairs = np.unique(units[0] * n_h0 + strata_codes[0])
        counts = np.bincount(pairs // n_h0)
        if (counts > 1).any():
            bad = int(np.flatnonzero(counts > 1)[0])
            label = id_labels[0][bad] if id_cols else bad
            raise SurvmigError(
                f"PSU {show(label)} of {id_cols[0] if id_cols else 'rows'} appears in more than one "
                f"stratum of {strata_cols[0]}",
                where="ids",
                hint="PSU ids are reused across strata: set nest: true",
            )

    # per-stage strata: stage 1 as given, later stages nested in the enclosing unit
    stage_strata: list[np.ndarray] = []
    stage_strata_labels: list[np.ndarray] = []
    for s in range(n_stages):
        if s == 0:
            if has_strata:
                stage_strata.append(strata_codes[0])
                stage_strata_labels.append(strata_labels[0])
            else:
                stage_strata.append(np.zeros(n, dtype=np.int64))
                stage_strata_labels.append(np.array(["1"], dtype=object))
        else:
            base = (
                strata_codes[min(s, len(strata_codes) - 1)]
                if has_strata
                else np.zeros(n, dtype=np.int64)
            )
            codes = combine_codes(base, units[s - 1])
            stage_strata.append(codes)
            # a later-stage stratum is an enclosing unit (within its stratum): name it by the data
            first = np.empty(int(codes.max()) + 1, dtype=np.int64)
            first[codes[::-1]] = np.arange(n)[::-1]
            prev = id_cols[s - 1] if s - 1 < len(id_cols) else "row"
            labels = [f"{prev} {show(v)}" for v in id_labels[s - 1][id_codes[s - 1][first]]]
            if has_strata:
                k = min(s, len(strata_codes) - 1)
                stratum = strata_labels[k][strata_codes[k][first]]
                labels = [
                    f"{lab} of {strata_cols[k]} {show(h)}"
                    for lab, h in zip(labels, stratum, strict=True)
                ]
            stage_strata_labels.append(np.array(labels, dtype=object))

    # fpc per stage: all population sizes (>= 1, some > 1) or all fractions (<= 1)
    fpc_values = [numeric_column(data, col, "fpc") for col in fpc_cols]
    if fpc_values:
        allv = np.concatenate(fpc_values)
        is_popsize = bool((allv > 1).any())
        if is_popsize != bool((allv >= 1).all()) or (allv <= 0).any():
            raise SurvmigError(
                "fpc must be all population sizes (>= 1) or all sampling fractions (<= 1)",
                where="fpc",
                hint="mixed or non-positive fpc values found",
            )
    else:
        is_popsize = True

    stages: list[Stage] = []
    prev_multiplier_per_unit: np.ndarray | None = None
    for s in range(n_stages):
        strata_s = stage_strata[s]
        units_s = units[s]
        # renumber units densely (they already are) and find each unit's stratum
        n_units_total = int(units_s.max()) + 1
        n_strata = int(strata_s.max()) + 1
        unit_stratum = np.zeros(n_units_total, dtype=np.int64)
        unit_stratum[units_s] = strata_s
        n_units = np.bincount(unit_stratum, minlength=n_strata).astype(np.int64)
        if s < len(fpc_values):
            vals = fpc_values[s]
            lo = np.full(n_strata, np.inf)
            hi = np.full(n_strata, -np.inf)
            np.minimum.at(lo, strata_s, vals)
            np.maximum.at(hi, strata_s, vals)
            if (lo != hi).any():
                bad = int(np.flatnonzero(lo != hi)[0])
                raise SurvmigError(
                    f"fpc column {show(fpc_cols[s])} varies within stratum "
                    f"{show(stage_strata_labels[s][bad])} at stage {s + 1}",
                    where="fpc",
                    hint="the fpc is the stratum's population size (or sampling fraction)",
                )
            popsize = lo if is_popsize else n_units / lo
            if (popsize < n_units - 1e-9).any():
                bad = int(np.flatnonzero(popsize < n_units - 1e-9)[0])
                raise SurvmigError(
                    f"fpc implies more than 100% sampling in stratum "
                    f"{show(stage_strata_labels[s][bad])} at stage {s + 1} "
                    f"({n_units[bad]} units sampled, population {popsize[bad]:g})",
                    where="fpc",
                )
        else:
            popsize = np.full(n_strata, np.inf)
        parent = np.zeros(n_strata, dtype=np.int64)
        if s > 0:
            parent[strata_s] = units[s - 1]
        multiplier = np.ones(n_strata)
        if s > 0 and prev_multiplier_per_unit is not None:
            multiplier = prev_multiplier_per_unit[parent]
        st = Stage(
            strata=_readonly(strata_s),
            units=_readonly(units_s),
            n_strata=n_strata,
            n_units_total=n_units_total,
            unit_stratum=_readonly(unit_stratum),
            n_units=_readonly(n_units),
            popsize=_readonly(popsize.astype(float)),
            parent=_readonly(parent),
            multiplier=_readonly(multiplier),
            stratum_labels=stage_strata_labels[s],
        )
        stages.append(st)
        with np.errstate(divide="ignore"):
            frac = np.where(np.isinf(popsize), 0.0, n_units / popsize)
        prev_multiplier_per_unit = (multiplier * frac)[unit_stratum]
    return stages


def design_weights(
    data: pd.DataFrame,
    weights: str | np.ndarray | pd.Series | None,
    prob_cols: list[str],
    fpc_cols: list[str],
    stages: list[Stage],
) -> tuple[np.ndarray, str | None]:
    """The analysis weights (not yet checked) and the column they came from: ``weights`` (a
    column or one value per row), else ``1 / Π probs``, else ``Π N/n`` of the stages' fpc."""
    if weights is not None:
        if isinstance(weights, str):
            require_columns(data, [weights], "weights")
            w = numeric_column(data, weights, "weights")
            source = weights
        else:
            w = np.asarray(weights, dtype=float).copy()
            if w.shape != (len(data),):
                raise SurvmigError(
                    f"weights has {w.shape[0] if w.ndim else 1} values for {len(data)} rows",
                    where="weights",
                )
            source = None
    elif prob_cols:
        p = np.ones(len(data))
        for col in prob_cols:
            p = p * numeric_column(data, col, "probs")
        bad = ~(p > 0) | (p > 1)
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise SurvmigError(
                f"selection probabilities must be in (0, 1]; {show(p[first])} at "
                f"{_row_label(data, first)}",
                where="probs",
            )
        w = 1.0 / p
        source = None
    elif fpc_cols:
        w = np.ones(len(data))
        for st in stages:
            w = w * (st.popsize / st.n_units)[st.strata]
        source = None
    else:
        raise SurvmigError(
            "the design has no weights",
            where="design",
            hint="give weights (a column), probs, or fpc (weights are then N/n per stage)",
        )
    return w, source
