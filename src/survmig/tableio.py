"""Read and write plain analysis tables by file extension, for every command that takes a data file.

Labelled survey exports (ODK Central, Kobo, with a form) are :mod:`survmig.data`'s job; this module is
for flat tables: frames, sample selections, weighted data, estimates.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from survmig.errors import SurvmigError
from survmig.fileio import atomic_path, check_output_file, note_input

#: extension -> format name, for messages
TABLE_FORMATS: dict[str, str] = {
    ".csv": "CSV",
    ".parquet": "Parquet",
    ".xlsx": "Excel",
    ".sav": "SPSS",
    ".dta": "Stata",
}


def _check_suffix(path: Path, allowed: tuple[str, ...], verb: str) -> str:
    suffix = path.suffix.lower()
    if suffix not in allowed:
        raise SurvmigError(
            f"cannot {verb} {suffix or 'files without an extension'}",
            file=path,
            hint=f"use {', '.join(allowed)}",
        )
    return suffix


def decode_text(
    data: bytes,
    encoding: str,
    file: str | Path,
    hint: str = "re-export the data as UTF-8, or pass --encoding (e.g. cp1252, latin-1)",
) -> str:
    """Bytes of a text file as text; a byte the encoding cannot read names the line and data row."""
    try:
        return data.decode("utf-8-sig" if encoding.lower().replace("-", "") == "utf8" else encoding)
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        column = err.start - data.rfind(b"\n", 0, err.start)
        raise SurvmigError(
            f"line {line} (data row {line - 1}) is not valid {encoding}: byte "
            f"0x{data[err.start]:02x} at character {column}",
            file=file,
            line=line,
            hint=hint,
        ) from None
    except LookupError:
        raise SurvmigError(
            f"unknown encoding '{encoding}'", hint="use e.g. utf-8, cp1252, latin-1"
        ) from None


_RAGGED = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def csv_parser_error(err: Exception, file: str | Path) -> SurvmigError:
    """pandas' parser message as one line: a ragged row names its data row and field counts."""
    text = " ".join(str(err).split())
    m = _RAGGED.search(text)
    if m:
        expected, line, saw = (int(g) for g in m.groups())
        return SurvmigError(
            f"data row {line - 1} has {saw} fields but the header has {expected}",
            file=file,
            line=line,
            hint="a value with a comma must be quoted; re-export the file or fix that row",
        )
    return SurvmigError(f"not a readable CSV file: {text}", file=file)


def check_header(text: str, file: str | Path) -> None:
    """Refuse a CSV whose header repeats a column name (pandas would rename it ``name.1``)."""
    try:
        header = next(csv.reader(io.StringIO(text)), [])
    except csv.Error:
        return  # the parser reports it
    seen: dict[str, int] = {}
    for i, name in enumerate(header, start=1):
        if name in seen and name != "":
            raise SurvmigError(
                f"column {name!r} appears twice in the header (columns {seen[name]} and {i})",
                file=file,
                line=1,
                hint="rename or remove one of them",
            )
        seen[name] = i


def check_table_path(path: Path | str, allowed: tuple[str, ...] = tuple(TABLE_FORMATS)) -> None:
    """Refuse, before any work is done, an output extension we cannot write or a path we cannot
    write to (a folder, a path below a file, an unwritable folder, one of the inputs)."""
    check_output_file(path)
    _check_suffix(Path(path), allowed, "write")


def read_table(path: Path | str, allowed: tuple[str, ...] = tuple(TABLE_FORMATS)) -> pd.DataFrame:
    """Read CSV, Parquet, Excel, SPSS or Stata by extension (value labels are ``survmig data``'s job)."""
    path = Path(path)
    suffix = _check_suffix(path, allowed, "read")
    if not path.exists():
        raise SurvmigError("file not found", file=path)
    note_input(path)
    if suffix == ".csv":
        text = decode_text(path.read_bytes(), "utf-8", path, hint="save the file as UTF-8 CSV")
        check_header(text, path)
        try:
            return pd.read_csv(io.StringIO(text))
        except pd.errors.ParserError as err:
            raise csv_parser_error(err, path) from None
        except pd.errors.EmptyDataError:
            raise SurvmigError("the file is empty (no header row)", file=path) from None
    try:
        if suffix == ".csv":
            return pd.read_csv(path)
        if suffix == ".parquet":
            return pd.read_parquet(path)
        if suffix == ".xlsx":
            return pd.read_excel(path)
        import pyreadstat

        reader = pyreadstat.read_sav if suffix == ".sav" else pyreadstat.read_dta
        frame, _ = reader(str(path))
        return frame
    except (ValueError, OSError, pd.errors.ParserError, UnicodeDecodeError) as err:
        raise SurvmigError(
            f"cannot read this {TABLE_FORMATS[suffix]} file: {err}",
            file=path,
            hint="check that the file is what its extension says",
        ) from None
    except Exception as err:  # pyreadstat raises its own exception types for corrupt files
        if type(err).__module__.startswith("pyreadstat"):
            raise SurvmigError(
                f"cannot read this {TABLE_FORMATS[suffix]} file: {err}", file=path
            ) from None
        raise


