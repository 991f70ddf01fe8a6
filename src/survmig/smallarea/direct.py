"""Small-area estimates of a catalogue indicator: direct estimates from the engine, then the model.

The direct estimates, their design SEs and sample sizes by area come from
:func:`survmig.indicators.compute` (the same engine, design and SEs as ``survmig estimate``); the
benchmark (national, or by a coarser domain such as region) is that engine's direct estimate too.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from survmig.data import Dataset
from survmig.design import SurveyDesign
from survmig.errors import SurvmigError
from survmig.indicators import compute
from survmig.smallarea.model import SmallAreaResult, fay_herriot
from survmig.tableio import read_table

SHARE_STATISTICS = ("proportion", "mean", "ratio")


def read_covariates(path: str | Path, area: str) -> pd.DataFrame:
    """The area covariates (CSV, Parquet, Excel): one row per area, the area column as text."""
    table = read_table(path)
    if area not in table.columns:
        raise SurvmigError(
            f"no area column {area!r} (columns: {', '.join(map(str, table.columns))})",
            file=path,
            hint="the covariates need a column named like --area",
        )
    return table.assign(**{area: table[area].astype(str)})


def default_covariates(
    covariates: pd.DataFrame, area: str, exclude: Sequence[str | None]
) -> list[str]:
    """Every numeric column but the area, the population and the benchmark group."""
    skip = {area, *[e for e in exclude if e]}
    return [
        str(c)
        for c in covariates.columns
        if c not in skip and pd.api.types.is_numeric_dtype(covariates[c])
    ]


def _rows(results: Any, indicator: str, category: str | None, by: list[str]) -> pd.DataFrame:
    if indicator in results.not_computable:
        raise SurvmigError(
            f"indicator {indicator} is not computable: {results.not_computable[indicator]}",
            where="--indicator",
        )
    rows = results.for_indicator(indicator)
    for b in by:
        if b not in rows.columns:
            raise SurvmigError(
                f"indicator {indicator} cannot be broken down by {b!r}",
                where="--area",
                hint="give a household or person column (e.g. from --design-data)",
            )
    cats = rows["category"].dropna().astype(str).unique() if "category" in rows else []
    if len(cats) > 1:
        if category is None:
            raise SurvmigError(
                f"indicator {indicator} has categories {', '.join(cats[:6])}",
                where="--category",
                hint="choose the one to model with --category",
            )
        rows = rows[rows["category"].astype(str) == category]
        if rows.empty:
            raise SurvmigError(f"no category {category!r} in {indicator}", where="--category")
    return rows


def small_area(
    dataset: Dataset,
    design: str | Path | Mapping[str, Any] | SurveyDesign,
    indicator: str,
    area: str,
    covariates: pd.DataFrame,
    *,
    x: Sequence[str] | None = None,
    category: str | None = None,
    design_data: pd.DataFrame | None = None,
    benchmark: str | None = "national",
    population: str | None = None,
    transform: str | None = None,
    covariates_name: str = "covariates",
    **options: Any,
) -> SmallAreaResult:
    """Fay-Herriot estimates of ``indicator`` for every area of ``covariates``.

    ``design`` and ``design_data`` are as in :func:`survmig.indicators.compute`. ``benchmark``:
    ``"national"``, ``None`` (no benchmarking) or a column of ``covariates`` that is also a domain
    of the data (e.g. ``region``): the model estimates are then scaled to the direct estimate of each
    of its groups. A share is benchmarked with the areas' ``population`` sizes (a covariates
    column). ``transform``: default ``arcsine`` for a share, ``log`` for a count. Other ``options``
    go to :func:`~survmig.smallarea.model.fay_herriot` (method, variance, mse, bootstrap, seed,
    level, deff); ``variance="deff"`` without ``deff`` uses the national design effect.
    """
    groups = [] if benchmark in (None, "national") else [str(benchmark)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # deff of single-PSU domains
        parts = [
            compute(dataset, design, [indicator], by=by, design_data=design_data)
            for by in ([area], groups, *([[]] if groups else []))
        ]
    rows = _rows(parts[0], indicator, category, [area])
    statistic = parts[0].info[indicator].statistic
    share = statistic in SHARE_STATISTICS
    if benchmark is not None and share and population is None:
        raise SurvmigError(
            "benchmarking a share needs the areas' population sizes",
            where="--population",
            hint="name the covariates column with the area populations, or use --no-benchmark",
        )
    direct = pd.DataFrame(
        {
            area: rows[area].astype(str).to_numpy(),
            "estimate": rows["estimate"].to_numpy(float),
            "se": rows["se"].to_numpy(float),
            "n": rows["n"].to_numpy(float),
        }
    )
    targets: float | dict[str, float] | None = None
    if benchmark is not None:
        brow = _rows(parts[1], indicator, category, groups)
        if groups:
            targets = dict(
                zip(brow[groups[0]].astype(str), brow["estimate"].astype(float), strict=True)
            )
        else:
            targets = float(brow["estimate"].iloc[0])
    if options.get("variance") == "deff" and options.get("deff") is None:
        national = _rows(parts[-1], indicator, category, [])
        options["deff"] = float(national["deff"].iloc[0])
    chosen = list(x) if x else default_covariates(covariates, area, [population, *groups])
    if not chosen:
        raise SurvmigError(
            "no numeric covariate in the covariates file",
            file=covariates_name,
            hint="add census or register columns, or name them with --x",
        )
    return fay_herriot(
        direct,
        covariates,
        area=area,
        x=chosen,
        transform=transform or ("arcsine" if share else "log"),
        benchmark=targets,
        benchmark_by=groups[0] if groups else None,
        population=population if share else None,
        covariates_name=covariates_name,
        **options,
    )
