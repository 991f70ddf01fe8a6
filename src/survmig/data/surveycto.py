"""SurveyCTO exports: the *wide* CSV (its default download) and the *long* format (a zip).

As SurveyCTO documents them (help: *Understanding the format of exported data*):

- columns are field names without group names; metadata ``SubmissionDate`` first, then the fields,
  then ``instanceID``, ``formdef_version`` (the form's ``version``) and ``KEY`` (optionally
  ``review_status``…);
- **wide**: one row per submission; a field inside a repeat becomes ``field_1``, ``field_2``, … (one
  suffix per enclosing repeat, outermost first: ``field_2_1``); select_multiple gives its summary
  column plus ``field_<choice>`` 0/1 columns (a ``-`` in the choice becomes ``_``), suffixed the same
  way in repeats; geopoints are split into ``field-Latitude``… as in ODK;
- **long**: the main file plus one file per repeat, linked by ``KEY`` / ``PARENT_KEY`` (repeat keys
  ``uuid:…/repeat[1]``), each parent carrying a ``SET-OF-<repeat>`` column;
- date-times are written ``Jun 16, 2024 4:00:43 PM`` in the server's time zone, without offset.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from survmig.data.form import KEY, PARENT_KEY, FormMetadata
from survmig.data.mapping import CENTRAL_META, RawLevel, map_columns
from survmig.data.rawtext import read_csv_bytes
from survmig.errors import SurvmigError

SCTO_META = {**CENTRAL_META, "formdef_version": "FormVersion", "review_status": "ReviewState"}
SCTO_IGNORED = {"CompletionDate", "review_comments", "review_corrections"}
DATETIME_FORMAT = "%b %d, %Y %I:%M:%S %p"
DATE_FORMAT = "%b %d, %Y"
_DATETIME = frozenset({"datetime", "start", "end"})
_DATE = frozenset({"date", "today"})
_GEO = ("Latitude", "Longitude", "Altitude", "Accuracy")


@dataclass
class SurveyCTORead:
    raw: dict[str, RawLevel]
    detected: dict[str, str]
    warnings: list[str]


def is_surveycto_csv(head: bytes) -> bool:
    line = head.split(b"\n", 1)[0].lstrip(b"\xef\xbb\xbf")
    return b"formdef_version" in line and b"KEY" in line


def is_surveycto_zip(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as zf:
            for name in zf.namelist():
                if name.lower().endswith(".csv"):
                    with zf.open(name) as fh:
                        line = fh.readline()
                    if b"formdef_version" in line or b"SET-OF-" in line:
                        return True
    except zipfile.BadZipFile:
        return False
    return False


def choice_suffix(code: str) -> str:
    """The part of a 0/1 column name SurveyCTO writes for a choice (``-8`` -> ``_8``)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", code)


def read_surveycto(
    path: Path, meta: FormMetadata, *, timezone: str | None = None, encoding: str = "utf-8"
) -> SurveyCTORead:
    """Read a SurveyCTO wide CSV or long zip into raw levels (dates as ISO text, UTC when known)."""
    from survmig.data.timezones import fix_naive_datetimes

    if path.suffix.lower() == ".zip":
        from survmig.data.readers import _read_central

        ignored = frozenset(SCTO_IGNORED).union(*(_option_columns(meta, lv) for lv in meta.levels))
        raw, _ = _read_central(path, meta, encoding, platform=SCTO_META, ignored=ignored)
        fmt = "long format (one file per repeat, KEY / PARENT_KEY)"
    else:
        frame = read_csv_bytes(path.read_bytes(), file=str(path), encoding=encoding)
        raw = _split_wide(frame, meta, file=str(path))
        fmt = "wide CSV (repeat fields suffixed _1, _2, …)"
    for level, rl in raw.items():
        _iso_dates(rl.frame, meta, level)
    note, warnings = fix_naive_datetimes(
        {lv: rl.frame for lv, rl in raw.items()},
        meta,
        timezone=timezone,
        received=None,
        platform_columns=("SubmissionDate",),
    )
    detected = {
        "platform": "SurveyCTO",
        "file": fmt,
        "headers": "field names without group names",
        "values": "codes",
    }
    if note:
        detected["date-times"] = note
    return SurveyCTORead(raw, detected, warnings)


def _iso_dates(frame: pd.DataFrame, meta: FormMetadata, level: str) -> None:
    """SurveyCTO's ``Jun 16, 2024 4:00:43 PM`` as ISO text (still without offset)."""
    cols = {v.name: v.type for v in meta.variables_at(level) if v.type in _DATETIME | _DATE}
    if level == meta.root and "SubmissionDate" in frame.columns:
        cols["SubmissionDate"] = "datetime"
    for name, vtype in cols.items():
        if name not in frame.columns:
            continue
        text = frame[name].fillna("").astype(str).str.strip()
        fmt = DATE_FORMAT if vtype in _DATE else DATETIME_FORMAT
        parsed = pd.to_datetime(text.where(text != ""), format=fmt, errors="coerce")
        iso = (
            parsed.dt.strftime("%Y-%m-%d")
            if vtype in _DATE
            else parsed.dt.strftime("%Y-%m-%dT%H:%M:%S.000")
        )
        # values in another shape (already ISO) are left for the typing step to judge
        frame[name] = text.where(parsed.isna(), iso)


