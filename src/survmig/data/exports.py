"""Inverse writers: a Dataset (or typed tables) -> the files ODK Central and KoboToolbox hand out.

They exist to test the readers on realistic shapes and to let the demo produce fieldwork data; they
write exactly the shapes :mod:`survmig.data.readers` documents.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from survmig.data.coerce import raw_table
from survmig.data.dataset import Dataset
from survmig.data.form import KEY, PARENT_KEY, PLATFORM_COLUMNS, FormMetadata
from survmig.fileio import atomic_path
from survmig.tableio import excel_writer

CENTRAL_TAIL = [
    "KEY",
    "SubmitterID",
    "SubmitterName",
    "AttachmentsPresent",
    "AttachmentsExpected",
    "Status",
    "ReviewState",
    "DeviceID",
    "Edits",
    "FormVersion",
]
KOBO_TAIL = [
    "_id",
    "_uuid",
    "_submission_time",
    "_validation_status",
    "_notes",
    "_status",
    "_submitted_by",
    "__version__",
    "_tags",
]


def _tables(data: Dataset | dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    return {lv: data.table(lv) for lv in data.levels} if isinstance(data, Dataset) else dict(data)


def _submission_dates(raw: pd.DataFrame, n: int) -> pd.Series:
    if "SubmissionDate" in raw.columns:
        return raw["SubmissionDate"]
    return pd.Series(["2024-01-01T00:00:00.000Z"] * n, index=raw.index)


def _question_columns(meta: FormMetadata, level: str) -> list:
    return [v for v in meta.data_variables(level) if v.kind in ("question", "meta")]


def write_central_export(
    data: Dataset | dict[str, pd.DataFrame],
    form: FormMetadata,
    path: str | Path,
    *,
    split_select_multiples: bool = False,
    group_paths: bool = True,
) -> Path:
    """Write an ODK Central CSV export (``.zip``): ``<formId>.csv`` and ``<formId>-<repeat>.csv``.

    Root columns: ``SubmissionDate``, the questions (group paths joined with ``-`` unless
    ``group_paths=False``), ``KEY``, then Central's submitter/attachment/review columns. Repeat tables:
    the questions (paths relative to the repeat), ``PARENT_KEY``, ``KEY``. select_multiple answers are
    space-separated; ``split_select_multiples`` adds ``question/option`` 0/1 columns after each.
    """
    tables = _tables(data)
    path = Path(path)
    with (
        atomic_path(path) as tmp,
        zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf,
    ):
        for level, df in tables.items():
            lv = form.levels[level]
            raw = raw_table(form, level, df)
            cols: dict[str, pd.Series] = {}
            n = len(raw)
            if lv.parent is None:
                cols["SubmissionDate"] = _submission_dates(raw, n)
            for var in _question_columns(form, level):
                rel = var.path[len(lv.path) :]
                name = "-".join(rel) if group_paths else var.name
                values = (
                    raw[var.name]
                    if var.name in raw.columns
                    else pd.Series([""] * n, index=raw.index)
                )
                cols[name] = values
                if split_select_multiples and var.type == "select_multiple":
                    for code, col in form.option_columns(var.name).items():
                        cols[f"{name}/{code}"] = (
                            raw[col] if col in raw.columns else pd.Series([""] * n, index=raw.index)
                        )
            if lv.parent is None:
                for col in CENTRAL_TAIL:
                    if col == "KEY":
                        cols[col] = raw[KEY]
                    else:
                        cols[col] = (
                            raw[col] if col in raw.columns else pd.Series([""] * n, index=raw.index)
                        )
                member = f"{form.form_id}.csv"
            else:
                cols[PARENT_KEY] = raw[PARENT_KEY]
                cols[KEY] = raw[KEY]
                member = f"{form.form_id}-{level}.csv"
            buf = io.StringIO()
            pd.DataFrame(cols).to_csv(
                buf, index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\n"
            )
            zf.writestr(member, buf.getvalue().encode("utf-8"))
    return path


def _sheet_name(name: str, taken: set[str]) -> str:
    clean = re.sub(r"[\[\]:*?/\\]", "_", name)[:31] or "data"
    out, n = clean, 1
    while out.lower() in taken:
        n += 1
        out = f"{clean[: 31 - len(str(n)) - 1]}_{n}"
    taken.add(out.lower())
    return out


def write_kobo_export(
    data: Dataset | dict[str, pd.DataFrame], form: FormMetadata, path: str | Path
) -> Path:
    """Write a KoboToolbox XLSX export (*XML values and headers*): one sheet per repeat.

    Columns are ``/``-joined paths; select_multiple as a summary column followed by
    ``question/option`` 1/0 columns; the root sheet ends with ``_id``, ``_uuid``,
    ``_submission_time``, ``_validation_status``, ``_notes``, ``_status``, ``_submitted_by``,
    ``__version__``, ``_tags``, ``_index``; repeat sheets end with ``_index`` (when they have child
    repeats), ``_parent_table_name``, ``_parent_index`` and ``_submission__*`` copies.
    """
    tables = _tables(data)
    path = Path(path)
    sheets: dict[str, pd.DataFrame] = {}
    index_of: dict[str, pd.Series] = {}  # level -> Series KEY -> _index
    submission: pd.DataFrame | None = None
    taken: set[str] = set()
    kobo_platform = {v[2]: k for k, v in PLATFORM_COLUMNS.items() if v[2]}
    for level, df in tables.items():
        lv = form.levels[level]
        raw = raw_table(form, level, df)
        n = len(raw)
        cols: dict[str, pd.Series] = {}
        for var in _question_columns(form, level):
            name = "/".join(var.path)
            values = (
                raw[var.name] if var.name in raw.columns else pd.Series([""] * n, index=raw.index)
            )
            cols[name] = values
            if var.type == "select_multiple":
                for code, col in form.option_columns(var.name).items():
                    cols[f"{name}/{code}"] = (
                        raw[col] if col in raw.columns else pd.Series([""] * n, index=raw.index)
                    )
        index = pd.Series(np.arange(1, n + 1), index=raw.index)
        index_of[level] = pd.Series(index.to_numpy(), index=raw[KEY].to_numpy())
        if lv.parent is None:
            uuid = raw[KEY].str.replace(r"^uuid:", "", regex=True)
            submission = pd.DataFrame({"_id": np.arange(1, n + 1), "_uuid": uuid, KEY: raw[KEY]})
            for col in KOBO_TAIL:
                if col == "_id":
                    cols[col] = (
                        raw["SubmissionID"]
                        if "SubmissionID" in raw.columns and (raw["SubmissionID"] != "").all()
                        else submission["_id"]
                    )
                elif col == "_uuid":
                    cols[col] = uuid
                elif col == "_submission_time":
                    cols[col] = _submission_dates(raw, n).str.replace(r"(\.\d+)?Z$", "", regex=True)
                else:
                    canonical = kobo_platform.get(col)
                    cols[col] = (
                        raw[canonical]
                        if canonical in raw.columns
                        else pd.Series([""] * n, index=raw.index)
                    )
            cols["_index"] = index
            submission = pd.DataFrame(
                {
                    "_id": cols["_id"].to_numpy(),
                    "_uuid": uuid.to_numpy(),
                    "_submission_time": cols["_submission_time"].to_numpy(),
                },
                index=raw[KEY].to_numpy(),
            )
        else:
            if form.children(level):
                cols["_index"] = index
            parent_index = index_of[lv.parent].reindex(raw[PARENT_KEY].to_numpy()).to_numpy()
            cols["_parent_table_name"] = pd.Series(
                [_parent_sheet(form, lv.parent)] * n, index=raw.index
            )
            cols["_parent_index"] = pd.Series(parent_index, index=raw.index)
            assert submission is not None
            root_key = (
                raw["ROOT_KEY"] if "ROOT_KEY" in raw.columns else raw[KEY].str.split("/").str[0]
            )
            sub = submission.reindex(root_key.to_numpy())
            for col in KOBO_TAIL:
                src = sub[col] if col in sub.columns else pd.Series([""] * n)
                cols[f"_submission_{col}"] = pd.Series(src.to_numpy(), index=raw.index)
        frame = pd.DataFrame(cols)
        sheets[_sheet_name(form.title if lv.parent is None else level, taken)] = frame
    with excel_writer(path) as writer:
        for name, frame in sheets.items():
            frame.to_excel(writer, sheet_name=name, index=False)
    return path


def _parent_sheet(form: FormMetadata, level: str) -> str:
    return form.title[:31] if form.levels[level].parent is None else level[:31]
