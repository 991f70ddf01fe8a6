"""Column helpers of the design, shared with weighting and estimation.

Integer codes of design variables, checks that named columns exist and are complete and numeric,
the positivity of weights, and the choice of an option among its allowed values — each failing with
a message that names the column, the first bad row and what to do.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from survmig.errors import SurvmigError, show


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


def _check_choice(value: str, choices: Sequence[str], what: str) -> None:
    if value not in choices:
        close = difflib.get_close_matches(str(value), list(choices), n=1)
        raise SurvmigError(
            f"unknown {what} {show(value)}",
            where=what,
            hint=(f"did you mean {show(close[0])}? " if close else "")
            + f"choose one of {', '.join(choices)}",
        )
