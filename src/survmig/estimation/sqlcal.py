"""Calibrated designs out of core: the recorded calibration rerun on margin cells, and the
calibration residuals from group sums.

A design file written by ``survmig weight`` carries the weights before calibration and the steps
(post-stratification, raking, calibration; :mod:`survmig.weighting.designfile`). With categorical
margins every step multiplies a row's weight by a factor of its *margin cell* (the crossing of all
margin columns): post-stratification and raking factors are functions of weight totals by cell, and
calibration g-factors of the cell's model-matrix row. So one ``GROUP BY`` of the margin columns
(weights before, row counts, the range of before/final weights) is the whole data the steps need:
they run as in memory (:func:`survmig.weighting.pipeline.run_steps`) on that small table, and the
check that they give the file's weights is exact per cell (the relative difference is linear in
the before/final ratio, so its extremes over a cell are at that ratio's min and max).

The calibration records then have one value per cell, and every per-row quantity of the variance
bases (:func:`survmig.estimation.variance._bases`) is a cell value, times the row's weight before
calibration for the weights (``psw``, ``oldw``, ``whalf²``), over it for raking's ``1 / psw``. The
residual algebra (:func:`survmig.estimation.variance.residual_cells`) needs three group sums:
features by (cell, domain), weights before by cell, and weights before by (sampling unit, cell).

Calibration to continuous totals, bounds on the weights themselves (``bounds_on: weight``) and
trimming make factors differ within a cell: those sections run as per-row SQL expressions
(:mod:`.sqlrows`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from survmig.design.calibration import GregCalibration, PostStratification, Raking
from survmig.design.core import require_columns, show
from survmig.errors import SurvmigError
from survmig.estimation.sqlrows import RowCalibration
from survmig.estimation.variance import Cells, contract_scores, group_sum, residual_cells
from survmig.weighting.designfile import CALIBRATION_FIELDS, WEIGHT_RTOL, step_from_spec
from survmig.weighting.steps import Calibrate, PostStratify, Rake, Trim

#: the dense (GREG) basis keeps singular values above this fraction of the largest, as in memory
_RANK_TOL = 1e-7


class _CellBasis:
    """One correction ``x ← x - U (V' x)`` with per-row values ``u_i = wb_i · u[c]`` and
    ``v_i = v[c]`` (``per_weight``: ``v[c] / wb_i``), ``c`` the row's margin cell. ``groups``: the
    group of each cell (post-strata, raking margins) or ``None`` for a dense basis (u, v: C × L)."""

    def __init__(
        self, groups: np.ndarray | None, u: np.ndarray, v: np.ndarray, per_weight: bool = False
    ) -> None:
        self.groups = groups
        self.n_groups = int(groups.max()) + 1 if groups is not None else u.shape[1]
        self.u, self.v, self.per_weight = u, v, per_weight


def _cell_level(step: Any) -> bool:
    """Whether the step's factor is a function of the row's margin cell."""
    if isinstance(step, Trim):
        return False
    return not isinstance(step, Calibrate) or (not step.continuous and step.bounds_on != "weight")


def _compact(codes: np.ndarray) -> np.ndarray:
    return np.unique(np.asarray(codes), return_inverse=True)[1].astype(np.int64)


class SqlCalibration:
    """The ``calibration:`` section of a design file, rerun over the backend's margin cells."""

    def __init__(
        self,
        b: Any,
        section: Any,
        weight: str,
        weights_label: str,
        fail: Callable[[str], SurvmigError],
    ) -> None:
        """``weight``: the SQL expression of the design's (final) weights."""
        if (
            not isinstance(section, dict)
            or set(section) - CALIBRATION_FIELDS
            or "steps" not in section
        ):
            raise fail("calibration is a mapping with weights_before (a column) and steps (a list)")
        col = section.get("weights_before")
        if not isinstance(col, str):
            raise fail(
                "calibration: weights_before must name the column of weights before calibration"
            )
        if not isinstance(section["steps"], list) or not section["steps"]:
            raise fail("calibration: steps must be a non-empty list")
        steps = [step_from_spec(node, fail) for node in section["steps"]]
        margins: list[str] = []
        for step in steps:
            if isinstance(step, PostStratify):
                assert step.controls is not None
                margins += list(step.controls.by)
            elif isinstance(step, Rake | Calibrate):
                margins += [c for m in step.margins for c in m.by]
            elif not isinstance(step, Trim):
                raise fail(f"a {step.kind} step cannot be carried in a design file's calibration")
        row_level = not all(_cell_level(s) for s in steps)
        self.b = b
        q = b.quote
        self.margins = list(dict.fromkeys(margins))
        cols = b.frame_of_columns()
        require_columns(cols, [col], "calibration weights_before")
        require_columns(cols, self.margins, "calibration margin")
        if b.kind(col) != "numeric":
            raise fail(f"calibration: weights_before column {show(col)} is not numeric")
        self.before = f"CAST({q(col)} AS DOUBLE)"
        wb, w = self.before, weight
        self.cell_keys = [f"m{i}" for i in range(len(self.margins))]
        sel = "".join(f"{q(c)} AS m{i}, " for i, c in enumerate(self.margins))
        bad = f"{wb} IS NULL OR isnan({wb}) OR {wb} < 0 OR {wb} = CAST('Infinity' AS DOUBLE)"
        ratio = f"CASE WHEN {w} > 0 THEN {wb} / {w} END"
        cells = b.query(
            f"SELECT {sel}sum({wb}) AS wb, count(*) AS n, min({ratio}) AS tlo, "
            f"max({ratio}) AS thi, sum(CASE WHEN {bad} THEN 1 ELSE 0 END) AS badwb "
            f"FROM {b.table}"
            + (f" GROUP BY {', '.join(q(c) for c in self.margins)}" if self.margins else "")
        )
        nbad = int(cells["badwb"].fillna(0).sum())
        if nbad:
            raise fail(
                f"calibration weights_before column {show(col)} has {nbad} missing, negative or "
                "infinite value(s)"
            )
        for i, c in enumerate(self.margins):
            missing = cells[f"m{i}"].isna().to_numpy()
            if missing.any():
                raise fail(
                    f"recomputing the recorded calibration failed: margin column {show(c)} has "
                    f"{int(cells['n'].to_numpy()[missing].sum())} missing value(s)"
                )
        if self.cell_keys:
            cells = cells.sort_values(self.cell_keys, kind="stable").reset_index(drop=True)
        self.cells = cells
        self.rows: RowCalibration | None = None
        if row_level:  # weights change within cells: per-row SQL expressions (:mod:`.sqlrows`)
            self.rows = RowCalibration(
                b, steps, wb, weight, weights_label, self.margins, cells, fail
            )
            return
        WB = cells["wb"].to_numpy(dtype=float)
        self.WB = WB
        self.n_rows = cells["n"].to_numpy(dtype=float)
        frame = cells[self.cell_keys].copy()
        frame.columns = self.margins
        from survmig.weighting.pipeline import run_steps

        try:
            res = run_steps(frame, steps, weights=WB, linearization=True)
        except SurvmigError as err:
            raise fail(f"recomputing the recorded calibration failed: {err.message}") from None
        with np.errstate(divide="ignore", invalid="ignore"):
            rho = res.weights / WB  # the final weight of a row over its weight before
            tlo = cells["tlo"].to_numpy(dtype=float)
            thi = cells["thi"].to_numpy(dtype=float)
            rel = np.maximum(np.abs(rho * tlo - 1), np.abs(rho * thi - 1))
        rel = np.where(np.isfinite(rel), rel, np.inf)
        if not np.all(rel <= WEIGHT_RTOL):
            c = int(np.argmax(rel))
            where = ", ".join(f"{m}={show(frame[m].iloc[c])}" for m in self.margins)
            raise fail(
                f"the recorded calibration of column {show(col)} does not give the weights "
                f"{show(weights_label)} (margin cell {where}: relative difference {rel[c]:.3g}): the "
                "data or the design file changed after survmig weight wrote them"
            )
        self.records = tuple(res.calibration)
        self.bases, self.steps = self._bases()

    # -- the variance bases on cells ----------------------------------------------------------

    def _bases(self) -> tuple[list[_CellBasis], list[int]]:
        """The bases of :func:`survmig.estimation.variance._bases`, one value per cell."""
        WB, n_rows = self.WB, self.n_rows
        bases: list[_CellBasis] = []
        steps: list[int] = []
        for rec in self.records:
            if isinstance(rec, GregCalibration):
                a = rec.model_matrix * rec.qr_weights[:, None]
                _, s, vt = np.linalg.svd(a, full_matrices=False)
                keep = s > _RANK_TOL * (s[0] if s.size else 1.0)
                B = vt[keep].T / s[keep]  # q_i = whalf_i · x_i' B
                g = rec.weights / rec.qr_weights
                xb = rec.model_matrix @ B
                old = rec.qr_weights**2  # cell totals of the weights before the step
                bases.append(_CellBasis(None, xb * (g * old / WB)[:, None], xb / g[:, None]))
                steps.append(len(bases) - 1)
            elif isinstance(rec, PostStratification):
                g = _compact(rec.groups)
                old = WB if rec.old_weights is None else rec.old_weights
                osum = np.bincount(g, weights=old)
                bases.append(_CellBasis(g, rec.weights / WB, old / rec.weights / osum[g]))
                steps.append(len(bases) - 1)
            elif isinstance(rec, Raking):
                first = len(bases)
                for groups, psw in rec.margins:
                    g = _compact(groups)
                    cnt = np.bincount(g, weights=n_rows)
                    bases.append(_CellBasis(g, psw / WB, WB / (psw * cnt[g]), per_weight=True))
                steps.extend(list(range(first, len(bases))) * 10)
        return bases, steps

    def _cross(self, a: _CellBasis, b: _CellBasis) -> np.ndarray:
        """``V_a' U_b`` summed over rows: per cell ``v_a u_b`` times Σ wb (or the row count)."""
        mass = self.n_rows if a.per_weight else self.WB
        if a.groups is not None and b.groups is not None:
            key = a.groups * b.n_groups + b.groups
            vals = a.v * b.u * mass
            return np.bincount(key, weights=vals, minlength=a.n_groups * b.n_groups).reshape(
                a.n_groups, b.n_groups
            )
        if a.groups is not None:
            return group_sum(a.groups, a.n_groups, b.u * (a.v * mass)[:, None])
        if b.groups is not None:
            return group_sum(b.groups, b.n_groups, a.v * (b.u * mass)[:, None]).T
        return a.v.T @ (b.u * mass[:, None])

    def cell_index(self, frame: pd.DataFrame, prefix: str) -> np.ndarray:
        """The cell of each row of a reduced table whose margin columns are ``prefix0…``."""
        table = self.cells[self.cell_keys].copy()
        table.columns = [f"{prefix}{i}" for i in range(len(self.margins))]
        table["__cell"] = np.arange(len(table))
        merged = frame[list(table.columns[:-1])].merge(
            table, how="left", on=list(table.columns[:-1])
        )
        return merged["__cell"].to_numpy(dtype=np.int64)

    def unit_scores(
        self,
        req: Any,
        stages: list[Any],
        base_cells: list[Cells],
        kidx: np.ndarray,
        coef: np.ndarray,
    ) -> list[Cells]:
        """The calibrated unit scores of every stage, from SQL group sums (see the module doc)."""
        if self.rows is not None:
            return self.rows.unit_scores(req, stages, base_cells, kidx, coef)
        b, q = self.b, self.b.quote
        rd = req.rd
        D, K, P = req.n_domains, len(req.feat.cols), kidx.shape[0]
        C = len(self.cells)
        per_weight = any(x.per_weight for x in self.bases)
        aggs = [f"sum({req.w} * ({e})) AS a{k}" for k, e in enumerate(req.feat.cols)]
        if per_weight:  # raking's v_i carries 1 / wb_i
            ratio = f"CASE WHEN {self.before} > 0 THEN {req.w} / {self.before} ELSE 0 END"
            aggs += [f"sum({ratio} * ({e})) AS z{k}" for k, e in enumerate(req.feat.cols)]
        frame = req.grouped(self.margins, aggs)
        cell = self.cell_index(frame, "k")
        dom = req.domain_codes(frame)
        SF = np.zeros((C, D, K))
        SF[cell, dom] = frame[[f"a{k}" for k in range(K)]].to_numpy(dtype=float, na_value=0.0)
        SZ = None
        if per_weight:
            SZ = np.zeros((C, D, K))
            SZ[cell, dom] = frame[[f"z{k}" for k in range(K)]].to_numpy(dtype=float, na_value=0.0)
        r0 = []
        for x in self.bases:
            S = SZ if x.per_weight else SF
            if x.groups is not None:
                flat = (x.v[:, None, None] * S).reshape(C, D * K)
                red = group_sum(x.groups, x.n_groups, flat).reshape(x.n_groups, D, K)
            else:
                red = np.einsum("cl,cdk->ldk", x.v, S)
            r0.append(contract_scores(red, kidx, coef))
        order = set(self.steps)
        cross = {(i, j): self._cross(self.bases[i], self.bases[j]) for i in order for j in order}
        ups: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

        def unit_cells(s: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            """(unit, cell, Σ wb) of the (sampling unit, margin cell) pairs of stage ``s``."""
            if s not in ups:
                keys = rd.unit_columns(s)
                sel = [f"{q(c)} AS k{i}" for i, c in enumerate(keys)]
                sel += [f"{q(c)} AS m{i}" for i, c in enumerate(self.margins)]
                group = ", ".join(x.split(" AS ")[0] for x in sel)
                sql = f"SELECT {', '.join(sel)}, sum({self.before}) AS s FROM {b.table} GROUP BY {group}"
                got = b.query(sql)
                umap = rd.unit_map(s).rename(columns={c: f"k{i}" for i, c in enumerate(keys)})
                kcols = [f"k{i}" for i in range(len(keys))]
                unit = got[kcols].merge(umap, how="left", on=kcols)["__unit"].to_numpy(np.int64)
                ups[s] = (unit, self.cell_index(got, "m"), got["s"].to_numpy(dtype=float))
            return ups[s]

        def up(s: int, j: int) -> np.ndarray:
            unit, cell, mass = unit_cells(s)
            x = self.bases[j]
            U = stages[s].n_units_total
            if x.groups is not None:
                key = unit * x.n_groups + x.groups[cell]
                vals = x.u[cell] * mass
                return np.bincount(key, weights=vals, minlength=U * x.n_groups).reshape(
                    U, x.n_groups
                )
            return group_sum(unit, U, x.u[cell] * mass[:, None])

        return residual_cells(stages, base_cells, D, P, self.steps, r0, cross, up)
