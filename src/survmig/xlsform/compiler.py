"""Compile a Questionnaire into an XLSForm workbook, byte for byte the same for the same input.

The workbook has the sheets ``survey``, ``choices`` and ``settings``; texts in one column per language
(``label::English (en)`` ...); and four survmig columns that ODK tools ignore: ``level`` (unit of
observation of the variable), ``concept``, ``pii`` and ``module``. Only columns that some row uses are
written; a translatable column is written for every language or for none.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from typing import Any

from survmig.modules.model import Item
from survmig.questionnaire.model import Questionnaire
from survmig.questionnaire.spec import language_label
from survmig.tableio import text_cells_as_text
from survmig.xlsform.layout import lay_out

Sheets = dict[str, list[list[Any]]]

#: Survey sheet columns in order; (column, item field, translated?)
SURVEY_COLUMNS: tuple[tuple[str, str, bool], ...] = (
    ("type", "type", False),
    ("name", "name", False),
    ("label", "label", True),
    ("hint", "hint", True),
    ("required", "required", False),
    ("required_message", "required_message", True),
    ("relevant", "relevant", False),
    ("constraint", "constraint", False),
    ("constraint_message", "constraint_message", True),
    ("calculation", "calculation", False),
    ("default", "default", False),
    ("appearance", "appearance", False),
    ("choice_filter", "choice_filter", False),
    ("parameters", "parameters", False),
    ("repeat_count", "repeat_count", False),
    ("read_only", "read_only", False),
    ("level", "level", False),
    ("concept", "concept", False),
    ("pii", "pii", False),
    ("module", "module", False),
)
#: Fixed timestamp written into the workbook so that builds are reproducible.
EPOCH = dt.datetime(2000, 1, 1, 0, 0, 0)
EPOCH_W3C = EPOCH.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
_MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")


def _cell(item: Item, field: str, level: str | None) -> Any:
    if field == "required":
        if item.required is True:
            return "yes"
        return item.required or None
    if field in ("read_only", "pii"):
        return "yes" if getattr(item, field) else None
    if field == "level":
        return level
    return getattr(item, field)


def _rows(q: Questionnaire) -> list[dict[str, Any]]:
    """One dict per survey row: {(column, language|None): value}."""
    rows: list[dict[str, Any]] = []

    def emit(item: Item, level: str | None, kind: str | None = None) -> dict[str, Any]:
        row: dict[str, Any] = {}
        for column, field, translated in SURVEY_COLUMNS:
            if translated:
                for lang, text in (getattr(item, field) or {}).items():
                    row[(column, lang)] = text
                continue
            value = _cell(item, field, level)
            if value not in (None, ""):
                row[(column, None)] = value
        if kind:
            row[("type", None)] = kind
        return row

    def visit(items: list[Item], level: str) -> None:
        for item in items:
            if item.kind == "question":
                data_level = None if item.base_type == "note" else level
                rows.append(emit(item, data_level))
                continue
            inner = item.level if item.kind == "repeat" else level
            begin = emit(item, inner if item.kind == "repeat" else None, f"begin_{item.kind}")
            rows.append(begin)
            visit(item.children, inner or level)
            rows.append({("type", None): f"end_{item.kind}", ("module", None): item.module})

    visit(q.items, q.level)
    return rows


def to_sheets(q: Questionnaire) -> Sheets:
    """The three XLSForm sheets as lists of rows (header first)."""
    rows = _rows(q)
    languages = q.languages
    header: list[tuple[str, str | None]] = []
    for column, _, translated in SURVEY_COLUMNS:
        if translated:
            if any((column, lang) in row for row in rows for lang in languages):
                header += [(column, lang) for lang in languages]
        elif any((column, None) in row for row in rows):
            header.append((column, None))
    names = [c if lang is None else f"{c}::{language_label(lang)}" for c, lang in header]
    survey = [names] + [[row.get(key) for key in header] for row in rows]

    choices = [["list_name", "name", *(f"label::{language_label(lang)}" for lang in languages)]]
    for cl in q.choices.values():
        for choice in cl.options:
            choices.append([cl.name, choice.name, *(choice.label.get(lang) for lang in languages)])

    settings = [
        ["form_title", "form_id", "version", "default_language"],
        [
            q.title.get(q.default_language) or next(iter(q.title.values())),
            q.form_id,
            q.version,
            language_label(q.default_language),
        ],
    ]
    return {"survey": survey, "choices": choices, "settings": settings}


def _stable_zip(data: bytes) -> bytes:
    """Rewrite an xlsx zip with fixed member timestamps (openpyxl stamps the current time)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=EPOCH.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps "modified" at save time
                content = _MODIFIED.sub(rb"\g<1>" + EPOCH_W3C + rb"\g<2>", content)
            target.writestr(fixed, content)
    return out.getvalue()


def write_workbook(sheets: Sheets) -> bytes:
    """An .xlsx of ``sheets`` (in order), with fixed metadata so equal input gives equal bytes."""
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
        lay_out(sheet)  # widths, wrapping, bold frozen header
    props = workbook.properties
    props.creator = "survmig"
    props.lastModifiedBy = "survmig"
    props.created = EPOCH
    props.modified = EPOCH
    text_cells_as_text(workbook)  # a label starting with '=' is text, not a formula
    buffer = io.BytesIO()
    workbook.save(buffer)
    return _stable_zip(buffer.getvalue())


def compile_questionnaire(q: Questionnaire) -> bytes:
    """The XLSForm (.xlsx bytes) of a composed questionnaire."""
    return write_workbook(to_sheets(q))
