"""Compute catalogue indicators on a :class:`~survmig.data.Dataset` with a survey design.

How an indicator becomes numbers:

1. its level (``person``, ``emigrant``…) is matched to a table of the data by the concepts the table
   holds (a repeat named ``members`` holding ``sex``, ``age``, ``born_in_country`` is the person level);
2. every name in its expressions is bound to the column carrying that concept, on that table or an
   ancestor (household columns reach person rows through the keys) — variable names never matter;
3. special answers -8/-9 are recoded to missing (``Dataset.table(specials="missing")``); rows whose
   universe cannot be decided or whose value is missing are left out (``na="drop"`` in
   :func:`survmig.estimation.estimate`, a domain estimate over the full design) and counted;
4. the design (strata, PSUs, weights — usually household columns) is built over the rows of that level
   with :func:`survmig.design.load_design`, ancestors' columns joined by ``Dataset.flatten``;
5. :func:`survmig.estimation.estimate` gives estimates, SEs, CIs, CVs, deff and n by domain.

An indicator whose concepts are absent is *not computable* (with the reason), never an error; bad
requests (unknown names, missing exchange rates, a design that does not fit) are errors.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import difflib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from survmig.data import KEY, PARENT_KEY, Dataset
from survmig.design import SurveyDesign, load_design
from survmig.errors import SurvmigError
from survmig.estimation import estimate
from survmig.estimation.covariance import covariance as joint_covariance
from survmig.estimation.notes import variance_basis
from survmig.indicators import expr as ex
from survmig.indicators.catalogue import Catalogue, Definition, Indicator, load_catalogue
from survmig.modules import ConceptRegistry, load_concepts

#: columns of the tidy results table before the domain columns
LEAD_COLUMNS = ("indicator", "statistic", "category", "category_label")
#: columns after the domain columns
VALUE_COLUMNS = ("estimate", "se", "ci_low", "ci_high", "cv", "deff", "n", "weighted_n", "df")


class NotComputable(Exception):
    """An indicator cannot be computed from this data (a concept or a table is absent)."""


@dataclasses.dataclass
class IndicatorInfo:
    """What was computed for one indicator: its metadata and how it was bound to the data."""

    id: str
    title: str
    definition: str
    standard: str
    level: str
    data_level: str
    statistic: str
    universe: str
    universe_expr: str
    reference_period: str
    unit: str
    concepts: dict[str, str]  # concept -> "table.column"
    by: list[str]
    by_dropped: list[str]
    n_universe: int
    n_universe_unknown: int
    n_value_missing: int
    note: str | None = None
    parameters: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: concepts and data columns the definition itself uses (domain variables excluded): a
    #: comparison by one of them compares groups the indicator is defined by
    defined_by: list[str] = dataclasses.field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class IndicatorResults:
    """Tidy estimates of several indicators, their metadata and the ones that could not be computed.

    ``table`` has one row per indicator × category × domain with ``estimate, se, ci_low, ci_high, cv,
    deff, n, weighted_n, df``; ``info[id]`` says what each estimate means; ``not_computable`` maps an
    indicator id to the reason.
    """

    table: pd.DataFrame
    info: dict[str, IndicatorInfo]
    not_computable: dict[str, str]
    by: list[str]
    level: float
    parameters: dict[str, Any]
    labels: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)
    #: how the SEs were computed (:func:`survmig.estimation.notes.variance_basis`)
    variance: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: ``compute(covariance=True)``: each indicator's joint covariance of its rows (in table order)
    covariance: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    #: why an indicator has no covariance (``compute(covariance=True)``)
    no_covariance: dict[str, str] = dataclasses.field(default_factory=dict)
    #: a comparison between groups (:func:`survmig.indicators.comparison.compare_indicators`),
    #: shown by the report
    comparison: Any = None

    def for_indicator(self, indicator_id: str) -> pd.DataFrame:
        """Rows of one indicator, without the domain columns it does not use."""
        rows = self.table[self.table["indicator"] == indicator_id]
        return rows.dropna(axis=1, how="all").reset_index(drop=True)

    @property
    def computed(self) -> list[str]:
        return list(self.info)


# ----------------------------------------------------------------------------------------------
# levels and concepts
# ----------------------------------------------------------------------------------------------


def level_map(
    dataset: Dataset,
    registry: ConceptRegistry | None = None,
    overrides: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Concept level (``person``…) -> table of the data, inferred from the concepts each table holds.

    The root table is the household. A repeat maps to the one registry level that every concept on it
    allows (ties broken by the table's name); ``overrides`` fixes a mapping explicitly.
    """
    registry = registry or load_concepts()
    meta = dataset.metadata
    out: dict[str, str] = {"household": dataset.root}
    for lv in dataset.levels:
        if lv == dataset.root:
            continue
        allowed: set[str] | None = None
        for var in meta.variables_at(lv):
            concept = registry.get(var.concept) if var.concept else None
            if concept is None:
                continue
            levels = set(concept.levels)
            allowed = levels if allowed is None else allowed & levels
        if not allowed:
            continue
        if len(allowed) > 1:
            allowed = {lv} & allowed or allowed
        if len(allowed) == 1:
            out.setdefault(next(iter(allowed)), lv)
    for concept_level, table in (overrides or {}).items():
        if concept_level not in registry.levels:
            raise SurvmigError(f"unknown level {concept_level!r}", where="levels")
        if table not in dataset.levels:
            raise SurvmigError(
                f"no table {table!r} in the data", where="levels", hint=", ".join(dataset.levels)
            )
        out[concept_level] = table
    return out


