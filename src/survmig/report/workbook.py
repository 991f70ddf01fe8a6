"""The Excel workbook: a hyperlinked contents sheet (which is also the sheet → indicator map when a
name is cut to Excel's 31 characters), one formatted sheet per indicator, and what was not computable.

Numbers stay numbers (a reader can compute with them) and carry display formats: shares as
percentages, counts with thousands separators, decimals by statistic; flags are coloured.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from survmig.indicators import IndicatorResults
from survmig.report.i18n import Texts, decimals_for
from survmig.report.tables import (
    FLAG_CAUTION,
    FLAG_SUPPRESSED,
    Thresholds,
    publication_table,
)
from survmig.tableio import save_workbook

HEADER_FILL = "DCE3EE"
CAUTION_FILL = "FFF2CC"
SUPPRESSED_FILL = "E7E6E6"
#: value columns of an indicator sheet and their header keys in texts.yaml
VALUE_COLUMNS = (
    ("estimate", "estimate"),
    ("se", "se"),
    ("ci_low", "ci_low"),
    ("ci_high", "ci_high"),
    ("cv", "cv"),
    ("n", "n"),
    ("flag", "flag"),
)


def number_format(col: str, unit: str, statistic: str, values: Sequence[float] = ()) -> str:
    """The Excel display format of a column of estimates."""
    if col == "cv":
        return "0.0%"
    if col in ("n", "weighted_n", "df"):
        return "#,##0"
    if unit == "share":
        return "0.0%"
    big = max((abs(v) for v in values if v == v), default=0.0)
    d = decimals_for(unit, statistic, big)
    return "#,##0" if d == 0 else "#,##0." + "0" * d


def unit_text(unit: str, tx: Texts) -> str:
    """A unit in the workbook's language (``unit_<unit>`` of texts.yaml), else as written."""
    return tx.t(f"unit_{unit}") if f"unit_{unit}" in tx._texts else unit


def sheet_title(text: str) -> str:
    """A valid Excel sheet name for a text: ≤ 31 characters, none of []:*?/\\."""
    return re.sub(r"[\[\]:*?/\\]", "_", text).strip("'")[:31] or "_"


def sheet_names(
    ids: list[str], reserved: Sequence[str] = ("Contents", "Not computable")
) -> dict[str, str]:
    """Excel sheet names (≤ 31 characters, no []:*?/\\, unique) for indicator ids, none equal to a
    ``reserved`` name (the contents and not-computable sheets in the workbook's language)."""
    out: dict[str, str] = {}
    taken = {r.lower() for r in reserved}
    for iid in ids:
        base = re.sub(r"[\[\]:*?/\\]", "_", iid)[:31]
        name, k = base, 1
        while name.lower() in taken:
            k += 1
            name = f"{base[: 31 - len(str(k)) - 1]}~{k}"
        taken.add(name.lower())
        out[iid] = name
    return out


def _put(ws: Any, row: int, col: int, value: Any) -> Any:
    """A cell whose text is never taken for a formula (=, +, -, @ at the start stay text)."""
    if isinstance(value, float | np.floating) and not np.isfinite(value):
        value = None
    elif isinstance(value, np.integer):
        value = int(value)
    elif isinstance(value, np.floating):
        value = float(value)
    cell = ws.cell(row=row, column=col, value=value)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        cell.data_type = "s"
    return cell


def _link(cell: Any, sheet: str) -> None:
    """A link to cell A1 of another sheet of the workbook."""
    from openpyxl.styles import Font
    from openpyxl.worksheet.hyperlink import Hyperlink

    cell.hyperlink = Hyperlink(ref=cell.coordinate, location=f"'{sheet}'!A1")
    cell.font = Font(color="1F4E79", underline="single")


def style_table(
    ws: Any, header_row: int, columns: Sequence[str], formats: dict[str, str], n_rows: int
) -> None:
    """Bold filled header, number formats by column, widths from the content, frozen header."""
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    fill = PatternFill("solid", fgColor=HEADER_FILL)
    for j, _ in enumerate(columns, start=1):
        c = ws.cell(row=header_row, column=j)
        c.font = Font(bold=True)
        c.fill = fill
    for j, col in enumerate(columns, start=1):
        fmt = formats.get(col)
        letter = get_column_letter(j)
        width = len(str(ws.cell(row=header_row, column=j).value or "")) + 2
        for i in range(header_row + 1, header_row + 1 + n_rows):
            cell = ws.cell(row=i, column=j)
            if isinstance(cell.value, int | float):
                if fmt:
                    cell.number_format = fmt
                width = max(width, len(f"{cell.value:,.2f}") + 1)
            elif cell.value is not None:
                width = max(width, min(len(str(cell.value)), 60) + 2)
        ws.column_dimensions[letter].width = max(8, min(width, 62))
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1)


