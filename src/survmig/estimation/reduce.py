"""The one pass over the data: sums of per-row columns by integer group code.

Every design-based variance the engine computes needs only sums of weighted per-row quantities by
(sampling unit, domain) — and, for calibrated designs, by (post-stratum, domain). This module is the
only place that touches all rows; the rest of the engine works on the small arrays it returns.

A reducer is any callable with the signature of :func:`numpy_group_sums`. It is looked up at call
time from :data:`REDUCERS` by name, so a SQL engine can replace it: :func:`duckdb_group_sums` runs the
same ``GROUP BY`` in DuckDB (useful when the per-row columns come from Parquet larger than memory).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

GroupSums = tuple[np.ndarray, np.ndarray]
Reducer = Callable[[np.ndarray, int, np.ndarray], GroupSums]

#: group codes up to this many (times rows) are handled densely, without sorting
_DENSE_LIMIT = 50_000_000


def numpy_group_sums(codes: np.ndarray, n_groups: int, values: np.ndarray) -> GroupSums:
    """Column sums of ``values`` (n × K) by ``codes`` (n,; -1 = skip the row).

    Returns ``(groups, sums)``: the non-empty group codes in increasing order and their sums (C × K).
    One sparse matrix product: no loop over columns or groups.
    """
    values = np.asarray(values, dtype=float)
    if values.ndim == 1:
        values = values[:, None]
    keep = codes >= 0
    rows = np.flatnonzero(keep) if not keep.all() else None
    kc = codes[keep] if rows is not None else codes
    if n_groups <= _DENSE_LIMIT:
        present = np.bincount(kc, minlength=n_groups) > 0
        groups = np.flatnonzero(present)
        cell_of_code = np.cumsum(present) - 1
        cell = cell_of_code[kc]
    else:
        groups, cell = np.unique(kc, return_inverse=True)
    n_cells = groups.shape[0]
    src = rows if rows is not None else np.arange(codes.shape[0])
    mat = sp.csr_matrix((np.ones(kc.shape[0]), (cell, src)), shape=(n_cells, codes.shape[0]))
    sums = np.asarray(mat @ values)
    return groups, sums


def dense_group_sums(
    codes: np.ndarray, n_groups: int, values: np.ndarray, reducer: Reducer | None = None
) -> np.ndarray:
    """Like :func:`numpy_group_sums` but returns all ``n_groups`` rows (zeros for empty groups)."""
    groups, sums = (reducer or numpy_group_sums)(codes, n_groups, values)
    out = np.zeros((n_groups, sums.shape[1]))
    out[groups] = sums
    return out


def duckdb_group_sums(codes: np.ndarray, n_groups: int, values: np.ndarray) -> GroupSums:
    """The same reduction as a DuckDB ``GROUP BY`` (multi-threaded, spills to disk when needed)."""
    import duckdb
    import pyarrow as pa

    values = np.asarray(values, dtype=float)
    if values.ndim == 1:
        values = values[:, None]
    k = values.shape[1]
    tbl = pa.table({"g": codes, **{f"v{j}": values[:, j] for j in range(k)}})  # noqa: F841
    sums_sql = ", ".join(f"sum(v{j}) AS v{j}" for j in range(k))
    con = duckdb.connect()
    try:
        res = con.execute(
            f"SELECT g, {sums_sql} FROM tbl WHERE g >= 0 GROUP BY g ORDER BY g"
        ).fetchnumpy()
    finally:
        con.close()
    groups = np.asarray(res["g"], dtype=np.int64)
    sums = np.column_stack([np.asarray(res[f"v{j}"], dtype=float) for j in range(k)])
    return groups, sums.reshape(groups.shape[0], k)


REDUCERS: dict[str, Reducer] = {"numpy": numpy_group_sums, "duckdb": duckdb_group_sums}


def get_reducer(name_or_fn: str | Reducer | None) -> Reducer:
    """Resolve a reducer by name (``numpy``, ``duckdb``) or pass a callable through."""
    if name_or_fn is None:
        return numpy_group_sums
    if callable(name_or_fn):
        return name_or_fn
    return REDUCERS[name_or_fn]


def expand_by_domain(domain: np.ndarray, n_domains: int, values: np.ndarray) -> sp.csr_matrix:
    """A sparse n × (D·K) matrix whose row i holds ``values[i]`` in its domain's block of columns.

    Used for replicate totals with arbitrary replicate weights (``W.T @ X``) and for GREG residuals:
    products with it cost n·K, not n·D·K.
    """
    n, k = values.shape
    keep = domain >= 0
    rows = np.repeat(np.flatnonzero(keep), k)
    cols = (domain[keep][:, None] * k + np.arange(k)[None, :]).ravel()
    data = values[keep].ravel()
    return sp.csr_matrix((data, (rows, cols)), shape=(n, n_domains * k))
