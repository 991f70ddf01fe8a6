"""Write small-area results: estimates, coefficients, diagnostics (CSV), charts and a JSON summary,
all into one folder that appears complete or not at all."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from survmig.fileio import atomic_dir, check_output_dir
from survmig.smallarea.charts import diagnostics_table, plot_diagnostics, plot_estimates
from survmig.smallarea.model import SmallAreaResult


def write_small_area(
    result: SmallAreaResult, area: str, folder: str | Path, *, truth: pd.Series | None = None
) -> dict[str, Path]:
    """``estimates.csv`` (with ``true_value`` when ``truth`` by area is given), ``coefficients.csv``,
    ``diagnostics.csv``, ``estimates.png`` (direct vs model by sample size), ``diagnostics.png``
    and ``summary.json``; returns the paths."""
    folder = Path(folder)
    check_output_dir(folder)
    names = {
        "estimates": "estimates.csv",
        "coefficients": "coefficients.csv",
        "diagnostics": "diagnostics.csv",
        "chart": "estimates.png",
        "diagnostics_chart": "diagnostics.png",
        "summary": "summary.json",
    }
    table = result.table
    if truth is not None:
        table = table.assign(true_value=table[area].map(truth).to_numpy())
    with atomic_dir(folder) as tmp:
        table.to_csv(tmp / names["estimates"], index=False)
        result.coefficients.to_csv(tmp / names["coefficients"], index=False)
        diagnostics_table(result).to_csv(tmp / names["diagnostics"], index=False)
        plot_estimates(result, area, tmp / names["chart"], truth=truth)
        plot_diagnostics(result, tmp / names["diagnostics_chart"])
        text = json.dumps(result.summary(), indent=2, ensure_ascii=False, default=float)
        (tmp / names["summary"]).write_text(text + "\n", encoding="utf-8")
    return {k: folder / v for k, v in names.items()}