def _split_wide(frame: pd.DataFrame, meta: FormMetadata, *, file: str) -> dict[str, RawLevel]:
    """One table per level from the wide file: a repeat's rows from its ``_i`` column blocks."""
    if KEY not in frame.columns:
        raise SurvmigError("the SurveyCTO export has no KEY column", file=file)
    root = meta.root
    root_names = _level_columns(meta, root)
    used: set[str] = set()
    root_cols = {}
    for col in frame.columns:
        if col in root_names or col in SCTO_META or col in SCTO_IGNORED or col == KEY:
            root_cols[col] = frame[col]
            used.add(col)
    out: dict[str, RawLevel] = {}
    rows: dict[str, pd.DataFrame] = {root: pd.DataFrame(root_cols)}
    suffix = re.compile(r"^(?P<base>.+?)(?P<idx>(?:_\d+)+)$")
    for level in meta.levels.values():
        if level.parent is None:
            continue
        depth = len(meta.ancestors(level.name))
        names = _level_columns(meta, level.name)
        blocks: dict[tuple[int, ...], dict[str, pd.Series]] = {}
        for col in frame.columns:
            if col in used:
                continue
            m = suffix.match(col)
            if not m:
                continue
            idx = tuple(int(i) for i in m.group("idx").strip("_").split("_"))
            # the last `depth` numbers are instance positions; what is before belongs to the name
            base = m.group("base") + "".join(f"_{i}" for i in idx[:-depth])
            idx = idx[-depth:]
            if len(idx) == depth and base in names:
                blocks.setdefault(idx, {})[base] = frame[col]
                used.add(col)
        parts = []
        parent_rows = rows[level.parent]
        for idx, cols in sorted(blocks.items()):
            block = pd.DataFrame(cols)
            filled = (block.fillna("").astype(str).apply(lambda s: s.str.strip()) != "").any(axis=1)
            parent_key = _parent_keys(frame, meta, level.name, idx[:-1])
            block[PARENT_KEY] = parent_key
            block[KEY] = parent_key + "/" + level.key_segment + f"[{idx[-1]}]"
            block["_pos"] = idx[-1]
            parts.append(block[filled.to_numpy() & parent_key.isin(parent_rows[KEY]).to_numpy()])
        table = (
            pd.concat(parts, ignore_index=True)
            if parts
            else pd.DataFrame(columns=[*names, PARENT_KEY, KEY])
        )
        if len(table):
            order = np.lexsort(
                (
                    table["_pos"].to_numpy(),
                    pd.Index(parent_rows[KEY]).get_indexer(table[PARENT_KEY]),
                )
            )
            table = table.iloc[order].reset_index(drop=True)
        rows[level.name] = table.drop(columns=["_pos"], errors="ignore")
    leftover = [c for c in frame.columns if c not in used]
    rows[root] = pd.concat([rows[root], frame[leftover]], axis=1)
    generated = set(meta.generated_counts())
    for level, table in rows.items():
        if level != root and not len(table):
            continue
        out[level] = map_columns(
            table,
            meta,
            level,
            file=file,
            platform=SCTO_META if level == root else {},
            ignored=SCTO_IGNORED | _option_columns(meta, level),
            expected_missing=generated,
        )
    return out


def _parent_keys(frame: pd.DataFrame, meta: FormMetadata, level: str, outer: tuple[int, ...]):
    """KEY of the parent row of instance ``outer + (i,)`` of ``level`` for every submission."""
    key = frame[KEY].astype(str)
    chain = [lv for lv in reversed(meta.ancestors(level)) if meta.levels[lv].parent is not None]
    for lv, pos in zip(chain, outer, strict=True):
        key = key + "/" + meta.levels[lv].key_segment + f"[{pos}]"
    return key


def _option_columns(meta: FormMetadata, level: str) -> set[str]:
    """The 0/1 columns SurveyCTO adds for select_multiple fields (the summary says the same)."""
    return {
        f"{var.name}_{choice_suffix(c.name)}"
        for var in meta.variables_at(level, kinds=["question", "meta"])
        if var.type == "select_multiple"
        for c in meta.choices.get(var.list_name or "", [])
    }


def _level_columns(meta: FormMetadata, level: str) -> set[str]:
    """Unsuffixed column names the level's fields give (summary, 0/1 options, geopoint parts)."""
    names: set[str] = _option_columns(meta, level)
    for var in meta.variables_at(level, kinds=["question", "meta"]):
        names.add(var.name)
        if var.type == "geopoint":
            names |= {f"{var.name}-{p}" for p in _GEO}
    return names
