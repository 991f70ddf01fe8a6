"""Fieldwork data written as KoboToolbox and SurveyCTO hand it out, quirks included.

For the demo and for tests of whole pipelines: a reader tested only on tidy files would hide what
the platforms really do, so these writers reproduce it. The KoboToolbox writer follows formpack with
kpi's web-UI defaults (see :mod:`survmig.data.kobo`): bare names, typed cells, date-times in the
devices' wall time without offset, ``_URL`` columns, no
``<repeat>_count`` calculates, sheet names cut to 31 characters. The SurveyCTO writer follows its
documented wide and long formats (see :mod:`survmig.data.surveycto`).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from survmig.data.coerce import raw_table
from survmig.data.dataset import Dataset
from survmig.data.exports import submission_dates, tables_of, write_csv_zip
from survmig.data.form import KEY, PARENT_KEY, ROOT_KEY, FormMetadata
from survmig.data.kobo import HeaderStyle, expected_headers, sheet_name
from survmig.data.surveycto import DATE_FORMAT, DATETIME_FORMAT, choice_suffix
from survmig.data.timezones import DATETIME_TYPES, parse_timezone
from survmig.fileio import atomic_path
from survmig.tableio import excel_writer

_NUMERIC = frozenset({"integer", "decimal", "range"})
_DATES = frozenset({"date", "today"})
_NOT_EXPORTED = frozenset({"instanceID", "deprecatedID"})
_POSITIONS = re.compile(r"\[(\d+)\]")


def _wall(text: pd.Series, zone) -> pd.Series:
    """UTC export text -> the devices' wall-clock time (naive)."""
    utc = pd.to_datetime(text.where(text != ""), errors="coerce", utc=True, format="ISO8601")
    if isinstance(zone, pd.Timedelta):
        return utc.dt.tz_localize(None) + zone
    return utc.dt.tz_convert(zone).dt.tz_localize(None)


# ---------------------------------------------------------------------------------------- Kobo
def write_kobo_xlsx(
    data: Dataset | dict[str, pd.DataFrame],
    form: FormMetadata,
    path: str | Path,
    *,
    groups_in_headers: bool = False,
    separator: str = "/",
    typed: bool = True,
    device_timezone: str = "+00:00",
    version_id: str = "vSurvmig0000000000000000",
) -> Path:
    """Write a KoboToolbox XLSX export (XML values; the web UI's defaults unless told otherwise).

    ``typed`` writes numbers, dates and date-times as Excel values (date-times in
    ``device_timezone`` wall time, offset dropped, as Kobo does); ``typed=False`` writes text as
    Kobo's API default does (offsets kept).
    """
    tables = tables_of(data)
    zone = parse_timezone(device_timezone)
    style = HeaderStyle(None, groups_in_headers, separator)
    generated = set(form.generated_counts())
    sheets: dict[str, pd.DataFrame] = {}
    index_of: dict[str, pd.Series] = {}
    taken: list[str] = []
    root_raw = raw_table(form, form.root, tables[form.root])
    uuid = root_raw[KEY].str.replace(r"^uuid:", "", regex=True)
    received = _wall(submission_dates(root_raw, len(root_raw)), pd.Timedelta(0))
    tail = pd.DataFrame(
        {
            "_id": np.arange(1, len(root_raw) + 1),
            "_uuid": uuid.to_numpy(),
            "_submission_time": received.to_numpy()
            if typed
            else received.dt.strftime("%Y-%m-%dT%H:%M:%S").to_numpy(),
            "_validation_status": "",
            "_notes": "",
            "_status": "submitted_via_web",
            "_submitted_by": "",
            "__version__": version_id,
            "_tags": "",
            "meta/rootUuid": root_raw[KEY].to_numpy(),
        },
        index=root_raw[KEY].to_numpy(),
    )
    for level, df in tables.items():
        lv = form.levels[level]
        raw = raw_table(form, level, df)
        n = len(raw)
        if lv.parent is not None and n == 0:
            continue  # formpack writes a sheet only for sections with rows
        cols: dict[str, pd.Series | np.ndarray] = {}
        for header, col in expected_headers(form, level, style):
            var = col.var
            if var.name in _NOT_EXPORTED or var.name in generated:
                continue
            text = (
                raw[var.name] if var.name in raw.columns else pd.Series([""] * n, index=raw.index)
            )
            if col.part == "value":
                cols[header] = _kobo_cells(form, var, text, typed, zone)
            elif col.part == "option":
                opt = form.option_columns(var.name).get(col.detail or "")
                flags = raw[opt] if opt in raw.columns else pd.Series([""] * n, index=raw.index)
                cols[header] = _numbers(flags) if typed else flags
            elif col.part == "geo":
                part = text.str.split(" ").str[
                    ("latitude", "longitude", "altitude", "precision").index(col.detail)
                ]
                part = part.fillna("")
                cols[header] = _numbers(part) if typed else part
            else:
                root_uuid = (raw[ROOT_KEY] if ROOT_KEY in raw.columns else raw[KEY]).str.replace(
                    r"^uuid:|/.*$", "", regex=True
                )
                cols[header] = np.where(
                    text != "",
                    "https://kc.kobotoolbox.org/media/original?media_file=enum%2Fattachments%2F"
                    + root_uuid
                    + "%2F"
                    + text,
                    "",
                )
        index = pd.Series(np.arange(1, n + 1), index=raw.index)
        index_of[level] = pd.Series(index.to_numpy(), index=raw[KEY].to_numpy())
        if lv.parent is None:
            for c in tail.columns:
                cols[c] = tail[c].to_numpy()
            cols["_index"] = index.to_numpy()
            name = sheet_name(form.title, taken)
        else:
            cols["_index"] = index.to_numpy()
            cols["_parent_table_name"] = np.full(
                n, form.title if form.levels[lv.parent].parent is None else lv.parent, dtype=object
            )
            cols["_parent_index"] = (
                index_of[lv.parent].reindex(raw[PARENT_KEY].to_numpy()).to_numpy()
            )
            root_key = raw[ROOT_KEY] if ROOT_KEY in raw.columns else raw[PARENT_KEY]
            sub = tail.reindex(root_key.to_numpy())
            for c in tail.columns:
                cols[f"_submission_{c}"] = sub[c].to_numpy()
            name = sheet_name(level, taken)
        taken.append(name)
        sheets[name] = pd.DataFrame(cols)
    path = Path(path)
    # formpack (xlsxwriter) stores text starting with '=' as a formula; survmig's workbooks keep
    # every text cell as text (the formula quirk is tested on formpack's own files)
    with excel_writer(path) as writer:
        for name, frame in sheets.items():
            frame.to_excel(writer, sheet_name=name, index=False)
    return path


