"""Validate any XLSForm: pyxform's conversion (errors and warnings), ODK Validate, survmig's name rules.

A form passes only with zero errors **and** zero warnings: a pyxform warning (a missing translation, an
unknown column header that looks like a typo...) is a problem in the field. Problems carry the sheet and
row of the XLSForm when they can be located; ODK Validate speaks of XForm paths (``${age}``), which are
mapped back to the survey row defining that name.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import re
from pathlib import Path

from survmig.conventions import MAX_NAME_LENGTH
from survmig.errors import SurvmigError
from survmig.javaruntime import INSTALL_HINT, java_on_path

_ROW = re.compile(r"\[row\s*:\s*(\d+)\]")
_SHEET = re.compile(r"(?:on the '|sheet: ')(survey|choices|settings|entities)'", re.I)
_TOKEN = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_.\-]*)\}")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


@dataclasses.dataclass(frozen=True)
class Problem:
    """One problem found in a form."""

    severity: str  # "error" | "warning"
    source: str  # "pyxform" | "odk_validate" | "survmig"
    message: str
    sheet: str | None = None
    row: int | None = None

    def format(self) -> str:
        where = ""
        if self.sheet:
            where = self.sheet + (f" row {self.row}" if self.row else "") + ": "
        return f"{self.severity} ({self.source}): {where}{self.message}"


@dataclasses.dataclass
class ValidationReport:
    """What pyxform and ODK Validate said about a form; ``ok`` means nothing at all."""

    problems: list[Problem]
    odk_validate_ran: bool
    xform: str | None = None

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.problems

    def format(self) -> str:
        return "\n".join(p.format() for p in self.problems)


def _survey_sheet(data: bytes) -> tuple[list[str], list[tuple]] | None:
    """Header and rows of the survey sheet, or ``None`` when the workbook has none."""
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        if "survey" not in workbook.sheetnames:
            return None
        rows = workbook["survey"].iter_rows(values_only=True)
        header = [str(h).strip() if h is not None else "" for h in next(rows, ())]
        return header, list(rows)
    finally:
        workbook.close()


def _column(header: list[str], rows: list[tuple], name: str) -> list[str]:
    """One column's cells as stripped text ('' when empty), row by row."""
    if name not in header:
        return [""] * len(rows)
    col = header.index(name)
    return [
        str(row[col]).strip() if col < len(row) and row[col] is not None else "" for row in rows
    ]


def _survey_names(sheet: tuple[list[str], list[tuple]] | None) -> dict[str, int]:
    """name -> row number on the survey sheet (header = row 1)."""
    if sheet is None:
        return {}
    out: dict[str, int] = {}
    for number, name in enumerate(_column(*sheet, "name"), start=2):
        if name:
            out.setdefault(name, number)
    return out


def _name_problems(sheet: tuple[list[str], list[tuple]] | None) -> list[Problem]:
    """survmig's portability rules for names (the strictest common platform limits)."""
    if sheet is None:
        return [Problem("error", "survmig", "the workbook has no 'survey' sheet")]
    header, rows = sheet
    problems = []
    if "relevance" in header:
        message = "column 'relevance' is an alias: name it 'relevant'"
        problems.append(Problem("warning", "survmig", message, "survey", 1))
    kinds = _column(header, rows, "type")
    for number, (name, kind) in enumerate(
        zip(_column(header, rows, "name"), kinds, strict=True), start=2
    ):
        if not name or kind.startswith("end"):
            continue
        if not _NAME.match(name):
            message = f"name {name!r} must start with a letter and use only letters, digits, _"
            problems.append(Problem("error", "survmig", message, "survey", number))
        elif len(name) > MAX_NAME_LENGTH:
            message = (
                f"name {name!r} is {len(name)} characters long (at most {MAX_NAME_LENGTH}, "
                "the strictest common platform limit)"
            )
            problems.append(Problem("error", "survmig", message, "survey", number))
    return problems


def _locate(message: str, names: dict[str, int]) -> tuple[str | None, int | None]:
    row = _ROW.search(message)
    sheet = _SHEET.search(message)
    if row:
        return (sheet.group(1).lower() if sheet else "survey"), int(row.group(1))
    for token in _TOKEN.findall(message):
        if token in names:
            return "survey", names[token]
    return (sheet.group(1).lower() if sheet else None), None


def _split(message: str, prefix: str) -> list[str]:
    text = message.strip()
    if text.startswith(prefix):
        text = text[len(prefix) :]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines or [message.strip()]


def validate_xlsform(source: str | Path | bytes, *, odk: bool = True) -> ValidationReport:
    """Convert with pyxform (collecting its warnings) and, if ``odk``, run ODK Validate (Java)."""
    from pyxform.errors import PyXFormError
    from pyxform.validators.odk_validate import ODKValidateError
    from pyxform.xls2xform import convert

    if isinstance(source, bytes):
        data = source
    else:
        path = Path(source)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise SurvmigError("file not found", file=path) from None
    if not data.startswith(b"PK"):
        raise SurvmigError(
            "not an .xlsx workbook", file=None if isinstance(source, bytes) else source
        )
    try:
        sheet = _survey_sheet(data)
    except Exception as err:  # a corrupt workbook: say so, not a traceback
        raise SurvmigError(
            f"cannot read the workbook: {err}",
            file=None if isinstance(source, bytes) else source,
        ) from None
    names = _survey_names(sheet)
    problems = _name_problems(sheet)
    java = (
        java_on_path(hint=f"{INSTALL_HINT}; or skip ODK Validate with --no-validate")
        if odk
        else contextlib.nullcontext()
    )
    warnings: list[str] = []
    xform = None
    ran = False
    try:
        with java:
            result = convert(
                xlsform=io.BytesIO(data), warnings=warnings, validate=odk, file_type=".xlsx"
            )
        xform = result.xform
        ran = odk
    except ODKValidateError as err:
        ran = True
        for line in _split(str(err), "ODK Validate Errors:"):
            sheet, row = _locate(line, names)
            problems.append(Problem("error", "odk_validate", line, sheet, row))
    except (PyXFormError, ValueError, KeyError, TypeError) as err:
        message = str(err).strip() or type(err).__name__
        sheet, row = _locate(message, names)
        problems.append(Problem("error", "pyxform", message, sheet, row))
    for warning in warnings:
        is_odk = warning.startswith("ODK Validate")
        for line in _split(warning, "ODK Validate Warnings:") if is_odk else [warning]:
            sheet, row = _locate(line, names)
            source_name = "odk_validate" if is_odk else "pyxform"
            problems.append(Problem("warning", source_name, line, sheet, row))
    return ValidationReport(problems, ran, xform)
