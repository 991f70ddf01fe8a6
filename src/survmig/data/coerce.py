"""Typing raw export text into columns (and back): the one place that knows each XLSForm type's shape.

Typed representations:

- ``integer``, select_one with integer codes -> ``Int64`` (-8/-9 kept as values);
- ``decimal``, ``range`` -> ``Float64``;
- select_one with text codes, ``text`` and other free text -> ``string``;
- ``select_multiple`` -> ``string`` of space-separated codes, plus one ``Int8`` 0/1 column per option
  (NA where the question was not answered);
- ``date`` -> ``datetime64`` at midnight; ``dateTime``/``start``/``end`` -> ``datetime64`` in UTC
  (the offset is converted, then dropped);
- ``calculate`` -> ``Int64``/``Float64`` when every value is a number, otherwise ``string``.

A value that does not fit its type becomes NA and is reported as a :class:`Problem` — never dropped
silently.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from survmig.data.dataset import Problem
from survmig.data.form import KEY, FormMetadata, Variable
from survmig.data.xpath import format_numbers

INT_TYPES = frozenset({"integer"})
FLOAT_TYPES = frozenset({"decimal", "range"})
DATE_TYPES = frozenset({"date", "today"})
DATETIME_TYPES = frozenset({"datetime", "start", "end"})


def _blank(raw: pd.Series) -> pd.Series:
    """Raw text with surrounding blanks removed ('' for missing)."""
    return raw.fillna("").astype(str).str.strip()


def _bad(
    problems: list[Problem],
    level: str,
    keys: pd.Series,
    var: Variable,
    raw: pd.Series,
    mask: pd.Series,
    what: str,
) -> None:
    if not mask.any():
        return
    for key, value in zip(keys[mask].tolist(), raw[mask].tolist(), strict=True):
        problems.append(
            Problem(level, key, var.name, "type", f"'{value}' is not {what}", str(value))
        )


def per_distinct(text: pd.Series, func: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """``func(text)`` for an element-wise ``func``, computed once per distinct value.

    Answers repeat a few codes over many rows, so parsing the distinct values and spreading the
    result back by position costs a fraction of parsing every row (the result, dtype included, is
    the same: ``func`` sees the same set of values).
    """
    codes, uniques = pd.factorize(text, use_na_sentinel=False)
    if len(uniques) == len(text):
        return func(text)
    result = func(pd.Series(uniques, dtype=text.dtype))
    return result.take(codes).set_axis(text.index)


def _numbers(text: pd.Series) -> pd.Series:
    """``pd.to_numeric`` of the non-blank values (NaN for blanks and non-numbers)."""
    return per_distinct(text, lambda t: pd.to_numeric(t.where(t != ""), errors="coerce"))


def to_integer(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Int64 column and the mask of values that are not integers (or do not fit in 64 bits)."""
    present = text != ""
    num = _numbers(text)
    bad = present & (num.isna() | (num.round() != num) | _beyond_int64(num))
    values = num.where(~bad).round()
    return values.astype("Int64"), bad


def _beyond_int64(num: pd.Series) -> pd.Series | bool:
    """Numbers no Int64 holds (they would stop the import with an overflow)."""
    if num.dtype.kind == "f":
        return num.abs() >= 2.0**63
    if num.dtype.kind == "u":
        return num > np.iinfo(np.int64).max
    return False


