"""The Dataset: one typed, labelled table per level of a form, linked by stable keys.

Keys (the same whatever the export shape the data came from):

- ``KEY`` — the row's own key. On the root level it is the submission's instance id
  (``uuid:…``); on a repeat it is the parent's key followed by the repeat's path and position, exactly
  as ODK Central writes it: ``uuid:…/person[2]``, ``uuid:…/person[2]/child[1]``.
- ``PARENT_KEY`` — the parent row's ``KEY`` (repeats only).
- ``ROOT_KEY`` — the submission's key (repeats only), to join any level to the household directly.
- ``ROW_POS`` — position of the row among its siblings, 1-based (XPath ``position()``; repeats only).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from survmig.conventions import SPECIAL_CODES
from survmig.data.form import KEY, KEY_COLUMNS, PARENT_KEY, ROOT_KEY, ROW_POS, FormMetadata
from survmig.errors import SurvmigError
from survmig.fileio import atomic_dir, note_input

DATASET_FORMAT = "survmig-dataset"
DATASET_VERSION = 1
METADATA_FILE = "metadata.json"
#: client audit events of a dataset (a file name no level can have: levels are XML names)
AUDIT_FILE = "client-audit.parquet"


@dataclasses.dataclass(frozen=True)
class Problem:
    """One finding about the data: where it is (level, row key, column) and what is wrong."""

    level: str
    key: str | None
    column: str | None
    check: str
    message: str
    value: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class Dataset:
    """Typed and linked tables, one per level, with the form's metadata.

    ``tables`` maps level name -> DataFrame; the root level comes first. Special answers
    (-8 don't know, -9 refused) are kept as values; ask for ``specials="missing"`` to get them as NA.
    """

    def __init__(
        self,
        tables: dict[str, pd.DataFrame],
        metadata: FormMetadata,
        *,
        source: dict[str, Any] | None = None,
        notes: list[Problem] | None = None,
    ) -> None:
        unknown = [lv for lv in tables if lv not in metadata.levels]
        if unknown:
            raise SurvmigError(f"tables for levels the form does not have: {', '.join(unknown)}")
        self._tables = {lv: tables[lv] for lv in metadata.levels if lv in tables}
        self.metadata = metadata
        self.source = source or {}
        self.notes: list[Problem] = list(notes or [])
        #: client audit events (ODK Central's full export), one row per event, KEY = submission
        self.audit: pd.DataFrame | None = None

    # ------------------------------------------------------------------ access
    @property
    def levels(self) -> list[str]:
        """Level names, root first, every parent before its children."""
        return list(self._tables)

    @property
    def root(self) -> str:
        return self.metadata.root

    def _check_level(self, level: str) -> None:
        if level not in self._tables:
            raise SurvmigError(
                f"no level '{level}' in the data", hint="levels: " + ", ".join(self.levels)
            )

    def table(self, level: str, specials: str = "keep") -> pd.DataFrame:
        """The table of ``level``. ``specials="missing"`` turns -8/-9 answers into NA (a copy)."""
        self._check_level(level)
        df = self._tables[level]
        if specials == "keep":
            return df
        if specials != "missing":
            raise SurvmigError(f"specials must be 'keep' or 'missing', not {specials!r}")
        return self._specials_to_na(df)

    def _specials_to_na(self, df: pd.DataFrame) -> pd.DataFrame:
        out = df.copy()
        codes = list(SPECIAL_CODES)
        texts = [str(c) for c in codes]
        for col in out.columns:
            var = self.metadata.variables.get(col)
            if var is None or var.kind not in ("question", "meta") or var.type == "select_multiple":
                continue
            s = out[col]
            if pd.api.types.is_numeric_dtype(s.dtype):
                out[col] = s.mask(s.isin(codes))
            elif var.has_choices:
                out[col] = s.mask(s.isin(texts))
        return out

    def flatten(self, level: str, specials: str = "keep") -> pd.DataFrame:
        """Rows of ``level`` with every ancestor's columns joined on.

        Ancestor keys come as ``KEY_<level>``; an ancestor column whose name is already taken gets a
        ``_<level>`` suffix. Rows whose parent is missing keep NA in the ancestor columns.
        """
        self._check_level(level)
        out = self.table(level, specials)
        if self.metadata.levels[level].parent is None:
            return out.copy()
        pieces = [out.reset_index(drop=True)]
        taken = set(out.columns)
        join = out[PARENT_KEY].to_numpy(dtype=object)
        for ancestor in self.metadata.ancestors(level):
            if ancestor not in self._tables:
                break
            at = self.table(ancestor, specials).drop_duplicates(KEY, keep="first")
            idx = pd.Index(at[KEY].astype(object)).get_indexer(join)
            cols: dict[str, Any] = {f"KEY_{ancestor}": _take(at[KEY], idx)}
            for col in at.columns:
                if col in KEY_COLUMNS:
                    continue
                name = col if col not in taken else f"{col}_{ancestor}"
                cols[name] = _take(at[col], idx)
            taken.update(cols)
            pieces.append(pd.DataFrame(cols))
            join = (
                _take(at[PARENT_KEY], idx).to_numpy(dtype=object)
                if PARENT_KEY in at.columns
                else np.full(len(idx), None, dtype=object)
            )
        return pd.concat(pieces, axis=1)

    def find_concept(self, concept: str) -> list[tuple[str, str]]:
        """Every (level, column) whose variable carries ``concept``."""
        return [
            (v.level, v.name)
            for v in self.metadata.concept_variables(concept)
            if v.level in self._tables and v.name in self._tables[v.level].columns
        ]

    def column_for(self, concept: str, level: str | None = None) -> str:
        """The column that holds ``concept`` (optionally on ``level``); errors when absent or ambiguous."""
        found = self.find_concept(concept)
        if level is not None:
            self._check_level(level)
            found = [f for f in found if f[0] == level]
        if not found:
            where = f" on level '{level}'" if level else ""
            raise SurvmigError(
                f"no variable with concept '{concept}'{where} in the data",
                hint="the form does not tag any question with this concept (survey sheet, 'concept' column)",
            )
        if len(found) > 1:
            raise SurvmigError(
                f"concept '{concept}' is on several variables: "
                + ", ".join(f"{lv}.{col}" for lv, col in found),
                hint="pass level=… to choose one",
            )
        return found[0][1]

    def __repr__(self) -> str:
        sizes = ", ".join(f"{lv}={len(df)}" for lv, df in self._tables.items())
        return f"Dataset({self.metadata.form_id!r}: {sizes})"

    # ------------------------------------------------------------------ storage
    def write(self, directory: str | Path) -> Path:
        """Write one Parquet file per level and ``metadata.json`` (atomically: all or nothing)."""
        directory = Path(directory)
        with atomic_dir(directory) as tmp:
            for level, df in self._tables.items():
                df.to_parquet(tmp / f"{level}.parquet", index=False)
            if self.audit is not None:
                self.audit.to_parquet(tmp / AUDIT_FILE, index=False)
            doc = {
                "format": DATASET_FORMAT,
                "version": DATASET_VERSION,
                "levels": self.levels,
                "rows": {lv: len(df) for lv, df in self._tables.items()},
                "source": self.source,
                "form": self.metadata.to_dict(),
                "notes": [p.as_dict() for p in self.notes],
                "audit_rows": None if self.audit is None else len(self.audit),
            }
            (tmp / METADATA_FILE).write_text(
                json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8"
            )
        return directory

    @classmethod
    def read(cls, directory: str | Path) -> Dataset:
        """Read a directory written by :meth:`write`."""
        directory = Path(directory)
        note_input(directory)
        meta_path = directory / METADATA_FILE
        if not meta_path.exists():
            raise SurvmigError(
                f"not a survmig dataset directory (no {METADATA_FILE})",
                file=directory,
                hint="create one with `survmig data import EXPORT --form FORM.xlsx -o DIR`",
            )
        try:
            doc = json.loads(meta_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise SurvmigError(f"damaged metadata: {err}", file=meta_path) from None
        if not isinstance(doc, dict) or doc.get("format") != DATASET_FORMAT:
            raise SurvmigError(
                "not a survmig dataset metadata file",
                file=meta_path,
                hint="import the export again with `survmig data import`",
            )
        damaged = SurvmigError(
            "damaged metadata: the form, levels or notes are not what survmig writes",
            file=meta_path,
            hint="import the export again with `survmig data import`",
        )
        try:
            meta = FormMetadata.from_dict(doc["form"])
            levels = [str(lv) for lv in doc["levels"]]
            notes = [Problem(**p) for p in doc.get("notes", [])]
        except (KeyError, TypeError, ValueError, AttributeError):
            raise damaged from None
        tables = {}
        for level in levels:
            path = directory / f"{level}.parquet"
            if not path.exists():
                raise SurvmigError(f"missing table for level '{level}'", file=path)
            try:
                tables[level] = pd.read_parquet(path)
            except Exception as err:  # pyarrow raises its own types for truncated files
                raise SurvmigError(
                    f"damaged Parquet table: {' '.join(str(err).split())}",
                    file=path,
                    hint="import the export again with `survmig data import`",
                ) from None
        ds = cls(tables, meta, source=doc.get("source"), notes=notes)
        if (directory / AUDIT_FILE).exists():
            ds.audit = pd.read_parquet(directory / AUDIT_FILE)
        return ds


def _take(series: pd.Series, idx: np.ndarray) -> pd.Series:
    """Rows ``idx`` of ``series`` (-1 gives NA), keeping the dtype where it can hold NA."""
    values = series.array.take(idx, allow_fill=True)
    return pd.Series(values, name=series.name)


def key_columns(level_is_root: bool) -> tuple[str, ...]:
    return (KEY,) if level_is_root else (KEY, PARENT_KEY, ROOT_KEY, ROW_POS)
