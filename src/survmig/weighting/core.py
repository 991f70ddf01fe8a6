"""Weight adjustments as pure array functions, vectorized across weight columns.

Every function takes a weight matrix ``W`` of shape (n, k): column 0 is usually the full-sample weight
and the other columns are replicate weights. Each column is adjusted exactly as R ``survey`` adjusts one
set of weights (``postStratify``, ``rake``, ``calibrate``/``grake``, ``trimWeights``), but all columns at
once: class totals are sparse indicator-matrix products and the calibration Newton steps are batched
over columns. Nothing here knows about data frames or designs; :mod:`survmig.weighting.steps` does.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from survmig.design.core import combine_codes

#: R ``grake``: weights are rescaled first when every population/sample ratio exceeds this.
_RESCALE_THRESHOLD = 20.0
#: R ``MASS::ginv(tol = 256 * .Machine$double.eps)``.
_GINV_RCOND = 256 * np.finfo(float).eps


def as_matrix(w: np.ndarray) -> np.ndarray:
    """A weight vector as an (n, 1) matrix; matrices unchanged (float64)."""
    w = np.asarray(w, dtype=float)
    return w[:, None] if w.ndim == 1 else w


def indicator(codes: np.ndarray, n_groups: int) -> sp.csr_matrix:
    """The (groups × n) 0/1 matrix of class membership, so that ``indicator @ W`` sums by class."""
    n = len(codes)
    return sp.csr_matrix(
        (np.ones(n), (np.asarray(codes, dtype=np.int64), np.arange(n))), shape=(n_groups, n)
    )


def class_totals(codes: np.ndarray, n_groups: int, W: np.ndarray) -> np.ndarray:
    """Weighted totals per class for every column of ``W``: (groups × k)."""
    return np.asarray(indicator(codes, n_groups) @ as_matrix(W))


def kish(w: np.ndarray) -> np.ndarray:
    """Kish weighting effect ``n Σw² / (Σw)²`` per column (n counts the units with non-zero weight)."""
    W = as_matrix(w)
    n = (W != 0).sum(axis=0)
    return n * (W**2).sum(axis=0) / W.sum(axis=0) ** 2


# --------------------------------------------------------------------------- base weights


def pps_probability(
    n_selected: np.ndarray, size: np.ndarray, stratum_size_total: np.ndarray
) -> np.ndarray:
    """First-stage inclusion probability under PPS: ``n_h · MOS_i / Σ_h MOS``."""
    return (
        np.asarray(n_selected, float)
        * np.asarray(size, float)
        / np.asarray(stratum_size_total, float)
    )


# --------------------------------------------------------------------------- class adjustments


def nonresponse_factors(
    W: np.ndarray, codes: np.ndarray, n_groups: int, respondent: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighting-class nonresponse factors ``Σ_c w / Σ_{c, resp} w`` for every column.

    Returns (factors, eligible totals, respondent totals), each (groups × k). Classes where the
    respondent total is zero get factor ``inf`` when they have weight to carry (the caller names them)
    and 1 when they have none.
    """
    W = as_matrix(W)
    ind = indicator(codes, n_groups)
    total = np.asarray(ind @ W)
    resp = np.asarray(ind @ (W * respondent[:, None]))
    with np.errstate(divide="ignore", invalid="ignore"):
        factors = np.where(
            resp > 0, total / np.where(resp > 0, resp, 1.0), np.where(total > 0, np.inf, 1.0)
        )
    return factors, total, resp


