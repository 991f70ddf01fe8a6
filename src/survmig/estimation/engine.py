"""The estimation engine: totals, means, proportions, ratios, quantiles and counts, by domain.

How it works (the DESIGN's decision 3):

1. every requested statistic, for every domain, is a smooth function of *domain totals* of a few
   per-row features (``y``, ``1[y = c]``, ``1[not missing]``…) — a mean is ``Σwy / Σw``;
2. one pass sums the weighted features to (sampling unit, domain) cells (:mod:`.reduce`);
3. the linearized score of a unit is the gradient of the statistic applied to its cell sums (R's
   ``x - mean`` scores summed to PSUs), and the variance algebra runs on those small arrays
   (:mod:`.variance`): strata, fpc, singleton rules, later stages, calibration residuals;
4. replicate designs evaluate the same functions on replicate totals, which are PSU totals times the
   replicate factors (or, for arbitrary replicate weights, one sparse product).

There is no Python loop over domains, variables or replicates.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from survmig.conventions import SPECIAL_CODES
from survmig.design.core import SurveyDesign, require_columns, show
from survmig.design.twophase import twophase_quadratic
from survmig.errors import SurvmigError
from survmig.estimation import ci as cimod
from survmig.estimation.quantiles import qrule_math, sort_segments
from survmig.estimation.reduce import Reducer, dense_group_sums, expand_by_domain, get_reducer
from survmig.estimation.variance import (
    Cells,
    calibrated_unit_scores,
    emit,
    group_sum,
    replicate_variance,
    stage_variance,
)

STATISTICS = ("mean", "total", "prop", "ratio", "quantile", "count")
NA_RULES = ("fail", "drop")
EMPTY_RULES = ("fail", "keep")
DF_RULES = ("design", "domain")
COLUMNS = (
    "statistic",
    "variable",
    "category",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "cv",
    "deff",
    "deft",
    "n",
    "weighted_n",
    "df",
)


@dataclasses.dataclass
class _Output:
    """One per-domain output: ``θ = T[num] / T[den]`` (``den < 0``: a total)."""

    statistic: str
    variable: str
    category: Any
    num: int
    den: int
    ok: int  # column of the unweighted "case counts" matrix and of the weighted features
    lin: int = -1  # Σ w y_c (deff)
    sq: int = -1  # Σ w y_c² (deff)
    quantile: tuple[int, float] | None = None  # (segment variable index, probability)
    shift: float = 0.0  # a mean is computed on y - shift (numerical safety); added back at the end
    ratio_pair: tuple[str, str] | None = None
    raw: int = -1  # Σ w y uncentred (a mean's point estimate: exact, e.g. 0 for a domain of zeros)


class _Features:
    """Per-row feature columns (unweighted) and "case" indicator columns, deduplicated by key."""

    def __init__(self) -> None:
        self.cols: list[np.ndarray] = []
        self.keys: dict[Any, int] = {}
        self.ok_cols: list[np.ndarray] = []
        self.ok_keys: dict[Any, int] = {}

    def add(self, key: Any, make: Any) -> int:
        """Register a feature: an array, or a function of a row slice (evaluated block by block,
        so derived features such as ``(y - c)^2`` never exist as whole columns)."""
        if key not in self.keys:
            self.keys[key] = len(self.cols)
            self.cols.append(make if callable(make) else _slicer(np.asarray(make)))
        return self.keys[key]

    def column(self, k: int) -> np.ndarray:
        return np.asarray(self.cols[k](slice(None)), dtype=float)

    def add_ok(self, key: Any, mask: np.ndarray) -> int:
        if key not in self.ok_keys:
            self.ok_keys[key] = len(self.ok_cols)
            self.ok_cols.append(mask)
        return self.ok_keys[key]

    def matrix(self) -> np.ndarray:
        """The unweighted features (n × K)."""
        return np.column_stack([self.column(k) for k in range(len(self.cols))])

    def weighted_matrix(self, weights: np.ndarray) -> np.ndarray:
        """``[w · features | case indicators]`` (n × (K + J)), row-major for the reduction."""
        k, j = len(self.cols), len(self.ok_cols)
        n = weights.shape[0]
        out = np.empty((n, k + j))
        # filled in row blocks that stay in cache (column writes into a row-major array are strided)
        step = 65536
        for start in range(0, n, step):
            sl = slice(start, min(n, start + step))
            block, w = out[sl], weights[sl]
            for i, col in enumerate(self.cols):
                np.multiply(col(sl), w, out=block[:, i])
            for i, col in enumerate(self.ok_cols):
                block[:, k + i] = col[sl]
        return out


def _slicer(array: np.ndarray) -> Any:
    return lambda sl: array[sl]


def _listify(value: str | Iterable[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in value]


def _missing_mask(series: pd.Series, missing_codes: Sequence[float]) -> np.ndarray:
    miss = series.isna().to_numpy().copy()
    if missing_codes:
        codes = list(missing_codes)
        if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            miss |= series.isin(codes).to_numpy()
        else:
            miss |= (
                series.astype("string")
                .isin([str(int(c)) if float(c).is_integer() else str(c) for c in codes])
                .fillna(False)
                .to_numpy(dtype=bool)
            )
    return miss


def _numeric(data: pd.DataFrame, var: str, statistic: str) -> np.ndarray:
    s = data[var]
    if pd.api.types.is_bool_dtype(s):
        return s.astype(float).to_numpy()
    if not pd.api.types.is_numeric_dtype(s):
        conv = pd.to_numeric(s, errors="coerce")
        bad = conv.isna() & s.notna()
        if bad.any():
            first = int(np.flatnonzero(bad.to_numpy())[0])
            raise SurvmigError(
                f"variable {show(var)} is not numeric (value {show(s.iloc[first])} at row {first + 1})",
                where=statistic,
                hint="use --prop for a categorical variable" if statistic != "prop" else None,
            )
        s = conv
    return s.to_numpy(dtype=float, na_value=np.nan)


def _is_factor(s: pd.Series) -> bool:
    """A categorical column, or text that is not all numbers: its total is a total per category
    (R ``svytotal(~factor)``); numbers stored as text stay a numeric total."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return True
    if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
        return False
    return bool((pd.to_numeric(s, errors="coerce").isna() & s.notna()).any())


