"""Inverse writers: a Dataset (or typed tables) -> the files ODK Central and KoboToolbox hand out
(SurveyCTO: :mod:`survmig.data.platform_exports`).

They exist to test the readers on realistic shapes and to let the demo produce fieldwork data; they
write exactly the shapes :mod:`survmig.data.readers` documents.
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pandas as pd

from survmig.data.coerce import raw_table
from survmig.data.dataset import Dataset
from survmig.data.form import KEY, PARENT_KEY, FormMetadata
from survmig.fileio import atomic_path

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


def tables_of(data: Dataset | dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    return {lv: data.table(lv) for lv in data.levels} if isinstance(data, Dataset) else dict(data)


def submission_dates(raw: pd.DataFrame, n: int) -> pd.Series:
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
    tables = tables_of(data)
    members: dict[str, pd.DataFrame] = {}
    for level, df in tables.items():
        lv = form.levels[level]
        raw = raw_table(form, level, df)
        cols: dict[str, pd.Series] = {}
        n = len(raw)
        if lv.parent is None:
            cols["SubmissionDate"] = submission_dates(raw, n)
        for var in _question_columns(form, level):
            rel = var.path[len(lv.path) :]
            name = "-".join(rel) if group_paths else var.name
            values = (
                raw[var.name] if var.name in raw.columns else pd.Series([""] * n, index=raw.index)
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
        members[member] = pd.DataFrame(cols)
    return write_csv_zip(path, members)


def write_csv_zip(path: str | Path, members: dict[str, pd.DataFrame]) -> Path:
    """A zip of CSV files (UTF-8, minimal quoting, ``\\n``), written atomically: the layout of
    Central's and SurveyCTO's exports."""
    path = Path(path)
    with (
        atomic_path(path) as tmp,
        zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf,
    ):
        for member, frame in members.items():
            buf = io.StringIO()
            frame.to_csv(buf, index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
            zf.writestr(member, buf.getvalue().encode("utf-8"))
    return path


def write_kobo_export(
    data: Dataset | dict[str, pd.DataFrame], form: FormMetadata, path: str | Path, **options
) -> Path:
    """Write a KoboToolbox XLSX export as Kobo's web UI makes it by default (bare names, typed
    cells, date-times without offset, media URLs): see
    :func:`survmig.data.platform_exports.write_kobo_xlsx` for the options."""
    from survmig.data.platform_exports import write_kobo_xlsx

    return write_kobo_xlsx(data, form, path, **options)
