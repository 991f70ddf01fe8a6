"""Writing estimate tables: CSV, XLSX, JSON or Markdown by extension (atomically), or a terminal table."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from survmig.errors import SurvmigError
from survmig.fileio import atomic_path, check_output_file
from survmig.tableio import excel_writer, write_csv

OUTPUT_FORMATS = {".csv": "CSV", ".xlsx": "Excel", ".json": "JSON", ".md": "Markdown"}


def check_output_path(path: Path, inputs: tuple[Path, ...] = ()) -> None:
    """Reject an unknown output extension, or a path that cannot be written or is one of the
    ``inputs``, before any work is done."""
    check_output_file(path, inputs)
    if path.suffix.lower() not in OUTPUT_FORMATS:
        raise SurvmigError(
            f"unknown output format {path.suffix or '(no extension)'!r}",
            file=path,
            hint=f"use {', '.join(OUTPUT_FORMATS)}",
        )


def _json_value(value: Any) -> Any:
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if value is pd.NA or value is None:
        return None
    return value


def _fmt(value: Any, col: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if col in ("n", "df") and isinstance(value, int | float | np.integer | np.floating):
        return f"{value:.0f}" if float(value).is_integer() else f"{value:g}"
    if isinstance(value, float | np.floating):
        return f"{value:.6g}"
    return str(value)


def markdown(table: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table (numbers to 6 significant digits)."""
    cols = list(table.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for rec in table.itertuples(index=False):
        lines.append(
            "| "
            + " | ".join(_fmt(v, c).replace("|", "\\|") for v, c in zip(rec, cols, strict=True))
            + " |"
        )
    return "\n".join(lines) + "\n"


def write_table(
    table: pd.DataFrame,
    path: Path,
    meta: dict[str, Any] | None = None,
    *,
    spreadsheet_safe: bool = False,
) -> None:
    """Write ``table`` to ``path`` in the format its extension names; nothing is half-written.

    Excel text cells are always text; ``spreadsheet_safe`` makes a CSV safe to open in a
    spreadsheet (OWASP: a leading ``'`` on text starting with ``= + - @``)."""
    check_output_path(path)
    ext = path.suffix.lower()
    if ext == ".csv":
        write_csv(table, path, safe=spreadsheet_safe)
        return
    if ext == ".xlsx":
        with excel_writer(path) as writer:
            table.to_excel(writer, index=False, sheet_name="estimates")
        return
    with atomic_path(path) as tmp:
        if ext == ".json":
            records = [
                {k: _json_value(v) for k, v in rec.items()} for rec in table.to_dict("records")
            ]
            payload = {**(meta or {}), "estimates": records}
            tmp.write_text(
                json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
            )
        else:
            tmp.write_text(markdown(table), encoding="utf-8")


def print_table(table: pd.DataFrame) -> None:
    """Show the table on the terminal (rich), numbers to 6 significant digits."""
    from rich.console import Console
    from rich.table import Table

    show = Table(show_lines=False, header_style="bold")
    cols = list(table.columns)
    for col in cols:
        numeric = col not in (
            "statistic",
            "variable",
            "category",
        ) and pd.api.types.is_numeric_dtype(table[col])
        show.add_column(col, justify="right" if numeric else "left")
    for rec in table.itertuples(index=False):
        show.add_row(*(_fmt(v, c) for v, c in zip(rec, cols, strict=True)))
    Console(width=max(120, 14 * len(cols))).print(show)
