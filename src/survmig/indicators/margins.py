"""Indicators for several breakdowns at once (national, by region, by sex…) as one result set."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from survmig.data import Dataset
from survmig.estimation.margins import stack_margins
from survmig.indicators.compute import LEAD_COLUMNS, IndicatorResults, compute


def compute_margins(
    dataset: Dataset,
    design: Any,
    indicators: Any = "all",
    breakdowns: Sequence[Sequence[str]] = ((),),
    **options: Any,
) -> IndicatorResults:
    """:func:`compute` once per breakdown (``()`` = national), merged: one table with a column per
    domain variable of any breakdown (empty outside its breakdown), indicator metadata and labels of
    all breakdowns. An indicator that cannot be broken down one way is left out of that breakdown
    (instead of repeating its national rows)."""
    parts = [
        (list(by), compute(dataset, design, indicators, by=list(by), **options))
        for by in breakdowns
    ]
    tables = []
    for by, part in parts:
        t = part.table
        if by:
            used = [iid for iid, info in part.info.items() if info.by]
            t = t[t["indicator"].isin(used)]
        tables.append((by, t))
    first = parts[0][1]
    table = stack_margins(tables, lead=len(LEAD_COLUMNS), label=False)
    labels: dict[str, dict[str, str]] = {}
    info = {}
    for _, part in parts:
        labels.update(part.labels)
        info.update({k: v for k, v in part.info.items() if k not in info})
    by_all = [b for by, _ in parts for b in by]
    return dataclasses.replace(
        first, table=table, by=list(dict.fromkeys(by_all)), labels=labels, info=info
    )
