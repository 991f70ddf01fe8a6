"""What the translations tests share: the example spec, the Portuguese column, editing a cell."""

from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "xlsform" / "example_household.yaml"
PT = "Português (pt)"


def set_cell(path: Path, key: str, column: str, value) -> None:
    """Write ``value`` in ``column`` of the row whose key is ``key`` (as a translator would)."""
    wb = load_workbook(path)
    ws = wb["translations"]
    header = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        if row[0].value == key:
            row[header.index(column)].value = value
    wb.save(path)
