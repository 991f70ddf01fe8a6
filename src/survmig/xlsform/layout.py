"""Column widths and wrapping of a compiled XLSForm, so a person can read and edit it in Excel.

Texts (labels, hints, messages: one column per language) are wide and wrap; names and list names
are narrow; expressions (relevance, constraints, calculations) are wide enough to read and wrap;
other columns fit their content. The header row is bold and frozen. ODK tools ignore all of this.
"""

from __future__ import annotations

from typing import Any

#: column (before ``::language``) -> width in characters, and whether its cells wrap
_TEXT = {"label", "hint", "required_message", "constraint_message", "guidance_hint", "image"}
_EXPRESSION = {"relevant", "constraint", "calculation", "choice_filter", "repeat_count", "default"}
_NARROW = {"name": 22, "list_name": 20, "type": 26, "form_id": 22, "version": 14}
TEXT_WIDTH = 48
EXPRESSION_WIDTH = 36
#: the widest a fitted column gets (longer content wraps or is cut on screen, never in the file)
MAX_FIT = 30


def lay_out(sheet: Any) -> None:
    """Bold frozen header; widths by column kind; wrapped text and expressions, top aligned."""
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    wrap = Alignment(wrap_text=True, vertical="top")
    top = Alignment(vertical="top")
    header = [c.value for c in sheet[1]]
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for j, name in enumerate(header, start=1):
        base = str(name or "").split("::")[0]
        wraps = base in _TEXT or base in _EXPRESSION
        if base in _TEXT or base == "form_title":
            width = TEXT_WIDTH
        elif base in _EXPRESSION:
            width = EXPRESSION_WIDTH
        elif base in _NARROW:
            width = _NARROW[base]
        else:
            longest = max(
                (len(str(c.value)) for (c,) in sheet.iter_rows(min_col=j, max_col=j) if c.value),
                default=0,
            )
            width = min(max(longest, 6) + 2, MAX_FIT)
        sheet.column_dimensions[get_column_letter(j)].width = width
        style = wrap if wraps else top
        for (cell,) in sheet.iter_rows(min_row=2, min_col=j, max_col=j):
            if cell.value is not None:
                cell.alignment = style
