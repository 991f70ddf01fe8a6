"""Checks of collected data against its form.

Every finding is a :class:`Problem` with its level, row key and column. What the expression
evaluator cannot handle is listed as *not checked* with the expression and the reason — a check is
never silently passed.

Checks: columns not in the form and form questions missing from the file, values that do not fit
their type, values outside the choice list, constraint violations, answers present where the skip
logic says the question was not asked, required questions left empty where asked, repeat rows where
the repeat was not asked, repeat rows against their ``repeat_count``, repeat rows without a parent,
duplicate instance ids.
"""

from __future__ import annotations

import dataclasses
import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from survmig.data.dataset import Dataset, Problem
from survmig.data.form import KEY, PARENT_KEY, FormMetadata, Variable
from survmig.data.logic import form_context, truth
from survmig.data.xpath import XPathError, XPathUnsupported, evaluate, node_from_series, parse
from survmig.tableio import write_csv

#: Import-time findings that the checks recompute (so they are not listed twice).
_RECOMPUTED = {"duplicate", "orphan"}


@dataclasses.dataclass(frozen=True)
class NotChecked:
    level: str
    column: str
    check: str
    expression: str
    reason: str


@dataclasses.dataclass
class CheckReport:
    """All problems found, and the checks that could not be made."""

    problems: list[Problem]
    not_checked: list[NotChecked]
    rows: dict[str, int]
    today: datetime.date | None = None  # the date today() stood for

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_frame(self) -> pd.DataFrame:
        cols = ["level", "key", "column", "check", "message", "value"]
        return pd.DataFrame([p.as_dict() for p in self.problems], columns=cols)

    def not_checked_frame(self) -> pd.DataFrame:
        cols = ["level", "column", "check", "expression", "reason"]
        return pd.DataFrame([dataclasses.asdict(n) for n in self.not_checked], columns=cols)

    def summary(self) -> pd.DataFrame:
        """Problems counted by level, check and column."""
        df = self.to_frame()
        if df.empty:
            return pd.DataFrame(columns=["level", "check", "column", "n"])
        return (
            df.fillna({"column": ""})
            .groupby(["level", "check", "column"], sort=False)
            .size()
            .reset_index(name="n")
        )

    def write(self, path: str | Path, *, spreadsheet_safe: bool = False) -> Path:
        """Problems as CSV at ``path``; the not-checked list beside it (``<stem>_not_checked.csv``).

        ``spreadsheet_safe`` escapes text a spreadsheet would run as a formula (OWASP)."""
        path = Path(path)
        write_csv(self.to_frame(), path, safe=spreadsheet_safe)
        other = path.with_name(f"{path.stem}_not_checked.csv")
        write_csv(self.not_checked_frame(), other, safe=spreadsheet_safe)
        return path


def check_dataset(ds: Dataset, today: datetime.date | None = None) -> CheckReport:
    """Run every check on ``ds``.

    ``today()`` in constraints and relevance is ``today`` — by default the date the check runs, as
    the tablet evaluated it on the day of the interview (so ``. <= today()`` holds for any date up
    to the check). The date used is kept in the report.
    """
    today = today or datetime.date.today()
    meta = ds.metadata
    problems = [p for p in ds.notes if p.check not in _RECOMPUTED]
    skipped: list[NotChecked] = []
    for level in ds.levels:
        df = ds.table(level)
        keys = df[KEY].astype(object).to_numpy()
        problems += _duplicates(level, df)
        if meta.levels[level].parent is not None:
            problems += _orphans(ds, level, df)
        flat = ds.flatten(level)
        n = len(flat)
        for var in meta.data_variables(level):
            if var.kind != "question" or var.name not in df.columns:
                continue
            answered = _answered(df[var.name])
            problems += _choices(meta, level, var, df[var.name], keys)
            problems += _constraint(meta, level, var, flat, answered, keys, skipped, today)
            problems += _relevance(meta, level, var, flat, answered, keys, skipped, n, today)
        problems += _repeat_rows(ds, level, skipped, today)
    rows = {lv: len(ds.table(lv)) for lv in ds.levels}
    return CheckReport(problems, skipped, rows, today)


def _answered(series: pd.Series) -> np.ndarray:
    present = series.notna().to_numpy().copy()
    if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
        present &= series.astype(object).fillna("").astype(str).str.strip().ne("").to_numpy()
    return present


def _duplicates(level: str, df: pd.DataFrame) -> list[Problem]:
    dup = df[KEY].duplicated(keep=False) & df[KEY].notna()
    return [
        Problem(level, k, KEY, "duplicate", "the same key is on several rows", k)
        for k in df.loc[dup, KEY].tolist()
    ]


def _orphans(ds: Dataset, level: str, df: pd.DataFrame) -> list[Problem]:
    parent = ds.metadata.levels[level].parent
    known = set(ds.table(parent)[KEY].astype(str)) if parent in ds.levels else set()
    orphan = ~df[PARENT_KEY].astype(str).isin(known)
    return [
        Problem(level, k, PARENT_KEY, "orphan", "repeat row without a parent in the data", pk)
        for k, pk in zip(
            df.loc[orphan, KEY].tolist(), df.loc[orphan, PARENT_KEY].tolist(), strict=True
        )
    ]


