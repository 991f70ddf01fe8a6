"""Readers: collected data in any of the accepted shapes -> a typed, linked :class:`Dataset`.

Accepted shapes (see docs/data.md for the full description):

- **ODK Central** ``.zip`` (``submissions.csv.zip``): ``<formId>.csv`` for the root and one
  ``<formId>-<repeat>.csv`` per repeat (Central may prefix group names or add ``~N``; the repeat is
  recognised from its ``KEY`` values). Root columns are group paths joined with ``-``
  (``meta-instanceID``, ``hh-region``) or bare names (``groupPaths=false``); repeat columns are paths
  relative to the repeat. Links: ``KEY`` / ``PARENT_KEY``. select_multiple space-separated, with or
  without split ``question/option`` 0/1 columns; geopoints whole or split into ``-Latitude`` etc.
- **KoboToolbox** ``.xlsx`` exported with *XML values and headers*: first sheet is the root, one sheet
  per repeat, columns are ``/``-joined paths, links ``_index`` / ``_parent_table_name`` /
  ``_parent_index``, select_multiple summary plus ``question/option`` columns, metadata ``_id``,
  ``_uuid``, ``_submission_time``, ``_validation_status``, ``_status``, ``_submitted_by``,
  ``__version__``, ``_notes``, ``_tags``, ``_submission__*``.
- **Single tables** ``.csv``, ``.parquet``, ``.sav``, ``.dta`` (one level; the root unless
  ``level=``), and **directories** of such files named ``<level>.<ext>`` (what the writers produce) or a
  dataset directory written by :meth:`Dataset.write`.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from survmig.data.coerce import coerce_column, key_series, option_dummies
from survmig.data.dataset import METADATA_FILE, Dataset, Problem
from survmig.data.form import (
    GEO_TYPES,
    KEY,
    KEY_COLUMNS,
    PARENT_KEY,
    PLATFORM_COLUMNS,
    ROOT_KEY,
    ROW_POS,
    FormMetadata,
    Variable,
)
from survmig.data.ziplimits import read_member
from survmig.errors import SurvmigError
from survmig.tableio import check_header, csv_parser_error, decode_text

CENTRAL_META = {v[1]: k for k, v in PLATFORM_COLUMNS.items() if v[1]}
KOBO_META = {v[2]: k for k, v in PLATFORM_COLUMNS.items() if v[2]}
#: Kobo columns that carry no answer and are not kept (links are rebuilt as KEY / PARENT_KEY).
KOBO_IGNORED = {
    "_index",
    "_parent_table_name",
    "_parent_index",
    "_uuid",
    "_xform_id_string",
    "_attachments",
    "_geolocation",
    "_media_all_received",
    "_total_media",
    "_media_count",
    "meta/rootUuid",
    "formhub/uuid",
}
_REPEAT_KEY = re.compile(r"/([^/\[\]]+)\[(\d+)\]$")
#: the same pattern for Arrow (RE2), restricted to what both engines match identically
_REPEAT_KEY_RE2 = r"/(?P<name>[^/\[\]]+)\[(?P<pos>[0-9]+)\]$"
#: a line of blanks or tabs only, which pandas skips and Arrow reads (after a newline: a fast scan)
_CSV_BLANK_LINE = re.compile(r"\n[ \t]+\r?(?:\n|$)")
_CSV_QUOTED = re.compile(r'"(?:[^"]|"")*"')
_GEO_PARTS = ("Latitude", "Longitude", "Altitude", "Accuracy")
_SUFFIXES = {".zip", ".xlsx", ".csv", ".parquet", ".sav", ".zsav", ".dta"}


@dataclass
class RawLevel:
    """One level as read from the file, before typing: text columns keyed by variable name."""

    frame: pd.DataFrame  # KEY, PARENT_KEY (repeats), variable columns, platform columns, extras
    file: str
    extra: list[str] = field(default_factory=list)  # columns the form does not know
    missing: list[str] = field(default_factory=list)  # form columns the file lacks


def read_export(
    path: str | Path,
    form: FormMetadata | str | Path | None = None,
    *,
    level: str | None = None,
    strict: bool = True,
    encoding: str = "utf-8",
    root_level: str = "household",
) -> Dataset:
    """Read collected data into a :class:`Dataset`, dispatching on the file.

    ``form`` is the compiled XLSForm (path or :class:`FormMetadata`); it may be omitted only for a
    dataset directory. ``strict`` (default) refuses exports that do not match the form (other
    columns, broken repeat links, duplicate instance ids); with ``strict=False`` they are imported
    and every such problem is listed in :attr:`Dataset.notes`.
    """
    path = Path(path)
    if not path.exists():
        raise SurvmigError("file not found", file=path)
    if path.is_dir() and (path / METADATA_FILE).exists():
        return Dataset.read(path)
    if form is None:
        raise SurvmigError(
            "the form is needed to read this export", file=path, hint="pass --form FORM.xlsx"
        )
    meta = (
        form
        if isinstance(form, FormMetadata)
        else FormMetadata.from_xlsform(form, root_level=root_level)
    )
    if path.is_dir():
        raw, shape = _read_directory(path, meta, encoding), "directory"
    else:
        suffix = path.suffix.lower()
        if suffix not in _SUFFIXES:
            raise SurvmigError(
                f"unknown file type '{suffix}'",
                file=path,
                hint="give an ODK Central .zip, a KoboToolbox .xlsx, or .csv/.parquet/.sav/.dta",
            )
        _sniff(path, suffix)
        if suffix == ".zip":
            raw, shape = _read_central(path, meta, encoding), "odk-central"
        elif suffix == ".xlsx":
            raw, shape = _read_kobo(path, meta), "kobotoolbox"
        else:
            target = level or meta.root
            if target not in meta.levels:
                raise SurvmigError(
                    f"the form has no level '{target}'", hint="levels: " + ", ".join(meta.levels)
                )
            raw = {
                target: _read_single(path, meta, target, encoding, explicit_level=level is not None)
            }
            shape = suffix.lstrip(".")
    return build_dataset(raw, meta, strict=strict, source={"file": str(path), "shape": shape})


# ---------------------------------------------------------------------------------------- sniffing
def _sniff(path: Path, suffix: str) -> None:
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
def _read_csv_bytes(data: bytes, *, file: str, encoding: str) -> pd.DataFrame:
    if not data.strip():
        raise SurvmigError("the file is empty", file=file, hint="export the data again")
    text = decode_text(data, encoding, file)
    check_header(text, file)
    fast = _read_csv_arrow(text)
    if fast is not None:
        return fast
    try:
        return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_filter=False)
    except pd.errors.ParserError as err:
        raise csv_parser_error(err, file) from None
    except pd.errors.EmptyDataError:
        raise SurvmigError("the file is empty (no header row)", file=file) from None


def _read_csv_arrow(text: str) -> pd.DataFrame | None:
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


# ---------------------------------------------------------------------------------------- mapping
class _ColumnMap:
    """Maps export column names of one level to form variables, whatever the naming style."""

    def __init__(self, meta: FormMetadata, level: str) -> None:
        self.meta = meta
        self.level = level
        base = meta.levels[level].path
        self.lookup: dict[str, Variable] = {}
        self.variables = [v for v in meta.variables_at(level) if v.kind in ("question", "meta")]
        for var in self.variables:
            rel = var.path[len(base) :]
            for candidate in (
                "-".join(rel),
                "/".join(var.path),
                "/".join(rel),
                "-".join(var.path),
                var.name,
            ):
                self.lookup.setdefault(candidate, var)
        self.silent = {v.name for v in meta.variables_at(level, kinds=["option"])}
        for path in meta.silent.get(level, []):
            parts = tuple(path.split("/"))
            rel = parts[len(base) :]
            self.silent.update({"-".join(rel), "/".join(parts), "/".join(rel), parts[-1]})

    def classify(self, column: str) -> tuple[str, Variable | None, str | None]:
        """('var', var, None) | ('option', var, code) | ('geo', var, part) | ('silent'|'unknown', None, None)."""
        if column in self.lookup:
            return "var", self.lookup[column], None
        if column in self.silent:
            return "silent", None, None
        if "/" in column:
            head, _, code = column.rpartition("/")
            var = self.lookup.get(head)
            if var is not None and var.type == "select_multiple":
                return "option", var, code
        if "-" in column:
            head, _, part = column.rpartition("-")
            var = self.lookup.get(head)
            if var is not None and var.type in GEO_TYPES and part in _GEO_PARTS:
                return "geo", var, part
        m = re.match(r"^_(.+)_(latitude|longitude|altitude|precision)$", column)
        if m and m.group(1) in self.lookup and self.lookup[m.group(1)].type in GEO_TYPES:
            return "geo-derived", self.lookup[m.group(1)], None
        return "unknown", None, None


def _map_columns(
    frame: pd.DataFrame,
    meta: FormMetadata,
    level: str,
    *,
    file: str,
    platform: dict[str, str],
    ignored: set[str],
) -> RawLevel:
    """Rename export columns to variable names; rebuild summaries from split columns."""
    cmap = _ColumnMap(meta, level)
    out: dict[str, pd.Series] = {}
    options: dict[str, dict[str, pd.Series]] = {}
    geo: dict[str, dict[str, pd.Series]] = {}
    extra: list[str] = []
    for col in frame.columns:
        if col in (KEY, PARENT_KEY):
            out[col] = frame[col]
            continue
        if col in platform:
            if level == meta.root:
                out[platform[col]] = frame[col]
            continue
        if col in ignored or col.startswith("SET-OF-") or col.startswith("_submission_"):
            continue
        kind, var, part = cmap.classify(col)
        if kind == "var":
            out[var.name] = frame[col]  # type: ignore[union-attr]
        elif kind == "option":
            options.setdefault(var.name, {})[part] = frame[col]  # type: ignore[union-attr,index]
        elif kind == "geo":
            geo.setdefault(var.name, {})[part] = frame[col]  # type: ignore[union-attr,index]
        elif kind in ("silent", "geo-derived"):
            continue
        else:
            extra.append(col)
            out[col] = frame[col]
    for name, parts in geo.items():
        if name not in out:
            cols = [
                parts.get(p, pd.Series([""] * len(frame), index=frame.index)).astype(str)
                for p in _GEO_PARTS
            ]
            joined = cols[0].str.cat(cols[1:], sep=" ").str.strip()
            out[name] = joined.where(cols[0].str.strip() != "", "")
    for name, split in options.items():
        if name in out:
            continue  # the summary column is the answer; split columns are recomputed from it
        var = meta.variables[name]
        codes = [c.name for c in meta.choices.get(var.list_name or "", []) if c.name in split]
        codes += [c for c in split if c not in codes]
        flags = {
            c: split[c].astype(str).str.strip().str.lower().isin(["1", "true", "1.0"])
            for c in codes
        }
        text = pd.Series([""] * len(frame), index=frame.index, dtype=object)
        for code in codes:
            text = text.where(~flags[code], (text + " " + code).str.strip())
        out[name] = text
    expected = [v.name for v in cmap.variables if v.kind == "question"]
    missing = [name for name in expected if name not in out]
    return RawLevel(pd.DataFrame(out, index=frame.index), file, extra, missing)


# ---------------------------------------------------------------------------------------- ODK Central
def _read_central(path: Path, meta: FormMetadata, encoding: str) -> dict[str, RawLevel]:
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as err:
        raise SurvmigError(f"damaged zip archive: {err}", file=path) from None
    with zf:
        members = [
            n for n in zf.namelist() if n.lower().endswith(".csv") and not n.startswith("media/")
        ]
        if not members:
            raise SurvmigError(
                "the zip archive holds no CSV file",
                file=path,
                hint="download the CSV export (submissions.csv.zip)",
            )
        frames = {
            n: _read_csv_bytes(read_member(zf, n, path), file=f"{path}:{n}", encoding=encoding)
            for n in members
        }
    root_name = f"{meta.form_id}.csv"
    roots = [n for n, df in frames.items() if PARENT_KEY not in df.columns]
    if root_name in frames:
        root_member = root_name
    elif len(roots) == 1:
        root_member = roots[0]
    else:
        raise SurvmigError(
            f"cannot find the submissions table '{root_name}' in the archive",
            file=path,
            hint=f"the form id is '{meta.form_id}'; is this the export of another form? files: {', '.join(members)}",
        )
    out: dict[str, RawLevel] = {}
    root_frame = frames.pop(root_member)
    if KEY not in root_frame.columns:
        raise SurvmigError("the submissions table has no KEY column", file=f"{path}:{root_member}")
    out[meta.root] = _map_columns(
        root_frame,
        meta,
        meta.root,
        file=f"{path}:{root_member}",
        platform=CENTRAL_META,
        ignored=set(),
    )
    repeats = {lv.name for lv in meta.levels.values() if lv.parent is not None}
    for member, frame in frames.items():
        where = f"{path}:{member}"
        if PARENT_KEY not in frame.columns or KEY not in frame.columns:
            raise SurvmigError("a repeat table needs KEY and PARENT_KEY columns", file=where)
        level = _central_level(member, frame, meta, repeats)
        if level is None:
            raise SurvmigError(
                "this table belongs to no repeat of the form",
                file=where,
                hint="repeats in the form: "
                + (", ".join(sorted(repeats)) or "none")
                + "; is the export from another form version?",
            )
        if level in out:
            raise SurvmigError(f"two tables in the archive hold repeat '{level}'", file=where)
        out[level] = _map_columns(frame, meta, level, file=where, platform={}, ignored=set())
    return out


def _central_level(
    member: str, frame: pd.DataFrame, meta: FormMetadata, repeats: set[str]
) -> str | None:
    keys = frame[KEY].astype(str)
    if len(keys):
        names = _repeat_key_parts(keys)[0].dropna().unique()
        if len(names) == 1 and names[0] in repeats:
            return str(names[0])
    stem = Path(member).stem
    stem = re.sub(r"~\d+$", "", stem)
    for name in sorted(repeats, key=len, reverse=True):
        if stem.endswith(f"-{name}") or stem == name:
            return name
    return None


# ---------------------------------------------------------------------------------------- KoboToolbox
def _read_kobo(path: Path, meta: FormMetadata) -> dict[str, RawLevel]:
    try:
        sheets = pd.read_excel(
            path, sheet_name=None, dtype=str, keep_default_na=False, na_filter=False
        )
    except Exception as err:  # openpyxl raises many kinds on damaged workbooks
        raise SurvmigError(
            f"cannot read the workbook: {type(err).__name__}: {err}", file=path
        ) from None
    if not sheets:
        raise SurvmigError("the workbook has no sheet", file=path)
    names = list(sheets)
    root_frame = sheets[names[0]]
    if root_frame.empty and not len(root_frame.columns):
        raise SurvmigError("the first sheet is empty", file=path)
    known = set(_ColumnMap(meta, meta.root).lookup) | set(KOBO_META) | KOBO_IGNORED
    if len(root_frame.columns) and not (set(root_frame.columns) & known):
        raise SurvmigError(
            "no column of the first sheet matches the form",
            file=path,
            hint="export from KoboToolbox with 'XML values and headers', and check the form",
        )
    repeats = {lv.name for lv in meta.levels.values() if lv.parent is not None}
    sheet_level: dict[str, str] = {names[0]: meta.root}
    for name in names[1:]:
        level = next((r for r in repeats if r == name or r[:31] == name), None)
        if level is None:
            frame = sheets[name]
            if "_parent_table_name" in frame.columns and not len(frame):
                continue
            raise SurvmigError(
                f"sheet '{name}' belongs to no repeat of the form",
                file=path,
                hint="repeats in the form: " + (", ".join(sorted(repeats)) or "none"),
            )
        sheet_level[name] = level
    root_frame = _kobo_root_keys(root_frame, file=f"{path}:{names[0]}")
    index_to_key: dict[str, pd.Series] = {
        names[0]: pd.Series(root_frame[KEY].to_numpy(), index=_kobo_index(root_frame))
    }
    out = {
        meta.root: _map_columns(
            root_frame,
            meta,
            meta.root,
            file=f"{path}:{names[0]}",
            platform=KOBO_META,
            ignored=KOBO_IGNORED,
        )
    }
    # parents before children: follow the form's level order
    order = sorted(sheet_level.items(), key=lambda kv: list(meta.levels).index(kv[1]))
    for sheet, level in order[1:]:
        where = f"{path}:{sheet}"
        frame = sheets[sheet].copy()
        for col in ("_parent_index", "_parent_table_name"):
            if col not in frame.columns:
                raise SurvmigError(f"repeat sheet has no {col} column", file=where)
        parent_level = meta.levels[level].parent
        parent_sheet = next(s for s, lv in sheet_level.items() if lv == parent_level)
        lookup = index_to_key.get(parent_sheet)
        if lookup is None:
            raise SurvmigError(f"the parent sheet of '{sheet}' has no _index column", file=where)
        lookup = lookup[~lookup.index.duplicated()]
        parent_index = (
            frame["_parent_index"].astype(str).str.strip().str.replace(r"\.0$", "", regex=True)
        )
        pos = lookup.index.get_indexer(parent_index)
        parent_key = np.where(pos >= 0, lookup.to_numpy(dtype=object)[pos], None)
        orphan = pos < 0
        # orphans keep a recognisable parent key so the link problem can be reported
        parent_key = np.where(
            orphan, "_parent_index:" + parent_index.to_numpy(dtype=object), parent_key
        )
        frame[PARENT_KEY] = parent_key
        pos_in_parent = frame.groupby(PARENT_KEY, sort=False).cumcount().to_numpy() + 1
        segment = meta.levels[level].key_segment
        frame[KEY] = (
            pd.Series(parent_key, index=frame.index).astype(str)
            + "/"
            + segment
            + "["
            + pd.Series(pos_in_parent, index=frame.index).astype(str)
            + "]"
        )
        if "_index" in frame.columns:
            index_to_key[sheet] = pd.Series(frame[KEY].to_numpy(), index=_kobo_index(frame))
        out[level] = _map_columns(frame, meta, level, file=where, platform={}, ignored=KOBO_IGNORED)
    return out


def _kobo_index(frame: pd.DataFrame) -> pd.Index:
    if "_index" not in frame.columns:
        return pd.Index(np.arange(1, len(frame) + 1).astype(str))
    return pd.Index(frame["_index"].astype(str).str.strip().str.replace(r"\.0$", "", regex=True))


def _kobo_root_keys(frame: pd.DataFrame, *, file: str) -> pd.DataFrame:
    frame = frame.copy()
    instance = (
        frame["meta/instanceID"].astype(str).str.strip()
        if "meta/instanceID" in frame.columns
        else None
    )
    if "_uuid" in frame.columns:
        from_uuid = "uuid:" + frame["_uuid"].astype(str).str.strip()
        key = from_uuid if instance is None else instance.where(instance != "", from_uuid)
    elif instance is not None:
        key = instance
    else:
        raise SurvmigError("the submissions sheet has neither _uuid nor meta/instanceID", file=file)
    frame[KEY] = key
    return frame


# ---------------------------------------------------------------------------------------- single tables
def _read_single(
    path: Path, meta: FormMetadata, level: str, encoding: str, *, explicit_level: bool
) -> RawLevel:
    from survmig.data.labelled import read_labelled

    suffix = path.suffix.lower()
    if suffix == ".csv":
        frame = _read_csv_bytes(path.read_bytes(), file=str(path), encoding=encoding)
    elif suffix == ".parquet":
        try:
            typed = pd.read_parquet(path)
        except Exception as err:
            raise SurvmigError(f"cannot read the Parquet file: {err}", file=path) from None
        frame = pd.DataFrame({c: _text(typed[c], meta.variables.get(c)) for c in typed.columns})
    else:
        frame = read_labelled(path, meta, level)
    if PARENT_KEY in frame.columns and meta.levels[level].parent is None and not explicit_level:
        raise SurvmigError(
            "this table has a PARENT_KEY column, so it holds a repeat",
            file=path,
            hint="say which level it is (--level NAME); levels: " + ", ".join(meta.levels),
        )
    if KEY not in frame.columns:
        if meta.levels[level].parent is not None:
            raise SurvmigError("a repeat table needs KEY and PARENT_KEY columns", file=path)
        for candidate in ("instanceID", "meta-instanceID", "meta/instanceID", "_uuid"):
            if candidate in frame.columns:
                frame[KEY] = frame[candidate]
                break
        else:
            frame[KEY] = [f"row:{i}" for i in range(1, len(frame) + 1)]
    platform = {**CENTRAL_META, **KOBO_META, **{k: k for k in PLATFORM_COLUMNS}}
    ignored = set(KOBO_IGNORED) | {ROOT_KEY, ROW_POS}
    return _map_columns(frame, meta, level, file=str(path), platform=platform, ignored=ignored)


def _text(series: pd.Series, var: Variable | None) -> pd.Series:
    from survmig.data.coerce import to_raw

    return to_raw(series, var)


def _read_directory(path: Path, meta: FormMetadata, encoding: str) -> dict[str, RawLevel]:
    out: dict[str, RawLevel] = {}
    for level in meta.levels:
        found = [
            p
            for p in sorted(path.glob(f"{level}.*"))
            if p.suffix.lower() in _SUFFIXES - {".zip", ".xlsx"}
        ]
        if not found:
            continue
        file = found[0]
        _sniff(file, file.suffix.lower())
        out[level] = _read_single(file, meta, level, encoding, explicit_level=True)
    if not out:
        raise SurvmigError(
            "no table named after a level of the form in this directory",
            file=path,
            hint="expected files like " + ", ".join(f"{lv}.csv" for lv in meta.levels),
        )
    if meta.root not in out:
        raise SurvmigError(f"no table for the root level '{meta.root}'", file=path)
    return out


# ---------------------------------------------------------------------------------------- assembling
def build_dataset(
    raw: dict[str, RawLevel], meta: FormMetadata, *, strict: bool = True, source: dict | None = None
) -> Dataset:
    """Check structure, link levels, type every column: the common end of every reader."""
    notes: list[Problem] = []
    _check_version(raw, meta, strict, notes)
    tables: dict[str, pd.DataFrame] = {}
    for level in meta.levels:
        if level not in raw:
            continue
        rl = raw[level]
        frame = rl.frame
        keys = frame[KEY].astype(str).str.strip()
        frame = frame.assign(**{KEY: keys})
        dup = keys.duplicated(keep=False) & (keys != "")
        empty = keys == ""
        if empty.any():
            msg = f"{int(empty.sum())} row(s) without a KEY"
            if strict:
                raise SurvmigError(msg, file=rl.file, hint="every row needs its instance id / KEY")
            for i in np.flatnonzero(empty.to_numpy()):
                notes.append(Problem(level, None, KEY, "key", f"row {i + 1} has no key"))
        if dup.any():
            dups = sorted(set(keys[dup]))
            if strict:
                raise SurvmigError(
                    f"duplicate instance ids: {', '.join(dups[:5])}"
                    + (" …" if len(dups) > 5 else "")
                    + f" ({len(dups)} id(s) on {int(dup.sum())} rows)",
                    file=rl.file,
                    hint="remove the duplicated submissions, or import with --keep-going and review `survmig data check`",
                )
            for key in keys[dup].tolist():
                notes.append(
                    Problem(level, key, KEY, "duplicate", "the same key is on several rows", key)
                )
        parent = meta.levels[level].parent
        if parent is not None:
            frame = _link(frame, tables.get(parent), meta, level, rl.file, strict, notes)
        tables[level] = _type_level(frame, meta, level, notes)
    return Dataset(tables, meta, source=source, notes=notes)


def _check_version(
    raw: dict[str, RawLevel], meta: FormMetadata, strict: bool, notes: list[Problem]
) -> None:
    root = raw.get(meta.root)
    versions: set[str] = set()
    if root is not None and "FormVersion" in root.frame.columns:
        versions = {v for v in root.frame["FormVersion"].astype(str).str.strip().unique() if v}
    other_versions = sorted(v for v in versions if meta.version and v != meta.version)
    problems = []
    for level, rl in raw.items():
        if rl.extra:
            problems.append(f"{level}: columns not in the form: {', '.join(rl.extra)}")
        if rl.missing:
            problems.append(
                f"{level}: form questions missing from the file: {', '.join(rl.missing)}"
            )
    if not problems and not other_versions:
        return
    text = "; ".join(problems)
    if other_versions:
        text = (
            f"data were collected with form version(s) {', '.join(other_versions)}, the form is version {meta.version}"
            + (f"; {text}" if text else "")
        )
    if strict and problems:
        raise SurvmigError(
            "the export does not match the form (a different form version?): " + text,
            hint="use the XLSForm version that produced the export, or import with --keep-going to keep the columns and get them reported",
        )
    for level, rl in raw.items():
        for col in rl.extra:
            notes.append(
                Problem(level, None, col, "not-in-form", "column is not in the form (kept as text)")
            )
        for col in rl.missing:
            notes.append(
                Problem(
                    level,
                    None,
                    col,
                    "missing-column",
                    "question of the form is not in the file (all missing)",
                )
            )
    for version in other_versions:
        notes.append(
            Problem(
                meta.root,
                None,
                "FormVersion",
                "form-version",
                f"data from form version {version}, form is {meta.version}",
                version,
            )
        )


def _link(
    frame: pd.DataFrame,
    parent: pd.DataFrame | None,
    meta: FormMetadata,
    level: str,
    file: str,
    strict: bool,
    notes: list[Problem],
) -> pd.DataFrame:
    """Add ROOT_KEY and ROW_POS; find repeat rows whose parent is not in the data."""
    if PARENT_KEY not in frame.columns:
        raise SurvmigError("a repeat table needs a PARENT_KEY column", file=file)
    pkey = frame[PARENT_KEY].astype(str).str.strip()
    known = parent[KEY] if parent is not None else pd.Series([], dtype=object)
    orphan = pd.Series(~_isin_text(pkey, known.astype(str)), index=pkey.index)
    if orphan.any():
        bad = sorted(set(pkey[orphan]))
        if strict:
            raise SurvmigError(
                f"{int(orphan.sum())} row(s) of repeat '{level}' point to a parent that is not in the data "
                f"(PARENT_KEY {', '.join(bad[:3])}{' …' if len(bad) > 3 else ''})",
                file=file,
                hint="the repeat tables and the submissions table must come from the same export; "
                "import with --keep-going to keep them and get them reported",
            )
        for key, pk in zip(frame.loc[orphan, KEY].tolist(), pkey[orphan].tolist(), strict=True):
            notes.append(
                Problem(
                    level, key, PARENT_KEY, "orphan", "repeat row without a parent in the data", pk
                )
            )
    if parent is not None and ROOT_KEY in parent.columns:
        root_of_parent = pd.Series(
            parent[ROOT_KEY].to_numpy(dtype=object), index=parent[KEY].astype(str)
        )
        root_of_parent = root_of_parent[~root_of_parent.index.duplicated()]
        root = root_of_parent.reindex(pkey.to_numpy()).to_numpy(dtype=object)
    else:
        root = pkey.to_numpy(dtype=object)
    root = np.array(root, dtype=object)
    if orphan.any():
        root[orphan.to_numpy()] = _root_from_key(pkey[orphan]).to_numpy(dtype=object)
    pos = _repeat_key_parts(frame[KEY].astype(str))[1]
    pos_num = pd.to_numeric(pos, errors="coerce")
    if pos_num.isna().any():
        fallback = frame.groupby(pkey, sort=False).cumcount() + 1
        pos_num = pos_num.fillna(fallback)
    return frame.assign(**{PARENT_KEY: pkey, ROOT_KEY: root, ROW_POS: pos_num.astype("Int64")})


def _arrow_text(series: pd.Series) -> pa.Array:
    """Text as an Arrow array (pandas 3 ``str`` columns are Arrow already: no copy)."""
    arr = pa.array(series, from_pandas=True)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr if arr.type == pa.large_string() else arr.cast(pa.large_string())


def _isin_text(values: pd.Series, candidates: pd.Series) -> np.ndarray:
    """``values.isin(set(candidates))`` for text, hashed in Arrow (pandas' Arrow-string ``isin``
    builds one Python scalar per candidate)."""
    found = pc.is_in(_arrow_text(values), value_set=_arrow_text(candidates))
    return found.to_numpy(zero_copy_only=False).astype(bool)


def _repeat_key_parts(keys: pd.Series) -> pd.DataFrame:
    """``keys.str.extract(_REPEAT_KEY)``: repeat name (column 0) and position (column 1) at the end of
    Central keys (``…/name[n]``), NaN where absent.

    Arrow's RE2 matches the plain form (ASCII digits, key ending there) in C++; every key it does
    not match (non-ASCII digits, a trailing newline, no repeat part) goes through Python's ``re``,
    so the result is the same as ``str.extract``.
    """
    parts = pc.extract_regex(_arrow_text(keys), _REPEAT_KEY_RE2)
    matched = parts.is_valid().to_numpy(zero_copy_only=False)
    out = pd.DataFrame(
        {0: np.full(len(keys), np.nan, dtype=object), 1: np.full(len(keys), np.nan, dtype=object)},
        index=keys.index,
    )
    hits = parts.filter(parts.is_valid())
    out.loc[matched, 0] = hits.field("name").to_numpy(zero_copy_only=False)
    out.loc[matched, 1] = hits.field("pos").to_numpy(zero_copy_only=False)
    if not matched.all():
        slow = keys[~matched].str.extract(_REPEAT_KEY)
        out.loc[~matched, 0] = slow[0].to_numpy(dtype=object)
        out.loc[~matched, 1] = slow[1].to_numpy(dtype=object)
    return out


def _root_from_key(keys: pd.Series) -> pd.Series:
    return keys.str.split("/", n=1).str[0]


def _type_level(
    frame: pd.DataFrame, meta: FormMetadata, level: str, notes: list[Problem]
) -> pd.DataFrame:
    keys = key_series(frame)
    is_root = meta.levels[level].parent is None
    cols: dict[str, pd.Series] = {KEY: frame[KEY].astype("string")}
    if not is_root:
        cols[PARENT_KEY] = frame[PARENT_KEY].astype("string")
        cols[ROOT_KEY] = pd.Series(
            frame[ROOT_KEY].to_numpy(dtype=object), index=frame.index
        ).astype("string")
        cols[ROW_POS] = frame[ROW_POS]
    for var in meta.data_variables(level):
        if var.kind == "option":
            continue
        raw = (
            frame[var.name]
            if var.name in frame.columns
            else pd.Series([""] * len(frame), index=frame.index)
        )
        cols[var.name] = coerce_column(meta, var, raw, level=level, keys=keys, problems=notes)
        if var.type == "select_multiple":
            opts = meta.option_columns(var.name)
            dummies = option_dummies(cols[var.name], opts)
            for col in dummies.columns:
                cols[col] = dummies[col]
    for name in PLATFORM_COLUMNS:
        # platform columns the server left entirely empty carry nothing and are not kept
        if name in frame.columns and frame[name].fillna("").astype(str).str.strip().ne("").any():
            cols[name] = _platform(frame[name], name)
    known = set(cols) | set(KEY_COLUMNS)
    for col in frame.columns:
        if col not in known and col not in PLATFORM_COLUMNS:
            cols[col] = frame[col].astype("string")
    return pd.DataFrame(cols, index=frame.index).reset_index(drop=True)


def _platform(series: pd.Series, name: str) -> pd.Series:
    from survmig.data.coerce import to_datetime, to_string

    if name == "SubmissionDate":
        values, _ = to_datetime(series.fillna("").astype(str).str.strip(), date_only=False)
        return values
    return to_string(series, strip=True)


ReaderFunc = Callable[..., Dataset]
