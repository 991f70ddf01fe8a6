"""Creating replicate weights from a linearization design, as R ``as.svrepdesign`` does.

Replicates are stored as PSU-level *factors* (units × R): a replicate weight is the row's weight times
its PSU's factor. The estimation engine exploits this: replicate totals are PSU totals times factors,
one matrix product, whatever the number of rows.
"""

from __future__ import annotations

import warnings

import numpy as np

from survmig.design.columns import _check_choice
from survmig.design.core import SurveyDesign
from survmig.design.repweights import CREATED_REPLICATE_TYPES, ReplicateWeights
from survmig.errors import SurvmigError, SurvmigWarning, show


def hadamard(order: int) -> np.ndarray:
    """A Sylvester Hadamard matrix (±1) of the smallest power-of-two order ≥ ``order``."""
    h = np.ones((1, 1))
    while h.shape[0] < order:
        h = np.block([[h, h], [h, -h]])
    return h


def make_replicates(
    design: SurveyDesign,
    *,
    type: str,
    replicates: int | None,
    seed: int | None,
    rho: float,
    mse: bool,
) -> ReplicateWeights:
    """Replicate factors for ``design`` (first stage only, as R)."""
    _check_choice(type, CREATED_REPLICATE_TYPES, "replicate type")
    st = design.stages[0]
    has_strata = bool(design.strata)
    n_h = st.n_units
    f_h = st.fpc_factor
    has_fpc = bool(design.fpc)
    U = st.n_units_total
    unit_stratum = st.unit_stratum
    if type == "JK1":
        if has_strata:
            raise SurvmigError(
                "JK1 replicates are for unstratified designs", where="to_replicate", hint="use JKn"
            )
        f = float(f_h[0])
        factors = np.full((U, U), U / (U - 1))
        np.fill_diagonal(factors, 0.0)
        return ReplicateWeights(
            type="JK1",
            scale=f * (U - 1) / U,
            rscales=np.ones(U),
            mse=mse,
            factors=_ro(factors),
            index=st.units,
        )
    if type == "JKn":
        if not has_strata:
            raise SurvmigError("JKn replicates need strata", where="to_replicate", hint="use JK1")
        return _jkn(design, mse)
    if type in ("BRR", "Fay"):
        if not has_strata:
            raise SurvmigError(f"{type} replicates need strata", where="to_replicate")
        if type == "Fay" and not 0 < rho < 1:
            raise SurvmigError("Fay replicates need 0 < rho < 1", where="rho")
        if type == "BRR":
            rho = 0.0
        if (n_h != 2).any():
            bad = st.stratum_labels[int(np.flatnonzero(n_h != 2)[0])]
            raise SurvmigError(
                f"{type} needs exactly two PSUs per stratum; stratum {show(bad)} has "
                f"{int(n_h[np.flatnonzero(n_h != 2)[0]])}",
                where="to_replicate",
                hint="collapse or split strata, or use JKn or bootstrap",
            )
        if has_fpc:
            warnings.warn(
                "finite population correction dropped for BRR/Fay replicates (as R does)",
                SurvmigWarning,
                stacklevel=3,
            )
        H = hadamard(st.n_strata + 1)
        R = H.shape[1]
        # the first PSU of each stratum (lowest code) takes the + half when the Hadamard entry is +1
        order = np.argsort(unit_stratum, kind="stable")
        first = np.zeros(U, dtype=bool)
        first[order[0::2]] = True
        signs = H[1 + unit_stratum, :]  # (U, R), row 1.. for strata
        in_half = np.where(first[:, None], signs > 0, signs < 0)
        factors = np.where(in_half, 2.0 - rho, rho)
        return ReplicateWeights(
            type="BRR" if rho == 0 else "Fay",
            scale=1.0 / (R * (1 - rho) ** 2),
            rscales=np.ones(R),
            mse=mse,
            rho=rho if rho else None,
            factors=_ro(factors),
            index=st.units,
        )
    # bootstrap (Rao-Wu rescaled, m_h = n_h - 1)
    R = 50 if replicates is None else int(replicates)
    if R < 2:
        raise SurvmigError("the bootstrap needs at least 2 replicates", where="replicates")
    if (n_h < 2).any():
        bad = st.stratum_labels[int(np.flatnonzero(n_h < 2)[0])]
        raise SurvmigError(
            f"the rescaled bootstrap needs two or more PSUs per stratum; stratum {show(bad)} has one",
            where="to_replicate",
            hint="collapse singleton strata before creating bootstrap replicates",
        )
    if has_fpc:
        warnings.warn(
            "finite population correction not used by the rescaled bootstrap (as R's subbootstrap)",
            SurvmigWarning,
            stacklevel=3,
        )
    rng = np.random.default_rng(seed)
    units_by_stratum = np.argsort(unit_stratum, kind="stable")
    start = np.concatenate([[0], np.cumsum(n_h)[:-1]])
    m_h = n_h - 1
    slot_stratum = np.repeat(np.arange(st.n_strata), m_h)  # one slot per draw in a replicate
    u = rng.random((R, slot_stratum.size))
    pick = start[slot_stratum] + np.floor(u * n_h[slot_stratum]).astype(np.int64)
    unit = units_by_stratum[pick]  # (R, draws)
    key = (np.arange(R)[:, None] * U + unit).ravel()
    counts = np.bincount(key, minlength=R * U).reshape(R, U).T.astype(float)
    factors = counts * (n_h / m_h)[unit_stratum][:, None]
    return ReplicateWeights(
        type="bootstrap",
        scale=1.0 / (R - 1),
        rscales=np.ones(R),
        mse=mse,
        factors=_ro(factors),
        index=st.units,
    )


