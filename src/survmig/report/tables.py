"""Reliability flags and publication tables (CSV, Excel with one sheet per indicator)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from survmig.errors import SurvmigError
from survmig.indicators import IndicatorResults
from survmig.tableio import excel_writer
from survmig.tableio import write_csv as _write_csv

FLAG_CAUTION = "use with caution"
FLAG_SUPPRESSED = "suppressed"
#: a zero standard error: the sample shows no variation in the domain (every case has the same value,
#: or all cases come from one PSU of a lonely-PSU stratum…), so the estimate has no usable precision
FLAG_NO_VARIATION = "suppressed: no sampling variation"
#: columns blanked in a suppressed row (the flag, n and the domain stay)
BLANKED = ("estimate", "se", "ci_low", "ci_high", "cv", "deff")


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

    def __post_init__(self) -> None:
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


def publication_table(
    results: IndicatorResults, thresholds: Thresholds | None = None
) -> pd.DataFrame:
    """The results with titles and flags; suppressed estimates are blanked (the flag remains)."""
    table = flag_reliability(results.table, thresholds)
    titles = {i: info.title for i, info in results.info.items()}
    units = {i: info.unit for i, info in results.info.items()}
    table.insert(1, "title", table["indicator"].map(titles))
    table.insert(2, "unit", table["indicator"].map(units))
    for name, labels in results.labels.items():
        if name in table.columns:
            table[name] = table[name].map(
                lambda v, lab=labels: lab.get(str(v), v) if v is not None and v == v else v
            )
    mask = is_suppressed(table["flag"])
    for col in BLANKED:
        table[col] = table[col].astype(float)
        table.loc[mask, col] = np.nan
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


def sheet_names(ids: list[str]) -> dict[str, str]:
    """Excel sheet names (≤ 31 characters, no []:*?/\\, unique) for indicator ids."""
    out: dict[str, str] = {}
    taken = {"contents", "not computable"}
    for iid in ids:
        base = re.sub(r"[\[\]:*?/\\]", "_", iid)[:31]
        name, k = base, 1
        while name.lower() in taken:
            k += 1
            name = f"{base[: 31 - len(str(k)) - 1]}~{k}"
        taken.add(name.lower())
        out[iid] = name
    return out


def variance_note(basis: dict[str, Any]) -> str:
    """The report's method note on SEs: how they were computed and what they treat as fixed."""
    note = basis.get("weights_note")
    return basis.get("variance", "") + (f". {note}" if note else "")


def _notes(results: IndicatorResults, iid: str) -> list[tuple[str, str]]:
    info = results.info[iid]
    rows = [
        ("Indicator", f"{info.title} ({info.id})"),
        ("Definition", info.definition),
        ("Standard", info.standard),
        ("Universe", info.universe),
        ("Reference period", info.reference_period),
        ("Statistic", f"{info.statistic} ({info.unit})"),
        ("Confidence level", f"{results.level:.0%}"),
        ("Concepts used", ", ".join(f"{k} = {v}" for k, v in info.concepts.items())),
        (
            "Missing answers",
            f"{info.n_value_missing} row(s) of the universe with a missing or -8/-9 value and "
            f"{info.n_universe_unknown} row(s) whose universe membership is unknown were left out",
        ),
    ]
    if info.parameters:
        rows.append(("Parameters", ", ".join(f"{k} = {v}" for k, v in info.parameters.items())))
    if results.variance:
        rows.append(("Standard errors", variance_note(results.variance)))
    if info.note:
        rows.append(("Note", info.note))
    if info.by_dropped:
        rows.append(
            (
                "Domains not available",
                ", ".join(info.by_dropped) + f" (not on the {info.level} level)",
            )
        )
    return rows


def write_excel(
    results: IndicatorResults, path: str | Path, thresholds: Thresholds | None = None
) -> Path:
    """One sheet per indicator (definition, standard, universe, reference period as notes on top,
    then estimate, SE, CI, CV, n and the flag), a contents sheet and a not-computable sheet."""
    from openpyxl.styles import Font

    th = thresholds or Thresholds()
    path = Path(path)
    table = publication_table(results, th)
    names = sheet_names(list(results.info))
    keep = [
        "category",
        "category_label",
        *results.by,
        "estimate",
        "se",
        "ci_low",
        "ci_high",
        "cv",
        "n",
        "flag",
    ]
    with excel_writer(path) as writer:
        contents = pd.DataFrame(
            {
                "indicator": list(results.info),
                "sheet": [names[i] for i in results.info],
                "title": [info.title for info in results.info.values()],
                "standard": [info.standard for info in results.info.values()],
            }
        )
        contents.to_excel(writer, sheet_name="Contents", index=False, startrow=3)
        ws = writer.sheets["Contents"]
        ws["A1"] = "Migration indicators"
        ws["A1"].font = Font(bold=True, size=14)
        ws["A2"] = (
            f"Flags: CV > {th.cv_caution:.1%} '{FLAG_CAUTION}'; CV > {th.cv_suppress:.1%} or "
            f"n < {th.min_n} or no finite SE '{FLAG_SUPPRESSED}'; SE of zero "
            f"'{FLAG_NO_VARIATION}' (estimate blanked, flag kept); no computable CV "
            f"'{FLAG_CAUTION}'."
        )
        pd.DataFrame(
            {
                "indicator": list(results.not_computable),
                "reason": list(results.not_computable.values()),
            }
        ).to_excel(writer, sheet_name="Not computable", index=False)
        for iid, sheet in names.items():
            rows = table[table["indicator"] == iid]
            optional = ("category", "category_label", *results.by)
            cols = [
                c
                for c in keep
                if c in rows.columns and (c not in optional or not rows[c].isna().all())
            ]
            notes = _notes(results, iid)
            rows[cols].to_excel(writer, sheet_name=sheet, index=False, startrow=len(notes) + 1)
            ws = writer.sheets[sheet]
            for r, (key, text) in enumerate(notes, start=1):
                ws.cell(row=r, column=1, value=key).font = Font(bold=True)
                ws.cell(row=r, column=2, value=text)
            ws.column_dimensions["A"].width = 22
            ws.column_dimensions["B"].width = 28
    return path
