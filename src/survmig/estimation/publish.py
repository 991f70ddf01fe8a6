"""Suppression on ``survmig estimate -o``: the report's rules on a table of direct estimates.

With thresholds on the command line (``--cv-suppress``, ``--min-n``, ``--cv-caution``,
``--secondary``) the written table gets a ``flag`` column and every column a suppressed value could
be derived from is blank, exactly as in the report (:func:`survmig.report.tables.suppress` does
the work). Only the names differ: an estimate table has ``variable`` where the indicator table has
``indicator``, ``prop`` for ``proportion``, and ``count`` (a domain's population size, a total).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from survmig.estimation.engine import COLUMNS
from survmig.report.options import NAMES
from survmig.report.tables import Thresholds, suppress

#: the report options that ask for suppression on ``estimate -o``
THRESHOLD_OPTIONS = ("cv_caution", "cv_suppress", "min_n", "secondary")
#: columns of an estimate table that are neither a domain nor a value
_NOT_DOMAINS = {*COLUMNS, "breakdown", "indicator", "title", "unit", "flag", "category_label"}
_STATISTIC = {"prop": "proportion", "count": "total"}


def given_thresholds(ctx: Any) -> bool:
    """Whether the user gave a threshold option (not only its default) on the command line."""
    from click.core import ParameterSource

    sources = {name: ctx.get_parameter_source(name) for name in NAMES if name in THRESHOLD_OPTIONS}
    return any(s not in (None, ParameterSource.DEFAULT) for s in sources.values())


def domain_columns(table: pd.DataFrame) -> list[str]:
    """The ``--by`` columns of an estimate table (every column that is not a statistic's)."""
    return [c for c in table.columns if c not in _NOT_DOMAINS]


def suppress_estimates(table: pd.DataFrame, thresholds: Thresholds) -> pd.DataFrame:
    """``table`` with a ``flag`` column and suppressed values (and their complements) blanked in
    every column that could give them back; statistic names and row order are kept."""
    work = table.copy()
    work["statistic"] = work["statistic"].map(lambda s: _STATISTIC.get(s, s))
    key = work["variable"].astype(object) if "variable" in work else pd.Series("", index=work.index)
    if "indicator" in work:  # rows of the indicator catalogue beside direct estimates
        key = work["indicator"].astype(object).where(work["indicator"].notna(), key)
    work["indicator"] = key.fillna("").astype(str)
    if "category" not in work:
        work["category"] = None
    done = suppress(work, domain_columns(table), thresholds)
    out = table.copy()
    for col in done.columns:
        if col in out.columns and col not in ("statistic", "indicator", "category"):
            out[col] = done[col]
    out["flag"] = done["flag"]
    return out


def for_output(table: pd.DataFrame, publish: Mapping[str, Any]) -> pd.DataFrame:
    """The table ``estimate -o`` writes: suppressed as the report is when the user gave a
    threshold, else unchanged (``publish`` as collected by :func:`survmig.report.options.collect`)."""
    import click

    if not given_thresholds(click.get_current_context()):
        return table
    return suppress_estimates(table, publish["thresholds"])


def refuse_thresholds_with_compare() -> None:
    """``--compare`` with a threshold: an error (a published difference between two groups, with
    one group published, gives the other, suppressed one back)."""
    import click

    from survmig.errors import SurvmigError

    if given_thresholds(click.get_current_context()):
        raise SurvmigError(
            "--cv-suppress, --min-n, --cv-caution and --secondary do not apply to --compare: "
            "a published difference would give a suppressed group estimate back",
            where="--compare",
            hint="suppress the group estimates with --by VAR instead of --compare VAR",
        )