def normalize_rates(rates: Any) -> dict[str, float] | None:
    """Exchange rates as {currency: local-currency units per unit}; from a dict, a frame or a CSV.

    A frame or CSV needs columns ``currency`` and ``rate``. Rates must be positive numbers.
    """
    if rates is None:
        return None
    source = None
    if isinstance(rates, str | Path):
        source = Path(rates)
        if not source.is_file():
            raise SurvmigError("exchange-rate file not found", file=source)
        rates = pd.read_csv(source, dtype={"currency": str})
    if isinstance(rates, pd.DataFrame):
        missing = [c for c in ("currency", "rate") if c not in rates.columns]
        if missing:
            raise SurvmigError(
                f"exchange-rate table lacks column(s) {', '.join(missing)}",
                file=source,
                hint="give columns currency (ISO 4217) and rate (local currency units per unit)",
            )
        rates = dict(zip(rates["currency"].astype(str), rates["rate"], strict=True))
    if not isinstance(rates, Mapping):
        raise SurvmigError("rates must be a mapping currency -> rate, a table or a CSV path")
    out: dict[str, float] = {}
    for cur, value in rates.items():
        try:
            num = float(value)
        except (TypeError, ValueError):
            num = math.nan
        if not math.isfinite(num) or num <= 0:
            raise SurvmigError(
                f"exchange rate for {cur} must be a positive number, got {value!r}",
                file=source,
                where="rates",
            )
        out[str(cur).strip().upper()] = num
    return out


class _LevelScope(ex.Scope):
    """Rows of one table; names resolve to concept columns of this table or its ancestors."""

    def __init__(self, ctx: _Context, table: str) -> None:
        self.ctx = ctx
        self.table = table
        self.rows = ctx.dataset.table(table)
        self.n = len(self.rows)
        self.chain = [table, *ctx.dataset.metadata.ancestors(table)]
        self.used: dict[str, str] = {}

    @property
    def flat(self) -> pd.DataFrame:
        return self.ctx.flat(self.table)

    def keys_of(self, ancestor: str) -> pd.Series:
        if ancestor == self.table:
            return self.rows[KEY].reset_index(drop=True)
        return self.flat[f"KEY_{ancestor}"]

    def locate(self, concept: str) -> tuple[str, str] | None:
        found = dict(self.ctx.dataset.find_concept(concept))
        for lv in self.chain:
            if lv in found:
                return lv, found[lv]
        return None

    def _column(self, concept: str, specials: str) -> pd.Series:
        where = self.locate(concept)
        if where is None:
            raise NotComputable(f"needs concept `{concept}`, not in the data")
        lv, col = where
        self.used[concept] = f"{lv}.{col}"
        key = (self.table, concept, specials)
        if key not in self.ctx.columns:  # expressions are evaluated on copies: safe to share
            source = self.ctx.table(lv, specials)[[KEY, col]]
            if lv == self.table:
                values = source[col].reset_index(drop=True)
            else:
                idx = pd.Index(source[KEY].astype(object)).get_indexer(
                    self.keys_of(lv).astype(object)
                )
                values = pd.Series(source[col].array.take(idx, allow_fill=True))
            self.ctx.columns[key] = self.ctx.typed(concept, values, f"{lv}.{col}")
        return self.ctx.columns[key]

    def value(self, name: str) -> Any:
        if name in self.ctx.parameters:
            return self.ctx.parameters[name]
        return self._column(name, "missing")

    def raw(self, name: str) -> pd.Series:
        return self._column(name, "keep")

    def child(self, level: str, tree: ast.AST | None, agg: str) -> pd.Series:
        table = self.ctx.levels.get(level)
        if table is None or self.table not in [
            table,
            *self.ctx.dataset.metadata.ancestors(table),
        ]:
            raise NotComputable(
                f"needs {level} records below the {self.table} table, none in the data"
            )
        sub = _LevelScope(self.ctx, table)
        keys = sub.keys_of(self.table).astype(object)
        if agg == "count":
            vals = pd.Series(np.ones(sub.n), dtype="Float64")
        else:
            vals = ex._series(ex._num(ex.evaluate(tree, sub), sub.n), sub.n, "Float64")  # type: ignore[arg-type]
        self.used.update(sub.used)
        frame = pd.DataFrame(
            {
                "k": keys.to_numpy(),
                "v": vals.fillna(0.0).to_numpy(dtype=float),
                "na": vals.isna().to_numpy(dtype=bool),
            }
        )
        grouped = frame.groupby("k", sort=False).agg(v=("v", "sum"), na=("na", "any"))
        mine = self.rows[KEY].astype(object).reset_index(drop=True)
        idx = pd.Index(grouped.index).get_indexer(mine)
        total = np.where(idx >= 0, grouped["v"].to_numpy()[idx], 0.0)
        missing = np.where(idx >= 0, grouped["na"].to_numpy()[idx], False)
        return pd.Series(pd.array(total, dtype="Float64")).mask(missing)

    def rate(self, values: Any) -> Any:
        rates = self.ctx.rates
        if values is None:
            raise NotComputable("needs the parameter `convert_to` (a currency in the rates table)")
        if rates is None:
            raise NotComputable("needs exchange rates (rates=…, a currency -> rate table)")
        if not isinstance(values, pd.Series):
            cur = str(values).upper()
            if cur not in rates:
                raise SurvmigError(
                    f"no exchange rate for currency {cur}",
                    where="rates",
                    hint="add it to the rates table (local currency units per unit)",
                )
            return rates[cur]
        codes = values.astype("string").str.strip().str.upper()
        present = set(codes.dropna().unique().tolist())
        missing = sorted(present - set(rates))
        if missing:
            raise SurvmigError(
                f"no exchange rate for currency {', '.join(missing)} present in the data",
                where="rates",
                hint="add a rate (local currency units per unit) for every currency in the data",
            )
        mapped = codes.map(rates).astype("Float64")
        return pd.Series(mapped.to_numpy(dtype=float, na_value=np.nan), dtype="Float64")