def _choices(
    meta: FormMetadata, level: str, var: Variable, series: pd.Series, keys: np.ndarray
) -> list[Problem]:
    if not var.has_choices:
        return []
    codes = {c.name for c in meta.choices.get(var.list_name or "", [])}
    text = series.astype(object).where(series.notna(), None)
    out: list[Problem] = []
    if var.type == "select_one":
        as_text = text.map(
            lambda v: (
                None if v is None else (str(int(v)) if isinstance(v, (int, np.integer)) else str(v))
            )
        )
        bad = as_text.notna() & ~as_text.isin(codes)
        for key, value in zip(keys[bad.to_numpy()], as_text[bad].tolist(), strict=True):
            out.append(
                Problem(
                    level,
                    key,
                    var.name,
                    "choice",
                    f"'{value}' is not in choice list '{var.list_name}'",
                    value,
                )
            )
    else:
        tokens = text.dropna().astype(str).str.split().explode().dropna()
        bad = tokens[~tokens.isin(codes)]
        for pos, value in zip(bad.index.tolist(), bad.tolist(), strict=True):
            out.append(
                Problem(
                    level,
                    keys[pos],
                    var.name,
                    "choice",
                    f"'{value}' is not in choice list '{var.list_name}'",
                    value,
                )
            )
    return out


def _constraint(
    meta: FormMetadata,
    level: str,
    var: Variable,
    flat: pd.DataFrame,
    answered: np.ndarray,
    keys: np.ndarray,
    skipped: list[NotChecked],
    today: datetime.date,
) -> list[Problem]:
    if not var.constraint or not answered.any():
        return []
    try:
        current = node_from_series(flat[var.name], is_date=var.type in ("date", "today"))
        ok = truth(meta, var.constraint, flat, len(flat), current, level, today=today)
    except (XPathError, XPathUnsupported) as err:
        skipped.append(NotChecked(level, var.name, "constraint", var.constraint, str(err)))
        return []
    bad = answered & ~ok
    message = meta.text(var.constraint_message, None) or f"breaks the constraint {var.constraint}"
    values = flat[var.name].astype(object).to_numpy()
    return [
        Problem(level, keys[i], var.name, "constraint", message, str(values[i]))
        for i in np.flatnonzero(bad)
    ]


def _relevance(
    meta: FormMetadata,
    level: str,
    var: Variable,
    flat: pd.DataFrame,
    answered: np.ndarray,
    keys: np.ndarray,
    skipped: list[NotChecked],
    n: int,
    today: datetime.date,
) -> list[Problem]:
    conditions = var.relevance()
    asked = np.ones(n, dtype=bool)
    for expr in conditions:
        try:
            asked &= truth(meta, expr, flat, n, None, level, today=today)
        except (XPathError, XPathUnsupported) as err:
            skipped.append(NotChecked(level, var.name, "relevant", expr, str(err)))
            return []
    out: list[Problem] = []
    if var.type != "calculate":
        bad = answered & ~asked
        values = flat[var.name].astype(object).to_numpy()
        text = " and ".join(conditions)
        out += [
            Problem(
                level,
                keys[i],
                var.name,
                "relevant",
                f"answered although not asked ({text} is false)",
                str(values[i]),
            )
            for i in np.flatnonzero(bad)
        ]
    if var.required and var.type != "calculate":
        empty = asked & ~answered
        out += [
            Problem(
                level,
                keys[i],
                var.name,
                "required",
                "required question not answered although asked",
            )
            for i in np.flatnonzero(empty)
        ]
    return out


def _repeat_rows(
    ds: Dataset, level: str, skipped: list[NotChecked], today: datetime.date
) -> list[Problem]:
    """Repeat rows under a parent where the repeat was not asked, and counts against repeat_count."""
    meta = ds.metadata
    out: list[Problem] = []
    for child in meta.children(level):
        if child not in ds.levels:
            continue
        lv = meta.levels[child]
        parent_flat = ds.flatten(level)
        n = len(parent_flat)
        counts = ds.table(child)[PARENT_KEY].value_counts()
        have = counts.reindex(parent_flat[KEY].astype(str).to_numpy()).fillna(0).to_numpy(dtype=int)
        keys = parent_flat[KEY].astype(object).to_numpy()
        for expr in lv.relevant:
            try:
                asked = truth(meta, expr, parent_flat, n, None, level, today=today)
            except (XPathError, XPathUnsupported) as err:
                skipped.append(NotChecked(child, "", "relevant", expr, str(err)))
                continue
            for i in np.flatnonzero(~asked & (have > 0)):
                out.append(
                    Problem(
                        child,
                        keys[i],
                        None,
                        "relevant",
                        f"{have[i]} row(s) of repeat '{child}' although it was not asked ({expr} is false)",
                    )
                )
        if lv.repeat_count:
            try:
                want = evaluate(
                    parse(lv.repeat_count),
                    form_context(meta, parent_flat, n, None, level, today=today),
                ).as_num()
            except (XPathError, XPathUnsupported) as err:
                skipped.append(NotChecked(child, "", "repeat_count", lv.repeat_count, str(err)))
                continue
            bad = ~np.isnan(want) & (want >= 0) & (want != have)
            for i in np.flatnonzero(bad):
                out.append(
                    Problem(
                        child,
                        keys[i],
                        None,
                        "repeat_count",
                        f"{have[i]} row(s) but repeat_count {lv.repeat_count} = {int(want[i])}",
                        str(have[i]),
                    )
                )
    return out