def poststratify_factors(
    W: np.ndarray, codes: np.ndarray, n_groups: int, targets: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """R ``postStratify``: factor ``N_c / Σ_c w`` per class and column. Returns (factors, totals)."""
    total = class_totals(codes, n_groups, W)
    with np.errstate(divide="ignore", invalid="ignore"):
        factors = np.asarray(targets, float)[:, None] / total
    return factors, total


# --------------------------------------------------------------------------- raking (IPF)


@dataclasses.dataclass(frozen=True)
class Margin:
    """One raking margin: class code per unit (0..n_groups-1) and the population total per class."""

    codes: np.ndarray
    targets: np.ndarray

    @property
    def n_groups(self) -> int:
        return len(self.targets)


@dataclasses.dataclass
class RakeResult:
    """Raked weights plus what R's ``rake`` would report and what its variance needs."""

    weights: np.ndarray  # (n, k)
    sweeps: int
    converged: bool
    delta: float  # last max |change| of the full-sample cross table (R's criterion)
    epsilon: float  # absolute tolerance actually used
    #: full-sample weights after each margin's post-stratification in the last sweep (R's
    #: ``attr(index, "weights")``), one (n,) vector per margin
    margin_weights: list[np.ndarray]
    #: max |weighted total − control| per margin after the last sweep (full sample)
    margin_misfit: list[float]


def rake(
    W: np.ndarray,
    margins: Sequence[Margin],
    *,
    epsilon: float = 1.0,
    maxit: int = 10,
    inplace: bool = False,
) -> RakeResult:
    """Iterative proportional fitting exactly as R ``rake(control=list(epsilon, maxit))``.

    Each sweep post-stratifies every column to each margin in turn; convergence is judged on the
    full-sample column only, by the largest change of the cross-table of all margin variables between
    sweeps (``epsilon < 1`` is relative to the initial total weight, as in R). All units in one cell of
    the cross-classification share their factors, so the sweeps run on cell totals and the factors are
    expanded at the end: the cost is one pass over the data. ``inplace`` overwrites ``W``.
    """
    W = as_matrix(W)
    # cells of the cross-classification of all margins
    cell_of_unit, first = row_patterns(np.stack([m.codes for m in margins], axis=1))
    cells = np.stack([m.codes[first] for m in margins], axis=1)
    S0 = class_totals(cell_of_unit, len(cells), W)  # (cells × k)
    S = S0.copy()
    eps = epsilon * W[:, 0].sum() if epsilon < 1 else epsilon
    margin_cells = [
        sp.csr_matrix(indicator(cells[:, i], m.n_groups)) for i, m in enumerate(margins)
    ]
    sweeps, converged, delta = 0, False, np.inf
    last_factors: list[np.ndarray] = []
    old_table = S[:, 0].copy()
    while sweeps < maxit:
        last_factors = []
        for i, m in enumerate(margins):
            tot = np.asarray(margin_cells[i] @ S)
            with np.errstate(divide="ignore", invalid="ignore"):
                f = m.targets[:, None] / tot
            f = np.where(np.isfinite(f), f, 0.0)  # empty class in a replicate: R gives NaN; keep 0
            S = S * f[cells[:, i]]
            last_factors.append(S[:, 0].copy())
        delta = float(np.max(np.abs(old_table - S[:, 0])))
        if delta < eps:
            converged = True
            break
        old_table = S[:, 0].copy()
        sweeps += 1
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(S0 > 0, S / np.where(S0 > 0, S0, 1.0), 0.0)
    margin_weights = []
    w0 = W[:, 0]  # before the weights change (W may be adjusted in place below)
    for cell_total in last_factors:
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(S0[:, 0] > 0, cell_total / np.where(S0[:, 0] > 0, S0[:, 0], 1.0), 0.0)
        margin_weights.append(w0 * r[cell_of_unit])
    new = W.copy() if not inplace else W
    Factors(ratio, cell_of_unit).multiply(new)
    misfit = [
        float(np.max(np.abs(np.asarray(margin_cells[i] @ S[:, 0]) - m.targets)))
        for i, m in enumerate(margins)
    ]
    return RakeResult(
        new, sweeps + (1 if converged else 0), converged, delta, eps, margin_weights, misfit
    )


# --------------------------------------------------------------------------- calibration (grake)


@dataclasses.dataclass(frozen=True)
class CalFun:
    """A calibration distance: ``g = 1 + Fm1(u)`` and its derivative, as R's ``calfun`` objects."""

    name: str
    Fm1: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
    dF: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def _lin_fm1(u, lo, up):
    return np.minimum(np.maximum(u + 1, lo), up) - 1


def _lin_df(u, lo, up):
    return ((u < up - 1) & (u > lo - 1)).astype(float)


def _rak_fm1(u, lo, up):
    return np.minimum(np.maximum(np.exp(u), lo), up) - 1


def _rak_df(u, lo, up):
    # R's cal.raking compares u (not exp(u)) with the bounds minus one; kept for identical results
    return np.where((u < up - 1) & (u > lo - 1), np.exp(u), 0.0)


def _logit_parts(u, lo, up):
    A = (up - lo) / ((up - 1) * (1 - lo))
    eAu = np.exp(A * u)
    return A, eAu


def _logit_fm1(u, lo, up):
    A, eAu = _logit_parts(u, lo, up)
    return (lo * (up - 1) + up * (1 - lo) * eAu) / (up - 1 + (1 - lo) * eAu) - 1


def _logit_df(u, lo, up):
    A, eAu = _logit_parts(u, lo, up)
    den = up - 1 + (1 - lo) * eAu
    return (
        up * (1 - lo) * eAu * A / den
        - (lo * (up - 1) + up * (1 - lo) * eAu) * ((1 - lo) * eAu * A) / den**2
    )


CALFUNS: dict[str, CalFun] = {
    "linear": CalFun("linear", _lin_fm1, _lin_df),
    "raking": CalFun("raking", _rak_fm1, _rak_df),
    "logit": CalFun("logit", _logit_fm1, _logit_df),
}


@dataclasses.dataclass
class CalibrationResult:
    """g-factors per unit and column, and the convergence record."""

    g: Factors  # (n, k)
    iterations: np.ndarray  # (k,)
    converged: np.ndarray  # (k,) bool
    achieved: np.ndarray  # (k,) max |misfit| / (1 + |total|) at the end
    misfit: np.ndarray  # (p, k) population − calibrated totals


def _gram(X: np.ndarray, Wd: np.ndarray, chunk: int = 65536) -> np.ndarray:
    """``Σ_i Wd[i, r] x_i x_iᵀ`` for every column r: (k, p, p), in row chunks to bound memory."""
    k, p = Wd.shape[1], X.shape[1]
    iu, ju = np.triu_indices(p)
    out = np.zeros((k, len(iu)))
    for start in range(0, X.shape[0], chunk):
        Xc = X[start : start + chunk]
        out += Wd[start : start + chunk].T @ (Xc[:, iu] * Xc[:, ju])
    T = np.zeros((k, p, p))
    T[:, iu, ju] = out
    T[:, ju, iu] = out
    return T


def row_patterns(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pattern code of each row of X (equal rows, equal codes) and one row index per pattern."""
    codes = None
    for j in range(X.shape[1]):
        c, _ = pd.factorize(X[:, j])
        codes = c.astype(np.int64) if codes is None else combine_codes(codes, c.astype(np.int64))
    assert codes is not None
    k = int(codes.max()) + 1
    first = np.empty(k, dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes))[::-1]
    return codes, first


def collapse_rows(X: np.ndarray, W: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Distinct rows of X with the weights summed over each: (X_distinct, W_summed, inverse).

    Calibration equations and g-factors depend on a unit only through its row of X, so categorical
    auxiliaries reduce the work to a handful of patterns. Returns ``inverse=None`` when collapsing does
    not pay (most rows distinct).
    """
    n = X.shape[0]
    if n < 64:
        return X, W, None
    # cheap test on a sample before hashing everything
    probe = X[:: max(1, n // 4096)]
    if len(row_patterns(probe)[1]) > 0.5 * len(probe):
        return X, W, None
    inv, first = row_patterns(X)
    if len(first) > n // 2:
        return X, W, None
    return X[first], class_totals(inv, len(first), W), inv


@dataclasses.dataclass
class Factors:
    """Per-unit adjustment factors (n × k), stored per row pattern when units share patterns."""

    values: np.ndarray  # (patterns × k), or (n × k) when inverse is None
    inverse: np.ndarray | None = None  # pattern of each unit

    def column(self, j: int) -> np.ndarray:
        """The factors of weight column ``j`` for every unit."""
        v = self.values[:, j]
        return v if self.inverse is None else v[self.inverse]

    def multiply(self, W: np.ndarray, chunk: int = 65536) -> None:
        """``W *= factors`` in place, in row chunks (never materializes an n × k factor matrix)."""
        if self.inverse is None:
            W *= self.values
            return
        for start in range(0, W.shape[0], chunk):
            W[start : start + chunk] *= self.values[self.inverse[start : start + chunk]]

    def nonpositive(self, W: np.ndarray) -> np.ndarray:
        """(k,) count of units with a positive weight whose factor is ≤ 0."""
        bad = self.values <= 0
        if not bad.any():
            return np.zeros(W.shape[1], dtype=int)
        g = self.values if self.inverse is None else self.values[self.inverse]
        return ((g <= 0) & (W > 0)).sum(axis=0)


def linear_calibration(X: np.ndarray, W: np.ndarray, population: np.ndarray) -> Factors:
    """Unbounded linear (GREG) g-factors for every column, R ``regcalibrate``: one exact solve."""
    W = as_matrix(W)
    Xc, Wc, inv = collapse_rows(X, W)
    T = _gram(Xc, Wc)
    resid = population[:, None] - Xc.T @ Wc  # (p, k)
    lam = np.linalg.solve(T, resid.T[:, :, None])[:, :, 0]  # (k, p)
    return Factors(1.0 + Xc @ lam.T, inv)


def grake(
    X: np.ndarray,
    W: np.ndarray,
    population: np.ndarray,
    calfun: CalFun,
    *,
    lower: np.ndarray | float = -np.inf,
    upper: np.ndarray | float = np.inf,
    epsilon: float = 1e-7,
    maxit: int = 50,
) -> CalibrationResult:
    """Generalized raking, R ``grake``, solved for all weight columns at once.

    Newton–Raphson on the Lagrange multipliers of each column with R's rules: weights rescaled first
    when every population/sample ratio exceeds 20, generalized inverse of the Jacobian, step halving
    while g is not finite, convergence when every ``|misfit| / (1 + |total|) < epsilon``, at most
    ``maxit`` iterations. Columns converge independently (as R's per-replicate loop does).
    Per-unit bounds (arrays of length n) are allowed; categorical-only X is collapsed to patterns.
    """
    W = as_matrix(W)
    n, k = W.shape
    population = np.asarray(population, float)
    lo = np.broadcast_to(np.asarray(lower, float), (n,))
    up = np.broadcast_to(np.asarray(upper, float), (n,))
    if np.ndim(lower) == 0 and np.ndim(upper) == 0:
        Xc, Wc, inv = collapse_rows(X, W)
        lo_c = np.full(Xc.shape[0], float(lower))
        up_c = np.full(Xc.shape[0], float(upper))
    else:
        Xc, Wc, inv = X, W, None
        lo_c, up_c = lo, up
    lo_c, up_c = lo_c[:, None], up_c[:, None]
    sample_total = Xc.T @ Wc  # (p, k)
    with np.errstate(divide="ignore", invalid="ignore"):
        scales = population[:, None] / sample_total
    rescale = scales.min(axis=0) > _RESCALE_THRESHOLD
    scale = np.where(rescale, scales.mean(axis=0), 1.0)
    Wc = Wc * scale
    sample_total = sample_total * scale
    with np.errstate(over="ignore", invalid="ignore"):
        return _grake_loop(
            Xc, Wc, inv, population, calfun, lo_c, up_c, scale, sample_total, epsilon, maxit
        )


def _grake_loop(Xc, Wc, inv, population, calfun, lo_c, up_c, scale, sample_total, epsilon, maxit):
    """The Newton iterations of :func:`grake` (overflow in a diverging column is expected)."""
    k, p = Wc.shape[1], Xc.shape[1]
    Fm1, dF = calfun.Fm1, calfun.dF

    eta = np.zeros((p, k))
    xeta = Xc @ eta
    g = 1 + Fm1(xeta, lo_c, up_c)
    deriv = dF(xeta, lo_c, up_c)
    iters = np.ones(k, dtype=int)
    active = np.ones(k, dtype=bool)
    converged = np.zeros(k, dtype=bool)
    achieved = np.full(k, np.nan)
    misfit_all = np.zeros((p, k))

    def misfit_of(cols: np.ndarray) -> np.ndarray:
        return (
            population[:, None]
            - sample_total[:, cols]
            - Xc.T @ (Wc[:, cols] * Fm1(xeta[:, cols], lo_c, up_c))
        )

    while active.any():
        a = np.flatnonzero(active)
        T = _gram(Xc, Wc[:, a] * deriv[:, a])
        mis = misfit_of(a)
        deta = (np.linalg.pinv(T, rcond=_GINV_RCOND) @ mis.T[:, :, None])[:, :, 0].T  # (p, |a|)
        eta[:, a] += deta
        xeta[:, a] = Xc @ eta[:, a]
        g[:, a] = 1 + Fm1(xeta[:, a], lo_c, up_c)
        deriv[:, a] = dF(xeta[:, a], lo_c, up_c)
        while True:
            bad = ~(np.isfinite(g[:, a]).all(axis=0) & np.isfinite(deriv[:, a]).all(axis=0))
            bad &= iters[a] < maxit
            if not bad.any():
                break
            b = a[bad]
            iters[b] += 1
            deta[:, bad] /= 2
            eta[:, b] -= deta[:, bad]
            xeta[:, b] = Xc @ eta[:, b]
            g[:, b] = 1 + Fm1(xeta[:, b], lo_c, up_c)
            deriv[:, b] = dF(xeta[:, b], lo_c, up_c)
        mis = misfit_of(a)
        misfit_all[:, a] = mis
        rel = np.abs(mis) / (1 + np.abs(population))[:, None]
        with np.errstate(invalid="ignore"):
            ok = (rel < epsilon).all(axis=0)
            worst = rel.max(axis=0)
        achieved[a] = worst
        converged[a[ok]] = True
        active[a[ok]] = False
        rest = a[~ok]
        iters[rest] += 1
        over = rest[iters[rest] > maxit]
        active[over] = False
    return CalibrationResult(
        Factors(g * scale, inv), iters, converged, achieved, misfit_all / scale
    )


# --------------------------------------------------------------------------- trimming


@dataclasses.dataclass
class TrimResult:
    weights: np.ndarray
    trimmed: np.ndarray  # (k,) number of units trimmed in the first pass per column
    passes: int


def trim(
    W: np.ndarray,
    lower: np.ndarray | float,
    upper: np.ndarray | float,
    *,
    redistribute: str = "equal",
    strict: bool = False,
    max_passes: int = 100,
) -> TrimResult:
    """Trim weights to [lower, upper] and hand the trimmed amount to the untrimmed units.

    ``redistribute="equal"`` is R ``trimWeights``: each untrimmed unit gets an equal share
    (``sum(trimmings) / sum(!outside)``); ``"proportional"`` shares in proportion to the weights (as
    R ``calibrate(trim=)`` does). Only units with a non-zero weight in a column take part (replicates
    that drop a unit keep it at zero). Bounds are scalars or one value per column. ``strict=True``
    repeats until no weight is outside the bounds (R ``strict=TRUE``); the total is kept in every pass.
    """
    W = as_matrix(W).copy()
    k = W.shape[1]
    lo = np.broadcast_to(np.asarray(lower, float), (k,))[None, :]
    up = np.broadcast_to(np.asarray(upper, float), (k,))[None, :]
    live = W != 0
    first = np.zeros(k, dtype=int)
    passes = 0
    while passes < max_passes:
        outside = live & ((lo > W) | (up < W))
        if passes == 0:
            first = outside.sum(axis=0)
        if not outside.any():
            break
        passes += 1
        new = np.where(live, np.clip(W, lo, up), 0.0)
        trimmings = (W - new).sum(axis=0)
        inside = live & ~outside
        if redistribute == "equal":
            share = trimmings / np.maximum(inside.sum(axis=0), 1)
            new = new + np.where(inside, share[None, :], 0.0)
        else:
            base = np.where(inside, new, 0.0).sum(axis=0)
            new = new + np.where(
                inside, new * (trimmings / np.where(base > 0, base, 1.0))[None, :], 0.0
            )
        W = new
        if not strict:
            break
    return TrimResult(W, first, passes)
