"""KoboToolbox exports as KoboToolbox writes them (its export library *formpack*, with the options
its server passes and its web UI offers).

What formpack does, and what this module undoes:

- **Headers** are each field's *label* in the chosen language, or its name for *XML values and
  headers*; with *include groups in headers* every enclosing group and repeat is prefixed, joined
  with the chosen separator (``/`` by default, any text allowed). A geopoint's summary column never
  has the prefix, its parts do: ``grp/_gps_latitude``. select_multiple gives a summary column, one
  ``question<sep>option`` 0/1 column per choice, or both. Media questions (image, audio, video, file,
  audit) get a ``<question>_URL`` column (the web UI's default).
- **Cells** are typed by default in the web UI (``xls_types_as_text=False``): numbers, dates and
  date-times become Excel values, and date-times lose their UTC offset (the workbook is written with
  ``remove_timezone``). Text starting with ``=`` is written as a formula (xlsxwriter's ``write``),
  with a cached value of 0: the formula string *is* what the respondent typed and is what is read.
- **Sheets**: the first holds the submissions; each repeat has a sheet named after it, cut to 28
  characters plus ``...`` when longer than 31 (``... (n)`` when two cuts collide). A repeat without
  rows has no sheet. Links: ``_index`` / ``_parent_index``.
- **CSV**: ``;``-separated, every cell quoted, and only the first sheet (no repeat data).
- ``__version__`` is Kobo's id of the deployed version (``vXyz…``), never the XLSForm ``version``.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from survmig.data.dataset import Problem
from survmig.data.form import (
    KEY,
    PARENT_KEY,
    PLATFORM_COLUMNS,
    FormMetadata,
    Variable,
)
from survmig.errors import SurvmigError

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
#: formpack's EXTENDED_MEDIA_TYPES: questions whose export carries a ``_URL`` column
MEDIA_TYPES = frozenset(
    {"image", "photo", "audio", "video", "file", "background-audio", "audit"}
)  # pyxform calls image "photo"
DATETIME_TYPES = frozenset({"datetime", "start", "end"})
_GEO_PARTS = ("latitude", "longitude", "altitude", "precision")
_SEPARATORS = ("/", "-", ".", ":", "_", " ", "|", "\\", " / ", " - ", " > ", "__")
EXCEL_SHEET_LIMIT = 31
_FORBIDDEN = str.maketrans({c: "_" for c in "[]*?:\\/"})


@dataclass(frozen=True)
class HeaderStyle:
    """How a Kobo export names its columns."""

    lang: str | None  # None: XML names; otherwise the form language of the labels
    hierarchy: bool  # groups (and repeats) in headers
    sep: str

    def describe(self) -> str:
        what = "XML names" if self.lang is None else f"labels in {self.lang}"
        where = f"with groups, joined by '{self.sep}'" if self.hierarchy else "without groups"
        return f"{what}, {where}"


@dataclass(frozen=True)
class Column:
    """What one export column holds."""

    var: Variable
    part: str  # value | option | geo | url
    detail: str | None = None  # option code or geopoint part


def sheet_name(name: str, taken: list[str] | tuple[str, ...] = ()) -> str:
    """The worksheet name formpack gives a section (``unique_name_for_xls``)."""
    clean = re.sub(r"(^'|'$)", "_", name.translate(_FORBIDDEN))

    def cut(ellipsis: str) -> str:
        if len(clean) > EXCEL_SHEET_LIMIT:
            return clean[: EXCEL_SHEET_LIMIT - len(ellipsis)] + ellipsis
        return clean

    candidate, i = cut("..."), 1
    while candidate in taken and len(clean) > EXCEL_SHEET_LIMIT:
        candidate = cut(f"... ({i})")
        i += 1
    return candidate


# ---------------------------------------------------------------------------------------- headers
def _text(meta: FormMetadata, labels: dict[str, str], lang: str | None, name: str) -> str:
    if lang is None:
        return name
    return labels.get(lang) or name


@dataclass(frozen=True)
class _Part:
    """A question's own header text, its enclosing groups' and its options' (in one language)."""

    var: Variable
    own: str
    prefix: tuple[str, ...]
    options: tuple[tuple[str, str], ...]  # (code, text)