def _jkn(design: SurveyDesign, mse: bool) -> ReplicateWeights:
    """Delete-one-PSU jackknife within strata (R ``jknweights``), singleton rule included."""
    st = design.stages[0]
    n_h = st.n_units
    f_h = st.fpc_factor
    U = st.n_units_total
    unit_stratum = st.unit_stratum
    H = st.n_strata
    rule = design.lonely_psu
    lonely = (n_h == 1) & (f_h != 0)
    if lonely.any() and rule == "fail":
        bad = ", ".join(show(x) for x in st.stratum_labels[lonely][:5])
        raise SurvmigError(
            f"stratum {bad} has only one PSU (lonely_psu: fail)",
            where="to_replicate",
            hint="choose lonely_psu remove, certainty, adjust or average, or collapse strata",
        )
    # ordinary replicates: one per PSU in non-lonely strata
    keep_unit = ~lonely[unit_stratum]
    rep_units = np.flatnonzero(keep_unit)
    R_ord = rep_units.size
    factors = np.ones((U, R_ord))
    cols = np.arange(R_ord)
    same = unit_stratum[:, None] == unit_stratum[rep_units][None, :]
    nh_rep = n_h[unit_stratum[rep_units]].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        factors = np.where(same, nh_rep / (nh_rep - 1), 1.0)
    factors[rep_units, cols] = 0.0
    rscales = f_h[unit_stratum[rep_units]] * (nh_rep - 1) / nh_rep
    extra_f = []
    extra_r = []
    if lonely.any() and rule == "adjust":
        for h in np.flatnonzero(lonely):  # one replicate per singleton stratum (few)
            col = np.where(unit_stratum == h, 0.0, H / (H - 1))
            extra_f.append(col)
            extra_r.append((H - 1) / H)
    if extra_f:
        factors = np.column_stack([factors, *extra_f])
        rscales = np.concatenate([rscales, extra_r])
    R = factors.shape[1]
    if R == 0:
        raise SurvmigError(
            "all strata were sampled exhaustively: no replicates", where="to_replicate"
        )
    scale = 1.0
    if R < U and rule == "average":
        scale = U / R
    return ReplicateWeights(
        type="JKn",
        scale=scale,
        rscales=_ro(np.asarray(rscales, dtype=float)),
        mse=mse,
        factors=_ro(factors),
        index=st.units,
    )


def replicate_rank(design: SurveyDesign) -> int:
    """Rank of the replicate analysis weights (R ``degf``: ``qr(repweights, tol=1e-5)$rank``).

    With PSU factors the rank is that of the factor matrix. Tall matrices are first folded into
    ``4 R`` signed bucket sums (a count sketch, which keeps the column space), so the cost is one pass
    over the n × R matrix; the rank is then read from a pivoted Cholesky factorisation of the Gram
    matrix of the unit-norm columns, dropping a column whose remaining norm falls below ``1e-5`` of
    its own (R's LINPACK criterion).
    """
    rep = design.replicate_weights
    assert rep is not None
    mat = rep.factors[np.unique(rep.index)] if rep.factors is not None else rep.matrix
    return matrix_rank(mat)


def matrix_rank(mat: np.ndarray, tol: float = 1e-5) -> int:
    """Column rank with R ``qr()``'s relative tolerance (see :func:`replicate_rank`)."""
    norms = np.linalg.norm(mat, axis=0)
    x = mat[:, norms > 0] / norms[norms > 0]
    n, r = x.shape
    if r == 0:
        return 0
    buckets = 4 * r
    if n > buckets:
        import scipy.sparse as sp

        rng = np.random.default_rng(20240521)
        sketch = sp.csr_matrix(
            (rng.choice([-1.0, 1.0], n), (rng.integers(0, buckets, n), np.arange(n))),
            shape=(buckets, n),
        )
        sk = np.asarray(sketch @ x)
        x = sk / np.linalg.norm(sk, axis=0)
    return gram_rank(x.T @ x, tol)


def gram_rank(gram: np.ndarray, tol: float = 1e-5) -> int:
    """Column rank from the Gram matrix of unit-norm columns (pivoted Cholesky, R's criterion)."""
    from scipy.linalg import lapack

    _, _, rank, _ = lapack.dpstrf(gram, tol=tol * tol)
    return int(rank)


def _ro(arr: np.ndarray) -> np.ndarray:
    arr = np.ascontiguousarray(arr)
    arr.setflags(write=False)
    return arr