class _Context:
    """Shared state of one compute() call: the data, level map, rates, parameters, caches."""

    def __init__(
        self,
        dataset: Dataset,
        levels: dict[str, str],
        registry: ConceptRegistry,
        rates: dict[str, float] | None,
        parameters: dict[str, Any],
    ) -> None:
        self.dataset = dataset
        self.levels = levels
        self.registry = registry
        self.rates = rates
        self.parameters = parameters
        self.language = "en"
        self._tables: dict[tuple[str, str], pd.DataFrame] = {}
        self._flat: dict[str, pd.DataFrame] = {}
        #: (table, concept, specials) -> typed column on the rows of table
        self.columns: dict[tuple[str, str, str], pd.Series] = {}

    def flat(self, level: str) -> pd.DataFrame:
        """``Dataset.flatten(level)``, computed once per call of compute()."""
        if level not in self._flat:
            self._flat[level] = self.dataset.flatten(level)
        return self._flat[level]

    def table(self, level: str, specials: str) -> pd.DataFrame:
        key = (level, specials)
        if key not in self._tables:
            self._tables[key] = self.dataset.table(level, specials=specials)
        return self._tables[key]

    def typed(self, concept: str, values: pd.Series, where: str) -> pd.Series:
        """A concept column in the type its registry entry says (numbers, dates or codes)."""
        entry = self.registry.get(concept)
        kind = entry.type if entry else "text"
        if kind in ("integer", "decimal") or (kind == "select_one" and _numeric_like(values)):
            if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
                return values.astype("Float64")
            conv = pd.to_numeric(values.astype("string"), errors="coerce")
            bad = conv.isna() & values.notna()
            if bad.any():
                first = int(np.flatnonzero(bad.to_numpy())[0])
                raise SurvmigError(
                    f"column {where} (concept {concept}) is not numeric: {values.iloc[first]!r} "
                    f"at row {first + 1}",
                    hint="fix the data or the form's type for this question",
                )
            return conv.astype("Float64")
        if kind in ("date", "datetime"):
            return pd.to_datetime(values, errors="coerce")
        return values.astype("string").astype(object).where(values.notna(), None)


def _numeric_like(values: pd.Series) -> bool:
    if pd.api.types.is_numeric_dtype(values):
        return True
    s = values.dropna().astype(str)
    return bool(len(s)) and bool(s.str.fullmatch(r"-?\d+(\.0+)?").all())


# ----------------------------------------------------------------------------------------------
# preparing one indicator
# ----------------------------------------------------------------------------------------------


@dataclasses.dataclass
class _Prepared:
    indicator: Indicator
    definition: Definition
    table: str
    columns: dict[str, np.ndarray]  # derived analysis columns
    values: list[str]  # analysis variables of the estimate call
    category: str | None  # the breakdown column (a by variable) or None
    multiple: dict[str, str]  # analysis column -> option code
    info: IndicatorInfo
    category_labels: dict[str, str]


def _as_category(values: Any, n: int) -> np.ndarray:
    """Category codes as text (``1`` not ``1.0``); missing stays missing."""
    s = values if isinstance(values, pd.Series) else pd.Series([values] * n)
    out = np.full(len(s), None, dtype=object)
    ok = s.notna().to_numpy(dtype=bool)
    if pd.api.types.is_numeric_dtype(s):
        num = s.to_numpy(dtype=float, na_value=np.nan)
        out[ok] = [f"{v:g}" for v in num[ok]]
    else:
        out[ok] = s[ok].astype(str).to_numpy()
    return out


def _floats(values: Any, n: int) -> np.ndarray:
    s = ex._series(ex._num(values, n), n, "Float64")
    return s.astype("Float64").to_numpy(dtype=float, na_value=np.nan)


def _labels_of(ctx: _Context, scope: _LevelScope, concept: str) -> dict[str, str]:
    where = scope.locate(concept)
    if where is None:
        return {}
    var = ctx.dataset.metadata.variables.get(where[1])
    if var is None:
        return {}
    return ctx.dataset.metadata.value_labels(var, ctx.language)


