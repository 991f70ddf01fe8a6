"""Charts of indicator estimates with confidence bars by domain (matplotlib).

The backend is the caller's: a library never switches it (a notebook's inline backend must keep
showing figures); the ``survmig`` command picks Agg for itself.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from survmig.errors import SurvmigError
from survmig.fileio import atomic_path
from survmig.indicators import IndicatorResults
from survmig.report.i18n import Texts
from survmig.report.shaping import shaped
from survmig.report.tables import (
    FLAG_CAUTION,
    Thresholds,
    is_suppressed,
)

FORMATS = (".png", ".svg")
#: text stays text in SVG (smaller, searchable reports); deterministic SVG ids
_RC = {"svg.fonttype": "none", "svg.hashsalt": "survmig"}
#: no creation date or tool URLs in the files (same input, same bytes)
_META = {
    ".svg": {"Date": None, "Creator": None, "Format": None, "Type": None},
    ".png": {"Software": None},
}


def panels(rows: pd.DataFrame, by: list[str]) -> list[tuple[str | None, pd.DataFrame]]:
    """The rows split by domain kind: national first (``None``), then one panel per domain variable,
    then the crossed domains (several variables set) together."""
    present = [b for b in by if b in rows.columns]
    set_ = rows[present].notna() if present else pd.DataFrame(index=rows.index)
    count = set_.sum(axis=1) if present else pd.Series(0, index=rows.index)
    out: list[tuple[str | None, pd.DataFrame]] = []
    if (count == 0).any():
        out.append((None, rows[count == 0]))
    for b in present:
        part = rows[(count == 1) & set_[b]]
        if len(part):
            out.append((b, part))
    crossed = rows[count > 1]
    if len(crossed):
        out.append(("+".join(present), crossed))
    return out


def row_labels(rows: pd.DataFrame, by: list[str], labels: dict[str, dict[str, str]]) -> list[str]:
    """Readable labels for a panel's rows: the category and the domain values (labels, not codes)."""
    parts: list[list[str]] = [[] for _ in range(len(rows))]
    for name in by:
        if name not in rows or rows[name].isna().all():
            continue
        lab = labels.get(name, {})
        for i, v in enumerate(rows[name].tolist()):
            if v is not None and v == v:
                parts[i].append(str(lab.get(str(v), v)))
    if "category_label" in rows and rows["category_label"].notna().any():
        for i, v in enumerate(rows["category_label"].tolist()):
            if v is not None and v == v:
                parts[i].append(str(v))
    return [" · ".join(p) for p in parts]


