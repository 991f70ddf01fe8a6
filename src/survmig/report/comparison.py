"""The report's comparison section ("by migratory status"): each comparable indicator for each
group, the difference to the reference group with its SE, CI and p-value, and the indicators
that are not compared with the reason.

Suppression: a group estimate that is suppressed must not come back from what is published — a
difference and the other group give it, and so does the national figure with the other group. So
a set (one indicator, category and domain: its groups and their contrasts) is published only when
every group passes the reliability rules *and* the same cell of the main tables (the national, or
the domain's, figure) is published; otherwise the whole set is blanked and flagged. A published
set never gives back a suppressed cell of the main tables either (that cell is its parent).
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from survmig.report.i18n import Texts, decimals_for
from survmig.report.suppression import BLANKED
from survmig.report.tables import (
    FLAG_CAUTION,
    FLAG_SUPPRESSED,
    Thresholds,
    flag_reliability,
    is_suppressed,
)
from survmig.tableio import write_csv as _write_csv

#: the labels the report gives to the groups of the standard migratory-status variables
STATUS_LABELS = {
    "born_in_country": {"0": "status_foreign_born", "1": "status_native_born"},
    "migrant_household": {"1": "status_migrant_household", "0": "status_other_household"},
}
_CONTRAST_BLANKED = ("estimate", "se", "ci_low", "ci_high", "t", "p_value", "df")


def _set_keys(table: pd.DataFrame, cols: list[str]) -> pd.Series:
    out = pd.Series("", index=table.index)
    for c in cols:
        out = out + "\x1f" + table[c].astype(object).where(table[c].notna(), "\x00").astype(str)
    return out


def published_comparison(
    results: Any, main: pd.DataFrame, thresholds: Thresholds | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(groups, contrasts)`` of ``results.comparison`` with flags, suppressed sets blanked (see
    the module docstring). ``main``: the main tables after suppression (``suppress(...)``)."""
    cmp = results.comparison
    th = thresholds or Thresholds()
    keys = ["indicator", "category", *cmp.by]
    groups = flag_reliability(cmp.groups, th)
    contrasts = cmp.comparisons.copy()
    bad = pd.Series(is_suppressed(groups["flag"]), index=groups.index)
    gkey = _set_keys(groups, keys)
    bad_sets = set(gkey[bad])
    # the parent cell in the main tables: same indicator, category and domain, other domains empty
    others = [b for b in results.by if b in main.columns and b not in cmp.by]
    parents = main[main[others].isna().all(axis=1)] if others else main
    hidden = parents[is_suppressed(parents["flag"])]
    bad_sets |= set(_set_keys(hidden, keys)) if len(hidden) else set()
    caution = set(gkey[groups["flag"].eq(FLAG_CAUTION)])
    g_bad = gkey.isin(bad_sets).to_numpy()
    groups.loc[g_bad & ~bad.to_numpy(), "flag"] = FLAG_SUPPRESSED
    for col in BLANKED:
        if col in groups.columns:
            groups[col] = pd.to_numeric(groups[col], errors="coerce").astype(float)
            groups.loc[g_bad, col] = np.nan
    ckey = _set_keys(contrasts, keys) if len(contrasts) else pd.Series(dtype=object)
    c_bad = ckey.isin(bad_sets).to_numpy()
    contrasts["flag"] = np.where(
        c_bad, FLAG_SUPPRESSED, np.where(ckey.isin(caution).to_numpy(), FLAG_CAUTION, "")
    )
    for col in _CONTRAST_BLANKED:
        if col in contrasts.columns:
            contrasts[col] = pd.to_numeric(contrasts[col], errors="coerce").astype(float)
            contrasts.loc[c_bad, col] = np.nan
    return groups, contrasts


def group_label(cmp: Any, value: Any, tx: Texts) -> str:
    """A group's name in the report: the standard's wording where known, else the value label."""
    key = STATUS_LABELS.get(cmp.variable, {}).get(str(value))
    if key is not None:
        return tx.t(key)
    return str(cmp.labels.get(str(value), value))


def _num(value: Any, unit: str, statistic: str, tx: Texts) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return ""
    v = float(value)
    if unit == "share":
        return tx.percent(v, 1)
    return tx.number(v, decimals_for(unit, statistic, v))