def _prepare(ctx: _Context, ind: Indicator, d: Definition, by: Sequence[str]) -> _Prepared:
    table = ctx.levels.get(d.level)
    if table is None:
        raise NotComputable(f"needs {d.level}-level records, no such table in the data")
    scope = _LevelScope(ctx, table)
    below = [lv for lv in ctx.dataset.levels if table in ctx.dataset.metadata.ancestors(lv)]
    found_below = {c for lv in below for c, _ in _concepts_on(ctx, lv)}
    missing = [
        c for c in d.concepts(ctx.parameters) if scope.locate(c) is None and c not in found_below
    ]
    if missing:
        names = ", ".join(f"`{c}`" for c in missing)
        raise NotComputable(
            f"needs concept{'s' if len(missing) > 1 else ''} {names}, not in the data"
        )
    if scope.n == 0:
        raise NotComputable(f"no rows in table {table!r} ({d.level} level)")
    n = scope.n
    universe = ex._bool(ex.evaluate(ex.parse(d.universe), scope), n)
    uni_true = universe.fillna(False).to_numpy(dtype=bool)
    uni_unknown = universe.isna().to_numpy(dtype=bool)
    columns: dict[str, np.ndarray] = {}
    values: list[str] = []
    multiple: dict[str, str] = {}
    category = None
    labels: dict[str, str] = {}
    value_missing = np.zeros(n, dtype=bool)
    if d.breakdown is not None:
        tree = ex.parse(d.breakdown)
        cats = _as_category(ex.evaluate(tree, scope), n)
        if isinstance(tree.body, ast.Name):
            labels = _labels_of(ctx, scope, tree.body.id)
        cats = np.where(uni_true, cats, None)
        category = "__category"
        columns[category] = cats
        if ind.statistic == "proportion" and d.value is None:
            value_missing |= uni_true & pd.isna(cats)
            values.append(category)
    if d.value is not None:
        v = _floats(ex.evaluate(ex.parse(d.value), scope), n)
        value_missing |= uni_true & np.isnan(v)
        columns["__value"] = np.where(uni_true, v, np.nan)
        values.append("__value")
    if d.denominator is not None:
        den = _floats(ex.evaluate(ex.parse(d.denominator), scope), n)
        value_missing |= uni_true & np.isnan(den)
        columns["__den"] = np.where(uni_true, den, np.nan)
    if d.multiple is not None:
        where = scope.locate(d.multiple)
        if where is None:
            raise NotComputable(f"needs concept `{d.multiple}` on the {d.level} level")
        lv, col = where
        scope.used[d.multiple] = f"{lv}.{col}"
        options = ctx.dataset.metadata.option_columns(col)
        if not options:
            raise NotComputable(
                f"`{d.multiple}` ({lv}.{col}) has no 0/1 option columns in the data"
            )
        var = ctx.dataset.metadata.variables[col]
        labels = ctx.dataset.metadata.value_labels(var, ctx.language)
        for code, opt_col in options.items():
            if code in ("-8", "-9"):
                continue
            if lv == table:
                s = ctx.table(lv, "missing")[opt_col].reset_index(drop=True)
            else:
                src = ctx.table(lv, "missing")
                idx = pd.Index(src[KEY].astype(object)).get_indexer(
                    scope.keys_of(lv).astype(object)
                )
                s = pd.Series(src[opt_col].array.take(idx, allow_fill=True))
            arr = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            value_missing |= uni_true & np.isnan(arr)
            name = f"__opt_{code}"
            columns[name] = np.where(uni_true, arr, np.nan)
            values.append(name)
            multiple[name] = code
    defined_by = sorted(
        set(d.concepts(ctx.parameters))
        | set(scope.used)
        | {v.split(".", 1)[1] for v in scope.used.values()}
    )
    used_by: list[str] = []
    dropped: list[str] = []
    for name in by:
        cats = _domain_values(ctx, scope, name)
        if cats is None:
            dropped.append(name)
            continue
        columns[f"__by_{name}"] = cats
        used_by.append(name)
    info = IndicatorInfo(
        id=ind.id,
        title=ind.title,
        definition=ind.definition,
        standard=ind.standard,
        level=d.level,
        data_level=table,
        statistic=ind.statistic,
        universe=d.universe_text,
        universe_expr=d.universe,
        reference_period=ind.reference_period,
        unit=ind.unit,
        concepts=dict(sorted(scope.used.items())),
        by=used_by,
        by_dropped=dropped,
        n_universe=int(uni_true.sum()),
        n_universe_unknown=int(uni_unknown.sum()),
        n_value_missing=int(value_missing.sum()),
        note=d.note,
        parameters={
            k: v
            for k, v in ctx.parameters.items()
            if any(k in ex.names(ex.parse(t))[0] for t in d.expressions().values())
        },
        defined_by=defined_by,
    )
    if not uni_true.any():
        unknown = (
            f"; it is undecidable (missing answers) for {int(uni_unknown.sum())}"
            if uni_unknown.any()
            else ""
        )
        raise NotComputable(f"no {d.level} rows in the universe `{d.universe}` out of {n}{unknown}")
    return _Prepared(ind, d, table, columns, values, category, multiple, info, labels)


def _concepts_on(ctx: _Context, table: str) -> list[tuple[str, str]]:
    """(concept, column) pairs of one table."""
    return [
        (v.concept, v.name)
        for v in ctx.dataset.metadata.variables_at(table)
        if v.concept and v.name in ctx.dataset.table(table).columns
    ]


def _domain_values(ctx: _Context, scope: _LevelScope, name: str) -> np.ndarray | None:
    """A domain variable on this table: a concept (this table or an ancestor) or a column name."""
    if scope.locate(name) is not None:
        return _as_category(scope.value(name), scope.n)
    if name in scope.flat.columns:
        return _as_category(scope.flat[name], scope.n)
    return None


# ----------------------------------------------------------------------------------------------
# the public entry point
# ----------------------------------------------------------------------------------------------