def to_float(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    present = text != ""
    num = _numbers(text)
    bad = present & num.isna()
    return num.astype("Float64"), bad


def to_datetime(text: pd.Series, *, date_only: bool) -> tuple[pd.Series, pd.Series]:
    present = text != ""
    parsed = pd.to_datetime(text.where(present), errors="coerce", utc=True, format="ISO8601")
    parsed = parsed.dt.tz_convert(None)
    if date_only:
        parsed = parsed.dt.normalize()
    bad = present & parsed.isna()
    return parsed.astype("datetime64[ms]"), bad


def to_string(raw: pd.Series, *, strip: bool = False) -> pd.Series:
    text = raw.fillna("").astype(str)
    if strip:
        text = text.str.strip()
    return text.where(text != "").astype("string")


def normalise_multi(text: pd.Series) -> pd.Series:
    """Space-separated codes with single spaces, NA when empty."""
    return per_distinct(text, _normalise_multi)


def _normalise_multi(text: pd.Series) -> pd.Series:
    norm = text.str.replace(r"\s+", " ", regex=True).str.strip()
    return norm.where(norm != "").astype("string")


def option_dummies(multi: pd.Series, options: dict[str, str]) -> pd.DataFrame:
    """0/1 ``Int8`` columns (``options``: code -> column name) from space-separated codes.

    NA where the question has no answer; a code outside ``options`` sets no column (checks report it).
    """
    n = len(multi)
    # each distinct answer is split once; rows take their answer's 0/1 values by position
    rows, answers = pd.factorize(multi)
    answered = rows >= 0
    tokens = pd.Series(answers.to_numpy(dtype=object)).astype(str).str.split(" ").explode()
    token_values = tokens.to_numpy(dtype=object)
    token_answers = tokens.index.to_numpy()
    columns = {}
    for code, col in options.items():
        per_answer = np.zeros(len(answers), dtype="int8")
        per_answer[token_answers[token_values == code]] = 1
        values = np.zeros(n, dtype="int8")
        values[answered] = per_answer[rows[answered]]
        columns[col] = pd.arrays.IntegerArray(values, mask=~answered)
    return pd.DataFrame(columns, index=multi.index)


def coerce_column(
    meta: FormMetadata,
    var: Variable,
    raw: pd.Series,
    *,
    level: str,
    keys: pd.Series,
    problems: list[Problem],
) -> pd.Series:
    """Typed column for ``var`` from raw export text."""
    vtype = var.type
    text = _blank(raw)
    if vtype in INT_TYPES or (vtype == "select_one" and not meta.is_string_coded(var)):
        values, bad = to_integer(text)
        _bad(
            problems,
            level,
            keys,
            var,
            raw,
            bad,
            "an integer" if vtype in INT_TYPES else "an integer code",
        )
        return values
    if vtype in FLOAT_TYPES:
        values, bad = to_float(text)
        _bad(problems, level, keys, var, raw, bad, "a number")
        return values
    if vtype in DATE_TYPES or vtype in DATETIME_TYPES:
        values, bad = to_datetime(text, date_only=vtype in DATE_TYPES)
        _bad(
            problems,
            level,
            keys,
            var,
            raw,
            bad,
            "a date" if vtype in DATE_TYPES else "a date and time",
        )
        return values
    if vtype == "select_multiple":
        return normalise_multi(text)
    if vtype == "select_one":
        return to_string(text)
    if vtype == "calculate":
        present = text != ""
        num = _numbers(text)
        if present.any() and not (present & num.isna()).any():
            if (num.dropna().round() == num.dropna()).all() and num.dropna().abs().max() < 2**53:
                return num.round().astype("Int64")
            return num.astype("Float64")
        return to_string(raw)
    return to_string(raw)


def to_raw(series: pd.Series, var: Variable | None) -> pd.Series:
    """Export text of a typed column (inverse of :func:`coerce_column`): '' for missing."""
    vtype = var.type if var is not None else None
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        if vtype in DATE_TYPES:
            text = series.dt.strftime("%Y-%m-%d")
        else:
            text = series.dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str.slice(0, 23) + "Z"
        return text.where(series.notna(), "").astype(object)
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.map({True: "true", False: "false"}).fillna("").astype(object)
    if pd.api.types.is_numeric_dtype(series.dtype):
        num = series.to_numpy(dtype=float, na_value=np.nan)
        text = format_numbers(num)
        text[np.isnan(num)] = ""
        return pd.Series(text, index=series.index, dtype=object)
    return series.astype(object).where(series.notna(), "").astype(str).astype(object)


def raw_table(meta: FormMetadata, level: str, typed: pd.DataFrame) -> pd.DataFrame:
    """Every column of a typed table as export text."""
    return pd.DataFrame(
        {col: to_raw(typed[col], meta.variables.get(col)) for col in typed.columns},
        index=typed.index,
    )


def key_series(df: pd.DataFrame) -> pd.Series:
    return (
        df[KEY].astype(object) if KEY in df.columns else pd.Series([None] * len(df), index=df.index)
    )
