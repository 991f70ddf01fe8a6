"""The survey design: who was sampled how, and with which weights.

A :class:`SurveyDesign` is immutable. It holds the data frame (not copied: do not modify it afterwards),
the analysis weights and either

* a *linearization* structure — strata and sampling units per stage, the number of sampled units per
  stratum and the finite population corrections — built exactly as R ``survey``'s ``svydesign`` builds
  it (stage-2 ids are nested in stage-1 ids, later-stage strata in the enclosing unit, ``nest`` makes
  PSU ids unique within strata), or
* *replicate weights* with their variance constants (``scale``, ``rscales``, ``mse``), supplied or
  created from a linearization design (:meth:`SurveyDesign.to_replicate`).

Calibration records (:mod:`survmig.design.calibration`) ride along so that linearization variances
use calibration residuals.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from survmig.design.calibration import Calibration, GregCalibration, PostStratification, Raking
from survmig.design.twophase import TwoPhase
from survmig.errors import (
    SurvmigError,
    SurvmigWarning,
    show,  # noqa: F401 - re-exported for the stages
)

LONELY_PSU_RULES = ("fail", "remove", "certainty", "adjust", "average")
REPLICATE_TYPES = ("JK1", "JKn", "BRR", "Fay", "bootstrap", "successive-difference", "other")
CREATED_REPLICATE_TYPES = ("JK1", "JKn", "BRR", "Fay", "bootstrap")
VARIANCE_METHODS = ("ultimate", "multistage")


# ----------------------------------------------------------------------------------------------
# small helpers shared with the estimation engine
# ----------------------------------------------------------------------------------------------


def factorize(values: Any) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes 0..k-1 (sorted by value; -1 for missing) and the unique values."""
    codes, uniques = pd.factorize(
        pd.Series(values) if not isinstance(values, pd.Series) else values, sort=True
    )
    return codes.astype(np.int64, copy=False), np.asarray(uniques)


