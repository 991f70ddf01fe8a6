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
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from survmig.design.calibration import Calibration, calibration_records
from survmig.design.columns import (
    _as_list,
    _check_choice,
    _readonly,
    check_weights,
    combine_codes,
    factorize,
    numeric_column,
    require_columns,
)
from survmig.design.repweights import (
    CREATED_REPLICATE_TYPES,
    REPLICATE_TYPES,
    ReplicateWeights,
    adjusted_replicates,
    subset_replicates,
    supplied_replicates,
)
from survmig.design.stages import Stage, build_stages, design_weights
from survmig.design.twophase import TwoPhase, phase2_structure
from survmig.errors import SurvmigError, show

__all__ = [
    "CREATED_REPLICATE_TYPES",
    "LONELY_PSU_RULES",
    "REPLICATE_TYPES",
    "VARIANCE_METHODS",
    "ReplicateWeights",
    "Stage",
    "SurveyDesign",
    "_check_choice",
    "check_weights",
    "combine_codes",
    "factorize",
    "numeric_column",
    "require_columns",
    "show",
]

LONELY_PSU_RULES = ("fail", "remove", "certainty", "adjust", "average")
VARIANCE_METHODS = ("ultimate", "multistage")


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

        stages = build_stages(data, id_cols, strata_cols, fpc_cols, nest)
        twophase = None
        if phase2 is not None:
            twophase, p1 = phase2_structure(
                data, phase2, stages, id_cols, prob_cols, fpc_cols, variance
            )
            if weights is None:  # R's twophase2: 1 / (π₁ · n₂ₖ / N₂ₖ)
                weights = 1.0 / (p1 * twophase.prob2)
        w, source = design_weights(data, weights, prob_cols, fpc_cols, stages)
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
        rep, w = supplied_replicates(
            data,
            repweights,
            type,
            weights=weights,
            rho=rho,
            scale=scale,
            rscales=rscales,
            mse=mse,
            combined_weights=combined_weights,
            replicates=replicates,
            df=df,
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
        parts["replicates"] = adjusted_replicates(rep, self._weights, w, repweights, copy=copy)
        if calibration is not None:
            fixed = calibration_records(self._calibration, calibration, w)
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
        if self._replicates is not None:
            parts["replicates"] = subset_replicates(self._replicates, idx)
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