def _parts(meta: FormMetadata, level: str, lang: str | None) -> list[_Part]:
    repeats = {lv.path: lv for lv in meta.levels.values() if lv.parent is not None}
    out = []
    for var in meta.variables_at(level, kinds=["question", "meta"]):
        prefix = []
        # the meta group is pyxform's: Kobo's form content has audit etc. at the top
        for i in range(1, len(var.path) if var.path[:1] != ("meta",) else 0):
            path = var.path[:i]
            labels = (
                repeats[path].labels if path in repeats else meta.groups.get("/".join(path), {})
            )
            prefix.append(_text(meta, labels, lang, path[-1]))
        options = ()
        if var.type == "select_multiple":
            options = tuple(
                (c.name, _text(meta, c.labels, lang, c.name))
                for c in meta.choices.get(var.list_name or "", [])
            )
        out.append(_Part(var, _text(meta, var.labels, lang, var.name), tuple(prefix), options))
    return out


def _headers(parts: list[_Part], hierarchy: bool, sep: str) -> list[tuple[str, Column]]:
    out: list[tuple[str, Column]] = []
    for part in parts:
        var, own = part.var, part.own
        prefix = list(part.prefix) if hierarchy else []
        label = sep.join([*prefix, own])
        if var.type == "geopoint":
            out.append((own, Column(var, "value")))
            head = sep.join(prefix) + sep if prefix else ""
            out += [(f"{head}_{own}_{p}", Column(var, "geo", p)) for p in _GEO_PARTS]
            continue
        out.append((label, Column(var, "value")))
        for code, text in part.options:
            out.append((f"{label}{sep or '/'}{text}", Column(var, "option", code)))
        if var.type in MEDIA_TYPES:
            out.append((f"{label}_URL", Column(var, "url")))
    return out


def expected_headers(
    meta: FormMetadata, level: str, style: HeaderStyle
) -> list[tuple[str, Column]]:
    """Every header formpack writes for the questions of ``level`` in ``style``, in form order."""
    return _headers(_parts(meta, level, style.lang), style.hierarchy, style.sep)


def detect_style(meta: FormMetadata, level: str, headers: list[str]) -> HeaderStyle:
    """The header style under which the most of ``headers`` are the form's own."""
    present = set(headers)
    seps = [s for s in _SEPARATORS if s == "/" or any(s in h for h in present)]
    best, best_score = HeaderStyle(None, False, "/"), -1
    for lang in [None, *meta.languages]:
        parts = _parts(meta, level, lang)
        for hierarchy in (False, True):
            for sep in seps:
                score = sum(h in present for h, _ in _headers(parts, hierarchy, sep))
                if score > best_score:
                    best, best_score = HeaderStyle(lang, hierarchy, sep), score
    return best


def map_headers(
    meta: FormMetadata, level: str, headers: list[str], style: HeaderStyle
) -> tuple[list[Column | None], list[str]]:
    """Column meaning of each header (by position; a repeated label takes the next question that
    has it) and the ambiguities found."""
    queue: dict[str, list[Column]] = {}
    for head, col in expected_headers(meta, level, style):
        queue.setdefault(head, []).append(col)
    counts = pd.Series(headers).value_counts() if headers else pd.Series(dtype=int)
    ambiguous = sorted(
        h for h, cols in queue.items() if len(cols) > 1 and counts.get(h, 0) != len(cols)
    )
    out: list[Column | None] = []
    for head in headers:
        cols = queue.get(head)
        out.append(cols.pop(0) if cols else None)
    return out, ambiguous


