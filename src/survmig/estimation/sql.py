"""The estimation engine where the data lives: the one reduction as SQL (DuckDB or Spark).

The in-memory engine (:mod:`survmig.estimation.engine`) sums weighted per-row features to
(sampling unit, domain) cells and does all the rest on those small arrays. This module builds the
same features as SQL expressions and lets the database do every pass over the rows — a profile
(missing values, centring constants), the distinct design keys, the domains, the cell sums, and for
some requests the replicate totals, later-stage cells or ratio residuals. Only those reduced tables
come back; the variance algebra is the in-memory engine's own (a subclass replaces just the passes
over rows), so the numbers agree with ``estimate()`` to rounding (1e-12).

The design is built by :func:`survmig.design.load_design` over the *distinct design keys* (strata,
ids, fpc): strata, unit counts, fpc checks, lonely-PSU rules and created replicate factors depend on
those combinations only, never on how many rows share them.

Quantiles use two passes: the weights summed by (domain, value) in SQL, then R's ``qrule_math`` on
that table in memory (a value's tied rows are one entry; cumulative weights are in extended
precision as in memory, from per-value sums instead of per-row ones — ``fsum`` in DuckDB). The
Woodruff interval's CDF feature ``1[y ≤ q̂_d]`` is one more feature of the cell pass. The table holds
one row per distinct value and domain: fine for ages, money amounts and other rounded values,
large for a continuous variable over a census.

A design file's ``calibration:`` section is rerun in SQL and its residuals are taken from group
sums (:mod:`.sqlcal`, :mod:`.sqlrows`).

Not out of core (errors say so): element sampling without PSU ids (every row would be a cell),
weights implied by the fpc alone and ``combined_weights: false`` JKn without ``rscales``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from survmig.conventions import SPECIAL_CODES
from survmig.design.core import require_columns, show
from survmig.design.replicates import gram_rank
from survmig.design.spec import load_design
from survmig.errors import SurvmigError
from survmig.estimation.engine import (
    _Engine,
    _Output,
    _sort_key,
    quantile_probabilities,
    request_options,
)
from survmig.estimation.quantiles import qrule_math, sort_segments
from survmig.estimation.reduce import numpy_group_sums
from survmig.estimation.sources import Backend, backend_for, sql_literal
from survmig.estimation.sqlcal import SqlCalibration
from survmig.estimation.variance import group_sum


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [] if value.strip() in ("", "1") else [value]
    return [str(v) for v in value]


class _Features:
    """Per-row features as SQL expressions (unweighted) and case indicators, by key."""

    def __init__(self) -> None:
        self.cols: list[str] = []
        self.keys: dict[Any, int] = {}
        self.ok_cols: list[str] = []
        self.ok_keys: dict[Any, int] = {}

    def add(self, key: Any, expr: str) -> int:
        if key not in self.keys:
            self.keys[key] = len(self.cols)
            self.cols.append(expr)
        return self.keys[key]

    def add_ok(self, key: Any, expr: str) -> int:
        if key not in self.ok_keys:
            self.ok_keys[key] = len(self.ok_cols)
            self.ok_cols.append(expr)
        return self.ok_keys[key]


ONE, ZERO = "CAST(1 AS DOUBLE)", "CAST(0 AS DOUBLE)"  # 1.0 would be a DECIMAL in both dialects


def _indicator(cond: str) -> str:
    return f"CASE WHEN {cond} THEN {ONE} ELSE {ZERO} END"


class _ReducedDesign:
    """The design over the distinct keys, plus what the SQL passes need (columns, weights)."""

    def __init__(self, b: Backend, spec: Mapping[str, Any], source: Any, data_file: Any) -> None:
        self.b = b
        q = b.quote
        cols = b.frame_of_columns()
        self.replicate = "repweights" in spec
        self.calibration: SqlCalibration | None = None
        if spec.get("phase2"):
            raise SurvmigError(
                "two-phase designs are estimated in memory",
                where="phase2",
                hint="use --engine memory (the two-phase variance needs the phase-2 units)",
            )
        self.ids = _as_list(spec.get("ids"))
        self.strata = _as_list(spec.get("strata"))
        self.fpc = _as_list(spec.get("fpc"))
        probs = _as_list(spec.get("probs"))
        weights = spec.get("weights")
        variance = str(spec.get("variance", "ultimate"))
        for what, names in (
            ("ids", self.ids),
            ("strata", self.strata),
            ("fpc", self.fpc),
            ("probs", probs),
        ):
            require_columns(cols, names, what)
        if isinstance(weights, str):
            require_columns(cols, [weights], "weights")
            self.weight = f"CAST({q(weights)} AS DOUBLE)"
        elif probs:
            self.weight = f"{ONE} / (" + " * ".join(f"CAST({q(p)} AS DOUBLE)" for p in probs) + ")"
        elif not self.replicate:
            raise SurvmigError(
                "the out-of-core engines need a weights (or probs) column",
                where="weights",
                hint="give weights: COLUMN in the design, or use --engine memory",
            )
        else:
            self.weight = ""
        self.rep_cols: list[str] = []
        if self.replicate:
            placeholder = pd.DataFrame(1.0, index=range(2), columns=list(b.columns))
            self.design = load_design(source, placeholder, data_file=data_file)
            pattern = spec.get("repweights")
            if isinstance(pattern, str):
                rx = re.compile(pattern)
                self.rep_cols = [c for c in b.columns if rx.search(c) and c != weights]
            else:
                self.rep_cols = [str(c) for c in pattern]
            self.combined = spec.get("combined_weights", True) is not False
            if not self.combined and spec.get("type") == "JKn" and spec.get("rscales") is None:
                raise SurvmigError(
                    "JKn replicate factors need rscales on the out-of-core engines",
                    where="rscales",
                    hint="give rscales ((n_h - 1) / n_h per replicate) in the design",
                )
            self.key_cols: list[str] = []
            return
        if not self.ids:
            raise SurvmigError(
                "the out-of-core engines need PSU ids (every row its own unit is no reduction)",
                where="ids",
                hint="give ids (PSUs, or households for a census sample), or use --engine memory",
            )
        if not isinstance(weights, str) and not probs:
            raise SurvmigError(
                "weights implied by the fpc alone need --engine memory", where="weights"
            )
        stages = len(self.ids) if variance == "multistage" else 1
        self.n_stages = stages
        keep_ids = self.ids[:stages]
        keep_strata = self.strata[:stages]
        keep_fpc = self.fpc[:stages]
        self.survey = [str(spec["survey"])] if spec.get("survey") else []
        require_columns(cols, self.survey, "survey")
        self.key_cols = list(dict.fromkeys([*self.survey, *keep_strata, *keep_ids, *keep_fpc]))
        self._check_no_missing()
        aliases = ", ".join(f"{q(c)} AS k{i}" for i, c in enumerate(self.key_cols))
        keys = b.query(f"SELECT DISTINCT {aliases} FROM {b.table}")
        keys.columns = self.key_cols
        keys = keys.sort_values(self.key_cols, kind="stable").reset_index(drop=True)
        for p in probs:
            keys[p] = 0.5
        if isinstance(weights, str):
            keys[weights] = 1.0
        sub = dict(spec)
        sub.update(ids=keep_ids, strata=keep_strata or None, fpc=keep_fpc or None)
        sub = {k: v for k, v in sub.items() if v is not None and k != "calibration"}
        if "calibration" in spec and "create_replicates" in spec:
            sub["calibration"] = spec["calibration"]  # the design checks' own message
        self.design = load_design(sub, keys, data_file=data_file)
        self.keys = keys
        self._unit_maps: dict[int, pd.DataFrame] = {}
        if "calibration" in spec:
            label = str(source) if isinstance(source, str | Path) else None

            def fail(message: str) -> SurvmigError:
                return SurvmigError(message, file=label, where="calibration")

            self.calibration = SqlCalibration(
                b, spec["calibration"], self.weight, str(weights or "weights"), fail
            )

    def _check_no_missing(self) -> None:
        b, q = self.b, self.b.quote
        cols = [c for c in dict.fromkeys([*self.key_cols]) if c]
        parts = [
            f"sum(CASE WHEN {q(c)} IS NULL THEN 1 ELSE 0 END) AS m{i}" for i, c in enumerate(cols)
        ]
        res = b.query(f"SELECT {', '.join(parts)} FROM {b.table}").iloc[0]
        for i, c in enumerate(cols):
            if int(res[f"m{i}"] or 0):
                what = next(
                    k
                    for k, v in (
                        ("survey", self.survey),
                        ("ids", self.ids),
                        ("strata", self.strata),
                        ("fpc", self.fpc),
                    )
                    if c in v
                )
                raise SurvmigError(
                    f"{what} column {show(c)} has {int(res[f'm{i}'])} missing value(s)",
                    file=b.label,
                    where=what,
                    hint="every row needs its design variables; fix or remove those rows explicitly",
                )

    def unit_columns(self, stage: int) -> list[str]:
        """The columns that identify a sampling unit of ``stage`` (0-based)."""
        return list(
            dict.fromkeys([*self.survey, *self.strata[: stage + 1], *self.ids[: stage + 1]])
        )

    def unit_map(self, stage: int) -> pd.DataFrame:
        """Distinct unit-identifying values of a stage with the unit's code (column ``__unit``)."""
        if stage not in self._unit_maps:
            cols = self.unit_columns(stage)
            frame = self.keys[cols].copy()
            frame["__unit"] = self.design.stages[stage].units
            self._unit_maps[stage] = frame.drop_duplicates(cols)
        return self._unit_maps[stage]


