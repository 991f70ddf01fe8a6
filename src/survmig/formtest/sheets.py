"""Write a small XLSForm from Python rows: for tests, notebooks and quick experiments.

>>> write_xlsform("f.xlsx", [{"type": "integer", "name": "age", "label": "Age"}])  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from survmig.tableio import save_workbook


def _sheet(workbook, title: str, rows: Sequence[Mapping[str, Any]]) -> None:
    sheet = workbook.create_sheet(title)
    columns = list(dict.fromkeys(key for row in rows for key in row))
    sheet.append(columns)
    for row in rows:
        sheet.append([row.get(column) for column in columns])


def write_xlsform(
    path: str | Path,
    survey: Sequence[Mapping[str, Any]],
    choices: Sequence[Mapping[str, Any]] = (),
    settings: Mapping[str, Any] | None = None,
) -> Path:
    """Write an XLSForm workbook: one dict per row, keys are the column headers."""
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    _sheet(workbook, "survey", survey)
    if choices:
        _sheet(workbook, "choices", choices)
    if settings:
        _sheet(workbook, "settings", [settings])
    return save_workbook(workbook, path)