# ---------------------------------------------------------------------------------------- cells
def _cell_text(value: object) -> str:
    """What the respondent's answer was, as export text, from one openpyxl cell value."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S")
    text = getattr(value, "text", None)  # an array formula: the text as typed
    if isinstance(text, str):
        return "{" + text + "}"
    return str(value)


def read_workbook(path: Path) -> dict[str, pd.DataFrame]:
    """Every sheet as text, headers by position; formulas as their formula text (never the cached
    value), Excel dates and numbers as ISO / plain text."""
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except Exception as err:  # openpyxl raises many kinds on damaged workbooks
        raise SurvmigError(
            f"cannot read the workbook: {type(err).__name__}: {err}", file=path
        ) from None
    sheets: dict[str, pd.DataFrame] = {}
    try:
        for ws in wb.worksheets:
            rows = list(ws.iter_rows(values_only=True))
            if not rows:
                sheets[ws.title] = pd.DataFrame()
                continue
            header = [_cell_text(v) for v in rows[0]]
            while header and header[-1] == "":
                header.pop()
            width = len(header)
            body = [r[:width] + (None,) * (width - len(r)) for r in rows[1:]]
            body = [r for r in body if any(v is not None and v != "" for v in r)]
            cells = np.array(body, dtype=object).reshape(len(body), width)
            columns = {
                i: pd.Series(cells[:, i], dtype=object).map(_cell_text) for i in range(width)
            }
            frame = pd.DataFrame(columns)
            frame.columns = header
            sheets[ws.title] = frame
    finally:
        wb.close()
    return sheets


def read_kobo_csv(data: bytes, *, file: str, encoding: str) -> pd.DataFrame:
    """Kobo's CSV export: ``;``-separated, every cell quoted, one header row (then hxl rows)."""
    from survmig.tableio import decode_text

    text = decode_text(data, encoding, file)
    try:
        frame = pd.read_csv(
            io.StringIO(text), sep=";", dtype=str, keep_default_na=False, na_filter=False
        )
    except pd.errors.ParserError as err:
        raise SurvmigError(f"not a readable KoboToolbox CSV export: {err}", file=file) from None
    if len(frame) and frame.iloc[0].astype(str).str.startswith("#").any():
        frame = frame.iloc[1:].reset_index(drop=True)  # an HXL tag row under the header
    return frame


def is_kobo_csv(head: bytes) -> bool:
    """Kobo's CSV: the first line is quoted names joined by ``";"``, and ``_uuid`` is among them."""
    line = head.split(b"\n", 1)[0].lstrip(b"\xef\xbb\xbf")
    return line.startswith(b'"') and b'";"' in line and b'"_uuid"' in line


# ---------------------------------------------------------------------------------------- canonical
@dataclass
class KoboSheet:
    """A sheet renamed to canonical columns (``/``-joined paths) with what was found out."""

    frame: pd.DataFrame
    style: HeaderStyle
    urls: list[str]  # media URL columns kept (variable names of their questions)
    split: str  # both | summary | split | none
    notes: list[str]


def canonical_sheet(
    meta: FormMetadata,
    level: str,
    frame: pd.DataFrame,
    *,
    style: HeaderStyle | None = None,
    problems: list[Problem] | None = None,
) -> KoboSheet:
    """Rename a Kobo sheet's columns to the ``/``-joined paths the common mapper reads, turning
    label values back into codes for a label export."""
    headers = [str(c) for c in frame.columns]
    style = style or detect_style(meta, level, headers)
    mapped, ambiguous = map_headers(meta, level, headers, style)
    notes = []
    if ambiguous:
        notes.append(
            f"{level}: headers used by several questions: {', '.join(ambiguous[:5])}"
            + (f" (+{len(ambiguous) - 5})" if len(ambiguous) > 5 else "")
            + "; taken in form order"
        )
    cols: dict[str, pd.Series] = {}
    urls: list[str] = []
    has_summary, has_split = set(), set()
    for i, (head, col) in enumerate(zip(headers, mapped, strict=True)):
        series = frame.iloc[:, i]
        if col is None:
            if head not in cols:
                cols[head] = series
            continue
        path = "/".join(col.var.path)
        if col.part == "value":
            cols[path] = series
            if col.var.type == "select_multiple":
                has_summary.add(col.var.name)
        elif col.part == "option":
            cols[f"{path}/{col.detail}"] = series
            has_split.add(col.var.name)
        elif col.part == "url":
            cols[f"{col.var.name}_URL"] = series
            urls.append(col.var.name)
        # geopoint parts repeat the summary column
    if style.lang is not None:
        _labels_to_codes(meta, level, cols, style.lang, has_split, problems, notes)
    multis = {v.name for v in meta.variables_at(level) if v.type == "select_multiple"}
    split = (
        "none"
        if not multis
        else "both"
        if has_summary and has_split
        else "split"
        if has_split
        else "summary"
    )
    return KoboSheet(pd.DataFrame(cols, index=frame.index), style, urls, split, notes)