def _numbers(text: pd.Series) -> np.ndarray:
    num = pd.to_numeric(text.where(text != ""), errors="coerce")
    out = np.array(num.astype(object).where(num.notna(), None).to_numpy(dtype=object), copy=True)
    whole = num.notna().to_numpy() & (num.fillna(0) % 1 == 0).to_numpy()
    out[whole] = [int(v) for v in num[whole]]
    return out


def _kobo_cells(form: FormMetadata, var, text: pd.Series, typed: bool, zone) -> np.ndarray:
    """One column's cells as formpack writes them (typed: Excel numbers and dates)."""
    if var.type in DATETIME_TYPES:
        wall = _wall(text, zone)
        if typed:
            return np.where(wall.notna(), wall.dt.to_pydatetime(), None)
        offset = _offset(wall, text, zone)
        iso = wall.dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str.slice(0, 23) + offset
        return iso.where(wall.notna(), "").to_numpy(dtype=object)
    if not typed:
        return text.to_numpy(dtype=object)
    if var.type in _DATES:
        day = pd.to_datetime(text.where(text != ""), errors="coerce")
        return np.where(day.notna(), day.dt.date, None)
    if var.type in _NUMERIC or (var.type == "select_one" and not form.is_string_coded(var)):
        return _numbers(text)
    if var.type == "select_multiple":
        single = ~text.str.contains(" ")
        nums = _numbers(text)
        return np.where(single.to_numpy() & pd.notna(nums), nums, text.to_numpy(dtype=object))
    return text.to_numpy(dtype=object)


