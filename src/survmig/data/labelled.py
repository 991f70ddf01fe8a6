"""Labelled SPSS (.sav) and Stata (.dta) files, plus CSV and Parquet, one file per level.

Choices made (and documented in docs/data.md):

- **Special codes** -8 (don't know) and -9 (refused) stay distinguishable. In ``.sav`` they keep their
  values and are declared *user-missing* (SPSS leaves them out of statistics). In ``.dta`` they become
  the extended missing values ``.a`` (don't know) and ``.b`` (refused), labelled, so Stata leaves them
  out of estimation; ``dta_special="labelled"`` keeps -8/-9 as plain labelled values instead.
- **Text codes** (e.g. ISO country codes): ``.sav`` keeps them as text with value labels; ``.dta``
  cannot label text, so they are stored as integers (codes that are integers keep their value, the
  others are numbered 1, 2, … in choice-list order, skipping values in use) with value labels, and
  the mapping is listed in ``export_notes.csv``.
- **Names**: SPSS ≤ 64 bytes, Stata ≤ 32 characters, letters/digits/underscore, no reserved words;
  a name that does not fit is shortened with a numeric suffix and listed in ``export_notes.csv``.
- **Labels**: variable labels are cut to 256 bytes (SPSS) / 80 characters (Stata), value labels to
  120 bytes (SPSS) / 32,000 characters (Stata); every cut is listed. Missing text is written as ''.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import re
from pathlib import Path

import numpy as np
import pandas as pd

from survmig.conventions import DONT_KNOW, REFUSED
from survmig.data.coerce import DATE_TYPES, raw_table, to_raw
from survmig.data.dataset import Dataset
from survmig.data.form import (
    KEY,
    KEY_COLUMNS,
    PARENT_KEY,
    PLATFORM_COLUMNS,
    ROOT_KEY,
    ROW_POS,
    FormMetadata,
    Variable,
    option_label_texts,
)
from survmig.errors import SurvmigError
from survmig.fileio import atomic_dir

FORMATS = ("sav", "dta", "csv", "parquet")
#: how export_notes.csv starts the note of a value that could not be written as its type
NOT_WRITTEN = "value not written as typed (missing in the files) at"
STATA_RESERVED = {
    "_all", "_b", "byte", "_coef", "_cons", "double", "float", "if", "in", "int", "long", "_n", "_N",
    "_pi", "_pred", "_rc", "_skip", "strL", "using", "with",
}  # fmt: skip
SPSS_RESERVED = {"ALL", "AND", "BY", "EQ", "GE", "GT", "LE", "LT", "NE", "NOT", "OR", "TO", "WITH"}
EXTENDED = {DONT_KNOW: "a", REFUSED: "b"}
#: SPSS system-missing value (what readstat writes for a missing number) and SPSS's date origin.
SPSS_SYSMIS = -np.finfo(np.float64).max
SPSS_EPOCH = np.datetime64("1582-10-14", "D")
KEY_LABELS = {
    KEY: "Record key",
    PARENT_KEY: "Key of the parent record",
    ROOT_KEY: "Key of the submission (household)",
    ROW_POS: "Position among the parent's records",
}


@dataclasses.dataclass(frozen=True)
class ExportNote:
    level: str
    column: str
    format: str
    note: str


# ---------------------------------------------------------------------------------------- names
def _valid(name: str, fmt: str) -> bool:
    if fmt == "dta":
        return (
            bool(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,31}", name))
            and name not in STATA_RESERVED
            and not re.fullmatch(r"str\d+", name)
        )
    if fmt == "sav":
        return (
            bool(re.fullmatch(r"[A-Za-z@#$][A-Za-z0-9_.@#$]*", name))
            and len(name.encode()) <= 64
            and not name.endswith(".")
            and name.upper() not in SPSS_RESERVED
        )
    return True


def output_names(
    columns: list[str], fmt: str, labelled: set[str] | frozenset[str] = frozenset()
) -> dict[str, str]:
    """Column -> name legal in ``fmt`` (deterministic: the same columns always give the same names).

    Stata names hold 32 characters, but a variable with value labels names its label set after
    itself and readstat writes label-set names of at most 31: ``labelled`` columns get 31.
    """
    out: dict[str, str] = {}
    used: set[str] = set()
    for col in columns:
        limit = (31 if col in labelled else 32) if fmt == "dta" else 64
        name = col
        if fmt == "dta" and len(name) > limit:
            name = name[:limit]
        if not _valid(name, fmt):
            name = re.sub(r"[^A-Za-z0-9_]", "_", name)
            if not re.match(r"[A-Za-z]", name):
                name = "v" + name
            name = name[:limit]
            if not _valid(name, fmt):
                name = ("v_" + name)[:limit]
        base, n = name, 1
        while name.lower() in used:
            n += 1
            suffix = f"_{n}"
            name = base[: limit - len(suffix)] + suffix
        used.add(name.lower())
        out[col] = name
    return out


def string_code_map(meta: FormMetadata, var: Variable) -> dict[str, int]:
    """Integer codes for a select with text codes (integer-looking codes keep their value)."""
    codes = [c.name for c in meta.choices.get(var.list_name or "", [])]
    mapping: dict[str, int] = {}
    used = set()
    for code in codes:
        if re.fullmatch(r"-?\d+", code):
            mapping[code] = int(code)
            used.add(int(code))
    nxt = 1
    for code in codes:
        if code in mapping:
            continue
        while nxt in used:
            nxt += 1
        mapping[code] = nxt
        used.add(nxt)
    return mapping


def _cut(text: str, fmt: str, kind: str) -> str:
    if fmt == "sav":
        limit = 256 if kind == "variable" else 120
        raw = text.encode("utf-8")
        if len(raw) <= limit:
            return text
        return raw[:limit].decode("utf-8", errors="ignore")
    limit = 80 if kind == "variable" else 32000
    return text[:limit]


# ---------------------------------------------------------------------------------------- writing
def write_tables(
    dataset: Dataset,
    directory: str | Path,
    formats: tuple[str, ...] | list[str] = ("sav",),
    *,
    lang: str | None = None,
    dta_special: str = "extended",
    codebook: bool = False,
) -> list[ExportNote]:
    """Write every level of ``dataset`` to ``directory`` as ``<level>.<format>`` (all or nothing).

    Also writes ``export_notes.csv`` listing renamed variables, cut labels, code mappings and
    values that could not be written as typed; ``codebook`` adds the HTML and DDI codebooks of
    exactly what was written (a public-use release documents itself, never the full form).
    """
    check_formats(formats)
    if dta_special not in ("extended", "labelled"):
        raise SurvmigError("dta_special must be 'extended' or 'labelled'")
    meta = dataset.metadata
    lang_key = meta.language_key(lang)
    # what a public-use preparation removed or coarsened is part of the release notes
    notes: list[ExportNote] = [
        ExportNote(n["level"], n["column"], "all", f"public use: {n['note']}")
        for n in dataset.source.get("public_use_notes") or []
    ]
    # a value the import could not type (2.5 in an integer question) is missing in every file:
    # say so for each one, so nothing is lost without a word
    notes += [
        ExportNote(p.level, p.column or "", "all", f"{NOT_WRITTEN} {p.key}: {p.message}")
        for p in dataset.notes
        if p.check == "type" and p.level in dataset.levels
    ]
    with atomic_dir(directory) as tmp:
        for level in dataset.levels:
            df = dataset.table(level)
            for fmt in formats:
                target = tmp / f"{level}.{fmt}"
                # errors name the file the user asked for, never the hidden temporary folder
                shown = Path(directory) / target.name
                if fmt in ("parquet", "csv"):

                    def write(part: pd.DataFrame, path: Path, fmt: str = fmt, level: str = level):
                        if fmt == "parquet":
                            part.to_parquet(path, index=False)
                        else:
                            raw_table(meta, level, part).to_csv(path, index=False, encoding="utf-8")

                    try:
                        write(df, target)
                    except Exception as err:
                        column = _failing_column(df, lambda part: write(part, tmp / ".probe"))
                        raise _write_error(fmt, level, column, err, shown) from None
                else:
                    _write_labelled(
                        df, meta, level, target, fmt, lang_key, dta_special, notes, shown=shown
                    )
        pd.DataFrame(
            [dataclasses.asdict(n) for n in notes], columns=["level", "column", "format", "note"]
        ).to_csv(tmp / "export_notes.csv", index=False, encoding="utf-8")
        if codebook:
            from survmig.data.codebook import write_codebook_files

            write_codebook_files(dataset, tmp, lang)
    return notes


def labelled_columns(meta: FormMetadata, columns: list[str]) -> set[str]:
    """Columns written with value labels (0/1 options, selects, numbers that may hold -8/-9)."""
    out = set()
    for col in columns:
        var = meta.variables.get(col)
        if var is None:
            continue
        if (
            var.kind == "option"
            or _numeric_with_specials(var, meta)
            or var.has_choices
            and var.type == "select_one"
        ):
            out.add(col)
    return out


def check_formats(formats: tuple[str, ...] | list[str]) -> None:
    """At least one format, each one we write (checked before any work)."""
    if not formats:
        raise SurvmigError(
            "no format given", where="--format", hint="choose from " + ", ".join(FORMATS)
        )
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise SurvmigError(
            f"unknown format(s): {', '.join(bad)}",
            where="--format",
            hint="choose from " + ", ".join(FORMATS),
        )


def _numeric_with_specials(var: Variable | None, meta: FormMetadata) -> bool:
    if var is None or var.kind not in ("question", "meta"):
        return False
    if var.type in ("integer", "decimal", "range"):
        return True
    return var.type == "select_one" and not meta.is_string_coded(var)


def _write_labelled(
    df: pd.DataFrame,
    meta: FormMetadata,
    level: str,
    target: Path,
    fmt: str,
    lang: str,
    dta_special: str,
    notes: list[ExportNote],
    *,
    shown: Path | None = None,
) -> None:
    import pyreadstat

    names = output_names(list(df.columns), fmt, labelled_columns(meta, list(df.columns)))
    for col, name in names.items():
        if col != name:
            notes.append(
                ExportNote(level, col, fmt, f"renamed to {name} (the full name is in its label)")
            )
    out: dict[str, pd.Series | np.ndarray] = {}
    labels: dict[str, str] = {}
    value_labels: dict[str, dict] = {}
    missing_ranges: dict[str, list] = {}
    missing_user: dict[str, list[str]] = {}
    formats: dict[str, str] = {}
    specials = meta.special_labels(lang)
    for col in df.columns:
        name = names[col]
        series = df[col]
        var = meta.variables.get(col)
        label = _variable_label(meta, col, var, lang)
        if name != col:
            label = f"{col}: {label}" if label != col else col
        cut = _cut(label, fmt, "variable")
        if cut != label:
            notes.append(
                ExportNote(level, col, fmt, f"variable label cut to {len(cut)} characters")
            )
        labels[name] = cut
        vlabels: dict = {}
        if var is not None and var.kind == "option":
            vlabels = dict(option_label_texts(meta, lang))
            out[name] = series.to_numpy(dtype=float, na_value=np.nan)
        elif (
            var is not None
            and var.has_choices
            and var.type == "select_one"
            and meta.is_string_coded(var)
        ):
            texts = meta.value_labels(var, lang)
            if fmt == "sav":
                out[name] = series.astype(object).where(series.notna(), "").to_numpy(dtype=object)
                vlabels = dict(texts)
                present = [c for c in (str(DONT_KNOW), str(REFUSED)) if c in texts]
                if present:
                    missing_ranges[name] = present
            else:
                mapping = string_code_map(meta, var)
                codes = series.astype(object).map(mapping)
                unmapped = series.notna() & codes.isna()
                if unmapped.any():
                    # codes outside the list cannot be labelled: keep them readable in a note
                    bad = sorted(set(series[unmapped].astype(str)))
                    notes.append(
                        ExportNote(
                            level,
                            col,
                            fmt,
                            "codes outside the choice list written as missing: "
                            + ", ".join(bad[:20]),
                        )
                    )
                numeric = codes.to_numpy(dtype=float, na_value=np.nan)
                vlabels = {mapping[c]: t for c, t in texts.items()}
                out[name], vlabels, user = _stata_specials(numeric, vlabels, dta_special)
                if user:
                    missing_user[name] = user
                notes.append(
                    ExportNote(
                        level,
                        col,
                        fmt,
                        "text codes stored as numbers: "
                        + ", ".join(f"{c}={n}" for c, n in mapping.items()),
                    )
                )
        elif _numeric_with_specials(var, meta):
            numeric = series.to_numpy(dtype=float, na_value=np.nan)
            if var is not None and var.has_choices:
                vlabels = {int(c): t for c, t in meta.value_labels(var, lang).items()}
            for code, text in specials.items():
                vlabels.setdefault(code, text)
            if fmt == "sav":
                out[name] = numeric
                missing_ranges[name] = [float(DONT_KNOW), float(REFUSED)]
            else:
                out[name], vlabels, user = _stata_specials(numeric, vlabels, dta_special)
                if user:
                    missing_user[name] = user
        elif pd.api.types.is_datetime64_any_dtype(series.dtype):
            if var is not None and var.type in DATE_TYPES:
                if fmt == "sav":
                    # what pyreadstat writes for datetime.date, computed once per column
                    out[name] = _sav_date_seconds(series)
                    formats[name] = "DATE"
                else:
                    out[name] = np.where(
                        series.notna().to_numpy(), series.dt.date.to_numpy(dtype=object), None
                    )
            else:
                out[name] = series.astype("datetime64[us]").to_numpy()
        elif pd.api.types.is_numeric_dtype(series.dtype):
            out[name] = series.to_numpy(dtype=float, na_value=np.nan)
        else:
            out[name] = to_raw(series, var).to_numpy(dtype=object)
            if fmt == "sav":
                _note_trailing_blanks(series, level, col, notes)
        if vlabels:
            cut_labels = {k: _cut(v, fmt, "value") for k, v in vlabels.items()}
            if cut_labels != vlabels:
                notes.append(ExportNote(level, col, fmt, "value labels cut to the format's limit"))
            value_labels[name] = cut_labels
    frame = _writer_frame(out, fmt)
    title = f"{meta.title} — {level}"

    def write(part: pd.DataFrame, path: Path) -> None:
        def only(d: dict) -> dict:
            return {k: v for k, v in d.items() if k in part.columns}

        if fmt == "sav":
            pyreadstat.write_sav(
                part,
                str(path),
                file_label=title[:64],
                column_labels=only(labels),
                variable_value_labels=only(value_labels),
                missing_ranges=only(missing_ranges),
                variable_format=only(formats) or None,
            )
        else:
            pyreadstat.write_dta(
                part,
                str(path),
                file_label=title[:80],
                column_labels=only(labels),
                variable_value_labels=only(value_labels),
                missing_user_values=only(missing_user) or None,
            )

    try:
        write(frame, target)
    except Exception as err:  # readstat reports limits it enforces (names, labels, widths)
        name = _failing_column(frame, lambda part: write(part, target.with_suffix(".probe")))
        column = next((c for c, n in names.items() if n == name), name)
        raise _write_error(fmt, level, column, err, shown or target) from None


def _note_trailing_blanks(series: pd.Series, level: str, col: str, notes: list[ExportNote]) -> None:
    """SPSS pads text with blanks and drops them when read: say which values lose some."""
    text = series.astype("string")
    lost = (text.str.len() != text.str.rstrip(" ").str.len()).fillna(False)
    if lost.any():
        notes.append(
            ExportNote(
                level,
                col,
                "sav",
                f"{int(lost.sum())} value(s) end in blanks, which SPSS does not keep "
                "(the .parquet and .csv files keep them)",
            )
        )


def _failing_column(frame: pd.DataFrame, write) -> str | None:
    """The first column ``write`` fails on alone (only run after a failure, to name the column)."""
    for col in frame.columns:
        try:
            write(frame[[col]])
        except Exception:
            return col
    return None


def _write_error(
    fmt: str, level: str, column: str | None, err: Exception, path: Path
) -> SurvmigError:
    where = f", column '{column}'" if column is not None else ""
    return SurvmigError(
        f"cannot write the {fmt} file for level '{level}'{where}: {err}",
        file=path,
        hint="please report this with the column's type and a few of its values",
    )


def _sav_date_seconds(series: pd.Series) -> np.ndarray:
    """SPSS dates (seconds since 1582-10-14, system-missing for NaT), as pyreadstat would write them."""
    days = series.to_numpy(dtype="datetime64[D]")
    seconds = (days - SPSS_EPOCH).astype("float64") * 86400.0
    seconds[np.isnat(days)] = np.nan
    return seconds


def _writer_frame(columns: dict[str, pd.Series | np.ndarray], fmt: str) -> pd.DataFrame:
    """The frame handed to pyreadstat, shaped for its row-by-row writer.

    pyreadstat iterates the frame row by row in Python: a pandas 3 ``str`` (Arrow) column costs a
    Python generator step per value, and every cell of a numeric column holding NaN costs a
    ``pd.isna`` call. So text stays NumPy ``object`` (written byte for byte the same), and for
    ``.sav`` NaN becomes SPSS's system-missing value itself (-DBL_MAX, the bytes readstat writes for
    a missing number), which pyreadstat then passes through as a plain double.
    """
    frame: dict[str, pd.Series | np.ndarray] = {}
    for name, values in columns.items():
        if isinstance(values, np.ndarray) and values.dtype == object:
            frame[name] = _sniffable(values)
        elif fmt == "sav" and isinstance(values, np.ndarray) and values.dtype == np.float64:
            frame[name] = np.where(np.isnan(values), SPSS_SYSMIS, values)
        else:
            frame[name] = values
    return pd.DataFrame(frame, copy=False)


def _sniffable(values: np.ndarray) -> pd.Series | np.ndarray:
    """An object column whose type pyreadstat reads from its values, not from its missing cells.

    pyreadstat asks narwhals for the column type, which looks only at the first 100 values and
    calls a column whose first 100 values are all missing *text* — then a number or a date further
    down cannot be written ("'float' object has no attribute 'encode'"). Missing cells become
    ``Decimal('NaN')``: still missing to pandas and pyreadstat (written as system missing), but no
    longer mistaken for text. A column with no value at all is written as an all-missing number.
    """
    missing = pd.isna(values)
    if missing.all() and len(values):
        return np.full(len(values), np.nan)
    if not missing.any():
        return pd.Series(values, dtype=object)
    out = values.copy()
    out[missing] = decimal.Decimal("NaN")
    return pd.Series(out, dtype=object)


def _stata_specials(
    numeric: np.ndarray, vlabels: dict, dta_special: str
) -> tuple[np.ndarray, dict, list[str]]:
    """Turn -8/-9 into Stata's .a/.b (with their labels) unless asked to keep them.

    A column without -8/-9 stays numeric (its labels still document .a/.b).
    """
    if dta_special == "labelled":
        return numeric, vlabels, []
    present = any(bool((numeric == code).any()) for code in EXTENDED)
    if not present and not any(k in EXTENDED for k in vlabels):
        return numeric, vlabels, []
    relabelled = {EXTENDED.get(k, k): v for k, v in vlabels.items()}
    if not present:
        return numeric, relabelled, list(EXTENDED.values())
    values = numeric.astype(object)
    for code, letter in EXTENDED.items():
        values[numeric == code] = letter
    return values, relabelled, list(EXTENDED.values())


def _variable_label(meta: FormMetadata, col: str, var: Variable | None, lang: str) -> str:
    if col in KEY_LABELS:
        return KEY_LABELS[col]
    if col in PLATFORM_COLUMNS:
        return PLATFORM_COLUMNS[col][0]
    if var is None:
        return col
    return meta.label(var, lang) or col


# ---------------------------------------------------------------------------------------- reading back
def read_labelled(path: Path, meta: FormMetadata, level: str) -> pd.DataFrame:
    """Read a ``.sav``/``.dta`` table as export text with the form's column names.

    Undoes what :func:`write_tables` did: names, Stata's .a/.b, and numbered text codes.
    """
    import pyreadstat

    fmt = "dta" if path.suffix.lower() == ".dta" else "sav"
    try:
        if fmt == "sav":
            frame, _ = pyreadstat.read_sav(str(path), user_missing=True)
        else:
            frame, _ = pyreadstat.read_dta(str(path), user_missing=True)
    except Exception as err:
        raise SurvmigError(f"cannot read the {fmt} file: {err}", file=path) from None
    expected = _expected_columns(meta, level)
    names = output_names(expected, fmt, labelled_columns(meta, expected))
    inverse = {v: k for k, v in names.items()}
    out: dict[str, pd.Series] = {}
    for col in frame.columns:
        name = inverse.get(col, col)
        var = meta.variables.get(name)
        series = frame[col]
        if pd.api.types.is_datetime64_any_dtype(series.dtype):
            # SPSS/Stata hold seconds as a double: read back to the nearest millisecond
            series = series.dt.round("ms")
        # pandas 3 reads text as the ``str`` dtype, older pandas as ``object``: both hold the letters
        if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
            codes = {v: float(k) for k, v in EXTENDED.items()}  # .a -> -8, .b -> -9
            is_letter = series.isin(list(codes))
            if is_letter.any():
                series = series.astype(object).mask(is_letter, series.map(codes))
        if (
            fmt == "dta"
            and var is not None
            and var.type == "select_one"
            and meta.is_string_coded(var)
        ):
            mapping = {float(n): c for c, n in string_code_map(meta, var).items()}
            numeric = pd.to_numeric(series, errors="coerce")
            out[name] = numeric.map(mapping).fillna("").astype(object)
            continue
        if (
            series.dtype == object
            and len(series)
            and any(isinstance(v, dt.date) for v in series.dropna().head(50))
        ):
            series = pd.to_datetime(series, errors="coerce")
        if pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_datetime64_any_dtype(
            series.dtype
        ):
            out[name] = to_raw(series, var)
        else:
            values = series.astype(object)
            num_like = values.map(lambda v: isinstance(v, float))
            if num_like.any():
                values = values.where(
                    ~num_like, to_raw(pd.to_numeric(values.where(num_like), errors="coerce"), var)
                )
            out[name] = values.where(values.notna(), "").astype(str)
    return pd.DataFrame(out)


def _expected_columns(meta: FormMetadata, level: str) -> list[str]:
    keys = [KEY] if meta.levels[level].parent is None else list(KEY_COLUMNS)
    cols = keys + [v.name for v in meta.data_variables(level)]
    if meta.levels[level].parent is None:
        cols += list(PLATFORM_COLUMNS)
    return cols
