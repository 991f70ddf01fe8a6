"""Reliability flags and publication tables (CSV, Excel with one sheet per indicator)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from survmig.errors import SurvmigError
from survmig.fileio import atomic_path
from survmig.indicators import IndicatorResults
from survmig.report.suppression import (
    BLANKED,
    FLAG_COMPLEMENTARY,
    SECONDARY,
    complementary_suppression,
    domain_weighted_n,
    linked_groups,
    recoverable,
)
from survmig.tableio import write_csv as _write_csv

FLAG_CAUTION = "use with caution"
FLAG_SUPPRESSED = "suppressed"
#: a zero standard error: the sample shows no variation in the domain (every case has the same value,
#: or all cases come from one PSU of a lonely-PSU stratum…), so the estimate has no usable precision
FLAG_NO_VARIATION = "suppressed: no sampling variation"
#: the flag added to a suppressed cell that published cells would give back (``secondary="flag"``)
FLAG_RECOVERABLE = "; recoverable from published cells"


@dataclasses.dataclass(frozen=True)
class Thresholds:
    """Reliability rules: CV above ``cv_caution`` or a CV that cannot be computed (estimate 0 with a
    positive SE) → "use with caution"; CV above ``cv_suppress``, fewer than ``min_n`` cases or no
    finite SE → "suppressed"; an SE of zero (or below ``cv_zero`` × |estimate|, rounding noise) →
    "suppressed: no sampling variation" (CVs as fractions: 0.165 = 16.5 %)."""

    cv_caution: float = 0.165
    cv_suppress: float = 0.333
    min_n: int = 30
    cv_zero: float = 1e-9
    #: a suppressed cell that published cells give back (a total minus the other cells):
    #: "suppress" a complementary cell, or only "flag" it
    secondary: str = "suppress"

    def __post_init__(self) -> None:
        if self.secondary not in SECONDARY:
            raise SurvmigError(
                f"secondary suppression is one of {', '.join(SECONDARY)}, got {self.secondary!r}",
                where="thresholds",
            )
        if not 0 < self.cv_caution <= self.cv_suppress:
            raise SurvmigError(
                f"thresholds need 0 < cv_caution <= cv_suppress, got {self.cv_caution}, "
                f"{self.cv_suppress}",
                where="thresholds",
            )
        if self.min_n < 0:
            raise SurvmigError(f"min_n must be >= 0, got {self.min_n}", where="thresholds")
        if not 0 <= self.cv_zero < self.cv_caution:
            raise SurvmigError(
                f"thresholds need 0 <= cv_zero < cv_caution, got {self.cv_zero}", where="thresholds"
            )


def is_suppressed(flag: pd.Series) -> np.ndarray:
    """Rows whose flag is one of the suppression flags (their estimates are blanked)."""
    return flag.fillna("").astype(str).str.startswith(FLAG_SUPPRESSED).to_numpy(dtype=bool)


def flag_reliability(table: pd.DataFrame, thresholds: Thresholds | None = None) -> pd.DataFrame:
    """A copy of ``table`` with a ``flag`` column.

    Never "reliable" without a usable measure of precision: no finite SE (or too few cases, or a CV
    above ``cv_suppress``) → suppressed; an SE of zero relative to the estimate → "suppressed: no
    sampling variation" (a statistics office does not publish a figure whose SE says it is exact
    when it comes from a sample); a CV that cannot be computed (estimate 0, SE > 0) → use with
    caution. The table has no count of PSUs with cases per domain, so none is used.
    """
    th = thresholds or Thresholds()
    out = table.copy()
    n = pd.to_numeric(out["n"], errors="coerce").fillna(0).to_numpy(dtype=float)
    se = pd.to_numeric(out["se"], errors="coerce").to_numpy(dtype=float)
    est = pd.to_numeric(out["estimate"], errors="coerce").to_numpy(dtype=float)
    cv_abs = np.abs(pd.to_numeric(out["cv"], errors="coerce").to_numpy(dtype=float))
    with np.errstate(divide="ignore", invalid="ignore"):  # a missing CV: SE / estimate
        cv_abs = np.where(np.isnan(cv_abs), np.abs(se / est), cv_abs)
    finite_se = np.isfinite(se)
    no_cv = ~np.isfinite(cv_abs)
    suppressed = (n < th.min_n) | ~finite_se | (~no_cv & (cv_abs > th.cv_suppress))
    no_variation = ~suppressed & finite_se & ((se == 0) | (~no_cv & (cv_abs <= th.cv_zero)))
    caution = ~suppressed & ~no_variation & (no_cv | (cv_abs > th.cv_caution))
    out["flag"] = np.select(
        [suppressed, no_variation, caution],
        [FLAG_SUPPRESSED, FLAG_NO_VARIATION, FLAG_CAUTION],
        default="",
    )
    return out


def suppress(
    table: pd.DataFrame, by: list[str], thresholds: Thresholds | None = None
) -> pd.DataFrame:
    """Flags, secondary suppression and blanking on a tidy results table (see
    :mod:`survmig.report.suppression`): every column that could give back a suppressed estimate is
    empty in the copy returned."""
    th = thresholds or Thresholds()
    table = flag_reliability(table, th)
    mask = pd.Series(is_suppressed(table["flag"]), index=table.index)
    groups = linked_groups(table, by)
    if th.secondary == "suppress":
        extra = complementary_suppression(table, groups, mask)
        table.loc[extra, "flag"] = FLAG_COMPLEMENTARY
        mask |= extra
    else:
        hits = recoverable(groups, mask)["row"].unique()
        table.loc[hits, "flag"] = table.loc[hits, "flag"] + FLAG_RECOVERABLE
    for col in BLANKED:
        if col in table.columns:
            table[col] = pd.to_numeric(table[col], errors="coerce").astype(float)
            table.loc[mask.to_numpy(), col] = np.nan
    if "weighted_n" in table.columns:
        table.loc[domain_weighted_n(table, by, mask).to_numpy(), "weighted_n"] = np.nan
    return table


def publication_table(
    results: IndicatorResults, thresholds: Thresholds | None = None
) -> pd.DataFrame:
    """The results with titles and flags; suppressed cells (and complements) are blanked in every
    column that could give them back (the flag remains)."""
    table = suppress(results.table, results.by, thresholds)
    titles = {i: info.title for i, info in results.info.items()}
    units = {i: info.unit for i, info in results.info.items()}
    table.insert(1, "title", table["indicator"].map(titles))
    table.insert(2, "unit", table["indicator"].map(units))
    for name, labels in results.labels.items():
        if name in table.columns:
            table[name] = table[name].map(
                lambda v, lab=labels: lab.get(str(v), v) if v is not None and v == v else v
            )
    return table


def write_csv(
    results: IndicatorResults,
    path: str | Path,
    thresholds: Thresholds | None = None,
    *,
    spreadsheet_safe: bool = True,
) -> Path:
    """The publication table as UTF-8 CSV (suppressed estimates empty, flag kept).

    It is meant for spreadsheets, so by default text a spreadsheet would run as a formula gets a
    leading ``'`` (OWASP; :func:`survmig.tableio.spreadsheet_safe`)."""
    path = Path(path)
    table = publication_table(results, thresholds)
    return _write_csv(table, path, safe=spreadsheet_safe)


def write_json(
    results: IndicatorResults, path: str | Path, thresholds: Thresholds | None = None
) -> Path:
    """The publication table as JSON (``{"thresholds": …, "estimates": [records]}``), suppressed
    values as null."""
    import json

    from survmig.estimation.output import _json_value

    th = thresholds or Thresholds()
    path = Path(path)
    table = publication_table(results, th)
    records = [{k: _json_value(v) for k, v in rec.items()} for rec in table.to_dict("records")]
    payload = {"level": results.level, "thresholds": dataclasses.asdict(th), "estimates": records}
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
