"""Raw bytes in: is the file what its extension says, and CSV text read as text cells."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from survmig.errors import SurvmigError
from survmig.tableio import check_header, csv_parser_error, decode_text

#: a line of blanks or tabs only, which pandas skips and Arrow reads (after a newline: a fast scan)
_CSV_BLANK_LINE = re.compile(r"\n[ \t]+\r?(?:\n|$)")
_CSV_QUOTED = re.compile(r'"(?:[^"]|"")*"')


# ---------------------------------------------------------------------------------------- sniffing
def sniff(path: Path, suffix: str) -> None:
    """Refuse a file whose content is not what its extension says (before any parser sees it)."""
    size = path.stat().st_size
    if size == 0:
        raise SurvmigError("the file is empty (0 bytes)", file=path, hint="export the data again")
    with open(path, "rb") as fh:
        head = fh.read(512)
    actual = _content_kind(head)
    expected = {
        ".zip": "zip",
        ".xlsx": "zip",
        ".parquet": "parquet",
        ".sav": "sav",
        ".zsav": "sav",
        ".dta": "dta",
        ".csv": "text",
    }[suffix]
    if actual != expected:
        raise SurvmigError(
            f"the file is not a {suffix} file: its content looks like {_KIND_WORDS.get(actual, actual)}",
            file=path,
            hint="check that you downloaded the export itself (not an error page) and kept its extension",
        )
    if suffix == ".xlsx":
        with zipfile.ZipFile(path) as zf:
            if "xl/workbook.xml" not in zf.namelist():
                raise SurvmigError("the file is a zip archive but not an Excel workbook", file=path)


_KIND_WORDS = {
    "zip": "a zip archive",
    "parquet": "a Parquet file",
    "sav": "an SPSS .sav file",
    "dta": "a Stata .dta file",
    "html": "an HTML page",
    "text": "a text/CSV file",
    "binary": "binary data",
}


def _content_kind(head: bytes) -> str:
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "zip"
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith((b"$FL2", b"$FL3")):
        return "sav"
    if head.startswith(b"<stata_dta>") or (
        len(head) > 1 and head[0] in (0x71, 0x72, 0x73) and head[1] in (1, 2)
    ):
        return "dta"
    lowered = head.lstrip().lower()
    if lowered.startswith((b"<!doctype html", b"<html")):
        return "html"
    if b"\x00" in head:
        return "binary"
    return "text"


# ---------------------------------------------------------------------------------------- CSV text
def read_csv_bytes(data: bytes, *, file: str, encoding: str) -> pd.DataFrame:
    if not data.strip():
        raise SurvmigError("the file is empty", file=file, hint="export the data again")
    text = decode_text(data, encoding, file)
    check_header(text, file)
    fast = read_csv_arrow(text)
    if fast is not None:
        return fast
    try:
        return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_filter=False)
    except pd.errors.ParserError as err:
        raise csv_parser_error(err, file) from None
    except pd.errors.EmptyDataError:
        raise SurvmigError("the file is empty (no header row)", file=file) from None


def read_csv_arrow(text: str) -> pd.DataFrame | None:
    """What pandas reads from a plainly well-formed CSV (every cell as text), parsed by Arrow.

    Arrow parses on both cores straight into Arrow strings, where pandas' parser builds Python
    strings first (most of an export's reading time). ``None`` for anything not plainly well formed
    (blank or repeated column names, ragged rows, cells Arrow would read otherwise): pandas then
    reads the file with its own rules and messages.
    """
    lone_cr = text.count("\r") != text.count("\r\n")
    blank_line = _CSV_BLANK_LINE.search("\n" + text) is not None
    if lone_cr or blank_line or not _plainly_quoted(text):
        return None  # lines or quotes the two parsers treat differently: pandas' own rules
    try:
        header = next(csv.reader(io.StringIO(text)))
    except (StopIteration, csv.Error):
        return None
    if not header or "" in header or len(set(header)) != len(header):
        return None
    try:
        table = pacsv.read_csv(
            io.BytesIO(text.encode("utf-8", errors="strict")),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.large_string() for name in header},
                null_values=[],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, UnicodeEncodeError):
        return None
    if table.num_rows == 0 or table.column_names != header:
        return None
    if not all(pa.types.is_large_string(t) for t in table.schema.types):
        return None
    return table.to_pandas()


def _plainly_quoted(text: str) -> bool:
    """Every ``"`` belongs to a quoted cell that spans a whole field and is closed."""
    total = text.count('"')
    if not total:
        return True
    seen = 0
    for m in _CSV_QUOTED.finditer(text):
        start, end = m.span()
        if start > 0 and text[start - 1] not in ",\n":
            return False
        if end < len(text) and text[end] not in ",\r\n":
            return False
        seen += m.group().count('"')
    return seen == total
