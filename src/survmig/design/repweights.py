"""Replicate weights: their record and the checks of supplied replicate weights (R ``svrepdesign``).

:class:`ReplicateWeights` holds the replicate weights (or, for replicates created from a
linearization design, PSU factors) and the constants of the variance formula;
:func:`supplied_replicates` reads supplied replicate-weight columns and fills in R's defaults for
``scale`` and ``rscales`` per replicate type. Creating replicates from a design is
:mod:`survmig.design.replicates`.
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from survmig.design.columns import (
    _check_choice,
    _readonly,
    check_weights,
    numeric_column,
    require_columns,
)
from survmig.errors import SurvmigError, SurvmigWarning, show

REPLICATE_TYPES = ("JK1", "JKn", "BRR", "Fay", "bootstrap", "successive-difference", "other")
CREATED_REPLICATE_TYPES = ("JK1", "JKn", "BRR", "Fay", "bootstrap")


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


def supplied_replicates(
    data: pd.DataFrame,
    repweights: str | Sequence[str],
    type: str,
    *,
    weights: str | np.ndarray | None,
    rho: float | None,
    scale: float | None,
    rscales: float | Sequence[float] | None,
    mse: bool,
    combined_weights: bool,
    replicates: int | None,
    df: int | None,
) -> tuple[ReplicateWeights, np.ndarray]:
    """The replicate weights and full-sample weights of :meth:`SurveyDesign.replicate
    <survmig.design.core.SurveyDesign.replicate>` (its docstring has the rules)."""
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
        raise SurvmigError("a replicate design needs at least two replicates", where="repweights")
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
                stacklevel=3,
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
    return rep, w


def adjusted_replicates(
    rep: ReplicateWeights | None,
    old: np.ndarray,
    new: np.ndarray,
    repweights: np.ndarray | None,
    *,
    copy: bool,
) -> ReplicateWeights | None:
    """The replicate weights after the full-sample weights went from ``old`` to ``new``:
    ``repweights`` (n × R) in their place, or each row's replicate weights rescaled by
    ``new / old`` (replicate *factors* are kept as they are)."""
    n = old.shape[0]
    if repweights is not None:
        if rep is None:
            raise SurvmigError(
                "replicate weights given for a linearization design",
                where="repweights",
                hint="convert it first with to_replicate()",
            )
        mat = np.asarray(repweights, dtype=float)
        if mat.shape != (n, rep.n_replicates):
            raise SurvmigError(
                f"replicate weights have shape {mat.shape}, expected ({n}, {rep.n_replicates})",
                where="repweights",
            )
        if not np.all(np.isfinite(mat)):
            raise SurvmigError(
                "replicate weights have missing or infinite values", where="repweights"
            )
        owned = mat if not copy and mat.dtype == np.float64 else np.array(mat, dtype=float)
        return dataclasses.replace(rep, matrix=_readonly(owned), factors=None, index=None)
    if rep is not None and rep.matrix is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(old != 0, new / old, 0.0)
        return dataclasses.replace(rep, matrix=_readonly(rep.matrix * ratio[:, None]))
    return rep


def subset_replicates(rep: ReplicateWeights, idx: np.ndarray) -> ReplicateWeights:
    """The replicate weights of the rows ``idx`` (their df recomputed)."""
    if rep.matrix is not None:
        return dataclasses.replace(rep, matrix=_readonly(rep.matrix[idx]), df=None)
    return dataclasses.replace(rep, index=_readonly(rep.index[idx]), df=None)
