"""Read and write plain analysis tables by file extension, for every command that takes a data file.

Labelled survey exports (ODK Central, Kobo, with a form) are :mod:`survmig.data`'s job; this module is
for flat tables: frames, sample selections, weighted data, estimates.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from survmig.errors import SurvmigError
from survmig.fileio import atomic_path

#: extension -> format name, for messages
TABLE_FORMATS: dict[str, str] = {
    ".csv": "CSV",
    ".parquet": "Parquet",
    ".xlsx": "Excel",
    ".sav": "SPSS",
    ".dta": "Stata",
}


def _check_suffix(path: Path, allowed: tuple[str, ...], verb: str) -> str:
    suffix = path.suffix.lower()
    if suffix not in allowed:
        raise SurvmigError(
            f"cannot {verb} {suffix or 'files without an extension'}",
            file=path,
            hint=f"use {', '.join(allowed)}",
        )
    return suffix


def check_table_path(path: Path | str, allowed: tuple[str, ...] = tuple(TABLE_FORMATS)) -> None:
    """Refuse an output extension we cannot write, before any work is done."""
    _check_suffix(Path(path), allowed, "write")


def read_table(path: Path | str, allowed: tuple[str, ...] = tuple(TABLE_FORMATS)) -> pd.DataFrame:
    """Read CSV, Parquet, Excel, SPSS or Stata by extension (value labels are ``survmig data``'s job)."""
    path = Path(path)
    suffix = _check_suffix(path, allowed, "read")
    if not path.exists():
        raise SurvmigError("file not found", file=path)
    try:
        if suffix == ".csv":
            return pd.read_csv(path)
        if suffix == ".parquet":
            return pd.read_parquet(path)
        if suffix == ".xlsx":
            return pd.read_excel(path)
        import pyreadstat

        reader = pyreadstat.read_sav if suffix == ".sav" else pyreadstat.read_dta
        frame, _ = reader(str(path))
        return frame
    except (ValueError, OSError, pd.errors.ParserError, UnicodeDecodeError) as err:
        raise SurvmigError(
            f"cannot read this {TABLE_FORMATS[suffix]} file: {err}",
            file=path,
            hint="check that the file is what its extension says",
        ) from None
    except Exception as err:  # pyreadstat raises its own exception types for corrupt files
        if type(err).__module__.startswith("pyreadstat"):
            raise SurvmigError(
                f"cannot read this {TABLE_FORMATS[suffix]} file: {err}", file=path
            ) from None
        raise


def write_table(
    frame: pd.DataFrame, path: Path | str, allowed: tuple[str, ...] = tuple(TABLE_FORMATS)
) -> None:
    """Write by extension, atomically: a failed write leaves no partial file."""
    path = Path(path)
    suffix = _check_suffix(path, allowed, "write")
    with atomic_path(path) as tmp:
        if suffix == ".csv":
            frame.to_csv(tmp, index=False)
        elif suffix == ".parquet":
            frame.to_parquet(tmp, index=False)
        elif suffix == ".xlsx":
            frame.to_excel(tmp, index=False)
        else:
            import pyreadstat

            writer = pyreadstat.write_sav if suffix == ".sav" else pyreadstat.write_dta
            writer(frame, str(tmp))