class _SqlRequest:
    """The request of :class:`survmig.estimation.engine._Request`, with SQL features."""

    def __init__(self, rd: _ReducedDesign, spec: dict[str, Any]) -> None:
        """``spec``: the checked request of :func:`survmig.estimation.engine.request_options`."""
        mean, total, prop = spec["mean"], spec["total"], spec["prop"]
        ratio, quantile, count = spec["ratio"], spec["quantile"], spec["count"]
        by, na, missing_codes = spec["by"], spec["na"], spec["missing_codes"]
        b = self.b = rd.b
        q = b.quote
        self.rd = rd
        self.design = rd.design
        self.na = na
        self.by = by
        self.missing_codes = tuple(missing_codes)
        variables = [*mean, *total, *prop, *quantile] + [v for pair in ratio for v in pair]
        frame = b.frame_of_columns()
        require_columns(frame, variables, "analysis variable")
        require_columns(frame, by, "by")
        w = self.w = rd.weight if not rd.replicate else self._replicate_weight(rd)
        numeric_vars = [*mean, *total, *quantile] + [v for pair in ratio for v in pair]
        profile = self._profile(list(dict.fromkeys(variables)), set(numeric_vars), by, w)
        self._domain_table(by, profile)
        self.feat = f = _Features()
        self.outputs: list[_Output] = []
        self.ok_key: dict[str, str | None] = {}
        self.centre: dict[str, float] = {}
        self.quantile_vars: list[str] = []
        self.quantile_probs: list[list[float]] = []
        self.ok_expr: dict[str, str] = {}

        def ok_of(var: str) -> str:
            nmiss = int(profile[f"miss_{self._vi[var]}"] or 0)
            if nmiss and na == "fail":
                nnull = int(profile[f"null_{self._vi[var]}"] or 0)
                extra = (
                    f" ({nmiss - nnull} coded -8/-9: don't know / refused)" if nmiss > nnull else ""
                )
                raise SurvmigError(
                    f"variable {show(var)} has {nmiss} missing value(s){extra}",
                    file=b.label,
                    where="missing values",
                    hint="use na='drop' (--na drop) to estimate over the non-missing values, as R's na.rm=TRUE",
                )
            self.ok_key[var] = var if nmiss else None
            self.ok_expr[var] = f"NOT {self._missing(var)}" if nmiss else "TRUE"
            return self.ok_expr[var]

        def value(var: str, statistic: str) -> str:
            i = self._vi[var]
            bad = int(profile.get(f"bad_{i}", 0) or 0)
            if bad:
                raise SurvmigError(
                    f"variable {show(var)} is not numeric (value {show(profile[f'badv_{i}'])})",
                    file=b.label,
                    where=statistic,
                    hint="use --prop for a categorical variable" if statistic != "prop" else None,
                )
            return self._double(var)

        def masked(expr: str, ok: str) -> str:
            return expr if ok == "TRUE" else f"CASE WHEN {ok} THEN {expr} ELSE {ZERO} END"

        def centred(var: str, ok: str) -> str:
            c = self.centre.setdefault(var, float(profile[f"avg_{self._vi[var]}"]))
            return masked(f"({value(var, 'mean')} - {sql_literal(c)})", ok)

        for var in mean:
            ok = ok_of(var)
            k_ok = f.add_ok(("ok", self.ok_key[var]), ok)
            yc = f.add(("yc", var), centred(var, ok))
            sq = f.add(("yc2", var), f"({f.cols[yc]}) * ({f.cols[yc]})")
            den = f.add(("okw", self.ok_key[var]), _indicator(ok))
            self.outputs.append(
                _Output("mean", var, None, yc, den, k_ok, lin=yc, sq=sq, shift=self.centre[var])
            )
        for var in total:
            ok = ok_of(var)
            k_ok = f.add_ok(("ok", self.ok_key[var]), ok)
            num = f.add(("y", var), masked(value(var, "total"), ok))
            yc = f.add(("yc", var), centred(var, ok))
            sq = f.add(("yc2", var), f"({f.cols[yc]}) * ({f.cols[yc]})")
            f.add(("okw", self.ok_key[var]), _indicator(ok))
            self.outputs.append(_Output("total", var, None, num, -1, k_ok, lin=yc, sq=sq))
        for var in prop:
            ok = ok_of(var)
            k_ok = f.add_ok(("ok", self.ok_key[var]), ok)
            den = f.add(("okw", self.ok_key[var]), _indicator(ok))
            found = b.query(f"SELECT DISTINCT {q(var)} AS v FROM {b.table} WHERE {ok}")["v"]
            cats = sorted((x.item() if hasattr(x, "item") else x for x in found), key=_sort_key)
            if not cats:
                raise SurvmigError(f"variable {show(var)} has no non-missing values", where="prop")
            for c in cats:
                cond = (
                    f"{q(var)} = {sql_literal(c)}"
                    if ok == "TRUE"
                    else f"{ok} AND {q(var)} = {sql_literal(c)}"
                )
                num = f.add(("cat", var, c), _indicator(cond))
                self.outputs.append(_Output("prop", var, c, num, den, k_ok, lin=num, sq=num))
        for num_var, den_var in ratio:
            oks = [o for o in (ok_of(num_var), ok_of(den_var)) if o != "TRUE"]
            ok = " AND ".join(oks) if oks else "TRUE"
            k_ok = f.add_ok(("ok2", num_var, den_var), ok)
            num = f.add(("ry", num_var, den_var), masked(value(num_var, "ratio"), ok))
            den = f.add(("rx", num_var, den_var), masked(value(den_var, "ratio"), ok))
            f.add(("okw2", num_var, den_var), _indicator(ok))
            self.outputs.append(
                _Output(
                    "ratio",
                    f"{num_var}/{den_var}",
                    None,
                    num,
                    den,
                    k_ok,
                    ratio_pair=(num_var, den_var),
                )
            )
        if count:
            k_ok = f.add_ok(("all",), "TRUE")
            f.add(("one",), ONE)
            self.outputs.append(_Output("count", "", None, f.keys[("one",)], -1, k_ok))
        for var, probs in quantile.items():
            ok = ok_of(var)
            value(var, "quantile")
            probs = quantile_probabilities(var, probs)
            k_ok = f.add_ok(("ok", self.ok_key[var]), ok)
            f.add(("okw", self.ok_key[var]), _indicator(ok))
            qi = len(self.quantile_vars)
            self.quantile_vars.append(var)
            self.quantile_probs.append(probs)
            for p in probs:
                self.outputs.append(_Output("quantile", var, p, -1, -1, k_ok, quantile=(qi, p)))
        if not self.outputs:
            raise SurvmigError(
                "nothing to estimate",
                where="estimate",
                hint="ask for at least one of mean, total, prop, ratio, quantile",
            )

    # -- expressions --------------------------------------------------------------------------------

    def _double(self, var: str) -> str:
        q = self.b.quote
        cast = "TRY_CAST" if self.b.kind(var) == "text" else "CAST"
        return f"{cast}({q(var)} AS DOUBLE)"

    def _missing(self, var: str) -> str:
        """R's NA plus the special codes, as in :func:`survmig.estimation.engine._missing_mask`."""
        q = self.b.quote
        kind = self.b.kind(var)
        parts = [f"{q(var)} IS NULL"]
        codes = list(self.missing_codes)
        if kind == "numeric":
            parts.append(f"isnan(CAST({q(var)} AS DOUBLE))")
            if codes:
                parts.append(
                    f"CAST({q(var)} AS DOUBLE) IN ({', '.join(sql_literal(float(c)) for c in codes)})"
                )
        elif kind == "text" and codes:
            texts = [str(int(c)) if float(c).is_integer() else str(c) for c in codes]
            parts.append(
                f"CAST({q(var)} AS STRING) IN ({', '.join(sql_literal(t) for t in texts)})"
            )
        return "(" + " OR ".join(parts) + ")"

    def _replicate_weight(self, rd: _ReducedDesign) -> str:
        weights = self.design.weights_column
        return f"CAST({self.b.quote(weights)} AS DOUBLE)" if weights else ONE

    def domain_case(self, values: np.ndarray) -> str:
        """A per-row expression giving ``values[d]`` for the row's domain (NULL outside)."""
        if not self.by:
            return sql_literal(float(values[0]))
        q = self.b.quote
        arms = []
        for d, row in enumerate(self.domain_table.itertuples(index=False)):
            cond = " AND ".join(
                f"{q(c)} = {sql_literal(v)}" for c, v in zip(self.by, row, strict=True)
            )
            arms.append(f"WHEN {cond} THEN {sql_literal(float(values[d]))}")
        return "CASE " + " ".join(arms) + " END"

    # -- passes over the rows -------------------------------------------------------------------------

    def _profile(self, variables: list[str], numeric: set[str], by: list[str], w: str) -> pd.Series:
        """One pass: missing counts, centring means, non-numeric values, bad weights."""
        b = self.b
        q = b.quote
        self._vi = {v: i for i, v in enumerate(variables)}
        parts = []
        for v, i in self._vi.items():
            miss = self._missing(v)
            parts += [
                f"sum(CASE WHEN {miss} THEN 1 ELSE 0 END) AS miss_{i}",
                f"sum(CASE WHEN {q(v)} IS NULL THEN 1 ELSE 0 END) AS null_{i}",
            ]
            if v in numeric:
                parts.append(f"avg(CASE WHEN NOT {miss} THEN {self._double(v)} END) AS avg_{i}")
                if b.kind(v) == "text":
                    bad = f"{q(v)} IS NOT NULL AND {self._double(v)} IS NULL"
                    parts += [
                        f"sum(CASE WHEN {bad} THEN 1 ELSE 0 END) AS bad_{i}",
                        f"min(CASE WHEN {bad} THEN {q(v)} END) AS badv_{i}",
                    ]
        for i, col in enumerate(by):
            parts.append(f"sum(CASE WHEN {self._missing(col)} THEN 1 ELSE 0 END) AS bymiss_{i}")
        parts.append(
            f"sum(CASE WHEN {w} IS NULL OR isnan({w}) OR NOT ({w} > 0) OR {w} = "
            f"CAST('Infinity' AS DOUBLE) THEN 1 ELSE 0 END) AS badw"
        )
        parts.append("count(*) AS nrows")
        res = b.query(f"SELECT {', '.join(parts)} FROM {b.table}").iloc[0]
        self.n_rows = int(res["nrows"])
        if self.n_rows == 0:
            raise SurvmigError("the data has no rows", file=b.label, where="design")
        if int(res["badw"] or 0):
            raise SurvmigError(
                f"{int(res['badw'])} zero, negative or missing weights",
                file=b.label,
                where="weights",
                hint="sampling weights must be positive; drop out-of-scope rows or fix the weights",
            )
        return res

    def _domain_table(self, by: list[str], profile: pd.Series) -> None:
        b = self.b
        q = b.quote
        drop = []
        for i, col in enumerate(by):
            nmiss = int(profile[f"bymiss_{i}"] or 0)
            if nmiss and self.na == "fail":
                raise SurvmigError(
                    f"domain variable {show(col)} has {nmiss} missing value(s) (or -8/-9 codes)",
                    file=b.label,
                    where="by",
                    hint="recode the missing values as a category, or use na='drop' to leave those rows out of every domain",
                )
            if nmiss:
                drop.append(self._missing(col))
        self.domain_filter = "NOT (" + " OR ".join(drop) + ")" if drop else "TRUE"
        if not by:
            self.domain_table = pd.DataFrame(index=[0])
        else:
            cols = ", ".join(f"{q(c)} AS b{i}" for i, c in enumerate(by))
            table = b.query(f"SELECT DISTINCT {cols} FROM {b.table} WHERE {self.domain_filter}")
            table.columns = by
            if table.empty:
                raise SurvmigError("no row has values for the domain variables", where="by")
            self.domain_table = table.sort_values(by, kind="stable").reset_index(drop=True)
        self.n_domains = len(self.domain_table)

    def domain_codes(self, frame: pd.DataFrame) -> np.ndarray:
        """The domain code of each row of a reduced table with by columns ``b0…``."""
        if not self.by:
            return np.zeros(len(frame), dtype=np.int64)
        table = self.domain_table.copy()
        table.columns = [f"b{i}" for i in range(len(self.by))]
        table["__dom"] = np.arange(len(table))
        merged = frame[list(table.columns[:-1])].merge(
            table, how="left", on=list(table.columns[:-1])
        )
        return merged["__dom"].to_numpy(dtype=np.int64)

    def grouped(self, keys: list[str], aggregates: list[str]) -> pd.DataFrame:
        """``SELECT keys (k0…), by (b0…), aggregates … GROUP BY`` over the rows in a domain."""
        q = self.b.quote
        sel = [f"{q(c)} AS k{i}" for i, c in enumerate(keys)]
        sel += [f"{q(c)} AS b{i}" for i, c in enumerate(self.by)]
        group = ", ".join(sel_name.split(" AS ")[0] for sel_name in sel)
        sql = f"SELECT {', '.join(sel + aggregates)} FROM {self.b.table} WHERE {self.domain_filter}"
        return self.b.query(sql + (f" GROUP BY {group}" if group else ""))

    def cell_aggregates(self) -> list[str]:
        w = self.w
        out = [f"sum({w} * ({expr})) AS a{k}" for k, expr in enumerate(self.feat.cols)]
        out += [f"sum({_indicator(expr)}) AS c{j}" for j, expr in enumerate(self.feat.ok_cols)]
        return out

    def cell_matrix(self, frame: pd.DataFrame) -> np.ndarray:
        cols = [f"a{k}" for k in range(len(self.feat.cols))]
        cols += [f"c{j}" for j in range(len(self.feat.ok_cols))]
        return frame[cols].to_numpy(dtype=float, na_value=0.0)


