"""Synthetic submissions for any form: answers of the right type, inside the choice lists and the
constraints, blanked where the skip logic says the question was not asked.

Used by the round-trip tests and the benchmark. Vectorised per question: every answer of a question
is drawn at once, its constraint is evaluated on the whole column (:mod:`survmig.data.xpath`), and
failing draws are redrawn from the next candidate range.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pandas as pd

from survmig.arrays import positions_in_groups
from survmig.conventions import DONT_KNOW, REFUSED
from survmig.data.coerce import coerce_column
from survmig.data.dataset import Dataset
from survmig.data.form import KEY, PARENT_KEY, ROOT_KEY, ROW_POS, FormMetadata, Variable
from survmig.data.logic import form_context, truth
from survmig.data.xpath import (
    XPathError,
    XPathUnsupported,
    XValue,
    evaluate,
    node_from_series,
    parse,
)

_INT_RANGES = [(0, 100), (0, 10), (1, 12), (1950, 2024), (0, 100_000), (1, 5)]
_FLOAT_RANGES = [(0.0, 1000.0), (0.0, 100.0), (0.0, 1_000_000.0), (0.0, 1.0)]
_DATE_RANGES = [
    ("1950-01-01", "2024-12-31"),
    ("2015-01-01", "2024-12-31"),
    ("2000-01-01", "2024-12-31"),
]


def synthetic_dataset(
    form: FormMetadata,
    n: int = 500,
    *,
    seed: int = 1,
    repeat_means: dict[str, float] | None = None,
    special_rate: float = 0.02,
) -> Dataset:
    """A Dataset of ``n`` submissions for ``form``.

    Repeats get as many rows as their ``repeat_count`` says, otherwise a Poisson number with the
    mean in ``repeat_means`` (default 4 for a repeat directly under the root, 0.6 below).
    ``special_rate`` of the answers to numeric questions and selects that allow it are -8/-9.
    """
    rng = np.random.default_rng(seed)
    means = repeat_means or {}
    tables: dict[str, pd.DataFrame] = {}
    for level in form.levels.values():
        if level.parent is None:
            keys = pd.Series([f"uuid:{random_hex(rng)}" for _ in range(n)], dtype=object)
            frame = pd.DataFrame({KEY: keys})
            parent_view = pd.DataFrame(index=frame.index)
        else:
            parent = tables[level.parent]
            flat_parent = flat_view(tables, form, level.parent)
            counts = _repeat_counts(form, level, parent, flat_parent, rng, means)
            idx = np.repeat(np.arange(len(parent)), counts)
            pos = positions_in_groups(counts)
            pkeys = parent[KEY].to_numpy(dtype=object)[idx]
            keys = (
                pd.Series(pkeys, dtype=object)
                + "/"
                + level.key_segment
                + "["
                + pd.Series(pos).astype(str)
                + "]"
            )
            root = (
                parent[ROOT_KEY].to_numpy(dtype=object)[idx]
                if ROOT_KEY in parent.columns
                else pkeys
            )
            frame = pd.DataFrame(
                {
                    KEY: keys,
                    PARENT_KEY: pkeys,
                    ROOT_KEY: root,
                    ROW_POS: pd.array(pos, dtype="Int64"),
                }
            )
            parent_view = flat_parent.iloc[idx].reset_index(drop=True)
        fill_level(form, level.name, frame, parent_view, rng, special_rate)
        if level.parent is None:
            frame["SubmissionDate"] = pd.Timestamp("2024-06-01") + pd.to_timedelta(
                rng.integers(0, 60 * 86400, len(frame)), unit="s"
            )
            frame["SubmissionDate"] = frame["SubmissionDate"].astype("datetime64[ms]")
        for col in (KEY, PARENT_KEY, ROOT_KEY):
            if col in frame.columns:
                frame[col] = frame[col].astype("string")
        tables[level.name] = frame
    return Dataset(tables, form, source={"shape": "synthetic", "seed": seed})


def random_hex(rng: np.random.Generator) -> str:
    b = rng.bytes(16).hex()
    return f"{b[:8]}-{b[8:12]}-4{b[13:16]}-a{b[17:20]}-{b[20:32]}"


def flat_view(tables: dict[str, pd.DataFrame], form: FormMetadata, level: str) -> pd.DataFrame:
    ds = Dataset({k: v for k, v in tables.items()}, form)
    return ds.flatten(level).reset_index(drop=True)


def _repeat_counts(form, level, parent, flat_parent, rng, means) -> np.ndarray:
    n = len(parent)
    counts = None
    if level.repeat_count:
        try:
            value = evaluate(parse(level.repeat_count), form_context(form, flat_parent, n)).as_num()
            counts = np.nan_to_num(value, nan=0.0).clip(0, 100).astype(int)
        except (XPathError, XPathUnsupported):
            counts = None
    ref = re.fullmatch(r"\s*\$\{([A-Za-z_][\w.-]*)\}\s*", level.repeat_count or "")
    if level.name in means and ref and ref.group(1) in parent.columns:
        # the wanted size drives the count question, so the data stay consistent with the form
        name = ref.group(1)
        drawn = np.maximum(rng.poisson(means[level.name], n), 1)
        current = parent[name]
        keep = current.isna() | current.isin([DONT_KNOW, REFUSED])
        parent[name] = current.where(
            keep, pd.Series(drawn, index=parent.index).astype(current.dtype)
        )
        flat_parent[name] = parent[name].to_numpy()
        counts = np.where(keep.to_numpy(), 0, drawn)
    if counts is None or (
        ref and ref.group(1) in parent.columns and parent[ref.group(1)].isna().all()
    ):
        mean = means.get(level.name, 4.0 if form.levels[level.parent].parent is None else 0.6)
        counts = rng.poisson(mean, n)
        if ref and ref.group(1) in parent.columns and parent[ref.group(1)].isna().all():
            # a count the generator cannot compute (e.g. count() over another repeat): make it agree
            parent[ref.group(1)] = pd.array(counts, dtype="Int64")
            flat_parent[ref.group(1)] = counts
            return counts
    for expr in level.relevant:
        mask = relevance_mask(form, expr, flat_parent, n)
        if mask is not None:
            counts = np.where(mask, counts, 0)
    return counts


def relevance_mask(
    form: FormMetadata, expr: str, frame, n: int, current: XValue | None = None
) -> np.ndarray | None:
    try:
        return truth(form, expr, frame, n, current)
    except (XPathError, XPathUnsupported):
        return None


#: ``choose(var, view, drawn) -> values``: lets a caller (the demo) put known answers in place of
#: the random draw; skip logic is applied to whatever it returns.
Chooser = Callable[[Variable, "_Chain", pd.Series], pd.Series]


def fill_level(
    form: FormMetadata,
    level: str,
    frame: pd.DataFrame,
    parent_view: pd.DataFrame,
    rng: np.random.Generator,
    special_rate: float,
    choose: Chooser | None = None,
) -> None:
    """Answer every question of ``level`` where its relevance holds (blank elsewhere)."""
    n = len(frame)
    for var in form.data_variables(level):
        if var.kind == "option":
            continue
        view = _Chain(frame, parent_view)
        asked = np.ones(n, dtype=bool)
        for expr in var.relevance():
            mask = relevance_mask(form, expr, view, n)
            if mask is not None:
                asked &= mask
        if (
            var.kind == "meta"
            and var.name == "instanceID"
            and KEY in frame.columns
            and form.levels[level].parent is None
        ):
            values = frame[KEY].astype("string").reset_index(drop=True)
        else:
            values = _draw(form, var, view, n, rng, special_rate)
            if choose is not None:
                values = choose(var, view, values)
        frame[var.name] = (
            values.where(pd.Series(asked, index=values.index)) if len(values) else values
        )
        if var.type == "select_multiple":
            from survmig.data.coerce import option_dummies

            dummies = option_dummies(frame[var.name], form.option_columns(var.name))
            for col in dummies.columns:
                frame[col] = dummies[col].array


class _Chain:
    """Columns of the level being filled, then of its ancestors (no copy)."""

    def __init__(self, frame: pd.DataFrame, parent_view: pd.DataFrame) -> None:
        self.frame = frame
        self.parent_view = parent_view
        self.columns = _Columns(self)

    def __getitem__(self, name: str) -> pd.Series:
        if name in self.frame.columns:
            return self.frame[name].reset_index(drop=True)
        return self.parent_view[name].reset_index(drop=True)


class _Columns:
    def __init__(self, chain: _Chain) -> None:
        self.chain = chain

    def __contains__(self, name: object) -> bool:
        return name in self.chain.frame.columns or name in self.chain.parent_view.columns


def _draw(
    form: FormMetadata, var: Variable, view: pd.DataFrame, n: int, rng, special_rate: float
) -> pd.Series:
    vtype = var.type
    if n == 0:
        return pd.Series([], dtype=object)
    if var.name == "instanceID":
        return pd.Series([f"uuid:{random_hex(rng)}" for _ in range(n)], dtype="string")
    if vtype in ("start", "end"):
        base = pd.Timestamp("2024-06-01 08:00:00") + pd.to_timedelta(
            rng.integers(0, 60 * 86400, n), unit="s"
        )
        return pd.Series(base + pd.to_timedelta(3600 if vtype == "end" else 0, unit="s")).astype(
            "datetime64[ms]"
        )
    if vtype == "today":
        return pd.Series(
            pd.Timestamp("2024-06-01") + pd.to_timedelta(rng.integers(0, 60, n), unit="D")
        ).astype("datetime64[ms]")
    if vtype == "select_one":
        codes = [c.name for c in form.choices.get(var.list_name or "", [])]
        regular = [c for c in codes if c not in (str(DONT_KNOW), str(REFUSED))] or codes
        picks = np.array(regular, dtype=object)[rng.integers(0, len(regular), n)]
        for special in (str(DONT_KNOW), str(REFUSED)):
            if special in codes:
                picks = np.where(rng.random(n) < special_rate / 2, special, picks)
        if var.constraint:
            picks = _satisfy_choice(form, var, view, picks, regular, rng)
        series = pd.Series(picks, dtype=object)
        if form.is_string_coded(var):
            return series.astype("string")
        return pd.to_numeric(series).astype("Int64")
    if vtype == "select_multiple":
        codes = [
            c.name
            for c in form.choices.get(var.list_name or "", [])
            if c.name not in (str(DONT_KNOW), str(REFUSED))
        ]
        if not codes:
            return pd.Series([pd.NA] * n, dtype="string")
        chosen = rng.random((n, len(codes))) < 0.3
        none = ~chosen.any(axis=1)
        chosen[none, rng.integers(0, len(codes), int(none.sum()))] = True
        labels = np.array(codes, dtype=object)
        text = np.array([" ".join(labels[row]) for row in chosen], dtype=object)
        if var.constraint:
            text = _satisfy_choice(form, var, view, text, codes, rng)
        return pd.Series(text, dtype="string")
    if vtype in ("integer", "decimal", "range"):
        return _draw_numeric(form, var, view, n, rng, special_rate)
    if vtype == "date":
        return _draw_dates(form, var, view, n, rng)
    if vtype == "datetime":
        base = pd.Timestamp("2024-01-01") + pd.to_timedelta(
            rng.integers(0, 365 * 86400, n), unit="s"
        )
        return pd.Series(base).astype("datetime64[ms]")
    if vtype == "calculate":
        if var.calculation:
            try:
                value = evaluate(parse(var.calculation), form_context(form, view, n))
            except (XPathError, XPathUnsupported):
                return pd.Series([pd.NA] * n, dtype="string")
            # type it exactly as an import would type the exported text
            return coerce_column(
                form,
                var,
                pd.Series(value.as_str()).replace("NaN", ""),
                level=var.level,
                keys=pd.Series([None] * n),
                problems=[],
            )
        return pd.Series([pd.NA] * n, dtype="string")
    if vtype in ("geopoint",):
        lat = rng.uniform(-30, 30, n).round(6)
        lon = rng.uniform(-20, 40, n).round(6)
        return pd.Series([f"{a} {b} 0 5" for a, b in zip(lat, lon, strict=True)], dtype="string")
    if vtype in ("time",):
        return pd.Series(
            [
                f"{h:02d}:{m:02d}:00.000Z"
                for h, m in zip(rng.integers(0, 24, n), rng.integers(0, 60, n), strict=True)
            ],
            dtype="string",
        )
    words = np.array(
        ["Amina", "Youssef", "Marie", "Jean", "Fatou", "Omar", "Leila", "Kofi", "Sara", "Ali"],
        dtype=object,
    )
    picks = (
        words[rng.integers(0, len(words), n)]
        + " "
        + pd.Series(rng.integers(1, 999, n)).astype(str).to_numpy(dtype=object)
    )
    return pd.Series(picks, dtype="string")


def _satisfy_choice(form, var, view, picks: np.ndarray, codes: list[str], rng) -> np.ndarray:
    """Redraw codes that break the constraint; then try each code in list order for the rest."""

    def typed(values: np.ndarray) -> pd.Series:
        series = pd.Series(values, dtype=object)
        if var.type == "select_multiple" or form.is_string_coded(var):
            return series.astype("string")
        return pd.to_numeric(series).astype("Int64")

    ok = passes_constraint(form, var, view, typed(picks))
    for _ in range(3):
        if ok.all():
            return picks
        redraw = np.array(codes, dtype=object)[rng.integers(0, len(codes), len(picks))]
        trial = np.where(ok, picks, redraw)
        ok_trial = passes_constraint(form, var, view, typed(trial))
        picks = np.where(~ok & ok_trial, trial, picks)
        ok = ok | ok_trial
    for code in codes:
        if ok.all():
            break
        trial = np.where(ok, picks, code)
        ok_trial = passes_constraint(form, var, view, typed(trial))
        picks = np.where(~ok & ok_trial, trial, picks)
        ok = ok | ok_trial
    return picks


def passes_constraint(
    form: FormMetadata, var: Variable, view: pd.DataFrame, values: pd.Series
) -> np.ndarray:
    if not var.constraint:
        return np.ones(len(values), dtype=bool)
    cur = node_from_series(values, is_date=var.type == "date")
    ok = relevance_mask(form, var.constraint, view, len(values), cur)
    return np.ones(len(values), dtype=bool) if ok is None else ok


def _draw_numeric(form, var, view, n, rng, special_rate) -> pd.Series:
    integer = var.type == "integer"
    out = np.full(n, np.nan)
    todo = np.ones(n, dtype=bool)
    for lo, hi in _INT_RANGES if integer else _FLOAT_RANGES:
        if not todo.any():
            break
        draw = (
            rng.integers(lo, hi + 1, n).astype(float)
            if integer
            else np.round(rng.uniform(lo, hi, n), 2)
        )
        trial = np.where(todo, draw, out)
        ok = passes_constraint(form, var, view, pd.Series(trial))
        newly = todo & ok
        out[newly] = trial[newly]
        todo &= ~ok
    if var.constraint:
        for special in (DONT_KNOW, REFUSED):
            trial = np.full(n, float(special))
            allowed = passes_constraint(form, var, view, pd.Series(trial))
            pick = allowed & ((rng.random(n) < special_rate / 2) | todo)
            out[pick] = special
            todo &= ~pick
    series = pd.Series(out)
    return series.round().astype("Int64") if integer else series.astype("Float64")


def _draw_dates(form, var, view, n, rng) -> pd.Series:
    out = pd.Series([pd.NaT] * n, dtype="datetime64[ms]")
    todo = np.ones(n, dtype=bool)
    for lo, hi in _DATE_RANGES:
        if not todo.any():
            break
        start, end = pd.Timestamp(lo), pd.Timestamp(hi)
        days = rng.integers(0, (end - start).days + 1, n)
        draw = pd.Series(start + pd.to_timedelta(days, unit="D")).astype("datetime64[ms]")
        trial = draw.where(pd.Series(todo), out)
        ok = passes_constraint(form, var, view, trial)
        newly = todo & ok
        out[newly] = trial[newly]
        todo &= ~ok
    return out
