"""Reading a KoboToolbox export end to end: sheets -> canonical columns -> linked raw levels, plus
what was detected (the formats themselves are described in :mod:`survmig.data.kobo`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from survmig.data.form import KEY, PARENT_KEY, FormMetadata, Variable
from survmig.data.kobo import (
    KOBO_IGNORED,
    KOBO_META,
    canonical_sheet,
    expected_headers,
    kobo_index,
    kobo_root_keys,
    link_repeat,
    match_sheets,
    read_kobo_csv,
    read_workbook,
)
from survmig.data.mapping import map_columns
from survmig.data.timezones import fix_naive_datetimes
from survmig.errors import SurvmigError


# ---------------------------------------------------------------------------------------- reading
@dataclass
class KoboRead:
    """The levels read from a Kobo export and what was found out about it."""

    raw: dict  # level -> RawLevel
    detected: dict[str, str]
    warnings: list[str]
    urls: dict[str, list[str]]  # level -> media questions with a _URL column


def read_kobo(
    path: Path,
    meta: FormMetadata,
    *,
    timezone: str | None = None,
    encoding: str = "utf-8",
    csv_export: bool = False,
) -> KoboRead:
    """Read a KoboToolbox XLSX (or CSV) export in any header style into raw levels."""
    if csv_export:
        sheets = {"csv": read_kobo_csv(path.read_bytes(), file=str(path), encoding=encoding)}
    else:
        sheets = read_workbook(path)
    if not sheets:
        raise SurvmigError("the workbook has no sheet", file=path)
    names = list(sheets)
    if sheets[names[0]].empty and not len(sheets[names[0]].columns):
        raise SurvmigError("the first sheet is empty", file=path)
    sheet_level = (
        {names[0]: meta.root} if csv_export else match_sheets(meta, names, sheets, file=path)
    )
    canon = {s: canonical_sheet(meta, lv, sheets[s]) for s, lv in sheet_level.items()}
    root_sheet = canon[names[0]]
    matched = [h for h, _ in expected_headers(meta, meta.root, root_sheet.style)]
    if len(sheets[names[0]].columns) and not set(map(str, sheets[names[0]].columns)) & (
        set(matched) | set(KOBO_META) | KOBO_IGNORED
    ):
        raise SurvmigError(
            "no column of the first sheet matches the form",
            file=path,
            hint="export from KoboToolbox with 'XML values and headers', and check the form",
        )
    where = {s: f"{path}:{s}" for s in sheet_level}
    frames = {names[0]: kobo_root_keys(root_sheet.frame, file=where[names[0]])}
    index_to_key = {
        names[0]: pd.Series(frames[names[0]][KEY].to_numpy(), index=kobo_index(frames[names[0]]))
    }
    order = sorted(sheet_level.items(), key=lambda kv: list(meta.levels).index(kv[1]))
    for sheet, level in order[1:]:
        parent = meta.levels[level].parent
        parent_sheet = next((s for s, lv in sheet_level.items() if lv == parent), None)
        lookup = index_to_key.get(parent_sheet) if parent_sheet else None
        if lookup is None:
            raise SurvmigError(
                f"the parent sheet of '{sheet}' (repeat '{parent}') is missing or has no _index column",
                file=where[sheet],
            )
        frames[sheet] = link_repeat(canon[sheet].frame, meta, level, lookup, where=where[sheet])
        if "_index" in frames[sheet].columns:
            index_to_key[sheet] = pd.Series(
                frames[sheet][KEY].to_numpy(), index=kobo_index(frames[sheet])
            )
    generated = meta.generated_counts()
    raw = {
        level: map_columns(
            frames[sheet],
            meta,
            level,
            file=where[sheet],
            platform=KOBO_META if level == meta.root else {},
            ignored=KOBO_IGNORED,
            keep={f"{n}_URL" for n in canon[sheet].urls},
            expected_missing=set(generated),
        )
        for sheet, level in order
    }
    root_raw = raw[meta.root].frame
    if "instanceID" in meta.variables and "instanceID" not in root_raw.columns:
        root_raw["instanceID"] = root_raw[KEY]  # formpack does not export meta/instanceID
    filled = _fill_counts(raw, meta, generated, have_repeats=not csv_export)
    note, warnings = fix_naive_datetimes(
        {lv: rl.frame for lv, rl in raw.items()}, meta, timezone=timezone
    )
    repeats = [lv for lv in meta.levels if meta.levels[lv].parent is not None]
    if csv_export and repeats:
        warnings.append(
            "KoboToolbox's CSV export holds the main table only: the repeats ("
            + ", ".join(repeats)
            + ") are not in it; download the XLSX export to have them"
        )
    for ks in canon.values():
        warnings.extend(ks.notes)
    detected = {
        "platform": "KoboToolbox",
        "file": "CSV export (';'-separated)" if csv_export else "XLSX export",
        "headers": root_sheet.style.describe(),
        "values": "XML values (codes)"
        if root_sheet.style.lang is None
        else f"labels ({root_sheet.style.lang}), mapped back to codes",
        "select_multiple": {
            "both": "summary and one 0/1 column per option",
            "summary": "summary column only",
            "split": "0/1 columns only (summary rebuilt)",
            "none": "none in the form",
        }[root_sheet.split],
    }
    if filled:
        detected["repeat counts"] = (
            f"{', '.join(filled)} computed from the repeat rows (Kobo does not export them)"
        )
    if note:
        detected["date-times"] = note
    urls = {sheet_level[s]: ks.urls for s, ks in canon.items() if ks.urls}
    return KoboRead(raw, detected, warnings, urls)


def _fill_counts(
    raw: dict, meta: FormMetadata, generated: dict[str, str], *, have_repeats: bool
) -> list[str]:
    """pyxform's ``<repeat>_count`` calculates, from the number of repeat rows of each parent."""
    filled = []
    for name, repeat in generated.items():
        level = meta.variables[name].level
        if level not in raw or name in raw[level].frame.columns or not have_repeats:
            continue
        frame = raw[level].frame
        child = raw.get(repeat)
        counts = (
            child.frame[PARENT_KEY].astype(str).value_counts()
            if child is not None
            else pd.Series(dtype="int64")
        )
        frame[name] = frame[KEY].astype(str).map(counts).fillna(0).astype(int).astype(str)
        filled.append(name)
    return filled


def with_url_variables(meta: FormMetadata, urls: dict[str, list[str]]) -> FormMetadata:
    """The form's metadata plus a PII-flagged text variable for each media question's ``_URL``
    column (placed after its question)."""
    if not urls:
        return meta
    wanted = {q for qs in urls.values() for q in qs}
    variables = []
    for var in meta.variables.values():
        variables.append(var)
        if var.name in wanted and f"{var.name}_URL" not in meta.variables:
            labels = {lg: f"{text} (download link)" for lg, text in var.labels.items()}
            variables.append(
                Variable(
                    name=f"{var.name}_URL",
                    type="url",
                    level=var.level,
                    labels=labels or {"default": f"{var.name} (download link)"},
                    pii=True,
                    kind="media-url",
                    parent=var.name,
                )
            )
    out = FormMetadata.from_dict(meta.to_dict())
    out.variables = {v.name: v for v in variables}
    return out