def render_comparison(
    results: Any, main: pd.DataFrame, thresholds: Thresholds | None, tx: Texts
) -> str:
    """The section's HTML (empty without a comparison)."""
    cmp = getattr(results, "comparison", None)
    if cmp is None:
        return ""
    groups, contrasts = published_comparison(results, main, thresholds)
    level = tx.percent(results.level, 0) + " %"
    var = tx.t(cmp.variable) if cmp.variable in tx._texts else cmp.variable
    out = [
        f'<h2 id="comparison">{html.escape(tx.t("comparison_title", var=var))}</h2>',
        f'<p class="note">{html.escape(tx.t("comparison_intro", reference=group_label(cmp, cmp.reference, tx)))}</p>',
    ]
    head = "".join(
        (
            f'<th class="l">{html.escape(t)}</th>'
            if c in ("group", "flag")
            else f"<th>{html.escape(t)}</th>"
        )
        for c, t in (
            ("group", tx.t("group")),
            ("estimate", tx.t("estimate")),
            ("se", tx.t("se")),
            ("ci", tx.t("ci", level=level)),
            ("n", tx.t("n")),
            ("p", tx.t("p_value")),
            ("flag", tx.t("flag")),
        )
    )
    for iid in dict.fromkeys(groups["indicator"]):
        info = results.info.get(iid)
        if info is None:
            continue
        title = tx.indicator(info.title, info.parameters)
        rows_g = groups[groups["indicator"] == iid]
        rows_c = contrasts[contrasts["indicator"] == iid]
        body: list[str] = []
        hidden: list[str] = []  # sets suppressed for every group: named once, not as blank rows
        for key, sub in rows_g.groupby(_set_keys(rows_g, ["category", *cmp.by]), sort=False):
            first = sub.iloc[0]
            label = [
                str(first["category_label"])
                if first.get("category_label") is not None
                and first["category_label"] == first["category_label"]
                else ""
            ]
            label += [
                f"{tx.t(b) if b in tx._texts else b}: {results.labels.get(b, {}).get(str(first[b]), first[b])}"
                for b in cmp.by
                if first.get(b) is not None and first[b] == first[b]
            ]
            mine = rows_c[_set_keys(rows_c, ["category", *cmp.by]) == key]
            flags = pd.concat([sub["flag"], mine["flag"]]).fillna("").astype(str)
            if flags.str.startswith(FLAG_SUPPRESSED).all():
                hidden.append(" · ".join(x for x in label if x))
                continue
            if any(label):
                body.append(
                    f'<tr><td class="l" colspan="7"><b>{html.escape(" · ".join(x for x in label if x))}</b></td></tr>'
                )
            for _, row in sub.iterrows():
                body.append(_row(group_label(cmp, row[cmp.variable], tx), row, info, tx, None))
            for _, row in mine[mine["contrast"] == "difference"].iterrows():
                a, b = (s.strip() for s in str(row[cmp.variable]).split(" - ", 1))
                name = tx.t("difference_of", a=group_label(cmp, a, tx), b=group_label(cmp, b, tx))
                body.append(_row(name, row, info, tx, row.get("p_value")))
        out.append(f"<h3>{html.escape(title)}</h3>")
        if body:
            out.append(f"<table><tr>{head}</tr>{''.join(body)}</table>")
        if hidden:
            named = [h for h in hidden if h]  # an unbroken indicator has one unnamed set
            text = (
                tx.t("comparison_all_suppressed", sets=", ".join(named))
                if named
                else tx.t("comparison_suppressed")
            )
            out.append(f'<p class="note">{html.escape(text)}</p>')
    if cmp.notes:
        out.append(f"<h3>{html.escape(tx.t('not_compared'))}</h3>")
        out.append(
            f'<table><tr><th class="l">{html.escape(tx.t("indicator"))}</th>'
            f'<th class="l">{html.escape(tx.t("reason"))}</th></tr>'
            + "".join(
                f'<tr><td class="l">{html.escape(tx.indicator(results.info[iid].title, results.info[iid].parameters) if iid in results.info else iid)}</td>'
                f'<td class="l">{html.escape(tx.t("cmp_" + code, var=var))}</td></tr>'
                for iid, (code, _) in cmp.notes.items()
            )
            + "</table>"
        )
    out.append(f'<p class="note">{html.escape(tx.t("comparison_rule"))}</p>')
    return "\n".join(out)


def _row(name: str, row: pd.Series, info: Any, tx: Texts, p: Any) -> str:
    flag = str(row.get("flag") or "")
    cls = "suppressed" if flag.startswith(FLAG_SUPPRESSED) else ("caution" if flag else "")
    unit, stat = info.unit, info.statistic
    lo, hi = (_num(row.get(c), unit, stat, tx) for c in ("ci_low", "ci_high"))
    n = row.get("n")
    cells = [
        f'<td class="l">{html.escape(name)}</td>',
        f'<td class="num">{html.escape(_num(row.get("estimate"), unit, stat, tx))}</td>',
        f'<td class="num">{html.escape(_num(row.get("se"), unit, stat, tx))}</td>',
        f'<td class="num">{html.escape(f"{lo} – {hi}" if lo or hi else "")}</td>',
        f'<td class="num">{html.escape("" if n is None or n != n else tx.number(float(n), 0))}</td>',
        f'<td class="num">{html.escape(_p_text(p, tx))}</td>',
        f'<td class="l">{html.escape(tx.flag(flag))}</td>',
    ]
    return f'<tr class="{cls}">{"".join(cells)}</tr>'


def _p_text(p: Any, tx: Texts) -> str:
    if p is None or not isinstance(p, float | int | np.floating) or not np.isfinite(p):
        return ""
    if p < 0.001:
        return "< " + tx.number(0.001, 3)
    return tx.number(float(p), 3)


def write_comparison_csv(
    results: Any, main: pd.DataFrame, path: Path, thresholds: Thresholds | None = None
) -> Path | None:
    """``comparison.csv``: the published groups then the contrasts (suppressed sets blank)."""
    if getattr(results, "comparison", None) is None:
        return None
    groups, contrasts = published_comparison(results, main, thresholds)
    var = results.comparison.variable
    g = groups.assign(contrast=None)
    table = pd.concat([g, contrasts], ignore_index=True)
    lead = ["indicator", "statistic", "category", *results.comparison.by, var, "contrast"]
    table = table[lead + [c for c in table.columns if c not in lead]]
    return _write_csv(table, path, safe=True)
