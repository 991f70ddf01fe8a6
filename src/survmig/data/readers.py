"""Readers: collected data in any of the accepted shapes -> a typed, linked :class:`Dataset`.

Accepted shapes (``docs/data-platforms.md`` describes each, and what is detected):

- **ODK Central** ``.zip`` (``submissions.csv.zip``): ``<formId>.csv`` for the root and one
  ``<formId>-<repeat>.csv`` per repeat (Central may prefix group names or add ``~N``; the repeat is
  recognised from its ``KEY`` values). Root columns are group paths joined with ``-``
  (``meta-instanceID``, ``hh-region``) or bare names (``groupPaths=false``); repeat columns are paths
  relative to the repeat. Links: ``KEY`` / ``PARENT_KEY``. select_multiple space-separated, with or
  without split ``question/option`` 0/1 columns; geopoints whole or split into ``-Latitude`` etc.
  The full export's ``<formId> - audit.csv`` (client audit events) becomes :attr:`Dataset.audit`.
- **KoboToolbox** ``.xlsx`` and ``;``-separated ``.csv`` exports in every header style its UI offers
  (:mod:`survmig.data.kobo`).
- **SurveyCTO** wide ``.csv`` and long ``.zip`` (:mod:`survmig.data.surveycto`).
- **Single tables** ``.csv``, ``.parquet``, ``.sav``, ``.dta`` (one level; the root unless
  ``level=``), and **directories** of such files named ``<level>.<ext>`` (what the writers produce) or a
  dataset directory written by :meth:`Dataset.write`.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from survmig.data.coerce import coerce_column, key_series, option_dummies
from survmig.data.dataset import METADATA_FILE, Dataset, Problem
from survmig.data.form import (
    KEY,
    KEY_COLUMNS,
    PARENT_KEY,
    PLATFORM_COLUMNS,
    ROOT_KEY,
    ROW_POS,
    FormMetadata,
    Variable,
)
from survmig.data.kobo import KOBO_IGNORED, KOBO_META, is_kobo_csv
from survmig.data.mapping import CENTRAL_META, RawLevel, map_columns
from survmig.data.rawtext import read_csv_bytes, sniff
from survmig.data.ziplimits import read_member
from survmig.errors import SurvmigError

_REPEAT_KEY = re.compile(r"/([^/\[\]]+)\[(\d+)\]$")
#: the same pattern for Arrow (RE2), restricted to what both engines match identically
_REPEAT_KEY_RE2 = r"/(?P<name>[^/\[\]]+)\[(?P<pos>[0-9]+)\]$"
_SUFFIXES = {".zip", ".xlsx", ".csv", ".parquet", ".sav", ".zsav", ".dta"}
PLATFORMS = ("auto", "odk-central", "kobotoolbox", "surveycto", "table")


def read_export(
    path: str | Path,
    form: FormMetadata | str | Path | None = None,
    *,
    level: str | None = None,
    strict: bool = True,
    encoding: str = "utf-8",
    root_level: str = "household",
    platform: str = "auto",
    timezone: str | None = None,
) -> Dataset:
    """Read collected data into a :class:`Dataset`, dispatching on the file.

    ``form`` is the compiled XLSForm (path or :class:`FormMetadata`); it may be omitted only for a
    dataset directory. ``strict`` (default) refuses exports that do not match the form (other
    columns, broken repeat links, duplicate instance ids); with ``strict=False`` they are imported
    and every such problem is listed in :attr:`Dataset.notes`. ``platform`` overrides what the
    file's shape says (``odk-central``, ``kobotoolbox``, ``surveycto``, ``table``); ``timezone``
    (IANA name or ``+01:00``) is the devices' zone for date-times exported without their offset.
    What was detected is in ``source["detected"]``, warnings in ``source["warnings"]``.
    """
    path = Path(path)
    if platform not in PLATFORMS:
        raise SurvmigError(
            f"unknown platform '{platform}'", hint="choose from " + ", ".join(PLATFORMS)
        )
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
    detected: dict[str, str] = {}
    warnings: list[str] = []
    audit = None
    if path.is_dir():
        raw, shape = _read_directory(path, meta, encoding), "directory"
        detected["platform"] = "tables (one file per level)"
    else:
        suffix = path.suffix.lower()
        if suffix not in _SUFFIXES:
            raise SurvmigError(
                f"unknown file type '{suffix}'",
                file=path,
                hint="give an ODK Central .zip, a KoboToolbox .xlsx/.csv, a SurveyCTO .csv/.zip, or .csv/.parquet/.sav/.dta",
            )
        sniff(path, suffix)
        kind = platform if platform != "auto" else _platform_of(path, suffix)
        _check_platform(kind, suffix, path)
        if kind == "odk-central":
            raw, audit = _read_central(path, meta, encoding)
            shape = "odk-central"
            detected = _central_detected(raw, meta, audit)
        elif kind == "kobotoolbox":
            from survmig.data.kobo_import import read_kobo, with_url_variables

            kr = read_kobo(
                path, meta, timezone=timezone, encoding=encoding, csv_export=suffix == ".csv"
            )
            raw, shape, detected, warnings = kr.raw, "kobotoolbox", kr.detected, kr.warnings
            meta = with_url_variables(meta, kr.urls)
        elif kind == "surveycto":
            from survmig.data.surveycto import read_surveycto

            sr = read_surveycto(path, meta, timezone=timezone, encoding=encoding)
            raw, shape, detected, warnings = sr.raw, "surveycto", sr.detected, sr.warnings
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
            detected["platform"] = f"a single {shape} table (level {target})"
    source = {"file": str(path), "shape": shape, "detected": detected, "warnings": warnings}
    ds = build_dataset(raw, meta, strict=strict, source=source)
    ds.audit = audit
    return ds


def _platform_of(path: Path, suffix: str) -> str:
    """The platform a file's shape says it comes from."""
    if suffix == ".xlsx":
        return "kobotoolbox"
    if suffix == ".zip":
        from survmig.data.surveycto import is_surveycto_zip

        return "surveycto" if is_surveycto_zip(path) else "odk-central"
    if suffix == ".csv":
        from survmig.data.surveycto import is_surveycto_csv

        with open(path, "rb") as fh:
            head = fh.read(65536)
        if is_kobo_csv(head):
            return "kobotoolbox"
        if is_surveycto_csv(head):
            return "surveycto"
    return "table"


