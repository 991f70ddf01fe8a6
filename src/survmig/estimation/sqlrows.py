"""Calibration steps that change weights *within* a margin cell, out of core: calibration to
continuous totals, bounds on the weights themselves, and trimming.

:mod:`.sqlcal` reruns the steps on margin cells when every factor is a function of the cell. Here
the weights become per-row SQL expressions: a chain of views over the data, each adding the weight
after one step (``__svm_w{k}``) and, for a calibration with continuous auxiliaries, its g-factor
(``__svm_g{k}``). Cell-level values enter through a join of a small ``VALUES`` table on the row's
margin cell (``__svm_cell``). The steps run as in memory, with their sums from SQL passes:

* post-stratification, raking and categorical calibration: the step itself on the cell totals of
  the current weights (one ``GROUP BY`` pass);
* linear calibration: ``X'WX`` and ``X'w`` by cell (continuous auxiliaries' sums and cross sums),
  solved in memory; bounded, raking and logit calibration: R's ``grake`` Newton iterations, one
  pass per iteration for ``Σ w F'(x'η) x x'`` and ``Σ w F(x'η) x`` (halving steps as R does);
* trimming: the median (for bounds relative to it) and one pass per trimming pass.

The variance bases are ``u_i = Σ_m U[c, l, m] · eu_m(i)`` and ``v_i = Σ_m V[c, l, m] · ev_m(i)``:
cell coefficients times a few per-row monomials (the weights before or after a step, the g-factor,
a continuous auxiliary over it), so the residual algebra needs group sums of monomials only.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from survmig.design.calibration import GregCalibration, PostStratification, Raking
from survmig.design.core import show
from survmig.errors import SurvmigError
from survmig.estimation.sources import sql_literal
from survmig.estimation.sqlfun import ONE, ZERO, calfun, merge_pieces, split_pieces
from survmig.estimation.variance import Cells, contract_scores, group_sum, residual_cells
from survmig.weighting.designfile import WEIGHT_RTOL
from survmig.weighting.steps import Calibrate, Trim, WeightState

_RANK_TOL = 1e-7  # as the in-memory dense basis
_RESCALE = 20.0  # R grake: weights rescaled when every population/sample ratio exceeds this
_GINV_RCOND = 256 * np.finfo(float).eps
INF = "CAST('Infinity' AS DOUBLE)"
PREFIX = "__svm"


def _num(x: float) -> str:
    return sql_literal(float(x))


def _nonfinite(x: str) -> str:
    return f"({x} IS NULL OR isnan({x}) OR abs({x}) = {INF})"


@dataclasses.dataclass
class _Basis:
    """``groups`` (C,) or ``None`` (dense); ``u``/``v``: grouped (C, M), dense (C, L, M)."""

    groups: np.ndarray | None
    n_groups: int
    eu: list[str]
    u: np.ndarray
    ev: list[str]
    v: np.ndarray


class RowCalibration:
    """The steps over a chain of views; :meth:`unit_scores` as :class:`.sqlcal.SqlCalibration`."""

    def __init__(
        self,
        b: Any,
        steps: list[Any],
        before: str,
        weight: str,
        weights_label: str,
        margins: list[str],
        cells: pd.DataFrame,
        fail: Callable[[str], SurvmigError],
    ) -> None:
        self.b, self.fail = b, fail
        q = b.quote
        self.margins = margins
        self.cells = cells.reset_index(drop=True)
        C = self.C = len(self.cells)
        self.n_rows = self.cells["n"].to_numpy(dtype=float)
        self.frame = self.cells[[f"m{i}" for i in range(len(margins))]].copy()
        self.frame.columns = margins
        self._n_views = 0
        self.table = b.table
        ids = pd.DataFrame({"__c": np.arange(C)})
        if margins:
            on = " AND ".join(f"s.{q(c)} = t.m{i}" for i, c in enumerate(margins))
            join = self._values(
                pd.concat(
                    [self.frame.set_axis([f"m{i}" for i in range(len(margins))], axis=1), ids],
                    axis=1,
                )
            )
            self._view(f"SELECT s.*, t.__c AS {PREFIX}_cell FROM {b.table} s JOIN {join} ON {on}")
        else:
            self._view(f"SELECT s.*, 0 AS {PREFIX}_cell FROM {b.table} s")
        self.w = [f"{PREFIX}_w0"]
        self._view(f"SELECT v.*, {before} AS {PREFIX}_w0 FROM {self.table} v")
        W = self.cells["wb"].to_numpy(dtype=float)  # cell totals of the current weights
        exact = True  # while every step so far was cell-level, W needs no pass
        self.bases: list[_Basis] = []
        self.steps: list[int] = []
        for k, step in enumerate(steps, start=1):
            if not exact:
                W = self._cell_sums([self.w[-1]])[:, 0]
            try:
                if isinstance(step, Trim):
                    self._trim(k, step)
                    exact = False
                elif isinstance(step, Calibrate) and (
                    step.continuous or step.bounds_on == "weight"
                ):
                    self._calibrate(k, step, W)
                    exact = False
                else:
                    W = self._cell_step(k, step, W)
            except SurvmigError as err:
                raise fail(f"recomputing the recorded calibration failed: {err.message}") from None
        w, last = weight, self.w[-1]
        res = b.query(
            f"SELECT max(CASE WHEN {w} > 0 THEN abs({last} - {w}) / {w} END) AS rel, "
            f"sum(CASE WHEN abs({last} - {w}) <= {_num(WEIGHT_RTOL)} * abs({w}) THEN 0 ELSE 1 END)"
            f" AS bad FROM {self.table}"
        ).iloc[0]
        if int(res["bad"] or 0):
            raise fail(
                f"the recorded calibration does not give the weights {show(weights_label)} "
                f"({int(res['bad'])} row(s) differ, by up to {float(res['rel'] or np.nan):.3g} "
                "relative): the data or the design file changed after survmig weight wrote them"
            )

    # -- SQL plumbing ---------------------------------------------------------------------------

    def _values(self, frame: pd.DataFrame, name: str = "t") -> str:
        rows = ", ".join(
            "(" + ", ".join(sql_literal(v) for v in row) + ")"
            for row in frame.itertuples(index=False)
        )
        return f"(VALUES {rows}) AS {name}({', '.join(frame.columns)})"

    def _view(self, sql: str) -> None:
        self._n_views += 1
        name = f"{PREFIX}_{id(self):x}_{self._n_views}"
        self.b.create_view(name, sql)
        self.table = name

    def _lookup(self, values: np.ndarray, names: list[str]) -> str:
        """A join adding per-cell ``values`` (C × len(names)) as columns ``t.name``."""
        frame = pd.DataFrame(np.asarray(values, dtype=float).reshape(self.C, -1), columns=names)
        frame.insert(0, "__c", np.arange(self.C))
        return f"JOIN {self._values(frame)} ON v.{PREFIX}_cell = t.__c"

    def _cell_sums(self, exprs: list[str], join: str = "") -> np.ndarray:
        """``Σ expr`` by margin cell (C × len(exprs)), over every row."""
        aggs = ", ".join(f"sum({e}) AS s{i}" for i, e in enumerate(exprs))
        got = self.b.query(
            f"SELECT v.{PREFIX}_cell AS c, {aggs} FROM {self.table} v {join} "
            f"GROUP BY v.{PREFIX}_cell"
        )
        out = np.zeros((self.C, len(exprs)))
        out[got["c"].to_numpy(dtype=np.int64)] = got[[f"s{i}" for i in range(len(exprs))]].to_numpy(
            dtype=float, na_value=np.nan
        )
        return out

    def _new_weight(self, k: int, expr: str, join: str = "", extra: str = "") -> None:
        name = f"{PREFIX}_w{len(self.w)}"  # one column per step (trimming: per pass)
        self._view(f"SELECT v.*, {extra}{expr} AS {name} FROM {self.table} v {join}")
        self.w.append(name)

    # -- the steps -------------------------------------------------------------------------------

    def _state(self, W: np.ndarray) -> WeightState:
        return WeightState(self.frame.copy(), np.array(W, dtype=float).reshape(-1, 1))

    def _cell_step(self, k: int, step: Any, W: np.ndarray) -> np.ndarray:
        """Post-stratification, raking, categorical calibration: the step on cell totals."""
        state = self._state(W)
        step.apply(state)
        new = state.W[:, 0].copy()
        with np.errstate(divide="ignore", invalid="ignore"):
            f = np.where(W > 0, new / W, 1.0)
        prev = self.w[-1]
        self._new_weight(k, f"v.{prev} * t.f", self._lookup(f, ["f"]))
        cur = self.w[-1]
        C = self.C
        for rec in state.calibration:
            if isinstance(rec, PostStratification):
                g = np.unique(rec.groups, return_inverse=True)[1]
                old = rec.old_weights if rec.old_weights is not None else W
                osum = np.bincount(g, weights=old)
                v = (old / rec.weights / osum[g])[:, None]
                self._add(_Basis(g, int(g.max()) + 1, [cur], np.ones((C, 1)), [ONE], v))
            elif isinstance(rec, Raking):
                first = len(self.bases)
                for groups, psw in rec.margins:
                    g = np.unique(groups, return_inverse=True)[1]
                    cnt = np.bincount(g, weights=self.n_rows)
                    rho = psw / W
                    self.bases.append(
                        _Basis(
                            g,
                            int(g.max()) + 1,
                            [prev],
                            rho[:, None],
                            [f"{ONE} / {prev}"],
                            (1.0 / (rho * cnt[g]))[:, None],
                        )
                    )
                self.steps.extend(list(range(first, len(self.bases))) * 10)
            elif isinstance(rec, GregCalibration):
                a = rec.model_matrix * rec.qr_weights[:, None]
                _, s, vt = np.linalg.svd(a, full_matrices=False)
                keep = s > _RANK_TOL * (s[0] if s.size else 1.0)
                xb = rec.model_matrix @ (vt[keep].T / s[keep])
                gc = rec.weights / rec.qr_weights
                L = xb.shape[1]
                self._add(
                    _Basis(
                        None,
                        L,
                        [prev],
                        (xb * gc[:, None]).reshape(C, L, 1),
                        [ONE],
                        (xb / gc[:, None]).reshape(C, L, 1),
                    )
                )
        return new

    def _add(self, basis: _Basis) -> None:
        self.bases.append(basis)
        self.steps.append(len(self.bases) - 1)

    def _calibrate(self, k: int, step: Calibrate, W: np.ndarray) -> None:
        """Calibration with continuous auxiliaries or per-row bounds: sums by cell from SQL."""
        b, q = self.b, self.b.quote
        cont = list(step.continuous)
        for c in cont:
            if c not in b.columns:
                raise SurvmigError(
                    f"continuous auxiliary column {show(c)} is not in the data",
                    hint="check the spelling against the data's columns",
                )
            if b.kind(c) != "numeric":
                raise SurvmigError(f"continuous auxiliary {show(c)} is not numeric")
        xs = [f"CAST(v.{q(c)} AS DOUBLE)" for c in cont]
        if xs:
            nulls = self._cell_sums([f"CASE WHEN {_nonfinite(x)} THEN 1 ELSE 0 END" for x in xs])
            for c, m in zip(cont, nulls.sum(axis=0), strict=True):
                if m:
                    raise SurvmigError(
                        f"continuous auxiliary column {show(c)} has {int(m)} missing value(s)",
                        hint="impute them before weighting",
                    )
        frame = self.frame.assign(**{c: 0.0 for c in cont})
        state = WeightState(frame, np.array(W, dtype=float).reshape(-1, 1))
        X, totals, names, owner, _ = step.model_matrix(state)
        V = len(cont)
        Xc = X[:, : X.shape[1] - V]  # the cell part: intercept and dummies
        p = X.shape[1]
        lo, up = step.bounds
        if step.method == "logit" and not (np.isfinite(lo) and np.isfinite(up)):
            raise SurvmigError("logit calibration needs finite bounds")
        if step.bounds_on == "ratio" and not (lo < 1 < up):
            raise SurvmigError(
                f"infeasible bounds [{lo:g}, {up:g}]: they must satisfy lower < 1 < upper"
            )
        prev = f"v.{self.w[-1]}"
        pairs = [(i, j) for i in range(V) for j in range(i, V)]

        def moments(h: str, join: str = "") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            """``(Σ w h z z', Σ w h z, non-finite count)`` with z = [cell part, continuous]."""
            wh = f"{prev} * {h}"
            exprs = (
                [wh] + [f"{wh} * {x}" for x in xs] + [f"{wh} * {xs[i]} * {xs[j]}" for i, j in pairs]
            )
            exprs.append(f"CASE WHEN {_nonfinite(h)} THEN 1 ELSE 0 END")
            S = self._cell_sums(exprs, join)
            bad = float(S[:, -1].sum())
            H0, H1 = S[:, 0], S[:, 1 : 1 + V]
            H2 = np.zeros((self.C, V, V))
            for n, (i, j) in enumerate(pairs):
                H2[:, i, j] = H2[:, j, i] = S[:, 1 + V + n]
            T = np.zeros((p, p))
            P = Xc.shape[1]
            T[:P, :P] = Xc.T @ (Xc * H0[:, None])
            T[:P, P:] = Xc.T @ H1
            T[P:, :P] = T[:P, P:].T
            T[P:, P:] = H2.sum(axis=0)
            z = np.concatenate([Xc.T @ H0, H1.sum(axis=0)])
            return T, z, bad

        T0, sample_total, _ = moments(ONE)
        if step.bounds_on == "weight":
            lo_s = f"({_num(lo)} / {prev})" if np.isfinite(lo) else None
            up_s = f"({_num(up)} / {prev})" if np.isfinite(up) else None
        else:
            lo_s = _num(lo) if np.isfinite(lo) else None
            up_s = _num(up) if np.isfinite(up) else None

        def linear_predictor(eta: np.ndarray) -> tuple[str, str]:
            a = Xc @ eta[: Xc.shape[1]]
            u = " + ".join(
                ["t.a", *(f"{_num(e)} * {x}" for e, x in zip(eta[Xc.shape[1] :], xs, strict=True))]
            )
            return f"({u})", self._lookup(a, ["a"])

        if step.method == "linear" and lo_s is None and up_s is None:
            lam = np.linalg.solve(T0, totals - sample_total)
            u, join = linear_predictor(lam)
            g = f"(1 + {u})"
        else:
            g, join = self._grake(step, totals, sample_total, moments, linear_predictor, lo_s, up_s)
        if not step.allow_negative:
            bad = self._cell_sums([f"CASE WHEN {g} <= 0 AND {prev} > 0 THEN 1 ELSE 0 END"], join)
            if bad.sum():
                raise SurvmigError(
                    f"{step.method} calibration gives zero or negative {int(bad.sum())} "
                    "full-sample weight(s)",
                    hint="use method: raking or logit, or bounds, or set allow_negative: true",
                )
        gname = f"{PREFIX}_g{k}"
        self._new_weight(k, f"{prev} * {g}", join, extra=f"{g} AS {gname}, ")
        # the dense basis: q_i = whalf_i x_i' B, from the equilibrated Gram matrix X'WX
        d = np.sqrt(np.where(np.diag(T0) > 0, np.diag(T0), 1.0))
        ev_, evec = np.linalg.eigh(T0 / np.outer(d, d))
        order = np.argsort(ev_)[::-1]
        ev_, evec = ev_[order], evec[:, order]
        s = np.sqrt(np.clip(ev_, 0, None))
        keep = s > _RANK_TOL * (s[0] if s.size else 1.0)
        B = (evec[:, keep] / s[keep]) / d[:, None]  # (p, L)
        L = B.shape[1]
        P = Xc.shape[1]
        coef = np.empty((self.C, L, 1 + V))
        coef[:, :, 0] = Xc @ B[:P]
        coef[:, :, 1:] = B[P:].T[None, :, :]
        w_prev, gcol = self.w[-2], gname
        eu = [f"{w_prev} * {gcol}"] + [f"{w_prev} * {gcol} * CAST({q(c)} AS DOUBLE)" for c in cont]
        ev = [f"{ONE} / {gcol}"] + [f"CAST({q(c)} AS DOUBLE) / {gcol}" for c in cont]
        self._add(_Basis(None, L, eu, coef, ev, coef))

    def _grake(self, step, totals, sample_total, moments, linear_predictor, lo, up):
        """R ``grake`` for the full-sample weights, each iteration's sums from one SQL pass."""
        with np.errstate(divide="ignore", invalid="ignore"):
            scales = totals / sample_total
        scale = float(scales.mean()) if scales.min() > _RESCALE else 1.0
        p = len(totals)
        eta = np.zeros(p)

        def at(eta: np.ndarray) -> tuple[Any, ...]:
            u, join = linear_predictor(eta)
            fm1, df = calfun(step.method, u, lo, up)
            T, _, bad_d = moments(df, join)
            _, F1, bad_f = moments(fm1, join)
            return T * scale, totals - sample_total * scale - F1 * scale, bad_d + bad_f, u, join

        T, mis, _, u, join = at(eta)
        iters = 1
        while True:
            deta = np.linalg.pinv(T, rcond=_GINV_RCOND) @ mis
            eta = eta + deta
            T, mis, bad, u, join = at(eta)
            while bad and iters < step.maxit:
                iters += 1
                deta = deta / 2
                eta = eta - deta
                T, mis, bad, u, join = at(eta)
            rel = np.abs(mis) / (1 + np.abs(totals))
            if np.all(rel < step.epsilon):
                break
            iters += 1
            if iters > step.maxit:
                if step.force:
                    break
                raise SurvmigError(
                    f"{step.method} calibration of the full-sample weights did not converge in "
                    f"{step.maxit} iterations (relative misfit {rel.max():.3g})"
                )
        fm1, _ = calfun(step.method, u, lo, up)
        return f"((1 + {fm1}) * {_num(scale)})", join

    def _trim(self, k: int, step: Trim) -> None:
        """R ``trimWeights`` on the full-sample weights (equal or proportional redistribution)."""
        w = f"v.{self.w[-1]}"
        if step.relative:
            med = float(
                self.b.query(
                    f"SELECT {self.b.median(w)} AS m FROM {self.table} v WHERE {w} <> 0"
                ).iloc[0]["m"]
            )
            lo = (step.lower if step.lower is not None else -np.inf) * med
            up = (step.upper if step.upper is not None else np.inf) * med
        else:
            lo = step.lower if step.lower is not None else -np.inf
            up = step.upper if step.upper is not None else np.inf
        if lo >= up:
            raise SurvmigError(f"infeasible trimming bounds: lower {lo:g} ≥ upper {up:g}")
        if step.strict:
            tot = self._cell_sums([w, f"CASE WHEN {w} <> 0 THEN 1 ELSE 0 END"]).sum(axis=0)
            if tot[1] * up < tot[0] or tot[1] * lo > tot[0]:
                raise SurvmigError(
                    "infeasible trimming bounds: the total weight cannot fit within them"
                )
        # the passes compose to a piecewise-linear map of the weight before trimming: one
        # expression over that column (a chain of per-pass views would nest the CASE arms)
        w0 = w
        pieces: list[tuple[float, float, float]] = [(np.inf, 1.0, 0.0)]  # (below, slope, shift)
        for _ in range(100):
            sub = split_pieces(pieces, lo, up)
            case = " ".join(f"WHEN {w0} < {_num(t)} THEN {j}" for j, (t, *_) in enumerate(sub[:-1]))
            got = self.b.query(
                f"SELECT p, count(*) AS n, sum(w) AS s FROM (SELECT "
                f"{f'CASE {case} ELSE {len(sub) - 1} END' if case else '0'} AS p, {w0} AS w "
                f"FROM {self.table} v WHERE {w0} <> 0) x GROUP BY p"
            )
            n = np.zeros(len(sub))
            tot = np.zeros(len(sub))
            n[got["p"].to_numpy(np.int64)] = got["n"].to_numpy(dtype=float)
            tot[got["p"].to_numpy(np.int64)] = got["s"].to_numpy(dtype=float)
            a = np.array([x[1] for x in sub])
            c = np.array([x[2] for x in sub])
            cls = np.array([x[3] for x in sub])
            g = a * tot + c * n  # Σ of the current weights in each piece
            outside = cls != "in"
            if not n[outside].sum():
                break
            bound = np.where(cls == "lo", lo, np.where(cls == "up", up, 0.0))
            trimmings = float(np.sum(np.where(outside, g - bound * n, 0.0)))
            inside = ~outside
            new = []
            for (t, aj, cj, kind), bj in zip(sub, bound, strict=True):
                if kind != "in":
                    new.append((t, 0.0, float(bj)))
                elif step.redistribute == "equal":
                    new.append((t, aj, cj + trimmings / max(float(n[inside].sum()), 1.0)))
                else:
                    base = float(g[inside].sum())
                    r = trimmings / (base if base > 0 else 1.0)
                    new.append((t, aj * (1 + r), cj * (1 + r)))
            pieces = merge_pieces(new)
            if not step.strict:
                break
        arms = " ".join(
            f"WHEN {w0} < {_num(t)} THEN {_num(a)} * {w0} + {_num(c)}" for t, a, c in pieces[:-1]
        )
        t, a, c = pieces[-1]
        self._new_weight(
            k, f"CASE WHEN {w0} = 0 THEN {ZERO} {arms} ELSE {_num(a)} * {w0} + {_num(c)} END"
        )

    # -- the residuals ---------------------------------------------------------------------------

    def unit_scores(self, req, stages, base_cells, kidx, coef) -> list[Cells]:
        """The calibrated unit scores of every stage, from group sums of the bases' monomials."""
        b, q = self.b, self.b.quote
        rd = req.rd
        D, K, P, C = req.n_domains, len(req.feat.cols), kidx.shape[0], self.C
        evs = list(dict.fromkeys(e for x in self.bases for e in x.ev))
        eus = list(dict.fromkeys(e for x in self.bases for e in x.eu))
        cell = f"{PREFIX}_cell"
        by = [f"{q(c)} AS b{i}" for i, c in enumerate(req.by)]
        aggs = [
            f"sum(({e}) * {req.w} * ({f})) AS r{m}_{k}"
            for m, e in enumerate(evs)
            for k, f in enumerate(req.feat.cols)
        ]
        group = ", ".join([cell, *(x.split(" AS ")[0] for x in by)])
        frame = b.query(
            f"SELECT {', '.join([f'{cell} AS c', *by, *aggs])} FROM {self.table} "
            f"WHERE {req.domain_filter} GROUP BY {group}"
        )
        E = np.zeros((C, D, len(evs), K))
        cols = [f"r{m}_{k}" for m in range(len(evs)) for k in range(K)]
        E[frame["c"].to_numpy(np.int64), req.domain_codes(frame)] = (
            frame[cols].to_numpy(dtype=float, na_value=0.0).reshape(-1, len(evs), K)
        )
        r0 = []
        for x in self.bases:
            idx = [evs.index(e) for e in x.ev]
            Ex = E[:, :, idx, :]  # (C, D, M, K)
            if x.groups is not None:
                flat = np.einsum("cm,cdmk->cdk", x.v, Ex).reshape(C, D * K)
                red = group_sum(x.groups, x.n_groups, flat).reshape(x.n_groups, D, K)
            else:
                red = np.einsum("clm,cdmk->ldk", x.v, Ex)
            r0.append(contract_scores(red, kidx, coef))
        order = sorted(set(self.steps))
        pairs = list(
            dict.fromkeys(
                (e, f)
                for i, j in itertools.product(order, order)
                for e in self.bases[i].ev
                for f in self.bases[j].eu
            )
        )
        X = self._cell_sums([f"({e}) * ({f})" for e, f in pairs])
        pos = {pq: n for n, pq in enumerate(pairs)}
        cross = {}
        for i, j in itertools.product(order, order):
            a, c2 = self.bases[i], self.bases[j]
            M = np.array([[X[:, pos[(e, f)]] for f in c2.eu] for e in a.ev])  # (Ma, Mb, C)
            va = a.v if a.groups is None else _one_hot(a.groups, a.n_groups, a.v)
            ub = c2.u if c2.groups is None else _one_hot(c2.groups, c2.n_groups, c2.u)
            cross[(i, j)] = np.einsum("clm,ckn,mnc->lk", va, ub, M)
        ups: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

        def unit_cells(s: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            if s not in ups:
                keys = rd.unit_columns(s)
                sel = [f"{q(c)} AS k{i}" for i, c in enumerate(keys)]
                sums = [f"sum({e}) AS u{m}" for m, e in enumerate(eus)]
                group = ", ".join([*(x.split(" AS ")[0] for x in sel), cell])
                got = b.query(
                    f"SELECT {', '.join([*sel, f'{cell} AS c', *sums])} FROM {self.table} "
                    f"GROUP BY {group}"
                )
                umap = rd.unit_map(s).rename(columns={c: f"k{i}" for i, c in enumerate(keys)})
                kcols = [f"k{i}" for i in range(len(keys))]
                unit = got[kcols].merge(umap, how="left", on=kcols)["__unit"].to_numpy(np.int64)
                Y = got[[f"u{m}" for m in range(len(eus))]].to_numpy(dtype=float)
                ups[s] = (unit, got["c"].to_numpy(np.int64), Y)
            return ups[s]

        def up(s: int, j: int) -> np.ndarray:
            unit, cellx, Y = unit_cells(s)
            x = self.bases[j]
            U = stages[s].n_units_total
            Yx = Y[:, [eus.index(e) for e in x.eu]]  # (pairs, M)
            if x.groups is not None:
                vals = (x.u[cellx] * Yx).sum(axis=1)
                key = unit * x.n_groups + x.groups[cellx]
                return np.bincount(key, weights=vals, minlength=U * x.n_groups).reshape(
                    U, x.n_groups
                )
            out = np.zeros((U, x.n_groups))
            for m in range(Yx.shape[1]):
                out += group_sum(unit, U, x.u[cellx, :, m] * Yx[:, m, None])
            return out

        return residual_cells(stages, base_cells, D, P, self.steps, r0, cross, up)


def _one_hot(groups: np.ndarray, n_groups: int, values: np.ndarray) -> np.ndarray:
    """Grouped per-cell values (C, M) as a dense (C, G, M) array."""
    out = np.zeros((len(groups), n_groups, values.shape[1]))
    out[np.arange(len(groups)), groups] = values
    return out