def compute(
    dataset: Dataset,
    design: str | Path | Mapping[str, Any] | SurveyDesign,
    indicators: str | Iterable[str] = "all",
    *,
    by: str | Sequence[str] = (),
    rates: Any = None,
    level: float = 0.95,
    parameters: Mapping[str, Any] | None = None,
    design_data: pd.DataFrame | None = None,
    levels: Mapping[str, str] | None = None,
    catalogue: Catalogue | None = None,
    ci: str = "t",
    language: str = "en",
    covariance: bool = False,
) -> IndicatorResults:
    """Estimate catalogue indicators with design-based SEs.

    ``design``: a ``design.yaml`` path or the same as a dict; its columns (strata, PSUs, weights…)
    are looked up on each indicator's table and its ancestors (usually the household table), or in
    ``design_data`` (a frame with the household ``KEY`` column and the design columns). It may also
    be a linearization :class:`~survmig.design.SurveyDesign` over the household rows (what
    :func:`survmig.weighting.weight_design` returns): household-level indicators are then estimated
    with that design, so its calibration records (GREG, raking, post-stratification) enter the SEs
    as in R's ``svyrecvar``; lower-level means, shares, ratios and totals are ratios/totals of
    household member totals on it (exact); lower-level quantiles use its final weights as fixed
    (``info[id].note`` says so).
    ``indicators``: ``"all"``, ids, or a comma-separated string. ``by``: domain variables, each a
    concept id (``sex``) or a column name (``region``); one not present on an indicator's table is left
    out for that indicator and recorded in ``info[id].by_dropped``. ``rates``: exchange rates
    (currency -> local units per unit; a dict, a frame or a CSV with ``currency,rate``).
    ``parameters``: catalogue parameters (``recent_years``, ``convert_to``…). ``ci``: interval for
    the category shares of a distribution (``t``, ``logit``, ``beta``, ``wilson``); other estimates use
    ``t`` with the design degrees of freedom. ``levels`` maps a catalogue level to a table name when
    the automatic matching (by the concepts a table holds) is not wanted. ``language``: the form's
    language for category and domain labels (``fr``, ``ar``…; falls back to the form's default).
    ``covariance``: also each indicator's joint covariance of its rows (``.covariance[id]``, for
    comparisons between its domains; ``.no_covariance[id]`` says why one has none).
    """
    cat = catalogue or load_catalogue()
    selected = cat.select(indicators)
    params = cat.resolve_parameters(dict(parameters or {}))
    by_list = [b.strip() for b in by.split(",")] if isinstance(by, str) else [str(b) for b in by]
    by_list = [b for b in by_list if b]
    rate_table = normalize_rates(rates)
    calibration: tuple[Any, ...] = ()
    basis_design: SurveyDesign | None = None
    if not isinstance(design, SurveyDesign) and _carries_calibration(design):
        # calibration is at household level: rebuild it on the household table, then go on as
        # with a calibrated SurveyDesign (members' estimates lifted to households)
        if design_data is not None:
            dataset = with_design_data(dataset, design_data)
            design_data = None
        design = _load_design(_design_spec(design), dataset.table(dataset.root), dataset.root)
    if isinstance(design, SurveyDesign):
        basis_design = design
        if design_data is not None:
            raise SurvmigError(
                "design_data goes with a design spec, not with a SurveyDesign",
                where="design_data",
                hint="the SurveyDesign already carries its columns and weights",
            )
        dataset, spec, calibration = _from_survey_design(dataset, design)
    else:
        if design_data is not None:
            dataset = with_design_data(dataset, design_data)
        spec = _design_spec(design)
    _check_domains(dataset, by_list)
    registry = load_concepts()
    ctx = _Context(dataset, level_map(dataset, registry, levels), registry, rate_table, params)
    ctx.language = language  # category and domain labels from the form in this language
    prepared: list[_Prepared] = []
    skipped: dict[str, str] = {}
    for ind in selected:
        reasons: list[str] = []
        for d in ind.definitions:
            try:
                prepared.append(_prepare(ctx, ind, d, by_list))
                break
            except NotComputable as why:
                reasons.append(str(why))
        else:
            skipped[ind.id] = "; or ".join(dict.fromkeys(reasons))
    frames: list[pd.DataFrame] = []
    info: dict[str, IndicatorInfo] = {}
    joints: dict[str, np.ndarray] = {}
    no_joint: dict[str, str] = {}
    for table in dict.fromkeys(p.table for p in prepared):
        group = [p for p in prepared if p.table == table]
        frame, renames = _analysis_frame(ctx, table, group, spec)
        des = _load_design(spec, frame, table)
        if calibration and table == dataset.root:  # rows in the design's order (checked)
            des = des.with_weights(des.weights, calibration=calibration)
        if basis_design is None or (table == dataset.root and not calibration):
            basis_design = des
        lift = None
        if calibration and table != dataset.root:
            lift = _HouseholdLift(ctx, spec, calibration, frame[f"KEY_{dataset.root}"])
        for p in group:
            joint: list[Any] | None = [] if covariance else None
            frames.append(_estimate(des, p, renames[id(p)], level, by_list, ci, lift, joint))
            info[p.indicator.id] = p.info
            if joint:
                if isinstance(joint[0], str):
                    no_joint[p.indicator.id] = joint[0]
                else:
                    joints[p.indicator.id] = joint[0]
    table_out = _assemble(frames, by_list)
    order = {ind.id: i for i, ind in enumerate(selected)}
    if len(table_out):
        table_out = table_out.sort_values(
            "indicator", key=lambda s: s.map(order), kind="stable"
        ).reset_index(drop=True)
    labels = {name: _labels_of(ctx, _LevelScope(ctx, dataset.root), name) for name in by_list}
    for p in prepared:
        for name in p.info.by:
            if not labels.get(name):
                labels[name] = _labels_of(ctx, _LevelScope(ctx, p.table), name)
    return IndicatorResults(
        table=table_out,
        info={i: info[i] for i in order if i in info},
        not_computable=skipped,
        by=by_list,
        level=level,
        parameters=params,
        labels={k: v for k, v in labels.items() if v},
        variance=variance_basis(basis_design) if basis_design is not None else {},
        covariance=joints,
        no_covariance=no_joint,
    )


def _check_domains(dataset: Dataset, by: list[str]) -> None:
    """A domain variable must exist somewhere (a concept or a column); a typo is an error."""
    known: set[str] = set()
    for lv in dataset.levels:
        known.update(str(c) for c in dataset.table(lv).columns)
    concepts = {v.concept for v in dataset.metadata.variables.values() if v.concept}
    for name in by:
        if name in known or (name in concepts and dataset.find_concept(name)):
            continue
        close = difflib.get_close_matches(name, sorted(known | concepts), n=1)
        raise SurvmigError(
            f"domain variable {name!r} is neither a concept nor a column of the data",
            where="by",
            hint=f"did you mean {close[0]!r}?" if close else "give a concept id or a column name",
        )


def with_design_data(dataset: Dataset, design_data: pd.DataFrame) -> Dataset:
    """The dataset with ``design_data`` columns joined onto the household table by ``KEY``."""
    if KEY not in design_data.columns:
        raise SurvmigError(
            f"design data needs the household key column {KEY!r}", where="design_data"
        )
    root = dataset.table(dataset.root)
    clash = [c for c in design_data.columns if c != KEY and c in root.columns]
    if clash:
        raise SurvmigError(
            f"design data columns already in the household table: {', '.join(clash)}",
            where="design_data",
            hint="rename them or drop them from the data",
        )
    extra = design_data.drop_duplicates(KEY).set_index(KEY)
    idx = extra.index.get_indexer(root[KEY].astype(object))
    if (idx < 0).any():
        first = root[KEY].iloc[int(np.flatnonzero(idx < 0)[0])]
        raise SurvmigError(
            f"{int((idx < 0).sum())} household(s) have no row in the design data, first {first}",
            where="design_data",
            hint="every household needs its strata, PSU and weight",
        )
    joined = root.reset_index(drop=True).copy()
    for col in extra.columns:
        joined[col] = extra[col].to_numpy()[idx]
    tables = {lv: dataset.table(lv) for lv in dataset.levels}
    tables[dataset.root] = joined
    return Dataset(tables, dataset.metadata, source=dataset.source, notes=dataset.notes)