def _check_platform(kind: str, suffix: str, path: Path) -> None:
    allowed = {
        "odk-central": {".zip"},
        "kobotoolbox": {".xlsx", ".csv"},
        "surveycto": {".csv", ".zip"},
        "table": {".csv", ".parquet", ".sav", ".zsav", ".dta"},
    }[kind]
    if suffix not in allowed:
        raise SurvmigError(
            f"a {kind} export is not a {suffix} file",
            file=path,
            hint=f"{kind} exports are {', '.join(sorted(allowed))}; check --platform",
        )


def _central_detected(raw: dict[str, RawLevel], meta: FormMetadata, audit) -> dict[str, str]:
    cols = list(raw[meta.root].frame.columns)
    detected = {
        "platform": "ODK Central",
        "file": "CSV export (.zip)",
        "headers": "group paths joined with '-'"
        if any("-" in c for c in cols if c not in PLATFORM_COLUMNS)
        else "names without group paths",
        "values": "XML values (codes)",
    }
    if audit is not None:
        detected["client audit"] = f"{len(audit)} events of {audit[KEY].nunique()} submissions"
    return detected


# ---------------------------------------------------------------------------------------- ODK Central
def _read_central(
    path: Path,
    meta: FormMetadata,
    encoding: str,
    *,
    platform: dict[str, str] | None = None,
    ignored: frozenset[str] = frozenset(),
) -> tuple[dict[str, RawLevel], pd.DataFrame | None]:
    """Central's CSV zip (and SurveyCTO's long zip, the same layout with its own metadata)."""
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
            n: read_csv_bytes(read_member(zf, n, path), file=f"{path}:{n}", encoding=encoding)
            for n in members
        }
    audit = None
    for name in [n for n in frames if _is_client_audit(n, frames[n])]:
        if audit is not None:
            raise SurvmigError("two client-audit tables in the archive", file=f"{path}:{name}")
        audit = client_audit_table(frames.pop(name), file=f"{path}:{name}")
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
    out[meta.root] = map_columns(
        root_frame,
        meta,
        meta.root,
        file=f"{path}:{root_member}",
        platform=CENTRAL_META if platform is None else platform,
        ignored=set(ignored),
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
        out[level] = map_columns(frame, meta, level, file=where, platform={}, ignored=set(ignored))
    return out, audit


def _is_client_audit(member: str, frame: pd.DataFrame) -> bool:
    """Central's full export adds ``<formId> - audit.csv`` (client-audits.js): the events of every
    submission's audit log, first column ``instance ID``, no KEY / PARENT_KEY."""
    cols = list(frame.columns)
    return member.endswith(" - audit.csv") or (
        bool(cols) and cols[0] == "instance ID" and {"event", "node"} <= set(cols)
    )


def client_audit_table(frame: pd.DataFrame, *, file: str) -> pd.DataFrame:
    """The audit events typed: KEY (the submission), event, node, start/end (UTC), place, changes."""
    if "instance ID" not in frame.columns:
        raise SurvmigError("the client-audit table has no 'instance ID' column", file=file)
    out = {KEY: frame["instance ID"].astype(str).str.strip().astype("string")}
    for col in frame.columns[1:]:
        text = frame[col].astype(str).str.strip()
        if col in ("start", "end"):
            ms = pd.to_numeric(text.where(text != ""), errors="coerce")
            out[col] = pd.to_datetime(ms, unit="ms").astype("datetime64[ms]")
        elif col in ("latitude", "longitude", "accuracy"):
            out[col] = pd.to_numeric(text.where(text != ""), errors="coerce").astype("Float64")
        else:
            out[col] = text.where(text != "").astype("string")
    return pd.DataFrame(out)


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


# ---------------------------------------------------------------------------------------- single tables
def _read_single(
    path: Path, meta: FormMetadata, level: str, encoding: str, *, explicit_level: bool
) -> RawLevel:
    from survmig.data.labelled import read_labelled

    suffix = path.suffix.lower()
    if suffix == ".csv":
        frame = read_csv_bytes(path.read_bytes(), file=str(path), encoding=encoding)
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
    return map_columns(frame, meta, level, file=str(path), platform=platform, ignored=ignored)


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
        sniff(file, file.suffix.lower())
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
            problems.append(f"{level}: columns not in the form: {_first_few(rl.extra)}")
        if rl.missing:
            problems.append(
                f"{level}: form questions missing from the file: {_first_few(rl.missing)}"
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


def _first_few(names: list[str], n: int = 5) -> str:
    """``a, b, c, d, e (+12 more)``: a message names columns without running to pages."""
    more = f" (+{len(names) - n} more)" if len(names) > n else ""
    return ", ".join(names[:n]) + more


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