# --------------------------------------------------------------------------- spreadsheet safety

#: OWASP "CSV injection": a cell starting with one of these is run as a formula by spreadsheets.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def text_cells_as_text(workbook: Any) -> None:
    """Store every text cell of an openpyxl workbook as text, never as a live formula.

    openpyxl turns any string that starts with ``=`` into a formula (``=HYPERLINK(…)`` in an answer
    would run when the file is opened); survmig writes no formulas, so every such cell is text.
    """
    for sheet in workbook.worksheets:
        for cell in sheet._cells.values():  # only the cells that exist, not the whole rectangle
            if cell.data_type == "f":
                cell.data_type = "s"


def save_workbook(workbook: Any, path: Path | str) -> Path:
    """Save an openpyxl workbook atomically with text kept as text (:func:`text_cells_as_text`)."""
    path = Path(path)
    text_cells_as_text(workbook)
    with atomic_path(path) as tmp:
        workbook.save(tmp)
    return path


@contextlib.contextmanager
def excel_writer(path: Path | str) -> Iterator[pd.ExcelWriter]:
    """A pandas ``ExcelWriter`` (openpyxl) whose workbook lands at ``path`` only if the block
    succeeds, with every text cell stored as text. The one way survmig writes an ``.xlsx``."""
    buffer = io.BytesIO()
    writer = pd.ExcelWriter(buffer, engine="openpyxl")
    yield writer  # an error inside leaves nothing (and is not masked by saving an empty book)
    text_cells_as_text(writer.book)
    writer.close()
    with atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getvalue())


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy where every text cell that a spreadsheet would run as a formula starts with ``'``.

    The OWASP rule for CSV meant to be opened in Excel/LibreOffice: cells starting with ``=``,
    ``+``, ``-``, ``@``, tab or carriage return get a leading apostrophe. Numbers are untouched.
    It changes values, so data exports (which must round-trip exactly) never use it.
    """
    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if s.dtype.kind != "O" and not isinstance(s.dtype, pd.StringDtype):
            continue
        try:
            risky = s.str.startswith(FORMULA_START, na=False).astype(bool)  # non-text: False
        except AttributeError:  # no text in the column at all
            continue
        if risky.any():
            out[col] = s.where(~risky, "'" + s[risky].astype(str))
    return out


def write_csv(frame: pd.DataFrame, path: Path | str, *, safe: bool = False) -> Path:
    """UTF-8 CSV, atomically; ``safe`` applies :func:`spreadsheet_safe` (for people, not programs)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        (spreadsheet_safe(frame) if safe else frame).to_csv(tmp, index=False, encoding="utf-8")
    return path


def write_table(
    frame: pd.DataFrame,
    path: Path | str,
    allowed: tuple[str, ...] = tuple(TABLE_FORMATS),
    *,
    spreadsheet_safe_csv: bool = False,
) -> None:
    """Write by extension, atomically: a failed write leaves no partial file; Excel text stays text."""
    path = Path(path)
    suffix = _check_suffix(path, allowed, "write")
    if suffix == ".csv":
        write_csv(frame, path, safe=spreadsheet_safe_csv)
        return
    if suffix == ".xlsx":
        with excel_writer(path) as writer:
            frame.to_excel(writer, index=False)
        return
    with atomic_path(path) as tmp:
        if suffix == ".parquet":
            frame.to_parquet(tmp, index=False)
        else:
            import pyreadstat

            writer = pyreadstat.write_sav if suffix == ".sav" else pyreadstat.write_dta
            writer(frame, str(tmp))