#: said of a below-household quantile (or a non-t interval) computed with a calibrated SurveyDesign
FIXED_WEIGHTS_NOTE = (
    "Standard errors treat the calibrated household weights as fixed: below the household level "
    "the calibration residuals are used for means, shares, ratios and totals with t intervals "
    "only, so these SEs ignore the variance reduction (or increase) that calibration brings."
)
#: prefix of the design columns a SurveyDesign brings onto the household table
_DESIGN_PREFIX = "__design_"


def _from_survey_design(
    dataset: Dataset, design: SurveyDesign
) -> tuple[Dataset, dict[str, Any], tuple[Any, ...]]:
    """The dataset with the design's columns and final weights on the household table (rows in the
    design's order; design columns not in the table are added, usable in ``by``), the equivalent
    design spec, and the design's calibration records."""
    if design.is_replicate:
        raise SurvmigError(
            "replicate-weight SurveyDesigns are not supported by compute()",
            where="design",
            hint="pass the design spec (design.yaml or a dict) with the replicate weight columns",
        )
    root = dataset.table(dataset.root).reset_index(drop=True)
    data = design.data.reset_index(drop=True)
    if design.n != len(root):
        raise SurvmigError(
            f"the design has {design.n} rows, the household table {dataset.root!r} has {len(root)}",
            where="design",
            hint="build the design over the household rows (one row per household, with KEY)",
        )
    order = np.arange(len(root))
    if KEY in data.columns:
        order = pd.Index(root[KEY].astype(str)).get_indexer(data[KEY].astype(str))
        if (order < 0).any() or len(set(order.tolist())) != len(order):
            bad = int(np.flatnonzero(order < 0)[0]) if (order < 0).any() else 0
            raise SurvmigError(
                f"the design's households do not match the household table: {KEY} "
                f"{data[KEY].iloc[bad]!r} (design row {bad + 1}) is missing or repeated",
                where="design",
                hint="build the design over exactly the households of the data",
            )
    tables = {lv: dataset.table(lv) for lv in dataset.levels}
    root = root.iloc[order].reset_index(drop=True)
    spec: dict[str, Any] = {
        "weights": f"{_DESIGN_PREFIX}w",
        "nest": design.nest,
        "lonely_psu": design.lonely_psu,
        "lonely_psu_domain": design.lonely_psu_domain,
        "variance": design.variance,
    }
    # the design's other columns (a region used for calibration…) become domain variables
    extra = {c: data[c].to_numpy() for c in data.columns if c != KEY and c not in root.columns}
    extra[f"{_DESIGN_PREFIX}w"] = design.weights
    for key, cols in (("ids", design.ids), ("strata", design.strata), ("fpc", design.fpc)):
        names = [f"{_DESIGN_PREFIX}{key}{j}" for j in range(len(cols))]
        extra.update({n: data[c].to_numpy() for n, c in zip(names, cols, strict=True)})
        if names:
            spec[key] = names
    tp = design.twophase
    if tp is not None:  # a two-phase design: its phase-1 probabilities and phase-2 columns too
        cols = dict.fromkeys([*tp.probs1, *tp.ids, *tp.strata, tp.fpc])
        renamed = {c: f"{_DESIGN_PREFIX}p2_{j}" for j, c in enumerate(cols)}
        extra.update({renamed[c]: data[c].to_numpy() for c in cols})
        tp = tp.renamed(renamed)
        if tp.probs1:
            spec["probs"] = list(tp.probs1)
        spec["phase2"] = tp.spec()
    tables[dataset.root] = pd.concat([root, pd.DataFrame(extra)], axis=1)
    out = Dataset(tables, dataset.metadata, source=dataset.source, notes=dataset.notes)
    return out, spec, tuple(design.calibration)


def _carries_calibration(design: str | Path | Mapping[str, Any]) -> bool:
    """Whether a design spec (dict or design.yaml) has a ``calibration`` section."""
    from survmig.modules.yamlio import load_yaml

    if isinstance(design, Mapping):
        return "calibration" in design
    try:
        doc = load_yaml(Path(design))
    except SurvmigError:
        return False  # load_design reports the problem
    return isinstance(doc, dict) and "calibration" in doc


def _design_spec(design: str | Path | Mapping[str, Any]) -> dict[str, Any] | Path:
    if isinstance(design, Mapping):
        return dict(design)
    path = Path(design)
    if not path.is_file():
        raise SurvmigError("design file not found", file=path, hint="give the path to design.yaml")
    return path


def _spec_columns(spec: dict[str, Any] | Path) -> set[str]:
    """Column names a design spec mentions (to detect clashes between a table and its ancestors)."""
    from survmig.modules.yamlio import load_yaml

    doc = spec if isinstance(spec, dict) else load_yaml(Path(spec))
    out: set[str] = set()
    phase2 = (doc or {}).get("phase2")
    for section, key in [
        *((doc, k) for k in ("ids", "strata", "weights", "probs", "fpc", "repweights")),
        *((phase2, k) for k in ("ids", "strata", "fpc")),
    ]:
        value = section.get(key) if isinstance(section, dict) else None
        if isinstance(value, str):
            out.add(value)
        elif isinstance(value, list):
            out.update(str(v) for v in value)
    return out


