"""Map-free charts of small-area estimates: direct vs model by area, ordered by sample size, and the
model diagnostics (standardised residuals and shrinkage against sample size, normal Q-Q plot)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from survmig.report.charts import plt, save_figure
from survmig.smallarea.model import SmallAreaResult


def plot_estimates(
    result: SmallAreaResult, area: str, path: str | Path, *, truth: pd.Series | None = None
) -> Path:
    """Direct and model estimates with 95 % bars (top) and their CVs (bottom), areas ordered by
    sample size (areas without a sample on the left); ``truth`` (by area) is drawn when known."""
    t = result.table.sort_values(["n", area], kind="stable").reset_index(drop=True)
    pos = np.arange(len(t))
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(max(7.0, 0.28 * len(t) + 2), 6.4), sharex=True, height_ratios=(3, 2)
    )
    z = 1.959963984540054
    has_se = t["direct_se"] > 0
    top.errorbar(
        pos[has_se] - 0.15,
        t["direct"][has_se],
        yerr=z * t["direct_se"][has_se],
        fmt="o",
        color="#9a9a9a",
        ms=4,
        lw=1,
        label="direct (95 % CI)",
    )
    top.plot(pos[~has_se] - 0.15, t["direct"][~has_se], "x", color="#9a9a9a", label="direct, SE 0")
    value = t["estimate"]
    top.errorbar(
        pos + 0.15,
        value,
        yerr=[np.clip(value - t["ci_low"], 0, None), np.clip(t["ci_high"] - value, 0, None)],
        fmt="s",
        color="#1f5fa8",
        ms=4,
        lw=1,
        label="model (95 % CI)",
    )
    if "benchmarked" in t:
        top.plot(pos + 0.15, t["benchmarked"], "^", color="#e08a00", ms=4, label="benchmarked")
    if truth is not None:
        top.plot(
            pos,
            truth.reindex(t[area]).to_numpy(),
            "_",
            color="#c0392b",
            ms=12,
            mew=2,
            label="true value",
        )
    top.set_ylabel("estimate")
    top.legend(fontsize=8, frameon=False, ncol=2)
    top.set_title(f"Direct and Fay-Herriot ({result.method}) estimates by {area}", fontsize=11)
    bottom.bar(pos - 0.2, t["direct_cv"].where(has_se) * 100, 0.4, color="#bdbdbd", label="direct")
    bottom.bar(pos + 0.2, t["cv"] * 100, 0.4, color="#1f5fa8", label="model")
    bottom.axhline(33.3, color="#c0392b", lw=0.8, ls="--")
    bottom.set_ylabel("CV (%)")
    bottom.legend(fontsize=8, frameon=False)
    labels = [f"{a}\n{n}" for a, n in zip(t[area], t["n"], strict=True)]
    bottom.set_xticks(pos, labels, fontsize=6, rotation=90)
    bottom.set_xlabel(f"{area} (sample size n; 0 = not sampled: synthetic estimate)")
    fig.tight_layout()
    return save_figure(fig, path)


def plot_diagnostics(result: SmallAreaResult, path: str | Path) -> Path:
    """Standardised residuals and shrinkage against sample size, and a normal Q-Q plot."""
    t = result.table[result.table["sampled"]]
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.4))
    axes[0].scatter(t["n"], t["std_residual"], s=14, color="#1f5fa8")
    axes[0].axhline(0, color="k", lw=0.6)
    for lim in (-2, 2):
        axes[0].axhline(lim, color="#c0392b", lw=0.6, ls="--")
    axes[0].set(xscale="log", xlabel="sample size", ylabel="standardised residual")
    axes[1].scatter(t["n"], t["shrinkage"], s=14, color="#1f5fa8")
    axes[1].set(
        xscale="log", xlabel="sample size", ylabel="weight on the direct estimate γ", ylim=(0, 1)
    )
    q = np.sort(t["std_residual"].to_numpy())
    theory = stats.norm.ppf((np.arange(1, len(q) + 1) - 0.5) / len(q))
    axes[2].scatter(theory, q, s=14, color="#1f5fa8")
    axes[2].plot(theory, theory, color="k", lw=0.6)
    axes[2].set(
        xlabel="normal quantile",
        ylabel="residual quantile",
        title=f"Shapiro-Wilk p = {result.shapiro_p:.2f}",
    )
    fig.tight_layout()
    return save_figure(fig, path)


def _correlation(a: pd.Series, b: pd.Series) -> float:
    """Pearson correlation, NaN when either is constant (σ²_v = 0 makes every shrinkage 0)."""
    if a.nunique() < 2 or b.nunique() < 2:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def diagnostics_table(result: SmallAreaResult) -> pd.DataFrame:
    """One row per diagnostic: the fit, the residuals, the gain in precision."""
    t = result.table[result.table["sampled"]]
    r = t["std_residual"]
    gain = (t["direct_cv"] - t["cv"]).where(t["direct_se"] > 0)
    rows = [
        ("method", result.method),
        ("transform", result.transform),
        ("variances", result.variance),
        ("mse", result.mse_method),
        ("sigma2_v (model scale)", result.sigma2),
        ("iterations", result.iterations),
        ("converged", result.converged),
        ("sampled areas", len(t)),
        ("areas without sample (synthetic)", int((~result.table["sampled"]).sum())),
        ("mean standardised residual", float(r.mean())),
        ("SD standardised residual", float(r.std(ddof=1))),
        ("|standardised residual| > 2", int((r.abs() > 2).sum())),
        ("Shapiro-Wilk p", result.shapiro_p),
        (
            "correlation shrinkage vs log n",
            _correlation(t["shrinkage"], np.log(t["n"])),
        ),
        ("median CV direct", float(t["direct_cv"].where(t["direct_se"] > 0).median())),
        ("median CV model", float(t["cv"].median())),
        ("areas where the model CV is lower", int((gain > 0).sum())),
    ]
    if result.gvf:
        rows += [(f"gvf {k}", v) for k, v in result.gvf.items()]
    return pd.DataFrame(rows, columns=["diagnostic", "value"]).astype({"value": object})