def combine_codes(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Codes of the interaction of two code vectors (both without missing values)."""
    nb = int(b.max()) + 1 if b.size else 1
    codes, _ = pd.factorize(a * nb + b, sort=True)
    return codes.astype(np.int64, copy=False)


def _readonly(arr: np.ndarray) -> np.ndarray:
    arr.setflags(write=False)
    return arr


def _as_list(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [] if value.strip() in ("", "1") else [value]
    return [str(v) for v in value]


def _row_label(data: pd.DataFrame, pos: int) -> str:
    return f"row {pos + 1}" + (
        f" (index {show(data.index[pos])})" if not isinstance(data.index, pd.RangeIndex) else ""
    )


def require_columns(data: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    """Fail with the closest column names when a design or analysis column is absent."""
    for col in columns:
        if col not in data.columns:
            close = difflib.get_close_matches(str(col), [str(c) for c in data.columns], n=3)
            raise SurvmigError(
                f"column {show(col)} is not in the data",
                where=what,
                hint=(f"did you mean {', '.join(map(show, close))}?" if close else None)
                or f"the data has columns {', '.join(map(str, list(data.columns)[:12]))}"
                + ("…" if len(data.columns) > 12 else ""),
            )


def _no_missing(data: pd.DataFrame, col: str, what: str) -> pd.Series:
    values = data[col]
    miss = values.isna().to_numpy()
    if miss.any():
        first = int(np.flatnonzero(miss)[0])
        raise SurvmigError(
            f"{what} column {show(col)} has {int(miss.sum())} missing value(s), first at "
            f"{_row_label(data, first)}",
            where=what,
            hint="every row needs its design variables; fix or remove those rows explicitly",
        )
    return values


def numeric_column(data: pd.DataFrame, col: str, what: str) -> np.ndarray:
    """A design column as float64, with a message naming the column when it is not numeric."""
    values = _no_missing(data, col, what)
    try:
        arr = pd.to_numeric(values, errors="raise").to_numpy(dtype=float)
    except (ValueError, TypeError) as exc:
        bad = pd.to_numeric(values, errors="coerce").isna().to_numpy()
        first = int(np.flatnonzero(bad)[0]) if bad.any() else 0
        raise SurvmigError(
            f"{what} column {show(col)} is not numeric (value {show(values.iloc[first])} at "
            f"{_row_label(data, first)})",
            where=what,
        ) from exc
    if not np.all(np.isfinite(arr)):
        first = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise SurvmigError(
            f"{what} column {show(col)} has an infinite value at {_row_label(data, first)}",
            where=what,
        )
    return arr


def check_weights(weights: np.ndarray, what: str, data: pd.DataFrame | None = None) -> None:
    """Zero, negative or non-finite sampling weights are errors (naming the first bad row)."""
    bad = ~np.isfinite(weights) | (weights <= 0)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        where = _row_label(data, first) if data is not None else f"row {first + 1}"
        raise SurvmigError(
            f"{int(bad.sum())} zero, negative or missing {what}, first {show(weights[first])} at {where}",
            where=what,
            hint="sampling weights must be positive; drop out-of-scope rows or fix the weights",
        )


# ----------------------------------------------------------------------------------------------
# structures
# ----------------------------------------------------------------------------------------------


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


@dataclasses.dataclass(frozen=True, eq=False)
class ReplicateWeights:
    """Replicate weights and the constants of ``v = scale * Σ rscales (θ_r - θ̄)²``.

    Either ``matrix`` (n × R analysis weights) or, for replicates created from a linearization design,
    ``factors`` (units × R) with ``index`` (n,) mapping rows to units — replicate weights are then
    ``weights[:, None] * factors[index]`` and the engine never materialises the n × R matrix.
    """

    type: str
    scale: float
    rscales: np.ndarray
    mse: bool
    rho: float | None = None
    matrix: np.ndarray | None = None
    factors: np.ndarray | None = None
    index: np.ndarray | None = None
    df: int | None = None

    @property
    def n_replicates(self) -> int:
        return int(self.rscales.shape[0])


# ----------------------------------------------------------------------------------------------
# the design
# ----------------------------------------------------------------------------------------------


class SurveyDesign:
    """An immutable complex-survey design over a data frame.

    Build it from columns (as R ``svydesign``)::

        SurveyDesign(df, ids=["ea", "hh"], strata="region", weights="wt", fpc=["n_ea", "n_hh"],
                     nest=True, lonely_psu="fail")

    ``ids`` are the cluster ids per stage (``None`` or ``[]``: each row is its own unit), ``strata``
    the first-stage strata (or one column per stage), ``weights`` a column (or array) of sampling
    weights or ``probs`` the selection probabilities per stage (multiplied). Without either, weights
    come from the fpc as ``Π N/n``. ``fpc`` gives per stage the population size or the sampling
    fraction. ``lonely_psu`` is R's ``survey.lonely.psu`` rule and ``lonely_psu_domain`` R's
    ``survey.adjust.domain.lonely`` (apply the rule to strata with one PSU *inside a domain*).
    ``variance="ultimate"`` (default) uses the first stage only; ``"multistage"`` adds the later
    stages' contributions when fpcs are given for every stage (R's default when fpcs are given).
    """

    __slots__ = (
        "_data",
        "_weights",
        "_ids",
        "_strata_cols",
        "_fpc_cols",
        "_nest",
        "_lonely_psu",
        "_lonely_psu_domain",
        "_variance",
        "_stages",
        "_replicates",
        "_calibration",
        "_twophase",
        "_weights_source",
        "_survey",
        "_weights_note",
        "_cache",
    )

    # -- construction --------------------------------------------------------------------------

    def __init__(
        self,
        data: pd.DataFrame,
        ids: str | Sequence[str] | None = None,
        strata: str | Sequence[str] | None = None,
        weights: str | np.ndarray | pd.Series | None = None,
        probs: str | Sequence[str] | None = None,
        fpc: str | Sequence[str] | None = None,
        nest: bool = False,
        lonely_psu: str = "fail",
        lonely_psu_domain: bool = False,
        variance: str = "ultimate",
        survey: str | None = None,
        phase2: dict[str, Any] | None = None,
    ) -> None:
        if not isinstance(data, pd.DataFrame):
            raise SurvmigError("the design needs a pandas DataFrame", where="design")
        _check_choice(lonely_psu, LONELY_PSU_RULES, "lonely_psu")
        _check_choice(variance, VARIANCE_METHODS, "variance")
        if len(data) == 0:
            raise SurvmigError("the data has no rows", where="design")
        id_cols = _as_list(ids)
        strata_cols = _as_list(strata)
        if survey is not None:  # pooled surveys: strata and PSUs nested within each survey
            from survmig.design.pooled import nest_within_survey

            data, id_cols, strata_cols = nest_within_survey(
                data, survey, id_cols, strata_cols, lonely_psu
            )
        fpc_cols = _as_list(fpc)
        prob_cols = _as_list(probs)
        require_columns(data, id_cols, "ids")
        require_columns(data, strata_cols, "strata")
        require_columns(data, fpc_cols, "fpc")
        require_columns(data, prob_cols, "probs")
        if weights is not None and probs is not None and phase2 is None:
            raise SurvmigError("give weights or probs, not both", where="design")
        n_stages = max(len(id_cols), 1)
        if len(strata_cols) > n_stages:
            raise SurvmigError(
                f"{len(strata_cols)} strata columns for {n_stages} stage(s)", where="strata"
            )
        if len(fpc_cols) > n_stages:
            raise SurvmigError(f"{len(fpc_cols)} fpc columns for {n_stages} stage(s)", where="fpc")
        if variance == "multistage" and len(fpc_cols) != n_stages:
            raise SurvmigError(
                "multistage variance needs an fpc for every stage",
                where="variance",
                hint=f"give {n_stages} fpc columns or use variance: ultimate",
            )

        stages = _build_stages(data, id_cols, strata_cols, fpc_cols, nest)
        twophase = None
        if phase2 is not None:
            twophase, p1 = _phase2(data, phase2, stages, id_cols, prob_cols, fpc_cols, variance)
            if weights is None:  # R's twophase2: 1 / (π₁ · n₂ₖ / N₂ₖ)
                weights = 1.0 / (p1 * twophase.prob2)
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
        check_weights(w, "weights", data)

        self._init(
            data=data,
            weights=_readonly(w),
            ids=tuple(id_cols),
            strata_cols=tuple(strata_cols),
            fpc_cols=tuple(fpc_cols),
            nest=bool(nest),
            lonely_psu=lonely_psu,
            lonely_psu_domain=bool(lonely_psu_domain),
            variance=variance,
            stages=tuple(stages),
            replicates=None,
            calibration=(),
            weights_source=source,
            survey=survey,
            weights_note=None,
            twophase=twophase,
        )

    def _init(self, **parts: Any) -> None:
        for key, value in parts.items():
            object.__setattr__(self, "_" + key, value)
        object.__setattr__(self, "_cache", {})  # derived values (df), never part of the identity

    @classmethod
    def _from_parts(cls, **parts: Any) -> SurveyDesign:
        obj = cls.__new__(cls)
        obj._init(**parts)
        return obj

    def _parts(self) -> dict[str, Any]:
        return {name[1:]: getattr(self, name) for name in self.__slots__ if name != "_cache"}

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("SurveyDesign is immutable; use with_weights() or subset()")

    @classmethod
    def replicate(
        cls,
        data: pd.DataFrame,
        repweights: str | Sequence[str],
        type: str,
        *,
        weights: str | np.ndarray | None = None,
        rho: float | None = None,
        scale: float | None = None,
        rscales: float | Sequence[float] | None = None,
        mse: bool = False,
        combined_weights: bool = True,
        replicates: int | None = None,
        df: int | None = None,
    ) -> SurveyDesign:
        """A design with supplied replicate weights (R ``svrepdesign``).

        ``repweights`` is a list of columns or a regular expression matched against column names
        (``re.search``, as R's ``grep``). ``combined_weights=False`` means the columns are replicate
        *factors* to be multiplied by ``weights``. Defaults follow R: JK1 ``scale=(R-1)/R``; JKn
        needs ``rscales``; BRR ``scale=1/R``; Fay ``1/(R(1-rho)^2)``; bootstrap ``1/(R-1)``;
        successive-difference ``4/R``; other ``scale`` and ``rscales`` (default 1). ``replicates``,
        when given, is checked against the number of columns found.
        """
        if not isinstance(data, pd.DataFrame):
            raise SurvmigError("the design needs a pandas DataFrame", where="design")
        _check_choice(type, REPLICATE_TYPES, "replicate type")
        if isinstance(repweights, str):
            try:
                pattern = re.compile(repweights)
            except re.error as exc:
                raise SurvmigError(
                    f"repweights pattern {show(repweights)} is not a valid regular expression: {exc}",
                    where="repweights",
                ) from exc
            cols = [str(c) for c in data.columns if pattern.search(str(c))]
            if weights is not None and isinstance(weights, str):
                cols = [c for c in cols if c != weights]
            if not cols:
                raise SurvmigError(
                    f"no column matches the repweights pattern {show(repweights)}",
                    where="repweights",
                )
        else:
            cols = [str(c) for c in repweights]
            require_columns(data, cols, "repweights")
        n_rep = len(cols)
        if replicates is not None and int(replicates) != n_rep:
            raise SurvmigError(
                f"expected {int(replicates)} replicate weight columns, found {n_rep}",
                where="repweights",
                hint="check the pattern or the column list",
            )
        if n_rep < 2:
            raise SurvmigError(
                "a replicate design needs at least two replicates", where="repweights"
            )
        mat = np.empty((len(data), n_rep), dtype=float)
        for j, col in enumerate(cols):
            mat[:, j] = numeric_column(data, col, "repweights")
        if weights is None:
            raise SurvmigError(
                "a replicate design needs the full-sample weights",
                where="weights",
                hint="give the column of the full-sample (analysis) weights",
            )
        if isinstance(weights, str):
            require_columns(data, [weights], "weights")
            w = numeric_column(data, weights, "weights")
        else:
            w = np.asarray(weights, dtype=float).copy()
        check_weights(w, "weights", data)
        if not combined_weights:
            raw_max = mat.max(axis=0)
            mat = mat * w[:, None]
        if (mat < 0).any():
            raise SurvmigError("replicate weights must not be negative", where="repweights")

        if rscales is not None:
            rs = np.broadcast_to(np.asarray(rscales, dtype=float), (n_rep,)).copy()
            if np.ndim(rscales) and len(np.atleast_1d(rscales)) not in (1, n_rep):
                raise SurvmigError(
                    f"rscales has {len(np.atleast_1d(rscales))} values for {n_rep} replicates",
                    where="rscales",
                )
        else:
            rs = None
        if type == "Fay" and rho is None:
            raise SurvmigError("Fay replicate weights need rho", where="rho")
        if type == "BRR":
            scale_, rs = 1.0 / n_rep, np.ones(n_rep) if rs is None else rs
        elif type == "Fay":
            scale_, rs = 1.0 / (n_rep * (1 - float(rho)) ** 2), np.ones(n_rep) if rs is None else rs
        elif type == "bootstrap":
            scale_ = 1.0 / (n_rep - 1) if scale is None else float(scale)
            rs = np.ones(n_rep) if rs is None else rs
        elif type == "JK1":
            scale_ = (n_rep - 1) / n_rep if scale is None else float(scale)
            rs = np.ones(n_rep) if rs is None else rs
        elif type == "JKn":
            if rs is None:
                if combined_weights:
                    raise SurvmigError(
                        "JKn replicate weights need rscales ((n_h - 1) / n_h per replicate)",
                        where="rscales",
                    )
                warnings.warn(
                    "rscales not given: taken as 1 / max(replicate factor) per replicate, as R does",
                    SurvmigWarning,
                    stacklevel=2,
                )
                rs = 1.0 / raw_max
            scale_ = 1.0 if scale is None else float(scale)
        elif type == "successive-difference":
            scale_, rs = 4.0 / n_rep, np.ones(n_rep)
        else:  # other
            scale_ = 1.0 if scale is None else float(scale)
            rs = np.ones(n_rep) if rs is None else rs
        rep = ReplicateWeights(
            type=type,
            scale=float(scale_),
            rscales=_readonly(np.asarray(rs, dtype=float)),
            mse=bool(mse),
            rho=None if rho is None else float(rho),
            matrix=_readonly(mat),
            df=None if df is None else int(df),
        )
        return cls._from_parts(
            data=data,
            weights=_readonly(w),
            ids=(),
            strata_cols=(),
            fpc_cols=(),
            nest=False,
            lonely_psu="fail",
            lonely_psu_domain=False,
            variance="ultimate",
            stages=(),
            replicates=rep,
            calibration=(),
            twophase=None,
            weights_source=weights if isinstance(weights, str) else None,
            survey=None,
            weights_note=None,
        )

    # -- public properties -----------------------------------------------------------------------

    @property
    def data(self) -> pd.DataFrame:
        return self._data

    @property
    def weights(self) -> np.ndarray:
        """Analysis (full-sample) weights, shape (n,)."""
        return self._weights

    @property
    def n(self) -> int:
        return int(self._weights.shape[0])

    @property
    def is_replicate(self) -> bool:
        return self._replicates is not None

    @property
    def replicate_weights(self) -> ReplicateWeights | None:
        return self._replicates

    @property
    def repweights(self) -> np.ndarray | None:
        """Replicate analysis weights (n × R), or ``None`` for a linearization design.

        For replicates created by :meth:`to_replicate` this materialises ``n × R`` floats.
        """
        rep = self._replicates
        if rep is None:
            return None
        if rep.matrix is not None:
            return rep.matrix
        out = np.empty((self.n, rep.n_replicates))
        self.write_repweights(out)
        return out

    def write_repweights(self, out: np.ndarray, chunk: int = 65536) -> None:
        """Write the replicate analysis weights into ``out`` (n × R, e.g. columns of a larger
        matrix) block by block: no n × R temporary besides ``out`` itself."""
        rep = self._replicates
        if rep is None:
            raise SurvmigError("a linearization design has no replicate weights", where="design")
        if rep.matrix is not None:
            out[...] = rep.matrix
            return
        for start in range(0, self.n, chunk):
            sl = slice(start, min(self.n, start + chunk))
            np.multiply(self._weights[sl, None], rep.factors[rep.index[sl]], out=out[sl])

    @property
    def stages(self) -> tuple[Stage, ...]:
        return self._stages

    @property
    def calibration(self) -> tuple[Calibration, ...]:
        return self._calibration

    @property
    def twophase(self) -> TwoPhase | None:
        """The phase-2 structure of a two-phase design (R ``twophase``), or ``None``."""
        return self._twophase

    @property
    def lonely_psu(self) -> str:
        return self._lonely_psu

    @property
    def lonely_psu_domain(self) -> bool:
        return self._lonely_psu_domain

    @property
    def variance(self) -> str:
        return self._variance

    @property
    def ids(self) -> tuple[str, ...]:
        return self._ids

    @property
    def strata(self) -> tuple[str, ...]:
        return self._strata_cols

    @property
    def fpc(self) -> tuple[str, ...]:
        return self._fpc_cols

    @property
    def nest(self) -> bool:
        return self._nest

    @property
    def weights_column(self) -> str | None:
        """The data column the weights came from, if any."""
        return self._weights_source

    @property
    def weights_note(self) -> str | None:
        """Why the SEs of this design treat (some of) its weight adjustments as fixed, if known
        (set by :meth:`with_weights_note`, e.g. from the design file ``survmig weight`` wrote)."""
        return self._weights_note

    def with_weights_note(self, note: str | None) -> SurveyDesign:
        """The same design saying which weight adjustments its SEs treat as fixed."""
        parts = self._parts()
        parts["weights_note"] = note
        return SurveyDesign._from_parts(**parts)

    @property
    def df(self) -> int:
        """Design degrees of freedom: PSUs minus strata (linearization, as R ``degf``) or the rank of
        the replicate weights minus one (replicates)."""
        if "df" not in self._cache:
            self._cache["df"] = self._degrees_of_freedom()
        return self._cache["df"]

    def _degrees_of_freedom(self) -> int:
        rep = self._replicates
        if rep is not None:
            if rep.df is not None:
                return rep.df
            from survmig.design.replicates import replicate_rank

            return replicate_rank(self) - 1
        st = self._stages[0]
        inset = self._weights != 0
        units = int((np.bincount(st.units[inset], minlength=st.n_units_total) > 0).sum())
        strata = int((np.bincount(st.strata[inset], minlength=st.n_strata) > 0).sum())
        return units - strata

    @property
    def survey(self) -> str | None:
        """The column of a pooled file within which strata and PSUs are nested (or ``None``)."""
        return self._survey

    def df_by_survey(self) -> dict[Any, int]:
        """Degrees of freedom of each survey of a pooled design (its PSUs minus its strata)."""
        st = self._stages[0]
        inset = self._weights != 0
        frame = pd.DataFrame(
            {
                "s": self._data[self._survey].to_numpy()[inset],
                "u": st.units[inset],
                "h": st.strata[inset],
            }
        )
        counts = frame.groupby("s", sort=False).nunique()
        return {k: int(v) for k, v in (counts["u"] - counts["h"]).items()}

    @property
    def n_psu(self) -> int | None:
        return self._stages[0].n_units_total if self._stages else None

    @property
    def n_strata(self) -> int | None:
        return self._stages[0].n_strata if self._stages else None

    def __repr__(self) -> str:
        if self._replicates is not None:
            r = self._replicates
            return (
                f"<SurveyDesign replicate type={r.type} replicates={r.n_replicates} n={self.n} "
                f"scale={r.scale:.6g} mse={r.mse}>"
            )
        st = self._stages[0]
        return (
            f"<SurveyDesign n={self.n} stages={len(self._stages)} strata={st.n_strata} "
            f"psu={st.n_units_total} fpc={'yes' if self._fpc_cols else 'no'} "
            f"lonely_psu={self._lonely_psu} calibration={len(self._calibration)}>"
        )

    def describe(self) -> str:
        """A readable one-line description (for reports and output metadata)."""
        w = f"weights {self._weights_source}" if self._weights_source else "weights given"
        if self._replicates is not None:
            r = self._replicates
            return (
                f"replicate-weight design ({r.type}, {r.n_replicates} replicates, "
                f"scale {r.scale:.6g}{', mse' if r.mse else ''}): {self.n} rows, {w}"
            )
        st = self._stages[0]
        parts = [f"{self.n} rows"]
        parts.append(
            f"{st.n_strata} strata ({', '.join(self._strata_cols)})"
            if self._strata_cols
            else "unstratified"
        )
        parts.append(
            f"{st.n_units_total} PSUs ({self._ids[0]})"
            + (f", {len(self._ids)} stages ({', '.join(self._ids)})" if len(self._ids) > 1 else "")
            if self._ids
            else "rows sampled directly"
        )
        parts.append(w)
        if self._fpc_cols:
            parts.append(f"fpc {', '.join(self._fpc_cols)}")
        parts.append(f"lonely PSU rule {self._lonely_psu}")
        if self._calibration:
            parts.append(f"{len(self._calibration)} calibration step(s)")
        if self._twophase is not None:
            parts.append(self._twophase.describe())
        return "linearization design: " + "; ".join(parts)

    # -- derived designs -------------------------------------------------------------------------

    def with_weights(
        self,
        weights: np.ndarray | pd.Series,
        repweights: np.ndarray | None = None,
        calibration: Calibration | Sequence[Calibration] | None = None,
        *,
        copy: bool = True,
    ) -> SurveyDesign:
        """The same design with adjusted weights (what each weighting step returns).

        ``repweights`` (n × R) replaces the replicate weights of a replicate design; when omitted,
        each row's replicate weights are rescaled by ``new / old`` weight (the replicate *factors*
        are kept — correct only if the adjustment is not redone per replicate). ``calibration``:
        ``None`` keeps the records, one record is appended, a sequence replaces them all. A
        :class:`GregCalibration` without ``weights`` gets ``new_weights / qr_weights`` (R's
        ``g * whalf``). ``copy=False`` takes a float64 ``repweights`` as it is (made read-only)
        instead of copying it: the weighting pipeline hands over its own matrix.
        """
        w = np.asarray(weights, dtype=float).copy()
        if w.shape != (self.n,):
            raise SurvmigError(
                f"new weights have shape {w.shape}, the design has {self.n} rows", where="weights"
            )
        if not np.all(np.isfinite(w)):
            raise SurvmigError("new weights have missing or infinite values", where="weights")
        parts = self._parts()
        if not np.array_equal(w, self._weights):  # the same weights keep their column's name
            parts["weights_source"] = None
        parts["weights"] = _readonly(w)
        rep = self._replicates
        if repweights is not None:
            if rep is None:
                raise SurvmigError(
                    "replicate weights given for a linearization design",
                    where="repweights",
                    hint="convert it first with to_replicate()",
                )
            mat = np.asarray(repweights, dtype=float)
            if mat.shape != (self.n, rep.n_replicates):
                raise SurvmigError(
                    f"replicate weights have shape {mat.shape}, expected "
                    f"({self.n}, {rep.n_replicates})",
                    where="repweights",
                )
            if not np.all(np.isfinite(mat)):
                raise SurvmigError(
                    "replicate weights have missing or infinite values", where="repweights"
                )
            owned = mat if not copy and mat.dtype == np.float64 else np.array(mat, dtype=float)
            parts["replicates"] = dataclasses.replace(
                rep, matrix=_readonly(owned), factors=None, index=None
            )
        elif rep is not None and rep.matrix is not None:
            with np.errstate(invalid="ignore", divide="ignore"):
                ratio = np.where(self._weights != 0, w / self._weights, 0.0)
            parts["replicates"] = dataclasses.replace(
                rep, matrix=_readonly(rep.matrix * ratio[:, None])
            )
        if calibration is not None:
            if isinstance(calibration, GregCalibration | PostStratification | Raking):
                records = (*self._calibration, calibration)
            else:
                records = tuple(calibration)
            fixed = []
            for rec in records:
                if rec.n != self.n:
                    raise SurvmigError(
                        f"a calibration record covers {rec.n} rows, the design has {self.n}",
                        where="calibration",
                    )
                if isinstance(rec, GregCalibration) and rec.weights is None:
                    # g * whalf; a unit with zero weight before calibration keeps zero (not 0/0)
                    g_whalf = np.divide(
                        w, rec.qr_weights, out=np.zeros_like(w), where=rec.qr_weights != 0
                    )
                    rec = dataclasses.replace(rec, weights=g_whalf)
                fixed.append(rec)
            if fixed and rep is not None:
                raise SurvmigError(
                    "calibration records apply to linearization designs only",
                    where="calibration",
                    hint="replicate designs carry the adjustment in the replicate weights",
                )
            parts["calibration"] = tuple(fixed)
        return SurveyDesign._from_parts(**parts)

    def with_columns(self, columns: dict[str, np.ndarray]) -> SurveyDesign:
        """The same design over its data plus ``columns`` (one value per row): derived analysis
        variables such as a model's influence functions, without rebuilding the design."""
        parts = self._parts()
        extra = pd.DataFrame(columns, index=self._data.index)
        clash = [c for c in extra.columns if c in self._data.columns]
        if clash:
            raise SurvmigError(f"column {show(clash[0])} is already in the data", where="design")
        parts["data"] = pd.concat([self._data, extra], axis=1)
        return SurveyDesign._from_parts(**parts)

    def with_options(self, **options: Any) -> SurveyDesign:
        """The same design with another ``lonely_psu``, ``lonely_psu_domain`` or ``variance``."""
        parts = self._parts()
        for key, value in options.items():
            if key == "lonely_psu":
                _check_choice(value, LONELY_PSU_RULES, "lonely_psu")
            elif key == "variance":
                _check_choice(value, VARIANCE_METHODS, "variance")
                if value == "multistage" and len(self._fpc_cols) != max(len(self._ids), 1):
                    raise SurvmigError(
                        "multistage variance needs an fpc for every stage", where="variance"
                    )
            elif key == "lonely_psu_domain":
                value = bool(value)
            elif key == "mse" and self._replicates is not None:
                parts["replicates"] = dataclasses.replace(self._replicates, mse=bool(value))
                continue
            else:
                raise SurvmigError(f"unknown design option {show(key)}", where="design")
            parts[key] = value
        return SurveyDesign._from_parts(**parts)

    def subset(self, mask: np.ndarray | pd.Series) -> SurveyDesign:
        """The design restricted to ``mask`` the way R's ``subset()`` does it.

        Rows outside are dropped, but the strata keep their full-design PSU counts and fpc, so
        variances are the domain variances. For a calibrated design the rows are kept with zero
        weight (R sets their probability to infinity).
        """
        m = np.asarray(mask, dtype=bool)
        if m.shape != (self.n,):
            raise SurvmigError(
                f"subset mask has shape {m.shape}, expected ({self.n},)", where="subset"
            )
        parts = self._parts()
        if self._calibration or self._twophase is not None:
            w = self._weights.copy()
            w[~m] = 0.0
            parts["weights"] = _readonly(w)
            return SurveyDesign._from_parts(**parts)
        idx = np.flatnonzero(m)
        parts["data"] = self._data.iloc[idx]
        parts["weights"] = _readonly(self._weights[idx].copy())
        parts["stages"] = tuple(
            dataclasses.replace(
                st, strata=_readonly(st.strata[idx]), units=_readonly(st.units[idx])
            )
            for st in self._stages
        )
        rep = self._replicates
        if rep is not None:
            if rep.matrix is not None:
                parts["replicates"] = dataclasses.replace(
                    rep, matrix=_readonly(rep.matrix[idx]), df=None
                )
            else:
                parts["replicates"] = dataclasses.replace(
                    rep, index=_readonly(rep.index[idx]), df=None
                )
        return SurveyDesign._from_parts(**parts)

    def _with_twophase(self, twophase: TwoPhase) -> SurveyDesign:
        parts = self._parts()
        parts["twophase"] = twophase
        return SurveyDesign._from_parts(**parts)

    def respondents(self, mask: np.ndarray | pd.Series) -> SurveyDesign:
        """The design over the rows in ``mask`` after nonresponse. One-phase designs: as
        :meth:`subset`. Two-phase designs: the respondents become the phase-2 sample (the phase-2
        structure is rebuilt on them: response is taken as random within the phase-2 strata)."""
        tp = self._twophase
        if tp is None:
            return self.subset(mask)
        m = np.asarray(mask, dtype=bool)
        if self._calibration or tp.phase2_calibration:
            raise SurvmigError(
                "the design is already calibrated: nonresponse adjustment must come first",
                where="phase2",
            )
        idx = np.flatnonzero(m)
        return SurveyDesign(
            self._data.iloc[idx],
            ids=list(self._ids) or None,
            strata=list(self._strata_cols) or None,
            weights=self._weights[idx].copy(),
            probs=list(tp.probs1) or None,
            fpc=list(self._fpc_cols) or None,
            nest=self._nest,
            lonely_psu=self._lonely_psu,
            lonely_psu_domain=self._lonely_psu_domain,
            phase2=tp.spec(),
        )

    def to_replicate(
        self,
        type: str = "bootstrap",
        replicates: int | None = None,
        seed: int | None = None,
        rho: float = 0.0,
        mse: bool = False,
    ) -> SurveyDesign:
        """Replicate weights created from this linearization design (R ``as.svrepdesign``).

        ``JK1`` (unstratified: delete one PSU), ``JKn`` (delete one PSU within its stratum, with
        ``rscales = f_h (n_h - 1)/n_h``; the ``lonely_psu`` rule applies), ``BRR`` and ``Fay``
        (``rho``; exactly two PSUs per stratum, half-samples from a Sylvester Hadamard matrix),
        ``bootstrap`` (Rao-Wu rescaled bootstrap: ``n_h - 1`` PSUs drawn with replacement per
        stratum, factor ``count * n_h / (n_h - 1)``, ``replicates`` draws from ``seed``).
        """
        from survmig.design.replicates import make_replicates

        if self._replicates is not None:
            raise SurvmigError("the design already has replicate weights", where="to_replicate")
        if self._twophase is not None:
            raise SurvmigError(
                "replicate weights of a two-phase design are not offered",
                where="to_replicate",
                hint="estimate the two-phase design by linearization (its phase2 section)",
            )
        if self._calibration:
            raise SurvmigError(
                "create replicate weights before calibrating",
                where="to_replicate",
                hint="convert the design first, then run the weighting steps on the replicates",
            )
        rep = make_replicates(self, type=type, replicates=replicates, seed=seed, rho=rho, mse=mse)
        parts = self._parts()
        parts["replicates"] = rep
        return SurveyDesign._from_parts(**parts)


def _phase2(
    data: pd.DataFrame,
    section: dict[str, Any],
    stages: list[Stage],
    id_cols: list[str],
    prob_cols: list[str],
    fpc_cols: list[str],
    variance: str,
) -> tuple[TwoPhase, np.ndarray]:
    """The two-phase structure and the per-row phase-1 probabilities (``probs``, or n/N of fpc)."""
    from survmig.design.twophase import build_twophase

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


def _check_choice(value: str, choices: Sequence[str], what: str) -> None:
    if value not in choices:
        close = difflib.get_close_matches(str(value), list(choices), n=1)
        raise SurvmigError(
            f"unknown {what} {show(value)}",
            where=what,
            hint=(f"did you mean {show(close[0])}? " if close else "")
            + f"choose one of {', '.join(choices)}",
        )


def _build_stages(
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