def _analysis_frame(
    ctx: _Context, table: str, group: list[_Prepared], spec: dict[str, Any] | Path
) -> tuple[pd.DataFrame, dict[int, dict[str, str]]]:
    scope = _LevelScope(ctx, table)
    flat = scope.flat
    own = set(ctx.dataset.table(table).columns) - {KEY, PARENT_KEY}
    for col in _spec_columns(spec) & own:
        if table != ctx.dataset.root and any(
            col in ctx.dataset.table(a).columns for a in ctx.dataset.metadata.ancestors(table)
        ):
            raise SurvmigError(
                f"design column {col!r} is both on table {table!r} and on an ancestor table",
                where="design",
                hint="rename one of them so the design variable is unambiguous",
            )
    extra: dict[str, np.ndarray] = {}
    renames: dict[int, dict[str, str]] = {}
    for i, p in enumerate(group):
        mapping = {}
        for name, values in p.columns.items():
            new = f"__i{i}{name}"
            extra[new] = values
            mapping[name] = new
        renames[id(p)] = mapping
    frame = pd.concat([flat.reset_index(drop=True), pd.DataFrame(extra)], axis=1)
    return frame, renames


def _load_design(spec: dict[str, Any] | Path, frame: pd.DataFrame, table: str) -> Any:
    try:
        return load_design(spec, frame)
    except SurvmigError as err:
        raise SurvmigError(
            err.message + f" (design over the rows of table {table!r})",
            file=err.file,
            line=err.line,
            where=err.where,
            hint=err.hint
            or "the design's columns must be on the household table or give design_data",
        ) from None


class _HouseholdLift:
    """Below-household estimates with a calibrated household design: each output row's numerator
    and denominator summed over the members of each household, then the ratio (or the total) of
    those household totals on the calibrated design. A member-level mean is the ratio of two
    household totals, so its linearised score summed to households is the household ratio score and
    the calibration residuals apply to it exactly (R ``svyratio`` on the household design)."""

    def __init__(
        self, ctx: _Context, spec: dict[str, Any], calibration: tuple[Any, ...], keys: pd.Series
    ) -> None:
        self.ctx, self.spec, self.calibration = ctx, spec, calibration
        self.root = ctx.flat(ctx.dataset.root).reset_index(drop=True)
        self.rows = pd.Index(self.root[KEY].astype(object)).get_indexer(keys.astype(object))

    def design(self, columns: dict[str, np.ndarray]) -> SurveyDesign:
        frame = pd.concat([self.root, pd.DataFrame(columns)], axis=1)
        des = _load_design(self.spec, frame, self.ctx.dataset.root)
        return des.with_weights(des.weights, calibration=self.calibration)

    def apply(
        self,
        out: pd.DataFrame,
        data: pd.DataFrame,
        kwargs: dict[str, Any],
        by: list[str],
        cov: list[np.ndarray] | None = None,
    ) -> pd.DataFrame:
        """``out`` with estimate, SE, CI and CV from the household design (deff rescaled); with a
        ``cov`` list, the joint covariance of ``out``'s rows is appended to it (NaN off the rows
        with an estimate)."""
        SEP = "\x1f"

        def keys(frame: pd.DataFrame, cols: list[str], head: pd.Series | str) -> pd.Series:
            k = pd.Series(head, index=frame.index).astype(str) if isinstance(head, str) else head
            k = k.astype(object).astype(str)
            for c in cols:
                k = k + SEP + frame[c].astype(object).astype(str)
            return k

        n_out = len(out)
        ok_by = data[by].notna().all(axis=1).to_numpy() if by else np.ones(len(data), bool)
        parts: list[tuple[pd.Series, pd.Series, np.ndarray, np.ndarray]] = []  # y/x keys, values
        if "prop" in kwargs:
            c = kwargs["prop"][0]
            ok = ok_by & data[c].notna().to_numpy()
            ykey = keys(data, [c, *by], c)
            xkey = keys(data, by, c)
            one = ok.astype(float)
            parts.append((ykey, xkey, one, one))
            out_y = keys(out, ["category", *by], out["variable"])
            out_x = keys(out, by, out["variable"])
        else:
            if "ratio" in kwargs:
                pairs = list(kwargs["ratio"])
            else:
                pairs = [(v, None) for v in kwargs.get("mean", kwargs.get("total", []))]
            for num, den in pairs:
                y = data[num].to_numpy(dtype=float)
                x = np.ones(len(data)) if den is None else data[den].to_numpy(dtype=float)
                ok = ok_by & ~np.isnan(y) & ~np.isnan(x)
                k = keys(data, by, num if den is None else f"{num}/{den}")
                parts.append((k, k, np.where(ok, y, 0.0), np.where(ok, x, 0.0)))
            out_y = out_x = keys(out, by, out["variable"])
        n_hh = len(self.root)
        index_y = pd.Index(out_y)
        index_x = pd.Index(pd.unique(out_x))  # the categories of a domain share its denominator
        Y, X = np.zeros((n_hh, n_out)), np.zeros((n_hh, len(index_x)))
        for ykey, xkey, yv, xv in parts:  # one pass per analysis variable, not per domain
            cy = index_y.get_indexer(ykey)
            cx = index_x.get_indexer(xkey)
            my, mx = (cy >= 0) & (yv != 0), (cx >= 0) & (xv != 0)
            np.add.at(Y, (self.rows[my], cy[my]), yv[my])
            np.add.at(X, (self.rows[mx], cx[mx]), xv[mx])
        X = X[:, index_x.get_indexer(pd.Index(out_x))]
        live = np.flatnonzero(out["estimate"].notna().to_numpy())
        cols = {f"__y{j}": Y[:, j] for j in live}
        keep = {"_keep_engine": True} if cov is not None else {}
        if "total" in kwargs:
            res = estimate(
                self.design(cols), total=list(cols), missing_codes=(), deff=False, **keep
            )
        else:
            cols.update({f"__x{j}": X[:, j] for j in live})
            res = estimate(
                self.design(cols),
                ratio=[(f"__y{j}", f"__x{j}") for j in live],
                missing_codes=(),
                deff=False,
                **keep,
            )
        if cov is not None:
            res, engine = res
            full = np.full((n_out, n_out), np.nan)
            with contextlib.suppress(_NoJoint):
                full[np.ix_(live, live)] = _joint(engine, res)
                cov.append(full)
        res = res.set_index(res["variable"].astype(str).str.split("/").str[0])
        new = out.copy()
        names = [f"__y{j}" for j in live]
        for col in ("estimate", "se", "ci_low", "ci_high", "cv"):
            new.loc[new.index[live], col] = res.loc[names, col].to_numpy(dtype=float)
        old_se = out["se"].to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = (new["se"].to_numpy(dtype=float) / old_se) ** 2
        if "deff" in new.columns:
            new["deff"] = new["deff"].to_numpy(dtype=float) * scale
        return new


