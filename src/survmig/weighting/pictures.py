"""Pictures of a weighting run: the weights after each step and each step's adjustment factors.

A statistician checks a weighting at a glance: how spread the weights are (a long right tail
inflates variances), what each step did to them (the g-factors, new weight / old weight, of a
nonresponse adjustment or a calibration) and where the bounds were (trimming bounds on the
weights, calibration bounds on g). The histograms are computed while the steps run
(:func:`distribution`, a few dozen numbers per step kept in the step's report and its JSON), so
drawing them never needs the unit-level weights again.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

#: bins of each histogram
BINS = 30


def _histogram(values: np.ndarray) -> dict[str, list[float]]:
    values = values[np.isfinite(values)]
    if values.size == 0:
        return {"edges": [], "counts": []}
    lo, hi = float(values.min()), float(values.max())
    if hi - lo <= 1e-12 * max(abs(hi), 1.0):  # one value: one bin around it
        lo, hi = lo - 0.05 * max(abs(lo), 1e-3), hi + 0.05 * max(abs(hi), 1e-3)
    # equal bins as np.histogram (the last one closed), by one multiply and a bincount
    edges = np.linspace(lo, hi, BINS + 1)
    k = np.clip(((values - lo) * (BINS / (hi - lo))).astype(np.int64), 0, BINS - 1)
    k -= values < edges[k]  # rounding at an edge: the bin np.histogram puts the value in
    k += (values >= edges[k + 1]) & (k != BINS - 1)
    counts = np.bincount(k, minlength=BINS)
    return {"edges": edges.tolist(), "counts": counts.astype(int).tolist()}


def distribution(
    step: Any,
    before: np.ndarray,
    rows_before: np.ndarray,
    after: np.ndarray,
    rows_after: np.ndarray,
    report: Any,
) -> dict[str, Any]:
    """Histograms of the weights after ``step`` and of its g-factors (after / before, for the rows
    kept: a nonresponse step drops the nonrespondents), with the step's bounds."""
    if len(rows_after) == len(rows_before):  # no row dropped
        old = before
    else:  # rows stay in input order
        old = before[np.searchsorted(rows_before, rows_after)]
    live = after != 0
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.where(old > 0, after / old, np.nan)
    out: dict[str, Any] = {
        "weights": _histogram(after[live]),
        "g": _histogram(g[live]) if step.kind != "base" else {"edges": [], "counts": []},
    }
    bounds: dict[str, list[float]] = {}
    conv = report.convergence or {}
    if step.kind == "trim":
        bounds["weights"] = [conv.get("lower", -math.inf), conv.get("upper", math.inf)]
    elif step.kind == "calibrate":
        lo, up = (float(b) for b in getattr(step, "bounds", (-math.inf, math.inf)))
        bounds["weights" if getattr(step, "bounds_on", "ratio") == "weight" else "g"] = [lo, up]
    out["bounds"] = {
        k: [None if not math.isfinite(b) else float(b) for b in v]
        for k, v in bounds.items()
        if any(math.isfinite(b) for b in v)
    }
    return out


def _panel(ax: Any, hist: dict[str, Any], bounds: list[float | None] | None, color: str) -> None:
    edges = np.asarray(hist["edges"], dtype=float)
    counts = np.asarray(hist["counts"], dtype=float)
    if edges.size == 0:
        ax.set_axis_off()
        return
    ax.bar(edges[:-1], counts, width=np.diff(edges), align="edge", color=color, edgecolor="white")
    for b in bounds or []:
        if b is not None:
            ax.axvline(b, color="#c0392b", linestyle="--", linewidth=1.4)
            ax.text(  # along the line, halfway up: clear of the notes at the top
                b,
                0.45,
                f"bound {b:g}",
                transform=ax.get_xaxis_transform(),
                rotation=90,
                ha="right",
                va="center",
                fontsize=7,
                color="#c0392b",
            )
    ax.tick_params(labelsize=7)
    ax.grid(axis="y", color="#eeeeee")
    ax.set_axisbelow(True)


def figure(result: Any) -> Any:
    """One row per step: the weights after it (left) and its g-factors (right); bounds dashed."""
    import matplotlib.pyplot as plt

    reports = [r for r in result.reports if r.histograms]
    n = max(len(reports), 1)
    fig, axes = plt.subplots(n, 2, figsize=(10, 0.4 + 1.9 * n), dpi=100, squeeze=False)
    for i, rep in enumerate(reports):
        h = rep.histograms
        left, right = axes[i]
        _panel(left, h["weights"], h["bounds"].get("weights"), "#4a6fa5")
        _panel(right, h["g"], h["bounds"].get("g"), "#7a9a5a")
        a = rep.after
        name = rep.name if len(rep.name) <= 48 else rep.name[:47] + "…"
        last = " = final weights" if i == len(reports) - 1 else ""
        left.set_title(f"{i + 1}. {name}: weights after{last}", fontsize=8, loc="left")
        left.text(
            0.99,
            0.95,
            f"n {a.get('n', 0):,.0f}   min {a.get('min', math.nan):.3g}   median "
            f"{a.get('median', math.nan):.3g}   max {a.get('max', math.nan):.3g}   Kish "
            f"{a.get('kish', math.nan):.3f}",
            transform=left.transAxes,
            ha="right",
            va="top",
            fontsize=7,
            color="#333333",
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1},
        )
        if h["g"]["edges"]:
            g = np.asarray(h["g"]["edges"])
            right.set_title(f"{rep.kind}: g-factors (new / old weight)", fontsize=8, loc="left")
            right.text(
                0.99,
                0.95,
                f"g from {g[0]:.3g} to {g[-1]:.3g}",
                transform=right.transAxes,
                ha="right",
                va="top",
                fontsize=7,
                color="#333333",
            )
            if g[0] < 1 < g[-1]:
                right.axvline(1, color="#555555", linewidth=0.8)
    axes[-1, 0].set_xlabel("weight", fontsize=8)
    axes[-1, 1].set_xlabel("g = weight after / weight before", fontsize=8)
    fig.supylabel("units", fontsize=8)
    fig.tight_layout()
    return fig


def write_picture(result: Any, path: str | Path) -> Path:
    """The histograms as PNG or SVG (by the extension), atomically and reproducibly."""
    from survmig.report.charts import save_figure

    return save_figure(figure(result), Path(path))