def figure(
    results: IndicatorResults,
    indicator_id: str,
    thresholds: Thresholds | None = None,
    max_bars: int = 30,
    texts: Texts | None = None,
    published: pd.DataFrame | None = None,
) -> plt.Figure:
    """Dot-and-whisker charts of the estimate and its CI, one panel per domain kind (national,
    region, sex…). Suppressed cells keep their place, marked ``×`` with the word "suppressed" (a
    gap, never a silently shorter list); "use with caution" ones are drawn hollow. No title (the
    report's heading is the title) and the legend is a line under the panels, so nothing collides.

    ``published``: the publication table (so complementary suppression is the same as the tables').
    """
    tx = texts or Texts("en")
    if indicator_id not in results.info:
        raise SurvmigError(f"no results for indicator {indicator_id!r}", where="chart")
    info = results.info[indicator_id]
    if published is None:
        from survmig.report.tables import suppress

        published = suppress(results.table, results.by, thresholds)
    rows = published[published["indicator"] == indicator_id].reset_index(drop=True)
    groups = panels(rows, results.by)
    n_cut = n_hidden = 0
    shown_panels = []
    for name, part in groups:
        part = part.reset_index(drop=True)
        if len(part) > max_bars:  # a long panel: suppressed cells are counted, not drawn
            gone = is_suppressed(part["flag"])
            n_hidden += int(gone.sum())
            part = part[~gone].reset_index(drop=True)
        if len(part) > max_bars:
            keep = part["estimate"].fillna(-np.inf).nlargest(max_bars).index
            n_cut += len(part) - max_bars
            part = part.loc[sorted(keep)]
        shown_panels.append((name, part.iloc[::-1]))
    shown_panels = [(n, p) for n, p in shown_panels if len(p)] or shown_panels[:1]
    sizes = [max(len(p), 1) for _, p in shown_panels] or [1]
    height = 0.9 + sum(0.5 + 0.27 * k for k in sizes)
    fig, axes = plt.subplots(
        len(sizes),
        1,
        figsize=(8, height),
        dpi=100,
        gridspec_kw={"height_ratios": sizes},
        squeeze=False,
    )
    share = info.unit == "share"
    longest = 4
    for ax, (name, part) in zip(axes[:, 0], shown_panels, strict=True):
        labels = row_labels(part, results.by, results.labels)
        labels = [lab or tx.t("national") for lab in labels]
        longest = max([longest, *(len(s) for s in labels)])
        y = np.arange(len(part))
        est = part["estimate"].to_numpy(dtype=float)
        lo = part["ci_low"].to_numpy(dtype=float)
        hi = part["ci_high"].to_numpy(dtype=float)
        gone = is_suppressed(part["flag"])
        caution = (part["flag"] == FLAG_CAUTION).to_numpy()
        ok = ~gone
        err = np.vstack([np.nan_to_num(est - lo), np.nan_to_num(hi - est)])
        if ok.any():
            ax.errorbar(
                est[ok],
                y[ok],
                xerr=err[:, ok],
                fmt="none",
                ecolor="#4a6fa5",
                elinewidth=1.4,
                capsize=3,
            )
        solid = ok & ~caution
        ax.scatter(est[solid], y[solid], color="#1f3b63", zorder=3)
        ax.scatter(est[caution], y[caution], facecolors="white", edgecolors="#c0392b", zorder=3)
        if gone.any():  # a marked gap at the panel's left edge
            ax.scatter(np.zeros(gone.sum()), y[gone], marker="x", color="#888888", zorder=3)
            for yy in y[gone]:
                ax.annotate(
                    tx.t("suppressed_gap"),
                    (0, yy),
                    xytext=(8, -3),
                    textcoords="offset points",
                    fontsize=7,
                    color="#888888",
                )
        ax.set_yticks(y)
        ax.set_yticklabels(labels, fontsize=8)
        ax.set_ylim(-0.6, len(part) - 0.4)
        values = np.r_[lo, est]
        values = values[np.isfinite(values)]
        if values.size == 0 or values.min() >= 0:  # the gap marks sit at zero: keep it in view
            ax.set_xlim(left=0, right=None if values.size else 1)
        heading = tx.t("national") if name is None else tx.t("by", name=tx.t(name).lower())
        ax.set_title(heading, fontsize=9, loc="left", color="#333333")
        ax.grid(axis="x", color="#dddddd")
        ax.set_axisbelow(True)
        if share:
            ax.xaxis.set_major_formatter(
                matplotlib.ticker.FuncFormatter(lambda v, _pos: tx.percent(v, 0) + " %")
            )
        else:
            ax.xaxis.set_major_formatter(
                matplotlib.ticker.FuncFormatter(
                    lambda v, _pos: tx.number(v, 0 if abs(v) >= 10 or v == int(v) else 2)
                )
            )
        ax.tick_params(axis="x", labelsize=8)
    unit = tx.t(f"unit_{info.unit}") if f"unit_{info.unit}" in tx._texts else info.unit
    axes[-1, 0].set_xlabel(
        tx.t("interval_axis", unit=unit, level=tx.percent(results.level, 0) + " %"), fontsize=8
    )
    notes = [f"● {tx.t('estimate')}   ○ {tx.t('flag_caution')}   × {tx.t('flag_suppressed')}"]
    if n_cut:
        notes.append(tx.t("more_not_shown", n=n_cut))
    if n_hidden:
        notes.append(tx.t("suppressed_not_shown", n=n_hidden))
    fig.text(0.01, 0.01, "   ".join(notes), fontsize=7, color="#555555")
    left = min(0.6, (longest * 8 * 0.6 / 72 + 0.25) / 8)
    fig.subplots_adjust(
        left=left,
        right=0.97,
        top=1 - 0.3 / height,
        bottom=0.75 / height,
        hspace=0.55 * len(sizes) / max(sum(sizes), 1) + 0.25,
    )
    return fig


def plot_indicator(
    results: IndicatorResults,
    indicator_id: str,
    path: str | Path,
    thresholds: Thresholds | None = None,
) -> Path:
    """Write the chart of one indicator as PNG or SVG (by the extension), atomically."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise SurvmigError(
            f"unknown chart format {path.suffix!r}", file=path, hint="use .png or .svg"
        )
    return save_figure(figure(results, indicator_id, thresholds), path)


def save_figure(fig: plt.Figure, path: str | Path) -> Path:
    """Write a figure as PNG or SVG (by the extension), atomically and reproducibly, and close it."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        plt.close(fig)
        raise SurvmigError(
            f"unknown chart format {path.suffix!r}", file=path, hint="use .png or .svg"
        )
    try:
        _save(fig, path)
    finally:
        plt.close(fig)
    return path


def _save(fig: plt.Figure, path: Path) -> None:
    """One file of a figure; a PNG with right-to-left text gets it shaped (see
    :mod:`survmig.report.shaping`), an SVG keeps its text as text for the browser to shape."""
    ext = path.suffix.lower()
    raster = shaped(fig) if ext == ".png" else contextlib.nullcontext()
    with atomic_path(path) as tmp, matplotlib.rc_context(_RC), raster:
        fig.savefig(tmp, format=ext[1:], metadata=_META[ext])


def svg_text(
    results: IndicatorResults,
    indicator_id: str,
    thresholds: Thresholds | None = None,
    save: tuple[Path, ...] = (),
    texts: Texts | None = None,
    published: pd.DataFrame | None = None,
) -> str:
    """The chart as inline SVG markup (for the HTML report); also saved to ``save`` paths (drawn once)."""
    fig = figure(results, indicator_id, thresholds, texts=texts, published=published)
    try:
        with matplotlib.rc_context(_RC):
            for target in save:
                _save(fig, target)
            buf = io.StringIO()
            fig.savefig(buf, format="svg", metadata=_META[".svg"])
    finally:
        plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]