def _offset(wall: pd.Series, text: pd.Series, zone) -> pd.Series:
    utc = pd.to_datetime(text.where(text != ""), errors="coerce", utc=True, format="ISO8601")
    delta = wall - utc.dt.tz_localize(None)
    minutes = (delta.dt.total_seconds() // 60).fillna(0).astype(int)
    sign = np.where(minutes >= 0, "+", "-")
    mins = minutes.abs()
    return (
        pd.Series(sign, index=text.index)
        + (mins // 60).map("{:02d}".format)
        + ":"
        + (mins % 60).map("{:02d}".format)
    )


# ---------------------------------------------------------------------------------------- SurveyCTO
def _scto_text(form: FormMetadata, var, text: pd.Series, zone) -> pd.Series:
    if var.type in DATETIME_TYPES:
        wall = _wall(text, zone)
        return (
            wall.dt.strftime(DATETIME_FORMAT)
            .str.replace(r" 0(\d):", r" \1:", regex=True)
            .where(wall.notna(), "")
        )
    if var.type in _DATES:
        day = pd.to_datetime(text.where(text != ""), errors="coerce")
        return day.dt.strftime(DATE_FORMAT).where(day.notna(), "")
    return text


def _scto_columns(form: FormMetadata, level: str, raw: pd.DataFrame, zone) -> dict[str, pd.Series]:
    """Unsuffixed SurveyCTO columns of one level: fields, 0/1 options, geopoint parts."""
    n = len(raw)
    cols: dict[str, pd.Series] = {}
    for var in form.variables_at(level, kinds=["question", "meta"]):
        if var.name in _NOT_EXPORTED:
            continue
        text = raw[var.name] if var.name in raw.columns else pd.Series([""] * n, index=raw.index)
        cols[var.name] = _scto_text(form, var, text, zone)
        if var.type == "select_multiple":
            for code, col in form.option_columns(var.name).items():
                cols[f"{var.name}_{choice_suffix(code)}"] = raw[col] if col in raw.columns else ""
        if var.type == "geopoint":
            parts = text.str.split(" ")
            for i, p in enumerate(("Latitude", "Longitude", "Altitude", "Accuracy")):
                cols[f"{var.name}-{p}"] = parts.str[i].fillna("")
    return cols


def write_surveycto_export(
    data: Dataset | dict[str, pd.DataFrame],
    form: FormMetadata,
    path: str | Path,
    *,
    shape: str = "wide",
    server_timezone: str = "+00:00",
) -> Path:
    """Write a SurveyCTO export: ``wide`` (one CSV, repeat fields ``_1``, ``_2``…) or ``long``
    (a zip with one CSV per repeat, ``KEY`` / ``PARENT_KEY`` and ``SET-OF-`` columns)."""
    if shape not in ("wide", "long"):
        raise ValueError("shape must be 'wide' or 'long'")
    tables = tables_of(data)
    zone = parse_timezone(server_timezone)
    root_raw = raw_table(form, form.root, tables[form.root])
    received = _wall(submission_dates(root_raw, len(root_raw)), zone)
    head = {
        "SubmissionDate": received.dt.strftime(DATETIME_FORMAT).str.replace(
            r" 0(\d):", r" \1:", regex=True
        )
    }
    meta_tail = {
        "instanceID": root_raw[KEY],
        "formdef_version": form.version or "",
        "KEY": root_raw[KEY],
    }
    path = Path(path)
    if shape == "wide":
        cols = {**head, **_scto_columns(form, form.root, root_raw, zone)}
        keys = root_raw[KEY]
        for level, df in tables.items():
            if form.levels[level].parent is None or not len(df):
                continue
            raw = raw_table(form, level, df)
            suffix = raw[KEY].str.findall(_POSITIONS).map(lambda p: "_" + "_".join(p))
            root = raw[ROOT_KEY] if ROOT_KEY in raw.columns else raw[PARENT_KEY]
            fields = _scto_columns(form, level, raw, zone)
            order = sorted(suffix.unique(), key=lambda s: [int(x) for x in s.strip("_").split("_")])
            for sfx in order:
                rows = suffix == sfx
                for name, values in fields.items():
                    series = pd.Series(
                        np.asarray(values, dtype=object)[rows.to_numpy()],
                        index=root[rows].to_numpy(),
                    )
                    cols[f"{name}{sfx}"] = series.reindex(keys.to_numpy()).fillna("").to_numpy()
        cols.update(meta_tail)
        frame = pd.DataFrame(cols)
        with atomic_path(path) as tmp:
            frame.to_csv(tmp, index=False, encoding="utf-8", lineterminator="\n")
        return path
    members: dict[str, pd.DataFrame] = {}
    for level, df in tables.items():
        lv = form.levels[level]
        raw = raw_table(form, level, df)
        cols = dict(head) if lv.parent is None else {}
        cols.update(_scto_columns(form, level, raw, zone))
        for child in form.children(level):
            cols[f"SET-OF-{child}"] = raw[KEY] + "/" + form.levels[child].key_segment
        if lv.parent is None:
            cols.update(meta_tail)
            member = f"{form.form_id}.csv"
        else:
            cols[PARENT_KEY] = raw[PARENT_KEY]
            cols[KEY] = raw[KEY]
            cols[f"SET-OF-{level}"] = raw[PARENT_KEY] + "/" + lv.key_segment
            member = f"{form.form_id}-{level}.csv"
        members[member] = pd.DataFrame(cols)
    return write_csv_zip(path, members)


__all__ = ["write_kobo_xlsx", "write_surveycto_export"]
