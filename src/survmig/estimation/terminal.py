"""Estimates on the terminal: a design header as Stata's ``svy`` prints it, then a table that fits
the terminal's width (the usual columns; ``all_columns`` for the rest), domains and categories by
their labels, numbers that never read ``inf``, ``nan`` or ``-0``."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: columns every estimate table shows by default (the CI as one "lo – hi" column)
DEFAULT = ("estimate", "se", "ci", "cv", "n", "flag")
_LEAD = ("statistic", "variable", "category")
_HIDDEN_BY_DEFAULT = ("ci_low", "ci_high", "deff", "deft", "weighted_n", "df", "p_value")


def number(value: Any, col: str = "") -> str:
    """A number to 5 significant digits (a CV in percent); counts whole with separators; blank for
    missing or infinite (never ``inf``/``nan``); a rounded zero is ``0``, never ``-0``."""
    if value is None or value is pd.NA:
        return ""
    if isinstance(value, bool | np.bool_):
        return str(value)
    if not isinstance(value, int | float | np.integer | np.floating):
        return str(value)
    v = float(value)
    if not math.isfinite(v):
        return ""
    if col in ("n", "df", "weighted_n") and v.is_integer():
        return f"{v:,.0f}"
    if col == "cv":  # a CV reads as a percentage
        return f"{abs(v) * 100:.1f}%"
    text = f"{v:.4g}" if col in ("se", "ci_low", "ci_high") else f"{v:.5g}"
    return "0" if float(text) == 0 else text


def design_header(design: Any) -> list[str]:
    """The design summary ``svy`` prints above its tables: strata, PSUs, observations, population
    size and design degrees of freedom."""
    n_strata = design.n_strata if not design.is_replicate else None
    n_psu = design.n_psu if not design.is_replicate else None
    left = [
        ("Number of strata", "" if n_strata is None else f"{n_strata:,}"),
        ("Number of PSUs", "" if n_psu is None else f"{n_psu:,}"),
    ]
    right = [
        ("Number of obs", f"{design.n:,}"),
        ("Population size", f"{float(np.sum(design.weights)):,.0f}"),
        ("Design df", f"{design.df:,}"),
    ]
    if design.is_replicate:
        r = design.replicate_weights
        left = [("Replicates", f"{r.n_replicates} ({r.type})"), ("", "")]
    lines = []
    for i in range(max(len(left), len(right))):
        lk, lv = left[i] if i < len(left) else ("", "")
        rk, rv = right[i] if i < len(right) else ("", "")
        a = f"{lk:<17} = {lv:>6}" if lk else " " * 26
        lines.append(f"{a}    {rk:<16} = {rv:>9}" if rk else a)
    return lines


def labelled(table: pd.DataFrame, labels: Mapping[str, Mapping[str, str]]) -> pd.DataFrame:
    """Domain columns (and a variable's categories) shown by their labels: Male, not 1."""
    out = table.copy()
    for col, lab in labels.items():
        if col in out.columns and col not in _LEAD:
            out[col] = out[col].map(lambda v, lab=lab: lab.get(_code(v), v))
    if "category" in out.columns and "variable" in out.columns:
        cat = out["category"].map(_code)
        var = out["variable"].astype(str)
        out["category"] = [
            labels.get(v, {}).get(c, orig) if c is not None else orig
            for v, c, orig in zip(var, cat, out["category"], strict=True)
        ]
    return out


def _code(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def value_labels(data: Path, columns: list[str]) -> dict[str, dict[str, str]]:
    """Code → label of ``columns`` from a survmig dataset folder's form (empty for a plain file)."""
    if not Path(data).is_dir():
        return {}
    from survmig.data import Dataset

    try:
        meta = Dataset.read(data).metadata
    except Exception:  # a folder without metadata: codes stay codes
        return {}
    out = {}
    for col in columns:
        var = meta.variables.get(col)
        if var is not None and var.has_choices:
            out[col] = meta.value_labels(var)
    return out


def shown_columns(table: pd.DataFrame, all_columns: bool) -> list[str]:
    """The lead and domain columns, then the default value columns (or every column)."""
    if all_columns:
        return list(table.columns)
    values = set(DEFAULT) | set(_HIDDEN_BY_DEFAULT) | {"estimate", "se", "cv", "n", "flag"}
    lead = [c for c in table.columns if c not in values]
    lead = [c for c in lead if not table[c].isna().all()]
    rest = [c for c in DEFAULT if c in table.columns or c == "ci"]
    if "ci_low" not in table.columns:
        rest.remove("ci")
    return lead + rest


def print_table(
    table: pd.DataFrame,
    *,
    design: Any = None,
    labels: Mapping[str, Mapping[str, str]] | None = None,
    all_columns: bool = False,
    level: float = 0.95,
) -> None:
    """Print the estimates: the design header, then a table folded to the terminal's width."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if design is not None:
        for line in design_header(design):
            console.print(line, highlight=False)
        console.print()
    show_table = labelled(table, labels or {})
    cols = shown_columns(show_table, all_columns)
    out = Table(show_lines=False, header_style="bold", pad_edge=False, box=box.SIMPLE_HEAD)
    heads = {"ci": f"[{level:.0%} CI]", "se": "SE", "cv": "CV", "statistic": "stat"}
    for col in cols:
        numeric = col == "ci" or (
            col in show_table.columns
            and col not in _LEAD
            and pd.api.types.is_numeric_dtype(show_table[col])
        )
        words = (
            show_table[col].dropna().astype(str).str.split().explode().str.len().max()
            if col in show_table.columns and not numeric
            else None
        )
        cells = (
            show_table[col].map(lambda v, c=col: len(number(v, c))).max()
            if col in show_table.columns and numeric and len(show_table)
            else 0
        )
        out.add_column(
            heads.get(col, col),
            justify="right" if numeric else "left",
            no_wrap=numeric,  # numbers keep their width; text folds between words, never inside
            overflow="fold",
            min_width=max(int(cells), len(heads.get(col, col)))
            if numeric
            else (
                None
                if not words or words != words
                else int(min(max(words, len(heads.get(col, col))), 24))
            ),
        )
    for _, row in show_table.iterrows():
        cells = []
        for col in cols:
            if col == "ci":
                lo, hi = number(row.get("ci_low"), "ci_low"), number(row.get("ci_high"), "ci_high")
                cells.append(f"{lo} – {hi}" if lo or hi else "")
            else:
                cells.append(number(row[col], col))
        out.add_row(*cells)
    # numbers are never cut: when even the narrowest layout is wider than the terminal, print at
    # that width (the terminal wraps long lines) rather than squeeze columns away
    need = sum((c.min_width or 1) + 4 for c in out.columns) + 4
    (console if need <= console.width else Console(width=need)).print(out)