class _SqlEngine(_Engine):
    """The in-memory engine with its passes over rows sent to the backend."""

    req: _SqlRequest

    def _cells(self, stage: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        req = self.req
        rd = req.rd
        D = req.n_domains
        keys = rd.unit_columns(stage)
        frame = req.grouped(keys, req.cell_aggregates())
        umap = rd.unit_map(stage).rename(columns={c: f"k{i}" for i, c in enumerate(keys)})
        unit = (
            frame[[f"k{i}" for i in range(len(keys))]]
            .merge(umap, how="left", on=[f"k{i}" for i in range(len(keys))])["__unit"]
            .to_numpy(dtype=np.int64)
        )
        dom = req.domain_codes(frame)
        n_units = rd.design.stages[stage].n_units_total
        groups, sums = numpy_group_sums(unit * D + dom, n_units * D, req.cell_matrix(frame))
        return groups // D, groups % D, sums

    def _reduce(self) -> np.ndarray:
        req = self.req
        D = req.n_domains
        if req.rd.replicate:
            frame = req.grouped([], req.cell_aggregates())
            out = np.zeros((D, len(req.feat.cols) + len(req.feat.ok_cols)))
            out[req.domain_codes(frame)] = req.cell_matrix(frame)
            return out
        self._base = self._cells(0)
        unit, dom, sums = self._base
        return group_sum(dom, D, sums)

    def _domain_rows(self) -> np.ndarray:
        """Rows of each domain (Korn-Graubard intervals): one grouped count in the backend."""
        req = self.req
        if req.rd.calibration is not None:  # a calibrated design's subset keeps every row
            return np.full((req.n_domains, 1), float(req.n_rows))
        frame = req.grouped([], ["count(*) AS rows_in_domain"])
        out = np.zeros((req.n_domains, 1))
        out[req.domain_codes(frame), 0] = frame["rows_in_domain"].to_numpy(dtype=float)
        return out

    def _stage_sums(self, stage: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self._cells(stage)

    def _is_calibrated(self) -> bool:
        return self.req.rd.calibration is not None

    def _calibrated(self, stages, cells, K, kidx, coef):
        """The calibration residuals from group sums over margin cells (:mod:`.sqlcal`)."""
        assert self.req.rd.calibration is not None
        return self.req.rd.calibration.unit_scores(self.req, stages, cells, kidx, coef)

    def _supplied_replicate_totals(self) -> np.ndarray:
        req = self.req
        rd = req.rd
        q = req.b.quote
        D, K = req.n_domains, len(req.feat.cols)
        w = "" if rd.combined else f" * {req.w}"
        aggs = [
            f"sum(({expr}) * (CAST({q(col)} AS DOUBLE){w})) AS r{r}_{k}"
            for r, col in enumerate(rd.rep_cols)
            for k, expr in enumerate(req.feat.cols)
        ]
        frame = req.grouped([], aggs)
        R = len(rd.rep_cols)
        vals = frame[[f"r{r}_{k}" for r in range(R) for k in range(K)]].to_numpy(dtype=float)
        out = np.zeros((D, R, K))
        out[req.domain_codes(frame)] = vals.reshape(-1, R, K)
        return out.transpose(1, 0, 2).reshape(R, D * K)

    def _residual_sums(self, theta: np.ndarray, ratios: list[int]) -> np.ndarray:
        req = self.req
        aggs = []
        for i, j in enumerate(ratios):
            o = req.outputs[j]
            e = (
                f"(({req.feat.cols[o.num]}) - ({req.domain_case(theta[:, j])}) * "
                f"({req.feat.cols[o.den]}))"
            )
            aggs += [
                f"sum({e} * {req.w}) AS e{2 * i}",
                f"sum(({e} * {e}) * {req.w}) AS e{2 * i + 1}",
            ]
        frame = req.grouped([], aggs)
        out = np.zeros((req.n_domains, 2 * len(ratios)))
        out[req.domain_codes(frame)] = frame[[f"e{i}" for i in range(2 * len(ratios))]].to_numpy(
            dtype=float
        )
        return out

    def _quantile_pass(self) -> None:
        """Pass 1: weights by (domain, value); R's rule in memory; pass 2 is the CDF feature."""
        req = self.req
        if not req.quantile_vars:
            return
        D = req.n_domains
        b = req.b
        values, weights, seg = [], [], []
        for qi, var in enumerate(req.quantile_vars):
            ok = req.ok_expr[var]
            q = b.quote
            sel = [f"{q(c)} AS b{i}" for i, c in enumerate(req.by)]
            sql = (
                f"SELECT {', '.join([*sel, f'{req._double(var)} AS v', f'{b.exact_sum}({req.w}) AS w', 'count(*) AS n'])} "
                f"FROM {b.table} WHERE {req.domain_filter} AND {ok} "
                f"GROUP BY {', '.join([*(s.split(' AS ')[0] for s in sel), req._double(var)])}"
            )
            frame = b.query(sql)
            s = qi * D + req.domain_codes(frame)
            v = frame["v"].to_numpy(dtype=float)
            w = frame["w"].to_numpy(dtype=float).copy()
            n = frame["n"].to_numpy(dtype=np.int64)
            # the first value of a segment with tied rows enters twice (two halves of its weight):
            # R's rule looks at the second-smallest *row* when p is below the first weight
            order = np.lexsort((v, s))
            first = order[np.r_[True, s[order][1:] != s[order][:-1]]]
            split = first[n[first] > 1]
            w[split] = w[split] / 2
            values += [v, v[split]]
            weights += [w, w[split]]
            seg += [s, s[split]]
        self.qseg = sort_segments(
            np.concatenate(values),
            np.concatenate(weights),
            np.concatenate(seg),
            len(req.quantile_vars) * D,
        )
        self.qhat: dict[tuple[int, float], np.ndarray] = {}
        for o in req.outputs:
            if o.quantile is None:
                continue
            qi, p = o.quantile
            qhat = qrule_math(self.qseg, qi * D + np.arange(D), np.full(D, p))
            self.qhat[o.quantile] = qhat
            var = req.quantile_vars[qi]
            ok = req.ok_expr[var]
            below = f"{req._double(var)} <= ({req.domain_case(qhat)})"
            o.num = req.feat.add(
                ("cdf", var, p), _indicator(below if ok == "TRUE" else f"{ok} AND {below}")
            )
            o.den = req.feat.keys[("okw", req.ok_key[var])]


def _spec_of(design: str | Path | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(design, Mapping):
        return design
    path = Path(design)
    if not path.is_file():
        raise SurvmigError("design file not found", file=path, hint="give the path to design.yaml")
    from survmig.modules.yamlio import load_yaml

    spec = load_yaml(path)  # the shared loader: duplicate keys and alias bombs are errors
    return spec if isinstance(spec, dict) else {}


def estimate_sql(
    data: Any,
    design: str | Path | Mapping[str, Any],
    *,
    engine: str = "duckdb",
    connection: Any = None,
    spark_master: str | None = None,
    mean: str | Sequence[str] = (),
    total: str | Sequence[str] = (),
    prop: str | Sequence[str] = (),
    ratio: Sequence[tuple[str, str]] | Mapping[str, str] = (),
    quantile: Mapping[str, Sequence[float]] | None = None,
    count: bool = False,
    by: str | Sequence[str] = (),
    ci: str = "t",
    level: float = 0.95,
    na: str = "fail",
    deff: bool = True,
    missing_codes: Sequence[float] = tuple(SPECIAL_CODES),
    empty_domains: str = "fail",
    options: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """:func:`survmig.estimation.estimate` where the data lives (DuckDB or Spark).

    ``data`` is a Parquet/CSV path, a glob, a hive-partitioned folder, a DuckDB relation (with its
    ``connection``) or a Spark DataFrame; ``design`` a ``design.yaml`` path or its fields as a dict
    (``{"ids": "ea", "strata": "region", "weights": "wt", "nest": True}``). ``options`` overrides
    design fields (``lonely_psu``…). The rows never leave the database: only reduced tables come back.
    """
    spec = request_options(
        mean=mean,
        total=total,
        prop=prop,
        ratio=ratio,
        quantile=quantile,
        count=count,
        by=by,
        ci=ci,
        level=level,
        na=na,
        missing_codes=missing_codes,
        empty_domains=empty_domains,
    )
    b = backend_for(data, engine, spark_master=spark_master, connection=connection)
    fields = dict(_spec_of(design))
    source: Any = design if not options else {**fields, **options}
    if options:
        fields.update(options)
    rd = _ReducedDesign(b, fields, source, data_file=b.label)
    req = _SqlRequest(rd, spec)
    if rd.replicate and rd.design.replicate_weights.df is None:
        _set_replicate_df(req)
    return _SqlEngine(
        req, numpy_group_sums, ci=ci, level=level, deff=deff, empty=empty_domains
    ).run()


def _set_replicate_df(req: _SqlRequest) -> None:
    """R's ``degf`` for supplied replicate weights: the rank of the replicate weights (from their
    Gram matrix, summed in the database) minus one."""
    rd = req.rd
    q = req.b.quote
    w = "" if rd.combined else f" * {req.w}"
    cols = [f"(CAST({q(c)} AS DOUBLE){w})" for c in rd.rep_cols]
    R = len(cols)
    pairs = [(i, j) for i in range(R) for j in range(i, R)]
    aggs = ", ".join(f"sum({cols[i]} * {cols[j]}) AS g{i}_{j}" for i, j in pairs)
    res = req.b.query(f"SELECT {aggs} FROM {req.b.table}").iloc[0]
    gram = np.zeros((R, R))
    for i, j in pairs:
        gram[i, j] = gram[j, i] = float(res[f"g{i}_{j}"])
    norms = np.sqrt(np.diag(gram))
    keep = norms > 0
    g = gram[np.ix_(keep, keep)] / np.outer(norms[keep], norms[keep])
    rd.design._cache["df"] = gram_rank(g) - 1 if g.size else -1