def _category_indicators(
    s: pd.Series, ok: np.ndarray, missing_codes: Sequence[float], statistic: str
) -> list[tuple[Any, np.ndarray]]:
    """``(category, 0/1 mask)`` for each non-missing category of ``s`` (categories in order)."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        cats = [c for c in s.cat.categories if not _missing_mask(pd.Series([c]), missing_codes)[0]]
        codes = s.cat.codes.to_numpy()
        cat_codes = {c: i for i, c in enumerate(s.cat.categories)}
        out = [(c, (codes == cat_codes[c]) & ok) for c in cats]
    else:
        cats = sorted(pd.unique(s[ok]).tolist(), key=_sort_key)
        arr = s.to_numpy()
        out = [(c, (arr == c) & ok) for c in cats]
    if not out:
        raise SurvmigError(f"variable {show(s.name)} has no non-missing values", where=statistic)
    return out


class _Request:
    """The parsed request: outputs, features and the rows' domains."""

    def __init__(
        self,
        design: SurveyDesign,
        *,
        mean: list[str],
        total: list[str],
        prop: list[str],
        ratio: list[tuple[str, str]],
        quantile: dict[str, list[float]],
        count: bool,
        by: list[str],
        na: str,
        missing_codes: Sequence[float],
        empty_domains: str = "fail",
    ) -> None:
        data = design.data
        self.design = design
        self.na = na
        self.empty_domains = empty_domains
        self.missing_codes = tuple(missing_codes)
        variables = [*mean, *total, *prop, *quantile] + [v for pair in ratio for v in pair]
        require_columns(data, variables, "analysis variable")
        require_columns(data, by, "by")
        self.by = by
        self.domain, self.domain_table = self._domains(data, by)
        self.n_domains = len(self.domain_table)
        w = design.weights
        self.weights = w
        nonzero = w != 0
        self.feat = _Features()
        self.outputs: list[_Output] = []
        self._missing: dict[str, np.ndarray] = {}
        self.ok_key: dict[str, str | None] = {}
        self._all_ok: np.ndarray | None = None
        self._values: dict[str, np.ndarray] = {}
        self.quantile_vars: list[str] = []

        def ok_of(var: str) -> np.ndarray:
            if var not in self._missing:
                self._missing[var] = _missing_mask(data[var], self.missing_codes)
            miss = self._missing[var]
            if miss.any() and na == "fail":
                first = int(np.flatnonzero(miss)[0])
                nspecial = int(miss.sum() - data[var].isna().sum())
                extra = f" ({nspecial} coded -8/-9: don't know / refused)" if nspecial else ""
                raise SurvmigError(
                    f"variable {show(var)} has {int(miss.sum())} missing value(s){extra}, first at row "
                    f"{first + 1}",
                    where="missing values",
                    hint="use --na drop (na='drop' in Python) to estimate over the non-missing values, as R's na.rm=TRUE",
                )
            # variables without missing values share one "case" column
            self.ok_key[var] = var if miss.any() else None
            if self.ok_key[var] is None:
                if self._all_ok is None:
                    self._all_ok = nonzero.copy()
                return self._all_ok
            return ~miss & nonzero

        def values_of(var: str, statistic: str) -> np.ndarray:
            if var not in self._values:
                self._values[var] = _numeric(data, var, statistic)
            return self._values[var]

        self.centre: dict[str, float] = {}

        def centred(var: str, ok: np.ndarray) -> Any:
            """``y - c`` (0 where missing) as a block function; ``c`` = the unweighted mean."""
            y = values_of(var, "mean")
            if self.ok_key[var] is None:  # no missing values: no masking needed
                c = self.centre.setdefault(var, float(np.mean(y)))
                return lambda sl: y[sl] - c
            c = self.centre.setdefault(var, float(np.mean(y[ok])) if ok.any() else 0.0)
            return lambda sl: np.where(ok[sl], y[sl] - c, 0.0)

        def squared(fn: Any) -> Any:
            return lambda sl: np.square(fn(sl))

        def masked(y: np.ndarray, ok: np.ndarray) -> Any:
            return lambda sl: np.where(ok[sl], y[sl], 0.0)

        f = self.feat
        for var in mean:
            ok = ok_of(var)
            values_of(var, "mean")
            k_ok = f.add_ok(("ok", self.ok_key[var]), ok)
            cfn = centred(var, ok)
            yc = f.add(("yc", var), cfn)
            sq = f.add(("yc2", var), squared(cfn))
            den = f.add(("okw", self.ok_key[var]), ok)
            raw = f.add(("y", var), masked(values_of(var, "mean"), ok))
            self.outputs.append(
                _Output(
                    "mean", var, None, yc, den, k_ok, lin=yc, sq=sq, shift=self.centre[var], raw=raw
                )
            )
        for var in total:
            ok = ok_of(var)
            if _is_factor(data[var]):  # R svytotal(~factor): one total per category
                k_ok = f.add_ok(("ok", self.ok_key[var]), ok)
                f.add(("okw", self.ok_key[var]), ok)
                for c, ind in _category_indicators(data[var], ok, self.missing_codes, "total"):
                    num = f.add(("cat", var, c), ind)
                    self.outputs.append(_Output("total", var, c, num, -1, k_ok, lin=num, sq=num))
                continue
            y = values_of(var, "total")
            k_ok = f.add_ok(("ok", self.ok_key[var]), ok)
            num = f.add(("y", var), masked(y, ok))
            cfn = centred(var, ok)
            yc = f.add(("yc", var), cfn)
            sq = f.add(("yc2", var), squared(cfn))
            f.add(("okw", self.ok_key[var]), ok)
            self.outputs.append(_Output("total", var, None, num, -1, k_ok, lin=yc, sq=sq))
        for var in prop:
            ok = ok_of(var)
            s = data[var]
            k_ok = f.add_ok(("ok", self.ok_key[var]), ok)
            den = f.add(("okw", self.ok_key[var]), ok)
            for c, ind in _category_indicators(s, ok, self.missing_codes, "prop"):
                num = f.add(("cat", var, c), ind)
                self.outputs.append(_Output("prop", var, c, num, den, k_ok, lin=num, sq=num))
        for num_var, den_var in ratio:
            ok = ok_of(num_var) & ok_of(den_var)
            y = values_of(num_var, "ratio")
            x = values_of(den_var, "ratio")
            k_ok = f.add_ok(("ok2", num_var, den_var), ok)
            num = f.add(("ry", num_var, den_var), masked(y, ok))
            den = f.add(("rx", num_var, den_var), masked(x, ok))
            f.add(("okw2", num_var, den_var), ok)
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
            k_ok = f.add_ok(("all",), nonzero)
            num = f.add(("one",), nonzero)
            self.outputs.append(_Output("count", "", None, num, -1, k_ok))
        self.quantile_probs: list[list[float]] = []
        for var, probs in quantile.items():
            ok = ok_of(var)
            values_of(var, "quantile")
            probs = quantile_probabilities(var, probs)
            k_ok = f.add_ok(("ok", self.ok_key[var]), ok)
            f.add(("okw", self.ok_key[var]), ok)
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

    def _domains(self, data: pd.DataFrame, by: list[str]) -> tuple[np.ndarray, pd.DataFrame]:
        n = len(data)
        if not by:
            return np.zeros(n, dtype=np.int64), pd.DataFrame(index=[0])
        drop = np.zeros(n, dtype=bool)
        codes_list = []
        uniques = []
        all_levels = False  # empty categories kept: every combination of levels is a domain
        for col in by:
            s = data[col]
            miss = _missing_mask(s, self.missing_codes)  # -8/-9 are no domain either
            if miss.any():
                if self.na == "fail":
                    first = int(np.flatnonzero(miss)[0])
                    raise SurvmigError(
                        f"domain variable {show(col)} has {int(miss.sum())} missing value(s) (or -8/-9 codes), first at row "
                        f"{first + 1}",
                        where="by",
                        hint="recode the missing values as a category, or use --na drop (na='drop' in Python) to leave those rows out of every domain",
                    )
                drop |= miss
            if isinstance(s.dtype, pd.CategoricalDtype):
                codes = s.cat.codes.to_numpy()
                seen = np.bincount(codes[codes >= 0], minlength=len(s.cat.categories)) > 0
                unused = [str(c) for c in np.asarray(s.cat.categories, dtype=object)[~seen]]
                if unused and self.empty_domains != "keep":
                    raise SurvmigError(
                        f"domain variable {show(col)} has categories without cases: "
                        f"{', '.join(unused[:6])}{' …' if len(unused) > 6 else ''}",
                        where="by",
                        hint="an empty domain has no estimate; use --keep-empty (empty_domains='keep' in Python) "
                        "to report it as a row with n = 0, or drop the category from the data",
                    )
                all_levels |= bool(unused)
                c = s.cat.codes.to_numpy().astype(np.int64)
                u = np.asarray(s.cat.categories, dtype=object)
            else:
                c, u = pd.factorize(s, sort=True)
                c = c.astype(np.int64)
                u = np.asarray(u, dtype=object)
            codes_list.append(np.where(c < 0, 0, c))
            uniques.append(u)
        sizes = [len(u) for u in uniques]
        combined = codes_list[0]
        for c, size in zip(codes_list[1:], sizes[1:], strict=True):
            combined = combined * size + c
        combined = np.where(drop, -1, combined)
        keep = combined >= 0
        kept = combined[keep]
        if all_levels:  # R's svyby(drop.empty.groups = FALSE): the full cross of the levels
            levels = np.unravel_index(np.arange(int(np.prod(sizes))), sizes)
            table = pd.DataFrame(
                {col: u[idx] for col, idx, u in zip(by, levels, uniques, strict=True)}
            )
            domain = np.full(n, -1, dtype=np.int64)
            domain[keep] = kept
            return domain, table
        size = int(kept.max()) + 1 if kept.size else 0
        if size <= 10 * n + 1000:  # observed combinations, in order, without sorting the rows
            present = np.bincount(kept, minlength=size) > 0
            dom_codes = (np.cumsum(present) - 1)[kept]
            n_dom = int(present.sum())
        else:
            dom_codes, uniq = pd.factorize(kept, sort=True)
            n_dom = len(uniq)
        if n_dom == 0:
            raise SurvmigError("no row has values for the domain variables", where="by")
        domain = np.full(n, -1, dtype=np.int64)
        domain[keep] = dom_codes
        # one representative row per domain gives its by values
        first = np.zeros(n_dom, dtype=np.int64)
        rows = np.flatnonzero(keep)
        first[dom_codes[::-1]] = rows[::-1]
        table = pd.DataFrame({col: data[col].to_numpy()[first] for col in by})
        return domain, table


