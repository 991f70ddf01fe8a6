"""Indicators compared between groups ("by migratory status"): each group's estimate and the
difference (or ratio) to a reference group, with SE, CI and a Wald test.

The UN asks countries to disaggregate indicators by migratory status; a published difference
needs its SE, which needs the covariance of the two group estimates. :func:`compare_indicators`
estimates every indicator by ``[*by, compare]`` with the joint covariance of its rows (the
engine's linearization or replicates, through the calibrated household design where there is
one) and forms the contrasts as R ``svyby(covmat=TRUE)`` + ``svycontrast``
(:func:`survmig.estimation.contrasts.pair_contrasts`).

A comparison is not always meaningful. An indicator is left out, with a note saying why, when

* ``defines``: its definition uses the compared variable ("share of the foreign-born who …"
  compared by place of birth: one group is empty, the other's share is 1);
* ``level``: the variable is not on the indicator's level or above it (a person's place of birth
  for a household indicator);
* ``one_group``: its universe holds only one group;
* ``quantile``: a quantile has no joint covariance (Woodruff intervals);
* ``fixed_weights``: its SEs treat calibrated weights as fixed (no joint form);
* ``lonely_psu``: the lonely-PSU rule inside domains gives SEs the joint covariance does not.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from survmig.data import Dataset
from survmig.design.core import show
from survmig.errors import SurvmigError
from survmig.estimation.contrasts import contrast_kinds, pair_contrasts
from survmig.indicators.compute import LEAD_COLUMNS, compute

#: why an indicator is not compared (code -> English text; the report has its own translations)
REASONS = {
    "defines": "its definition uses {var} itself, so the groups are not comparable",
    "level": "{var} is not available for its {level}-level records",
    "one_group": "its universe holds only one group of {var} ({group})",
    "quantile": "a quantile has no joint covariance (Woodruff intervals)",
    "fixed_weights": "its SEs treat the calibrated weights as fixed (no joint covariance)",
    "lonely_psu": "the lonely-PSU rule inside domains gives SEs without a joint covariance",
}


@dataclasses.dataclass
class IndicatorComparison:
    """Groups, contrasts and the indicators left out (``notes``: id -> (reason code, text))."""

    variable: str
    reference: Any
    by: list[str]
    groups: pd.DataFrame  # rows shaped like IndicatorResults.table, with the `variable` column
    comparisons: pd.DataFrame  # indicator, statistic, category, <by>, variable, contrast, …
    notes: dict[str, tuple[str, str]]
    labels: dict[str, str]  # value labels of the compared variable
    level: float = 0.95


def compare_indicators(
    dataset: Dataset,
    design: Any,
    indicators: str | Iterable[str] = "all",
    *,
    compare: str,
    by: Sequence[str] = (),
    reference: Any = None,
    contrast: str | Sequence[str] = ("difference",),
    level: float = 0.95,
    derived_from: Sequence[str] = (),
    **options: Any,
) -> IndicatorComparison:
    """Every indicator for each group of ``compare`` (within the domains of ``by``) and each
    group's ``contrast`` (``difference``, ``ratio``) to ``reference`` (default: the first group
    in the data's order). ``derived_from``: the concepts a derived grouping is made of (a "migrant
    household" from ``born_in_country``): indicators defined by them are not compared either.
    ``options`` go to :func:`~survmig.indicators.compute`. Indicators that cannot be compared are
    in ``notes`` (see the module docstring)."""
    kinds = contrast_kinds(contrast)
    by = list(by)
    if compare in by:
        raise SurvmigError(
            f"{show(compare)} is both compared and a domain variable", where="compare"
        )
    results = compute(
        dataset, design, indicators, by=[*by, compare], level=level, covariance=True, **options
    )
    if results.table.empty and results.not_computable:
        reasons = "; ".join(f"{iid}: {why}" for iid, why in results.not_computable.items())
        raise SurvmigError(
            f"none of the requested indicators can be computed from this data ({reasons})",
            where="--indicators",
        )
    notes: dict[str, tuple[str, str]] = {}
    groups, comparisons = [], []
    values = _group_values(results.table, compare)
    if reference is not None and str(reference) not in values:
        raise SurvmigError(
            f"reference group {show(reference)} is not a value of {show(compare)}",
            where="compare",
            hint=f"choose one of {', '.join(map(show, values)) or '(no values)'}",
        )
    for iid, info in results.info.items():
        why = _not_comparable(results, iid, compare, derived_from)
        rows = results.table[results.table["indicator"] == iid].reset_index(drop=True)
        present = _group_values(rows, compare)
        if why is None and len(present) < 2:
            why = ("one_group", {"group": ", ".join(present) or "-"})
        ref = str(reference) if reference is not None else (values[0] if values else None)
        if why is None and ref not in present:
            why = ("one_group", {"group": ", ".join(present)})
        if why is not None:
            code, extra = why
            text = REASONS[code].format(var=compare, level=info.level, **extra)
            notes[iid] = (code, text)
            continue
        cov = results.covariance[iid]
        keys = [*LEAD_COLUMNS[:3], *by]
        done = pair_contrasts(rows, cov, compare, keys, ref, kinds, level)
        groups.append(rows)
        comparisons.append(done.assign(indicator=iid))
    group_table = pd.concat(groups, ignore_index=True) if groups else results.table.iloc[:0].copy()
    comparison_table = (
        pd.concat(comparisons, ignore_index=True)
        if comparisons
        else pd.DataFrame(columns=[*LEAD_COLUMNS[:3], *by, compare, "contrast", "estimate"])
    )
    if len(comparison_table):
        titles = {i: inf.title for i, inf in results.info.items()}
        comparison_table.insert(3, "title", comparison_table["indicator"].map(titles))
    if len(values) < 2:
        raise SurvmigError(
            f"a comparison needs two or more groups of {show(compare)}; the data has "
            f"{len(values)} ({', '.join(values) or 'none'})",
            where="compare",
            hint="compare a variable with several categories",
        )
    return IndicatorComparison(
        variable=compare,
        reference=reference if reference is not None else values[0],
        by=by,
        groups=group_table,
        comparisons=comparison_table,
        notes=notes,
        labels=results.labels.get(compare, {}),
        level=level,
    )


def _group_values(table: pd.DataFrame, var: str) -> list[str]:
    if var not in table.columns:
        return []
    live = table[table["estimate"].notna()] if "estimate" in table.columns else table
    return [str(v) for v in pd.unique(live[var].dropna())]


def _not_comparable(
    results: Any, iid: str, var: str, derived_from: Sequence[str]
) -> tuple[str, dict[str, Any]] | None:
    info = results.info[iid]
    if var not in info.by:
        return "level", {}
    if {var, *derived_from} & set(info.defined_by):
        return "defines", {}
    if iid not in results.covariance:
        return results.no_covariance.get(iid, "quantile"), {}
    return None


def stack(comparison: IndicatorComparison) -> pd.DataFrame:
    """One table shaped like the estimate table (``variable`` = indicator id): the group rows
    (``contrast`` empty), then the contrasts (``survmig estimate --indicators --compare``)."""
    var = comparison.variable
    g = comparison.groups.rename(columns={"indicator": "variable"}).drop(
        columns=["category_label"], errors="ignore"
    )
    c = comparison.comparisons.rename(columns={"indicator": "variable"}).drop(
        columns=["title"], errors="ignore"
    )
    g[var] = g[var].astype(object)
    g.insert(g.columns.get_loc(var) + 1, "contrast", None)
    lead = ["statistic", "variable", "category"]
    cols = lead + [x for x in g.columns if x not in lead]
    cols += [x for x in ("t", "p_value") if x not in cols]
    return pd.concat([g, c], ignore_index=True).reindex(columns=cols)


def notes_text(comparison: IndicatorComparison) -> list[str]:
    """One line per indicator left out: ``ID not compared by VAR: reason``."""
    return [
        f"{iid} not compared by {comparison.variable}: {text}"
        for iid, (_, text) in comparison.notes.items()
    ]


__all__ = [
    "REASONS",
    "IndicatorComparison",
    "compare_indicators",
    "notes_text",
    "stack",
]
