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
    if value is None or (isinstance(value, float | np.floating) and not math.isfinite(value)):
        return ""  # never "nan" or "inf" (a deff of a domain without SRS variance)
    if col in ("n", "df") and isinstance(value, int | float | np.integer | np.floating):
        return f"{value:.0f}" if float(value).is_integer() else f"{value:g}"
    if isinstance(value, float | np.floating):
        text = f"{value:.6g}"
        return "0" if float(text) == 0 else text  # no "-0"
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


#: display formats of the estimate columns (proportions' rows in percent)
_SHARE_COLUMNS = ("estimate", "se", "ci_low", "ci_high")


def format_estimates_sheet(ws: Any, table: pd.DataFrame) -> None:
    """Display formats on a sheet of estimates (shares and CV in percent, counts with thousands
    separators), column widths and a frozen header; numbers stay numbers."""
    from survmig.report.workbook import style_table

    cols = list(table.columns)
    share = (
        table["statistic"].isin(("prop", "proportion")).to_numpy() if "statistic" in table else None
    )
    for i in range(2, len(table) + 2):
        for j, col in enumerate(cols, start=1):
            cell = ws.cell(row=i, column=j)
            if not isinstance(cell.value, int | float) or isinstance(cell.value, bool):
                continue
            if col in ("cv",):
                cell.number_format = "0.0%"
            elif col in ("n", "df"):
                cell.number_format = "#,##0"
            elif share is not None and share[i - 2] and col in _SHARE_COLUMNS:
                cell.number_format = "0.0%"
            elif isinstance(cell.value, float):
                cell.number_format = "#,##0" if abs(cell.value) >= 1000 else "#,##0.000"
    style_table(ws, 1, cols, {}, len(table))
    if "flag" in table.columns:  # suppressed rows grey, "use with caution" yellow (as the report)
        from openpyxl.styles import PatternFill

        from survmig.report.workbook import CAUTION_FILL, SUPPRESSED_FILL

        fills = {
            "suppressed": PatternFill("solid", fgColor=SUPPRESSED_FILL),
            "caution": PatternFill("solid", fgColor=CAUTION_FILL),
        }
        flag = table["flag"].fillna("").astype(str)
        kind = np.where(flag.str.startswith("suppressed"), "suppressed",
                        np.where(flag == "use with caution", "caution", ""))  # fmt: skip
        for i in np.flatnonzero(kind != ""):
            for j in range(1, len(cols) + 1):
                ws.cell(row=i + 2, column=j).fill = fills[kind[i]]


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
            format_estimates_sheet(writer.sheets["estimates"], table)
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


def print_table(table: pd.DataFrame, **options: Any) -> None:
    """Show the table on the terminal (see :func:`survmig.estimation.terminal.print_table`)."""
    from survmig.estimation.terminal import print_table as show

    show(table, **options)