def quantile_probabilities(var: str, probs: Sequence[float]) -> list[float]:
    """The probabilities of a quantile request, checked (0 ≤ p ≤ 1, at least one)."""
    out = [float(p) for p in probs]
    if not out or any(not 0 <= p <= 1 for p in out):
        raise SurvmigError(
            f"quantile probabilities for {show(var)} must be between 0 and 1, got {out}",
            where="quantile",
        )
    return out


def _sort_key(value: Any) -> tuple[int, Any]:
    if isinstance(value, int | float | np.integer | np.floating | bool | np.bool_):
        return (0, float(value))
    return (1, str(value))


def request_options(
    *,
    mean: str | Sequence[str],
    total: str | Sequence[str],
    prop: str | Sequence[str],
    ratio: Sequence[tuple[str, str]] | Mapping[str, str],
    quantile: Mapping[str, Sequence[float]] | None,
    count: bool,
    by: str | Sequence[str],
    ci: str,
    level: float,
    na: str,
    missing_codes: Sequence[float],
    empty_domains: str,
) -> dict[str, Any]:
    """Checked, normalised keyword arguments of a request (shared by every engine)."""
    if ci not in cimod.CI_METHODS:
        raise SurvmigError(
            f"unknown confidence interval method {show(ci)}",
            where="ci",
            hint=f"use {', '.join(cimod.CI_METHODS)}",
        )
    if na not in NA_RULES:
        raise SurvmigError(f"unknown na rule {show(na)}", where="na", hint="use fail or drop")
    if empty_domains not in EMPTY_RULES:
        raise SurvmigError(
            f"unknown empty_domains rule {show(empty_domains)}", where="empty_domains"
        )
    if not 0 < level < 1:
        raise SurvmigError(f"level must be between 0 and 1, got {level}", where="level")
    ratio_pairs = list(ratio.items()) if isinstance(ratio, Mapping) else [tuple(p) for p in ratio]
    for pair in ratio_pairs:
        if len(pair) != 2:
            raise SurvmigError(
                f"a ratio needs a numerator and a denominator, got {show(pair)}", where="ratio"
            )
    return dict(
        mean=_listify(mean),
        total=_listify(total),
        prop=_listify(prop),
        ratio=[(str(a), str(b)) for a, b in ratio_pairs],
        quantile={str(k): list(v) for k, v in (quantile or {}).items()},
        count=count,
        by=_listify(by),
        na=na,
        missing_codes=missing_codes,
        empty_domains=empty_domains,
    )


