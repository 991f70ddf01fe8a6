"""Margins: several separate breakdowns (and the national row) in one table.

``--by region --by sex`` asks for the estimates by region *and* by sex — two one-way breakdowns —
plus the whole population; ``--by region,sex`` is one breakdown, the crossing. A margins table has a
column for every domain variable of any breakdown; a row's variables outside its own breakdown are
empty (the national rows have all of them empty), and ``breakdown`` names the breakdown.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from survmig.design.core import SurveyDesign
from survmig.errors import SurvmigError

NATIONAL = "national"


def breakdowns_of(by: str | Sequence[str | Sequence[str]] | None) -> list[list[str]]:
    """``"region,sex"`` → one crossing; ``["region", "sex"]`` (repeated ``--by``) → two breakdowns;
    a list of lists is taken as it is. Empty parts are dropped; a variable named twice in one
    breakdown is an error."""
    if by is None:
        return []
    items = [by] if isinstance(by, str) else list(by)
    out: list[list[str]] = []
    for item in items:
        parts = item.split(",") if isinstance(item, str) else [str(v) for v in item]
        names = [p.strip() for p in parts if p.strip()]
        if len(set(names)) != len(names):
            raise SurvmigError(
                f"domain variable named twice in one breakdown: {','.join(names)}", where="--by"
            )
        if names not in out and (names or not isinstance(item, str)):  # [] = national
            out.append(names)
    return out


def breakdown_label(by: Sequence[str]) -> str:
    """``national``, ``region`` or ``region × sex``."""
    return " × ".join(by) if by else NATIONAL


def with_national(breakdowns: list[list[str]], national: bool | None) -> list[list[str]]:
    """The breakdowns to compute: the national row first when ``national`` (default: when there is
    more than one breakdown, i.e. margins were asked for)."""
    if national is None:
        national = len(breakdowns) > 1
    return ([[]] if national and [] not in breakdowns else []) + breakdowns


def stack_margins(
    parts: Sequence[tuple[Sequence[str], pd.DataFrame]], lead: int = 3, label: bool = True
) -> pd.DataFrame:
    """One table from per-breakdown tables: every domain column, empty outside its breakdown, after
    the first ``lead`` columns, and (``label``) a ``breakdown`` column before them."""
    by_all: list[str] = []
    for by, _ in parts:
        by_all += [b for b in by if b not in by_all]
    frames = []
    for by, table in parts:
        t = table.copy()
        for b in by_all:
            if b not in t.columns:
                t[b] = pd.Series([None] * len(t), index=t.index, dtype=object)
            else:
                t[b] = t[b].astype(object)
        if label:
            t.insert(0, "breakdown", breakdown_label(by))
        frames.append(t)
    first = frames[0]
    rest = [c for c in first.columns if c not in by_all and c != "breakdown"]
    order = (["breakdown"] if label else []) + [*rest[:lead], *by_all, *rest[lead:]]
    return pd.concat([f[order] for f in frames], ignore_index=True)


def estimate_margins(
    design: SurveyDesign,
    by: str | Sequence[str | Sequence[str]],
    *,
    national: bool | None = None,
    estimator: Callable[..., pd.DataFrame] | None = None,
    **options: Any,
) -> pd.DataFrame:
    """:func:`survmig.estimation.estimate` for each breakdown (and nationally), stacked.

    Every breakdown is a domain estimate on the full design, so each row equals the one
    ``estimate(design, by=…)`` gives for its breakdown alone.
    """
    from survmig.estimation.engine import estimate

    run = estimator or estimate
    todo = with_national(breakdowns_of(by), national)
    if not todo:
        return run(design, **options)
    return stack_margins([(b, run(design, by=b, **options)) for b in todo])