def _estimate(
    design: Any,
    p: _Prepared,
    names: dict[str, str],
    level: float,
    by_all: list[str],
    ci: str,
    lift: _HouseholdLift | None = None,
    cov: list[np.ndarray] | None = None,
) -> pd.DataFrame:
    """One indicator's rows; with a ``cov`` list, their joint covariance is appended to it (rows
    in the order returned)."""
    stat = p.indicator.statistic
    by_cols = [names[f"__by_{b}"] for b in p.info.by]
    cat_col = names.get("__category")
    kwargs: dict[str, Any] = {}
    vals = [names[v] for v in p.values]
    if stat == "proportion" and p.definition.value is None and cat_col and not p.multiple:
        kwargs["prop"] = [cat_col]
        cat_by = []
    else:
        cat_by = [cat_col] if cat_col else []
        if stat == "total":
            kwargs["total"] = [names["__value"]]
        elif stat == "proportion" and ci != "t" and _has_ones(design, vals, cat_col):
            kwargs["prop"] = [v for v in vals if v != cat_col]  # logit/beta/Wilson intervals
        elif stat in ("mean", "proportion"):
            kwargs["mean"] = [v for v in vals if v != cat_col]
        elif stat == "ratio":
            kwargs["ratio"] = [(names["__value"], names["__den"])]
        elif stat == "quantile":
            kwargs["quantile"] = {names["__value"]: list(p.indicator.probs)}
    want = cov is not None and stat != "quantile"  # quantiles: Woodruff intervals, no joint form
    out = estimate(
        design,
        **kwargs,
        by=[*cat_by, *by_cols],
        level=level,
        ci=ci,
        na="drop",
        missing_codes=(),
        empty_domains="keep",
        _keep_engine=want,
    )
    joint: list[np.ndarray] = []
    fixed = False
    if want:
        out, engine = out
        with contextlib.suppress(_NoJoint):
            joint.append(_joint(engine, out))
    if lift is not None:
        if stat in ("total", "mean", "proportion", "ratio") and ci == "t":
            joint.clear()
            out = lift.apply(
                out, design.data, kwargs, [*cat_by, *by_cols], joint if cov is not None else None
            )
        else:
            joint.clear()  # SEs from the final weights as fixed: no comparison
            fixed = True
            p.info.note = " ".join(filter(None, [p.info.note, FIXED_WEIGHTS_NOTE]))
    out = out.assign(__pos=np.arange(len(out)))
    reverse = {v: k for k, v in names.items()}
    shares = "prop" in kwargs and (p.definition.value is not None or bool(p.multiple))
    if "prop" in kwargs and shares:  # 0/1 shares: the category 1 rows are the proportions
        out = out[out["category"].astype(float) == 1.0].reset_index(drop=True)
    res = pd.DataFrame({"indicator": p.indicator.id, "statistic": stat}, index=out.index)
    if "prop" in kwargs and not shares:
        res["category"] = out["category"].astype(object)
    elif cat_by:
        res["category"] = out[cat_col].astype(object)
    elif p.multiple:
        res["category"] = out["variable"].map(lambda v: p.multiple.get(reverse.get(v, ""), None))
    elif stat == "quantile" and len(p.indicator.probs) > 1:
        res["category"] = out["category"].map(lambda q: f"p{float(q) * 100:g}")
    else:
        res["category"] = None
    res["category_label"] = res["category"].map(
        lambda c: (
            None
            if c is None or (isinstance(c, float) and np.isnan(c))
            else p.category_labels.get(str(c), str(c))
        )
    )
    for b in by_all:
        col = names.get(f"__by_{b}")
        res[b] = out[col].astype(object) if col in out.columns else None
    for col in VALUE_COLUMNS:
        res[col] = out[col].to_numpy()
    order = np.arange(len(res))
    if res["category"].notna().any():  # bands in numeric order: "5-9" before "10+"
        order = np.lexsort((np.arange(len(res)), res["category"].map(_natural_key).to_numpy()))
        res = res.iloc[order].reset_index(drop=True)
    if cov is not None:
        pos = out["__pos"].to_numpy()[order]
        why = "quantile" if stat == "quantile" else "fixed_weights" if fixed else "lonely_psu"
        cov.append(joint[0][np.ix_(pos, pos)] if joint else why)
    return res


class _NoJoint(Exception):
    """The engine's joint covariance does not reproduce its SEs (a domain lonely-PSU rule)."""


def _joint(engine: Any, table: pd.DataFrame) -> np.ndarray:
    try:
        return joint_covariance(engine, table["se"].to_numpy() ** 2)
    except SurvmigError as err:
        raise _NoJoint(err.message) from None


def _has_ones(design: Any, columns: list[str], skip: str | None) -> bool:
    """Every 0/1 share column has at least one 1 (else ``prop`` would have no category 1)."""
    return all(
        bool((design.data[c].to_numpy(dtype=float) == 1.0).any()) for c in columns if c != skip
    )


def _natural_key(value: Any) -> tuple[float, str]:
    """Sort key: a leading number first (as a number), then the text."""
    text = "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)
    head = re.match(r"-?\d+(\.\d+)?", text)
    return (float(head.group()) if head else math.inf, text)


def _assemble(frames: list[pd.DataFrame], by: list[str]) -> pd.DataFrame:
    columns = [*LEAD_COLUMNS, *by, *VALUE_COLUMNS]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]
