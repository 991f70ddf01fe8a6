"""Export columns -> form variables, whatever the platform's naming style (the common end of the
platform readers before typing)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

from survmig.data.form import (
    GEO_TYPES,
    KEY,
    PARENT_KEY,
    PLATFORM_COLUMNS,
    FormMetadata,
    Variable,
)

CENTRAL_META = {v[1]: k for k, v in PLATFORM_COLUMNS.items() if v[1]}
_GEO_PARTS = ("Latitude", "Longitude", "Altitude", "Accuracy")


@dataclass
class RawLevel:
    """One level as read from the file, before typing: text columns keyed by variable name."""

    frame: pd.DataFrame  # KEY, PARENT_KEY (repeats), variable columns, platform columns, extras
    file: str
    extra: list[str] = field(default_factory=list)  # columns the form does not know
    missing: list[str] = field(default_factory=list)  # form columns the file lacks


# ---------------------------------------------------------------------------------------- mapping
class ColumnMap:
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


def map_columns(
    frame: pd.DataFrame,
    meta: FormMetadata,
    level: str,
    *,
    file: str,
    platform: dict[str, str],
    ignored: set[str],
    keep: set[str] = frozenset(),  # type: ignore[assignment]
    expected_missing: set[str] = frozenset(),  # type: ignore[assignment]
) -> RawLevel:
    """Rename export columns to variable names; rebuild summaries from split columns.

    ``keep``: columns the platform adds that are kept under their own name (Kobo's media URLs);
    ``expected_missing``: form questions this platform never exports (not a form mismatch).
    """
    cmap = ColumnMap(meta, level)
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
        if col in keep:
            out[col] = frame[col]
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
    missing = [name for name in expected if name not in out and name not in expected_missing]
    return RawLevel(pd.DataFrame(out, index=frame.index), file, extra, missing)