def estimate(
    design: SurveyDesign,
    *,
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
    reducer: str | Reducer | None = None,
    df: str = "design",
    _keep_engine: bool = False,
) -> pd.DataFrame:
    """Design-based estimates with standard errors, as a tidy table (one row per statistic,
    variable, category and domain).

    ``ci`` chooses the interval for proportions (``t``, ``logit``, ``beta``, ``wilson``); other
    statistics use ``t`` with the design degrees of freedom, quantiles Woodruff intervals.
    ``na="drop"`` estimates over the non-missing values of each variable (R's ``na.rm=TRUE``: the
    missing rows form no part of the domain); values in ``missing_codes`` (-8 don't know, -9 refused)
    are missing. ``empty_domains="keep"`` returns NaN rows for a domain without cases instead of
    failing. ``deff`` adds design effects against SRS without replacement (R ``deff=TRUE``).
    ``df="domain"`` gives each domain its own degrees of freedom (its PSUs minus its strata, as
    ``degf`` of the domain's subset design, R ``svyby``'s per-domain design) for intervals; the
    default is the whole design's df.
    """
    if df not in DF_RULES:
        raise SurvmigError(f"unknown df rule {show(df)}", where="df", hint="design or domain")
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
    req = _Request(design, **spec)
    engine = _Engine(req, get_reducer(reducer), ci=ci, level=level, deff=deff, empty=empty_domains)
    engine.df_rule = df
    table = engine.run()
    if _keep_engine:
        return table, engine
    return table


@dataclasses.dataclass(frozen=True)
class _PhaseUnits:
    """The phase-2 units as the calibration residuals see a stage (row codes and their count)."""

    units: np.ndarray
    n_units_total: int


@dataclasses.dataclass(frozen=True)
class _CalibrationOnly:
    """What the calibration residuals read of a design: its records."""

    calibration: tuple[Any, ...]


def dense_unit_scores(tp: Any, cells: Cells, D: int, P: int, output_major: bool = False) -> Any:
    """Phase-2 unit scores as a dense U × (D·P) matrix (domain-major, or output-major)."""
    dense = np.zeros((tp.n_units, D, P))
    dense[cells.unit, cells.domain] = cells.scores
    if output_major:
        return dense.transpose(0, 2, 1).reshape(tp.n_units, P * D)
    return dense.reshape(tp.n_units, D * P)


