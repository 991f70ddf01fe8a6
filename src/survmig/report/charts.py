"""Charts of indicator estimates with confidence bars by domain (matplotlib).

The backend is the caller's: a library never switches it (a notebook's inline backend must keep
showing figures); the ``survmig`` command picks Agg for itself.
"""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from survmig.errors import SurvmigError
from survmig.fileio import atomic_path
from survmig.indicators import IndicatorResults
from survmig.report.tables import (
    FLAG_CAUTION,
    Thresholds,
    flag_reliability,
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


def _domain_labels(rows: pd.DataFrame, results: IndicatorResults) -> list[str]:
    parts: list[list[str]] = [[] for _ in range(len(rows))]
    if "category_label" in rows and rows["category_label"].notna().any():
        for i, v in enumerate(rows["category_label"].tolist()):
            if v is not None and v == v:
                parts[i].append(str(v))
    for name in results.by:
        if name not in rows or rows[name].isna().all():
            continue
        labels = results.labels.get(name, {})
        for i, v in enumerate(rows[name].tolist()):
            if v is not None and v == v:
                parts[i].append(f"{name} {labels.get(str(v), v)}")
    return [" · ".join(p) or "all" for p in parts]


def figure(
    results: IndicatorResults,
    indicator_id: str,
    thresholds: Thresholds | None = None,
    max_bars: int = 30,
) -> plt.Figure:
    """A horizontal dot-and-whisker chart: the estimate and its CI for every domain.

    Suppressed estimates are left out (and counted in the caption), "use with caution" ones are
    drawn hollow; with more than ``max_bars`` domains the largest estimates are shown.
    """
    if indicator_id not in results.info:
        raise SurvmigError(f"no results for indicator {indicator_id!r}", where="chart")
    info = results.info[indicator_id]
    rows = flag_reliability(results.table[results.table["indicator"] == indicator_id], thresholds)
    rows = rows.reset_index(drop=True)
    rows["label"] = _domain_labels(rows, results)
    suppressed = is_suppressed(rows["flag"])
    n_suppressed = int(suppressed.sum())
    shown = rows[~suppressed]
    n_cut = max(len(shown) - max_bars, 0)
    if n_cut:
        shown = shown.nlargest(max_bars, "estimate")
    shown = shown.iloc[::-1]
    height = 1.4 + 0.28 * max(len(shown), 1)
    fig, ax = plt.subplots(figsize=(8, height), dpi=100)
    y = np.arange(len(shown))
    est = shown["estimate"].to_numpy(dtype=float)
    lo = shown["ci_low"].to_numpy(dtype=float)
    hi = shown["ci_high"].to_numpy(dtype=float)
    err = np.vstack([np.nan_to_num(est - lo), np.nan_to_num(hi - est)])
    caution = (shown["flag"] == FLAG_CAUTION).to_numpy()
    ax.errorbar(est, y, xerr=err, fmt="none", ecolor="#4a6fa5", elinewidth=1.4, capsize=3)
    if (~caution).any():
        ax.scatter(est[~caution], y[~caution], color="#1f3b63", zorder=3, label="estimate")
    if caution.any():
        ax.scatter(
            est[caution],
            y[caution],
            facecolors="white",
            edgecolors="#c0392b",
            zorder=3,
            label=FLAG_CAUTION,
        )
    ax.set_yticks(y)
    ax.set_yticklabels(shown["label"].tolist(), fontsize=8)
    ax.set_xlabel(f"{info.unit} — {results.level:.0%} confidence interval")
    ax.set_title(info.title, fontsize=11, loc="left")
    ax.grid(axis="x", color="#dddddd")
    ax.set_axisbelow(True)
    if info.unit == "share":
        ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    notes = []
    if n_suppressed:
        notes.append(f"{n_suppressed} suppressed estimate(s) not shown")
    if n_cut:
        notes.append(f"{n_cut} smaller estimate(s) not shown")
    if notes:
        fig.text(0.01, 0.005, "; ".join(notes), fontsize=7, color="#555555")
    if caution.any():
        # above the axes, right-aligned: never over the points, no "best" search
        ax.legend(fontsize=7, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=2, frameon=False)
    # margins from the label lengths (tight_layout would draw the figure once more)
    longest = max((len(s) for s in shown["label"]), default=4)
    left = min(0.6, (longest * 8 * 0.6 / 72 + 0.25) / 8)
    fig.subplots_adjust(
        left=left, right=0.97, top=1 - 0.45 / height, bottom=(0.65 if notes else 0.5) / height
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
        with atomic_path(path) as tmp, matplotlib.rc_context(_RC):
            fig.savefig(tmp, format=path.suffix[1:].lower(), metadata=_META[path.suffix.lower()])
    finally:
        plt.close(fig)
    return path


def svg_text(
    results: IndicatorResults,
    indicator_id: str,
    thresholds: Thresholds | None = None,
    save: tuple[Path, ...] = (),
) -> str:
    """The chart as inline SVG markup (for the HTML report); also saved to ``save`` paths (drawn once)."""
    fig = figure(results, indicator_id, thresholds)
    try:
        with matplotlib.rc_context(_RC):
            for target in save:
                with atomic_path(target) as tmp:
                    fig.savefig(
                        tmp,
                        format=target.suffix[1:].lower(),
                        metadata=_META[target.suffix.lower()],
                    )
            buf = io.StringIO()
            fig.savefig(buf, format="svg", metadata=_META[".svg"])
    finally:
        plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]