def write_excel(
    results: IndicatorResults,
    path: str | Path,
    thresholds: Thresholds | None = None,
    *,
    title: str | None = None,
    lang: str = "en",
) -> Path:
    """One formatted sheet per indicator (notes on top: definition, standard, universe, reference
    period; then domain, category, estimate, SE, CI, CV, n and the flag), a hyperlinked contents
    sheet listing every sheet's indicator, and a not-computable sheet."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    th = thresholds or Thresholds()
    tx = Texts(lang)
    path = Path(path)
    table = publication_table(results, th)
    contents_sheet = sheet_title(tx.t("contents"))
    missing_sheet = sheet_title(tx.t("not_computable"))
    names = sheet_names(list(results.info), (contents_sheet, missing_sheet))
    wb = Workbook()
    ws = wb.active
    ws.title = contents_sheet
    ws["A1"] = title or tx.t("title")
    ws["A1"].font = Font(bold=True, size=14)
    ws["A2"] = tx.t(
        "rules",
        caution=f"{th.cv_caution:.1%}",
        suppress=f"{th.cv_suppress:.1%}",
        min_n=th.min_n,
    )
    heads = [tx.t("indicator"), tx.t("sheet"), tx.t("identifier"), tx.t("standard")]
    for j, h in enumerate(heads, start=1):
        _put(ws, 4, j, h)
    for i, (iid, info) in enumerate(results.info.items(), start=5):
        link = _put(ws, i, 1, tx.indicator(info.title, info.parameters))
        _link(link, names[iid])
        _put(ws, i, 2, names[iid])
        _put(ws, i, 3, iid)
        _put(ws, i, 4, info.standard)
    if results.not_computable:
        row = 5 + len(results.info)
        cell = _put(ws, row, 1, f"{tx.t('not_computable')} ({len(results.not_computable)})")
        _link(cell, missing_sheet)
    style_table(ws, 4, heads, {}, len(results.info) + 1)
    ws.column_dimensions["A"].width = 60

    nc = wb.create_sheet(missing_sheet)
    _put(nc, 1, 1, tx.t("indicator"))
    _put(nc, 1, 2, tx.t("reason"))
    for i, (iid, reason) in enumerate(results.not_computable.items(), start=2):
        _put(nc, i, 1, iid)
        _put(nc, i, 2, reason)
    style_table(nc, 1, ["indicator", "reason"], {}, len(results.not_computable))

    caution = PatternFill("solid", fgColor=CAUTION_FILL)
    grey = PatternFill("solid", fgColor=SUPPRESSED_FILL)
    level = tx.percent(results.level, 0) + " %"
    for iid, sheet in names.items():
        info = results.info[iid]
        rows = table[table["indicator"] == iid]
        ws = wb.create_sheet(sheet)
        notes = [
            (tx.t("indicator"), tx.indicator(info.title, info.parameters)),
            (tx.t("definition"), tx.indicator(info.definition, info.parameters)),
            (tx.t("standard"), info.standard),
            (tx.t("universe"), tx.indicator(info.universe, info.parameters)),
            (tx.t("reference_period"), tx.indicator(info.reference_period, info.parameters)),
            (tx.t("unit"), unit_text(tx.indicator(info.unit, info.parameters), tx)),
        ]
        if info.note:
            notes.append((tx.t("note"), tx.indicator(info.note, info.parameters)))
        back = _put(ws, 1, 1, "← " + tx.t("contents"))
        _link(back, contents_sheet)
        for r, (key, text) in enumerate(notes, start=2):
            _put(ws, r, 1, key).font = Font(bold=True)
            _put(ws, r, 2, text)
        domains = [b for b in results.by if b in rows.columns and rows[b].notna().any()]
        lead = [*domains]
        if rows["category_label"].notna().any():
            lead.append("category_label")
        cols = [*lead, *(c for c, _ in VALUE_COLUMNS)]
        heads = [
            *(tx.t(b) for b in domains),
            *([tx.t("category")] if "category_label" in lead else []),
            tx.t("estimate"),
            tx.t("se"),
            tx.t("ci_low", level=level),
            tx.t("ci_high", level=level),
            tx.t("cv"),
            tx.t("n"),
            tx.t("flag"),
        ]
        top = len(notes) + 3
        for j, h in enumerate(heads, start=1):
            _put(ws, top, j, h)
        values = rows[cols].copy()
        national = values[domains].isna().all(axis=1) if domains else None
        for b in domains:  # a blank domain: the national row, or every value of that variable
            fill = np.where(national, tx.t("national"), tx.t("all"))
            values[b] = values[b].where(values[b].notna(), pd.Series(fill, index=values.index))
        values["flag"] = values["flag"].fillna("").map(tx.flag)
        for i, rec in enumerate(values.itertuples(index=False), start=top + 1):
            for j, v in enumerate(rec, start=1):
                _put(ws, i, j, v if not (isinstance(v, str) and v == "") else None)
        est = pd.to_numeric(rows["estimate"], errors="coerce").tolist()
        formats = {
            c: number_format(c, info.unit, info.statistic, est)
            for c in ("estimate", "se", "ci_low", "ci_high", "cv", "n")
        }
        style_table(ws, top, cols, formats, len(values))
        flags = rows["flag"].fillna("").astype(str).tolist()
        for i, flag in enumerate(flags, start=top + 1):
            fill = (
                grey
                if flag.startswith(FLAG_SUPPRESSED)
                else caution
                if flag == FLAG_CAUTION
                else None
            )
            if fill is not None:
                for j in range(1, len(cols) + 1):
                    ws.cell(row=i, column=j).fill = fill
        ws.column_dimensions["A"].width = max(ws.column_dimensions["A"].width or 0, 22)
        ws.column_dimensions["B"].width = max(ws.column_dimensions["B"].width or 0, 24)
        ws.cell(row=2, column=2).font = Font(bold=True)
    if tx.dir == "rtl":  # Arabic: column A on the right, as an Arabic reader's workbook
        for sheet in wb.worksheets:
            sheet.sheet_view.rightToLeft = True
    return save_workbook(wb, path)
