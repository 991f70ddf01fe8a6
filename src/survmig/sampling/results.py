"""Result objects and input checks shared by the sampling calculators.

Every calculator returns a :class:`Result` that carries the number(s), the formula used and the
assumptions behind it, so a trainer (or the CLI) can always show *why* a number is what it is.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from survmig.errors import SurvmigError, show


@dataclasses.dataclass(frozen=True)
class Result:
    """A design quantity with its formula, assumptions, named steps and (optionally) a table."""

    title: str
    value: Any
    formula: str
    assumptions: str
    steps: dict[str, float] = dataclasses.field(default_factory=dict)
    table: pd.DataFrame | None = None
    references: str = ""

    def __getitem__(self, key: str) -> float:
        return self.steps[key]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly view (the table as a list of records)."""
        out: dict[str, Any] = {
            "title": self.title,
            "value": _plain(self.value),
            "formula": self.formula,
            "assumptions": self.assumptions,
            "steps": {k: _plain(v) for k, v in self.steps.items()},
            "references": self.references,
        }
        if self.table is not None:
            out["table"] = [
                {k: _plain(v) for k, v in row.items()} for row in self.table.to_dict("records")
            ]
        return out

    def __str__(self) -> str:
        lines = [self.title]
        lines += [f"  {k} = {_fmt(v)}" for k, v in self.steps.items()]
        if self.table is not None:
            lines.append(self.table.to_string(index=False))
        lines.append(f"formula: {self.formula}")
        lines.append(f"assumptions: {self.assumptions}")
        if self.references:
            lines.append(f"references: {self.references}")
        return "\n".join(lines)


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def _fmt(value: Any) -> str:
    if isinstance(value, float | np.floating):
        value = float(value)
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e7):
            return f"{value:.4g}"
        return f"{value:,.4f}".rstrip("0").rstrip(".")
    return str(value)


# --------------------------------------------------------------------------- input checks


def check_probability(value: float, name: str, hint: str | None = None) -> float:
    """A share strictly between 0 and 1 (prevalences, response rates below 1 are checked elsewhere)."""
    value = _number(value, name)
    if not 0.0 < value < 1.0:
        raise SurvmigError(
            f"must be strictly between 0 and 1, got {value:g}",
            where=name,
            hint=hint or "give a share such as 0.05 (not a percentage)",
        )
    return value


def check_rate(value: float, name: str) -> float:
    """A rate in (0, 1] such as a response rate, a sensitivity or a subsampling rate."""
    value = _number(value, name)
    if not 0.0 < value <= 1.0:
        raise SurvmigError(
            f"must be in (0, 1], got {value:g}", where=name, hint="give a share such as 0.9"
        )
    return value


def check_positive(value: float, name: str, hint: str | None = None) -> float:
    """A strictly positive, finite number (margins, CVs, costs, standard deviations)."""
    value = _number(value, name)
    if not math.isfinite(value):
        raise SurvmigError(f"must be a finite number, got {value:g}", where=name, hint=hint)
    if not value > 0:
        raise SurvmigError(f"must be positive, got {value:g}", where=name, hint=hint)
    return value


def check_nonnegative(value: float, name: str) -> float:
    value = _number(value, name)
    if not math.isfinite(value):
        raise SurvmigError(f"must be a finite number, got {value:g}", where=name)
    if not value >= 0:
        raise SurvmigError(f"must be zero or positive, got {value:g}", where=name)
    return value


def check_count(value: int, name: str, minimum: int = 1) -> int:
    """An integer count of at least ``minimum``."""
    try:
        as_int = int(value)
    except (TypeError, ValueError):
        raise SurvmigError(f"must be a whole number, got {show(value)}", where=name) from None
    if as_int != value or as_int < minimum:
        raise SurvmigError(f"must be a whole number ≥ {minimum}, got {show(value)}", where=name)
    return as_int


def as_numbers(
    values: Iterable[Any] | np.ndarray, name: str, labels: Iterable[Any] | None = None
) -> np.ndarray:
    """One number per stratum, from a column that may hold text; words, spaces or % are errors."""
    raw = pd.Series(np.asarray(values, dtype=object).ravel())
    if raw.empty or np.ndim(values) != 1:
        raise SurvmigError("needs one value per stratum", where=name)
    numeric = pd.to_numeric(raw, errors="coerce")
    text = raw.notna() & numeric.isna()
    if text.any():
        i = int(np.flatnonzero(text.to_numpy())[0])
        label = list(labels)[i] if labels is not None else i + 1
        raise SurvmigError(
            f"must be a number, got {show(raw.iloc[i])} for stratum {show(label)}",
            where=name,
            hint="write plain numbers (no spaces, % signs or words) in that column",
        )
    return numeric.to_numpy(dtype=float)


def check_array(
    values: Iterable[float] | np.ndarray,
    name: str,
    *,
    kind: str = "positive",
    labels: Iterable[Any] | None = None,
) -> np.ndarray:
    """Check a per-stratum column; the error names the first offending stratum.

    ``kind`` is ``positive``, ``nonnegative``, ``probability`` (strictly inside (0, 1)) or ``rate``
    (in (0, 1]).
    """
    arr = as_numbers(values, name, labels)
    tests = {
        "positive": (arr > 0, "must be positive"),
        "nonnegative": (arr >= 0, "must be zero or positive"),
        "probability": ((arr > 0) & (arr < 1), "must be strictly between 0 and 1"),
        "rate": ((arr > 0) & (arr <= 1), "must be in (0, 1]"),
    }
    ok, what = tests[kind]
    ok = ok & np.isfinite(arr)
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        label = list(labels)[i] if labels is not None else i + 1
        raise SurvmigError(f"{what}, got {arr[i]:g} for stratum {show(label)}", where=name)
    return arr


def check_seed(seed: Any, name: str = "--seed") -> int:
    """A random seed: a whole number ≥ 0 (numpy refuses negative seeds)."""
    if isinstance(seed, np.random.SeedSequence | np.random.Generator):
        return seed  # type: ignore[return-value]
    try:
        as_int = int(seed)
    except (TypeError, ValueError):
        raise SurvmigError(f"a seed is a whole number, got {show(seed)}", where=name) from None
    if as_int != seed or as_int < 0:
        raise SurvmigError(
            f"a seed is a whole number ≥ 0, got {show(seed)}", where=name, hint="e.g. --seed 7"
        )
    return as_int


def generator(seed: Any, name: str = "--seed") -> np.random.Generator:
    """The random generator of ``seed`` (checked by :func:`check_seed`)."""
    return np.random.default_rng(check_seed(seed, name))


def check_unique(values: Iterable[Any], name: str, what: str = "stratum") -> None:
    """Each label once: a stratum given twice would silently take one of its two sizes."""
    labels = pd.Series(list(values), dtype=object)
    dup = labels.duplicated()
    if dup.any():
        first = labels[dup].iloc[0]
        rows = (np.flatnonzero((labels == first).to_numpy()) + 1).tolist()
        raise SurvmigError(
            f"{what} {str(first)!r} is given twice (rows {rows[0]} and {rows[1]})",
            where=name,
            hint=f"give each {what} once (merge or rename the rows)",
        )


def _number(value: Any, name: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise SurvmigError(f"must be a number, got {show(value)}", where=name) from None
