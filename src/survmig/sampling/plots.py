"""Classroom figures of the sampling calculators: how the sample size moves with prevalence, the
intra-class correlation or the margin; how an allocation spreads the sample; why the take per EA
has an optimum.

The figures are plain :class:`matplotlib.figure.Figure` objects (no pyplot state, no backend
switched): a notebook shows the returned figure, the CLI writes it with ``path``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from survmig.errors import SurvmigError
from survmig.fileio import atomic_path
from survmig.sampling.results import Result

__all__ = ["allocation_plot", "sample_size_plot", "take_plot", "PLOT_SUFFIXES"]

PLOT_SUFFIXES = (".png", ".svg", ".pdf")
#: no tool version or creation date in the files: same input, same bytes
_META = {
    "png": {"Software": None},
    "svg": {"Creator": None, "Date": None},
    "pdf": {"Creator": None, "Producer": None, "CreationDate": None},
}


def _figure(width: float = 7.0, height: float = 4.2):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _save(fig, path: str | Path | None) -> None:
    if path is None:
        return
    path = Path(path)
    if path.suffix.lower() not in PLOT_SUFFIXES:
        raise SurvmigError(
            f"unknown figure format {path.suffix!r}", file=path, hint="use .png, .svg or .pdf"
        )
    kind = path.suffix[1:].lower()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format=kind, metadata=_META[kind])


def sample_size_plot(
    calculator: Callable[..., Result],
    vary: str,
    values: Sequence[float],
    *,
    current: float | None = None,
    label: str | None = None,
    ylabel: str = "sample size",
    logx: bool = False,
    path: str | Path | None = None,
    **arguments: Any,
) -> Any:
    """The result of ``calculator(**arguments)`` against one of its inputs ``vary`` over ``values``
    (e.g. households to screen against the prevalence), with the user's own value marked.

    ``calculator`` is any sample-size function of :mod:`survmig.sampling.size`; ``arguments`` are
    its other inputs, held fixed.
    """
    xs = np.asarray(values, dtype=float)
    ys = np.array([float(calculator(**{**arguments, vary: x}).value) for x in xs])
    fig = _figure()
    ax = fig.add_subplot()
    ax.plot(xs, ys, color="C0")
    if current is not None:
        y0 = float(calculator(**{**arguments, vary: current}).value)
        ax.plot([current], [y0], "o", color="C3", zorder=3)
        ax.annotate(
            f"{label or vary} = {current:g}: {y0:,.0f}",
            (current, y0),
            textcoords="offset points",
            xytext=(8, 8),
            fontsize=9,
        )
    if logx:
        ax.set_xscale("log")
    ax.set_yscale("log" if ys.max() > 20 * max(ys.min(), 1) else "linear")
    ax.set_xlabel(label or vary)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3, which="both")
    title = calculator(**{**arguments, vary: current if current is not None else xs[0]}).title
    ax.set_title(f"{title}, against {label or vary}", fontsize=11)
    _save(fig, path)
    return fig


def take_plot(
    psu_cost: float, unit_cost: float, icc: float, *, path: str | Path | None = None
) -> Any:
    """Variance × cost against the take per EA m: ``(1 + (m − 1)ρ)(C1/m + C2)`` relative to its
    minimum at ``m_opt = √((C1/C2)(1 − ρ)/ρ)`` (Kish 1965 §8.3): a flat bottom, so a take near the
    optimum loses little. ``unit_cost`` is C2 (for a screened rare group ``c_i + c_s/P``)."""
    m_opt = float(np.sqrt((psu_cost / unit_cost) * (1 - icc) / icc))
    m = np.linspace(1, max(4 * m_opt, 10), 400)
    vc = (1 + (m - 1) * icc) * (psu_cost / m + unit_cost)
    best = (1 + (m_opt - 1) * icc) * (psu_cost / m_opt + unit_cost)
    fig = _figure()
    ax = fig.add_subplot()
    ax.plot(m, vc / best, color="C0")
    ax.axvline(m_opt, color="C3", linestyle="--")
    ax.annotate(f"optimum m = {m_opt:.1f}", (m_opt, 1), textcoords="offset points", xytext=(6, 10))
    ax.set_xlabel("take per EA m (units interviewed per cluster)")
    ax.set_ylabel("variance × cost, relative to the optimum")
    ax.set_title(f"C1 = {psu_cost:g} per EA, C2 = {unit_cost:g} per unit, ρ = {icc:g}", fontsize=11)
    ax.grid(alpha=0.3)
    _save(fig, path)
    return fig


def allocation_plot(table: pd.DataFrame, *, path: str | Path | None = None) -> Any:
    """Bars of the sample size by stratum (``stratum``, ``n``), beside the proportional
    allocation of the same total when the table has the stratum sizes ``N`` (or ``share``)."""
    if "n" not in table.columns or "stratum" not in table.columns:
        raise SurvmigError("an allocation table needs the columns stratum and n", where="--plot")
    strata = table["stratum"].astype(str).to_numpy()
    n = table["n"].to_numpy(dtype=float)
    size = next((c for c in ("N", "share") if c in table.columns), None)
    fig = _figure(max(5.0, 1.0 + 0.9 * len(strata)), 4.2)
    ax = fig.add_subplot()
    x = np.arange(len(strata))
    width = 0.4 if size else 0.7
    ax.bar(x - (width / 2 if size else 0), n, width, label="this allocation", color="C0")
    if size:
        w = table[size].to_numpy(dtype=float)
        ax.bar(
            x + width / 2,
            n.sum() * w / w.sum(),
            width,
            label="proportional",
            color="none",
            edgecolor="C7",
            hatch="//",
        )
        ax.legend(fontsize=9)
    for xi, ni in zip(x, n, strict=True):
        ax.annotate(f"{ni:,.0f}", (xi - (width / 2 if size else 0), ni), ha="center", va="bottom")
    ax.set_xticks(x, strata)
    ax.set_xlabel("stratum")
    ax.set_ylabel("sample size n_h")
    ax.set_title(f"Allocation of n = {n.sum():,.0f}", fontsize=11)
    ax.margins(y=0.15)
    _save(fig, path)
    return fig


def calculator_plot(
    calculator: Callable[..., Result], arguments: dict[str, Any], path: str | Path | None = None
) -> Any:
    """The figure a trainer shows for one ``sample-size`` call: the size against the input that
    matters most for it — ρ when a cluster design is given, else the prevalence of the rare
    group, else the margin (or CV) — with the call's own value marked."""
    args = {k: v for k, v in arguments.items() if v is not None}
    icc, prevalence = args.get("icc"), args.get("prevalence")
    ylabel = "households to screen" if calculator.__name__ == "screening" else "sample size"
    if icc is not None and calculator.__name__ != "screening":
        grid = np.linspace(0.0, max(0.3, 2 * icc), 61)
        return sample_size_plot(
            calculator, "icc", grid, current=icc, label="intra-class correlation ρ",
            ylabel=ylabel, path=path, **args,
        )  # fmt: skip
    if prevalence is not None:
        grid = np.geomspace(prevalence / 5, min(0.9, prevalence * 5), 61)
        return sample_size_plot(
            calculator, "prevalence", grid, current=prevalence, label="prevalence P",
            ylabel=ylabel, logx=True, path=path, **args,
        )  # fmt: skip
    vary = "margin" if "margin" in args else "cv"
    value = float(args[vary])
    top = 2 * value
    if vary == "margin" and "proportion" in args:  # a margin stays below min(P, 1 − P)
        top = min(top, 0.98 * min(args["proportion"], 1 - args["proportion"]))
    grid = np.linspace(value / 2, max(top, value), 61)
    return sample_size_plot(
        calculator, vary, grid, current=value, label=f"{vary} (a share)", ylabel=ylabel,
        path=path, **args,
    )  # fmt: skip
