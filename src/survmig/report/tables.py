"""Reliability flags and publication tables (CSV, Excel with one sheet per indicator)."""

from __future__ import annotations

import dataclasses
import re
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
    linked_groups,
    recoverable,
)

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
    results: IndicatorResults, path: str | Path, thresholds: Thresholds | None = None
) -> Path:
    """The publication table as UTF-8 CSV (suppressed estimates empty, flag kept)."""
    path = Path(path)
    table = publication_table(results, thresholds)
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False, encoding="utf-8")
    return path


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
    with atomic_path(path) as tmp, pd.ExcelWriter(tmp, engine="openpyxl") as writer:
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