def _labels_to_codes(
    meta: FormMetadata,
    level: str,
    cols: dict[str, pd.Series],
    lang: str,
    has_split: set[str],
    problems: list[Problem] | None,
    notes: list[str],
) -> None:
    for var in meta.variables_at(level, kinds=["question", "meta"]):
        path = "/".join(var.path)
        if not var.has_choices or path not in cols:
            continue
        if var.type == "select_multiple" and var.name in has_split:
            del cols[path]  # labels joined by spaces are ambiguous: the 0/1 columns say it all
            continue
        by_label: dict[str, list[str]] = {}
        for choice in meta.choices.get(var.list_name or "", []):
            by_label.setdefault(choice.labels.get(lang) or choice.name, []).append(choice.name)
        clash = {lab: codes for lab, codes in by_label.items() if len(codes) > 1}
        if clash:
            lab, codes = next(iter(clash.items()))
            notes.append(
                f"{var.name}: label '{lab}' stands for codes {', '.join(codes)} in {lang}; "
                "such answers are kept as the label (download XML values to have the code)"
            )
        mapping = {lab: codes[0] for lab, codes in by_label.items() if len(codes) == 1}
        text = cols[path].astype(str)
        if var.type == "select_one":
            cols[path] = text.map(lambda t, m=mapping: m.get(t.strip(), t))
        else:
            ordered = sorted(mapping, key=len, reverse=True)

            def codes(answer: str, ordered=ordered, mapping=mapping) -> str:
                out = []
                rest = answer.strip()
                while rest:
                    lab = next((lb for lb in ordered if rest.startswith(lb)), None)
                    if lab is None:
                        head, _, rest = rest.partition(" ")
                        out.append(head)
                    else:
                        out.append(mapping[lab])
                        rest = rest[len(lab) :].lstrip()
                return " ".join(out)

            cols[path] = text.map(codes)


def match_sheets(
    meta: FormMetadata, names: list[str], sheets: dict[str, pd.DataFrame], *, file: Path
) -> dict[str, str]:
    """Sheet -> level: the first sheet is the root; repeats by the name formpack gives them."""
    repeats = [lv.name for lv in meta.levels.values() if lv.parent is not None]
    candidates: dict[str, list[str]] = {}
    for rep in repeats:
        clean = sheet_name(rep)
        options = {rep, rep[:EXCEL_SHEET_LIMIT], clean}
        taken: list[str] = []
        for _ in range(10):  # a collision of two cut names adds " (n)" to the ellipsis
            taken.append(sheet_name(rep, taken))
        options |= set(taken)
        for option in options:
            candidates.setdefault(option, []).append(rep)
    out = {names[0]: meta.root}
    for name in names[1:]:
        levels = candidates.get(name, [])
        if len(levels) > 1:  # two long names cut alike: the one whose questions are there
            heads = set(map(str, sheets[name].columns))

            def score(level: str, heads=heads) -> int:
                style = detect_style(meta, level, list(heads))
                return sum(h in heads for h, _ in expected_headers(meta, level, style))

            levels = [max(levels, key=score)]
        if not levels:
            frame = sheets[name]
            if "_parent_table_name" in frame.columns and not len(frame):
                continue
            raise SurvmigError(
                f"sheet '{name}' belongs to no repeat of the form",
                file=file,
                hint="repeats in the form: " + (", ".join(sorted(repeats)) or "none"),
            )
        out[name] = levels[0]
    return out


def kobo_index(frame: pd.DataFrame) -> pd.Index:
    if "_index" not in frame.columns:
        return pd.Index(np.arange(1, len(frame) + 1).astype(str))
    return pd.Index(frame["_index"].astype(str).str.strip().str.replace(r"\.0$", "", regex=True))


def kobo_root_keys(frame: pd.DataFrame, *, file: str) -> pd.DataFrame:
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


def link_repeat(
    frame: pd.DataFrame,
    meta: FormMetadata,
    level: str,
    lookup: pd.Series,
    *,
    where: str,
) -> pd.DataFrame:
    """KEY / PARENT_KEY for a repeat sheet from ``_parent_index`` and the parent's index -> key."""
    frame = frame.copy()
    if "_parent_index" not in frame.columns:
        raise SurvmigError("repeat sheet has no _parent_index column", file=where)
    lookup = lookup[~lookup.index.duplicated()]
    parent_index = (
        frame["_parent_index"].astype(str).str.strip().str.replace(r"\.0$", "", regex=True)
    )
    pos = lookup.index.get_indexer(parent_index)
    parent_key = np.where(pos >= 0, lookup.to_numpy(dtype=object)[np.maximum(pos, 0)], None)
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
    return frame