class _Engine:
    def __init__(
        self, req: _Request, reducer: Reducer, *, ci: str, level: float, deff: bool, empty: str
    ) -> None:
        self.req = req
        self.reducer = reducer
        self.ci = ci
        self.level = level
        self.want_deff = deff
        self.empty = empty
        self.warn: list[str] = []
        self.df_rule = "design"
        #: what the joint (cross-domain) covariance needs, kept after run(): linearization
        #: ``("linearization", stages, cells)`` or ``("replicate", theta, theta_r)``
        self.joint: tuple[Any, ...] | None = None

    # -- the steps ---------------------------------------------------------------------------------

    def run(self) -> pd.DataFrame:
        req = self.req
        design = req.design
        self._quantile_pass()
        K = len(req.feat.cols)
        T = self._reduce()
        outs = req.outputs
        num = np.array([o.num for o in outs])
        den = np.array([o.den for o in outs])
        okc = np.array([o.ok for o in outs])
        counts = T[:, K:]
        T = T[:, :K]
        theta = self._point(T, num, den)  # (D, P)
        n_out = counts[:, okc]  # (D, P)
        wn = self._weighted_n(T, outs, req.feat.keys)
        self._check_empty(n_out, theta)
        self._check_denominators(T, den, n_out)

        # linearization coefficients: S = Σ_t coef · G[kidx]
        kidx = np.stack([num, np.where(den >= 0, den, num)], axis=1)
        kidx = np.where(kidx < 0, 0, kidx)
        with np.errstate(divide="ignore", invalid="ignore"):
            Tden = np.where(den >= 0, T[:, np.maximum(den, 0)], 1.0)
            coef = np.stack(
                [
                    np.where(den >= 0, 1.0 / Tden, 1.0),
                    np.where(den >= 0, -theta / Tden, 0.0),
                ],
                axis=2,
            )  # (D, P, 2)
        coef = np.where(np.isfinite(coef), coef, 0.0)
        if design.is_replicate:
            var = self._replicate_variance(T, theta, num, den, n_out == 0)
        else:
            var = self._linearization_variance(K, kidx, coef, okc)
        var = np.where(n_out == 0, np.nan, var)  # an empty domain (empty_domains="keep") has no SE
        se = np.sqrt(var)
        df = self._df()
        table = self._assemble(theta, se, var, n_out, wn, T, df, counts)
        emit(self.warn)
        return table

    def _reduce(self) -> np.ndarray:
        """The one pass: sums of ``[w·F | OK]`` by (unit, domain) cells, kept in ``self._base``;
        returns the domain totals (D × (K + J)). Other engines (SQL, Spark) replace this step."""
        req = self.req
        design = req.design
        D = req.n_domains
        domain = req.domain
        self._A = A = req.feat.weighted_matrix(req.weights)  # [w·F | OK]
        rep = design.replicate_weights
        if rep is None:
            base_units, n_units = design.stages[0].units, design.stages[0].n_units_total
        elif rep.factors is not None:
            base_units, n_units = rep.index, rep.factors.shape[0]
        else:
            return dense_group_sums(domain, D, A, self.reducer)
        groups, sums = self.reducer(
            np.where(domain >= 0, base_units * D + domain, -1), n_units * D, A
        )
        cell_dom = groups % D
        self._base = (groups // D, cell_dom, sums)
        return group_sum(cell_dom, D, sums)

    def _df(self) -> float | np.ndarray:
        """The whole design's df; by survey of a pooled design, each survey's own; or
        (``df="domain"``) per domain (D, 1): PSUs with cases minus strata with cases (replicate
        designs keep theirs)."""
        design = self.req.design
        survey = design.survey
        if self.df_rule == "design" and survey is not None and survey in self.req.by:
            per = design.df_by_survey()
            values = self.req.domain_table[survey].to_numpy()
            return np.array([per[v] for v in values], dtype=float)[:, None]
        if self.df_rule == "design" or design.is_replicate:
            return float(design.df)
        D = self.req.n_domains
        unit, dom, sums = self._base
        K = len(self.req.feat.cols)
        live = sums[:, K:].max(axis=1) > 0
        stage = design.stages[0]
        psus = np.bincount(dom[live], minlength=D)
        pairs = np.unique(stage.unit_stratum[unit[live]] * D + dom[live])
        strata = np.bincount(pairs % D, minlength=D)
        return (psus - strata).astype(float)[:, None]

    def _domain_rows(self) -> np.ndarray:
        """Rows of each domain's subset design (R ``nrow(subset(design, domain))``: every row of a
        calibrated design, whose subset keeps all rows), for Korn-Graubard intervals (D, 1)."""
        req = self.req
        if req.design.calibration or req.design.twophase is not None:  # R keeps every row
            return np.full((req.n_domains, 1), float(req.design.n))
        dom = req.domain[req.domain >= 0]
        return np.bincount(dom, minlength=req.n_domains).astype(float)[:, None]

    def _point(self, T: np.ndarray, num: np.ndarray, den: np.ndarray) -> np.ndarray:
        """θ = T[num] / T[den] (or T[num]); quantile placeholders get NaN."""
        with np.errstate(divide="ignore", invalid="ignore"):
            top = np.take(T, np.maximum(num, 0), axis=-1)
            bottom = np.where(den >= 0, np.take(T, np.maximum(den, 0), axis=-1), 1.0)
            # a zero denominator (a replicate's, the full sample's is an error) has no value
            out = np.where(bottom == 0, np.nan, top / bottom)
        return np.where(num >= 0, out, np.nan)

    def _weighted_n(self, T: np.ndarray, outs: list[_Output], keys: dict[Any, int]) -> np.ndarray:
        cols = []
        for o in outs:
            if o.statistic == "ratio":
                cols.append(keys[("okw2", *o.ratio_pair)])
            elif o.statistic == "count":
                cols.append(keys[("one",)])
            else:
                cols.append(keys[("okw", self.req.ok_key[o.variable])])
        return T[:, cols]

    def _check_empty(self, n_out: np.ndarray, theta: np.ndarray) -> None:
        empty = n_out == 0
        if empty.any() and self.empty == "fail":
            d, p = (int(x[0]) for x in np.nonzero(empty))
            o = self.req.outputs[p]
            dom = self._domain_label(d)
            raise SurvmigError(
                f"no cases of {show(o.variable)} for {o.statistic}{dom}",
                where="empty domain",
                hint="merge small domains, check the filter, or keep them as rows without estimates "
                "(--keep-empty; empty_domains='keep' in Python)",
            )

    def _check_denominators(self, T: np.ndarray, den: np.ndarray, n_out: np.ndarray) -> None:
        """A ratio whose denominator totals zero in a domain with cases is undefined: an error,
        not an infinite or NaN estimate."""
        ratio = np.array([o.statistic == "ratio" for o in self.req.outputs])
        if not ratio.any():
            return
        bottom = np.take(T, np.maximum(den, 0), axis=-1)
        zero = ratio[None, :] & (n_out > 0) & (bottom == 0)
        if zero.any():
            d, p = (int(x[0]) for x in np.nonzero(zero))
            num_var, den_var = self.req.outputs[p].ratio_pair or ("?", "?")
            raise SurvmigError(
                f"the denominator {show(den_var)} of the ratio {num_var}/{den_var} totals zero"
                f"{self._domain_label(d)}: the ratio is undefined",
                where="ratio",
                hint="choose a denominator that is not zero, or domains where it is not",
            )

    def _domain_label(self, d: int) -> str:
        if not self.req.by:
            return ""
        row = self.req.domain_table.iloc[d]
        return " in domain " + ", ".join(f"{c}={show(row[c])}" for c in self.req.by)

    # -- quantiles: point estimates first, then CDF features --------------------------------------

    def _quantile_pass(self) -> None:
        req = self.req
        if not req.quantile_vars:
            return
        D = req.n_domains
        data_w = req.weights
        V = len(req.quantile_vars)
        values = np.concatenate([req._values[v] for v in req.quantile_vars])
        oks = [req.feat.ok_cols[req.feat.ok_keys[("ok", req.ok_key[v])]] for v in req.quantile_vars]
        seg = np.concatenate(
            [np.where(ok & (req.domain >= 0), i * D + req.domain, -1) for i, ok in enumerate(oks)]
        )
        weights = np.tile(data_w, V)
        self.qseg = sort_segments(values, weights, seg, V * D)
        self.qhat: dict[tuple[int, float], np.ndarray] = {}
        for o in req.outputs:
            if o.quantile is None:
                continue
            qi, p = o.quantile
            segs = qi * D + np.arange(D)
            qhat = qrule_math(self.qseg, segs, np.full(D, p))
            self.qhat[o.quantile] = qhat
            var = req.quantile_vars[qi]
            y = req._values[var]
            ok = oks[qi] & (req.domain >= 0)
            below = np.zeros(y.shape[0])
            dom = np.maximum(req.domain, 0)
            below[ok] = (y[ok] <= qhat[dom[ok]]).astype(float)
            cdf = req.feat.add(("cdf", var, p), below)
            o.num = cdf
            o.den = req.feat.keys[("okw", req.ok_key[var])]

    # -- linearization ------------------------------------------------------------------------------

    def _stage_sums(self, stage: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(unit, domain, sums of ``[w·F | OK]``) of the cells of a later sampling stage."""
        D = self.req.n_domains
        st = self.req.design.stages[stage]
        codes = np.where(self.req.domain >= 0, st.units * D + self.req.domain, -1)
        groups, sums = self.reducer(codes, st.n_units_total * D, self._A)
        return groups // D, groups % D, sums

    def _stage_cells(
        self, stage: int, K: int, kidx: np.ndarray, coef: np.ndarray, okc: np.ndarray
    ) -> Cells:
        """Linearized scores summed to (unit, domain) cells of a stage (0: the first pass)."""
        unit, dom, sums = self._base if stage == 0 else self._stage_sums(stage)
        G = sums[:, :K]
        scores = np.einsum("cpt,cpt->cp", G[:, kidx], coef[dom])
        present = sums[:, K:][:, okc] > 0
        return Cells(unit, dom, scores, present)

    def _is_calibrated(self) -> bool:
        """Whether the scores take calibration residuals (the SQL engines keep their records
        outside the reduced design)."""
        return bool(self.req.design.calibration)

    def _calibrated(self, stages, cells, K, kidx, coef) -> list[Cells]:
        """Unit scores after the calibration residuals (rows in memory)."""
        req = self.req
        return calibrated_unit_scores(
            req.design,
            stages,
            cells,
            req.n_domains,
            self._A[:, :K],
            req.domain,
            kidx,
            coef,
            self.reducer,
        )

    def _linearization_variance(self, K, kidx, coef, okc) -> np.ndarray:
        req = self.req
        design = req.design
        if design.twophase is not None:
            return self._twophase_variance(K, kidx, coef, okc)
        stages = list(design.stages if design.variance == "multistage" else design.stages[:1])
        cells = [self._stage_cells(s, K, kidx, coef, okc) for s in range(len(stages))]
        if self._is_calibrated():
            cells = self._calibrated(stages, cells, K, kidx, coef)
        self.joint = ("linearization", stages, cells)
        total = np.zeros_like(coef[:, :, 0])
        for s, (st, c) in enumerate(zip(stages, cells, strict=True)):
            total = total + stage_variance(st, c, req.n_domains, design, s + 1, self.warn)
        return total

    def _twophase_variance(self, K, kidx, coef, okc) -> np.ndarray:
        """R ``twophase2var`` on the scores summed to phase-2 units (after the calibration
        residuals, which then act on both phases: calibration to population totals)."""
        req = self.req
        tp = req.design.twophase
        D = req.n_domains
        units = _PhaseUnits(tp.units, tp.n_units)
        codes = np.where(req.domain >= 0, tp.units * D + req.domain, -1)
        groups, sums = self.reducer(codes, tp.n_units * D, self._A)
        unit, dom = groups // D, groups % D
        G = sums[:, :K]
        scores = np.einsum("cpt,cpt->cp", G[:, kidx], coef[dom])
        cells = Cells(unit, dom, scores, sums[:, K:][:, okc] > 0)
        resid = None
        if req.design.calibration and tp.phase2_calibration:
            raise SurvmigError(
                "a two-phase design calibrated both to phase-1 and to population totals",
                where="calibration",
                hint="calibrate phase 2 to phase-1 totals or the design to population totals",
            )
        if req.design.calibration:
            cells = self._calibrated([units], [cells], K, kidx, coef)[0]
        elif tp.phase2_calibration:  # R: the residuals enter the phase-2 term only
            resid = self._phase2_residuals(tp, cells, K, kidx, coef)
        self.joint = ("twophase", tp, cells, resid)
        P = scores.shape[1]
        var = twophase_quadratic(tp, dense_unit_scores(tp, cells, D, P))
        if resid is not None:
            raw2 = twophase_quadratic(tp, dense_unit_scores(tp, cells, D, P), phase2_only=True)
            res2 = twophase_quadratic(tp, dense_unit_scores(tp, resid, D, P), phase2_only=True)
            var = var - raw2 + res2
        return var.reshape(D, P)

    def _phase2_residuals(self, tp, cells: Cells, K, kidx, coef) -> Cells:
        """Unit scores after the phase-2 calibration residuals, each domain's summed over the
        domain's rows only: R's ``[.twophase2`` zeroes the rows of Ď outside the domain, so the
        residuals of those rows drop out (unlike a one-phase calibrated design's)."""
        req = self.req
        D = req.n_domains
        # (unit, domain) pairs as the units of the projection; rows outside every domain apart
        pair = np.where(req.domain >= 0, tp.units * D + req.domain, tp.n_units * D)
        units = _PhaseUnits(pair, tp.n_units * D + 1)
        base = Cells(cells.unit * D + cells.domain, cells.domain, cells.scores, cells.present)
        proxy = _CalibrationOnly(tp.phase2_calibration)
        out = calibrated_unit_scores(
            proxy, [units], [base], D, self._A[:, :K], req.domain, kidx, coef, self.reducer
        )[0]
        own = (out.unit < tp.n_units * D) & (out.unit % D == out.domain)
        return Cells(out.unit[own] // D, out.domain[own], out.scores[own], out.present[own])

    # -- replicates ---------------------------------------------------------------------------------

    def _replicate_totals(self) -> np.ndarray:
        """Replicate domain totals (R, D, K): PSU cell sums times factors, or one sparse product."""
        req = self.req
        rep = req.design.replicate_weights
        D = req.n_domains
        K = len(req.feat.cols)
        if rep.factors is not None:
            unit, dom, sums = self._base
            U = rep.factors.shape[0]
            if U * D * K <= 50_000_000:  # dense unit totals: one BLAS product
                Gd = np.zeros((U, D, K))
                Gd[unit, dom] = sums[:, :K]
                Tr = rep.factors.T @ Gd.reshape(U, D * K)
            else:
                rows = np.repeat(unit, K)
                cols = (dom[:, None] * K + np.arange(K)[None, :]).ravel()
                Gs = sp.csr_matrix((sums[:, :K].ravel(), (rows, cols)), shape=(U, D * K))
                Tr = np.asarray((Gs.T @ rep.factors).T)
        else:
            Tr = self._supplied_replicate_totals()
        return Tr.reshape(-1, D, K)

    def _supplied_replicate_totals(self) -> np.ndarray:
        """``Σ_i repw_ir F_ik`` by domain (R × D·K) for supplied replicate weights."""
        req = self.req
        X = expand_by_domain(req.domain, req.n_domains, req.feat.matrix())
        return np.asarray((X.T @ req.design.replicate_weights.matrix).T)

    def _replicate_variance(self, T, theta, num, den, empty) -> np.ndarray:
        rep = self.req.design.replicate_weights
        theta_r = self._point(self._replicate_totals(), num, den)  # (R, D, P)
        theta_r = np.where(empty, 0.0, theta_r)  # kept empty domains: no SE, no replicate warning
        self.joint = ("replicate", theta, theta_r)
        return replicate_variance(theta, theta_r, rep.scale, rep.rscales, rep.mse, self.warn)

    # -- assembling the table -----------------------------------------------------------------------

    def _deff(self, theta, var, n_out, wn, T) -> np.ndarray:
        outs = self.req.outputs
        D = theta.shape[0]
        res = np.full((D, len(outs)), np.nan)
        if not self.want_deff:
            return res
        with np.errstate(divide="ignore", invalid="ignore"):
            for j, o in enumerate(outs):  # a few arithmetic lines per requested statistic
                if o.statistic in ("mean", "total", "prop"):
                    N = wn[:, j]
                    n = n_out[:, j]
                    s1 = T[:, o.lin]
                    s2 = T[:, o.sq]
                    svyvar = n / (n - 1) * (s2 - s1 * s1 / N) / N
                    if o.statistic == "total":
                        vsrs = svyvar * N * N * (N - n) / (N * n)
                    else:
                        vsrs = np.where(n > N, np.nan, svyvar * (N - n) / (N * n))
                    res[:, j] = np.where(n > 1, var[:, j] / vsrs, np.nan)  # R: one case, NaN
            ratios = [j for j, o in enumerate(outs) if o.statistic == "ratio"]
            if ratios:
                res[:, ratios] = var[:, ratios] / self._ratio_vsrs(theta, n_out, wn, T, ratios)
        # a variable constant within the domain has no SRS variance: its design effect is not
        # defined (R prints Inf); it is left blank rather than shown as an infinite deff
        return np.where(np.isinf(res), np.nan, res)

    def _residual_sums(self, theta: np.ndarray, ratios: list[int]) -> np.ndarray:
        """``[Σ w e, Σ w e²]`` by domain for each ratio's residual ``e = y - θ_d x`` (D × 2·len)."""
        req = self.req
        dom = np.maximum(req.domain, 0)
        cols = []
        for j in ratios:  # the residual features of each requested ratio (a per-statistic list)
            o = req.outputs[j]
            y = req.feat.column(o.num)
            x = req.feat.column(o.den)
            e = np.where(req.domain >= 0, y - theta[dom, j] * x, 0.0)
            cols += [e, e * e]
        return dense_group_sums(
            req.domain, req.n_domains, np.column_stack(cols) * req.weights[:, None], self.reducer
        )

    def _ratio_vsrs(self, theta, n_out, wn, T, ratios) -> np.ndarray:
        """SRS variance of a ratio: R's ``deff(svytotal(r))`` with ``r = (y - R x) / X``."""
        req = self.req
        E = self._residual_sums(theta, ratios)
        s1, s2 = E[:, 0::2], E[:, 1::2]
        N = wn[:, ratios]
        n = n_out[:, ratios]
        X = T[:, [req.outputs[j].den for j in ratios]]
        svyvar = n / (n - 1) * (s2 - s1 * s1 / N) / N / (X * X)
        return svyvar * N * N * (N - n) / (N * n)

    def _assemble(self, theta, se, var, n_out, wn, T, df, counts) -> pd.DataFrame:
        req = self.req
        outs = req.outputs
        D = req.n_domains
        P = len(outs)
        estimate = theta + np.array([o.shift for o in outs])[None, :]
        raw = [j for j, o in enumerate(outs) if o.raw >= 0]
        if raw:  # Σwy / Σw as R computes it: exact for constant domains (0, not -3e-16)
            with np.errstate(divide="ignore", invalid="ignore"):
                exact = T[:, [outs[j].raw for j in raw]] / T[:, [outs[j].den for j in raw]]
            estimate[:, raw] = np.where(np.isfinite(exact), exact, estimate[:, raw])
        lo, hi = cimod.ci_t(estimate, se, df, self.level)
        stat = np.array([o.statistic for o in outs])
        is_prop = stat == "prop"
        if self.ci != "t" and is_prop.any():
            p, s = theta[:, is_prop], se[:, is_prop]
            if self.ci == "logit":
                l2, h2 = cimod.ci_logit(p, s, df, self.level)
            elif self.ci == "beta":
                l2, h2 = cimod.ci_beta(p, s, self._domain_rows(), df, self.level)
            else:
                l2, h2 = cimod.ci_wilson(p, s, df, self.level)
            lo[:, is_prop], hi[:, is_prop] = l2, h2
        deff = self._deff(theta, var, n_out, wn, T)
        # quantiles: Woodruff intervals from the CDF estimate and its SE
        is_q = stat == "quantile"
        if is_q.any():
            t = cimod.t_quantile(1 - (1 - self.level) / 2, df)
            cdf_lo, cdf_hi = lo[:, is_q], hi[:, is_q]
            cdf_lo = np.where(np.isnan(cdf_lo) | (cdf_lo < 0), np.nan, cdf_lo)
            cdf_hi = np.where(np.isnan(cdf_hi) | (cdf_hi > 1), np.nan, cdf_hi)
            qi = np.array([o.quantile[0] for o in outs if o.quantile is not None])
            segs = (qi[None, :] * D + np.arange(D)[:, None]).ravel()
            q_lo = qrule_math(self.qseg, segs, cdf_lo.ravel()).reshape(D, -1)
            q_hi = qrule_math(self.qseg, segs, cdf_hi.ravel()).reshape(D, -1)
            qhat = np.column_stack([self.qhat[o.quantile] for o in outs if o.quantile is not None])
            estimate[:, is_q] = qhat
            lo[:, is_q], hi[:, is_q] = q_lo, q_hi
            se[:, is_q] = (q_hi - q_lo) / (2 * t)
            deff[:, is_q] = np.nan
        with np.errstate(divide="ignore", invalid="ignore"):
            cv = se / np.abs(estimate)
        frame: dict[str, Any] = {
            "statistic": np.repeat(stat, D),
            "variable": np.repeat([o.variable for o in outs], D),
            "category": np.repeat(
                np.array([None if o.category is None else o.category for o in outs], dtype=object),
                D,
            ),
        }
        for col in req.by:
            frame[col] = np.tile(req.domain_table[col].to_numpy(), P)
        order = lambda a: a.T.ravel()  # noqa: E731  (outputs major, domains minor)
        frame.update(
            estimate=order(estimate),
            se=order(se),
            ci_low=order(lo),
            ci_high=order(hi),
            cv=order(cv),
            deff=order(deff),
            deft=np.sqrt(order(deff)),
            n=order(n_out).astype(np.int64),
            weighted_n=order(wn),
            df=order(np.broadcast_to(np.asarray(df, dtype=float), (D, P))),
        )
        out = pd.DataFrame(frame)
        out["category"] = out["category"].astype(object)
        return out
