"""``survmig estimate --indicators``: the estimation command's extension point.

The command builds a design over DATA; indicators need the multi-level dataset (a directory written by
``survmig data import``) and the design spec, which the command passes as ``data`` and ``design_spec``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from survmig.data import Dataset
from survmig.errors import NothingComputed, SurvmigError, SurvmigWarning
from survmig.indicators.compute import compute
from survmig.indicators.margins import compute_margins


def estimate_indicators(
    design: Any,
    names: Sequence[str] | None,
    *,
    by: Sequence[str] = (),
    ci: str = "t",
    level: float = 0.95,
    na: str = "drop",
    data: str | Path | Dataset | None = None,
    design_spec: str | Path | Mapping[str, Any] | None = None,
    rates: Any = None,
    parameters: Mapping[str, Any] | None = None,
    report_dir: str | Path | None = None,
    design_data: pd.DataFrame | None = None,
    margins: Sequence[Sequence[str]] | None = None,
    report_options: Mapping[str, Any] | None = None,
    compare: str | None = None,
    reference: Any = None,
    contrast: Sequence[str] = ("difference",),
) -> pd.DataFrame:
    """Indicators as rows shaped like :func:`survmig.estimation.estimate`'s (``variable`` = indicator id).

    ``margins``: several breakdowns (``[]`` = national) instead of ``by``, as
    :func:`~survmig.indicators.margins.compute_margins`. Missing answers are always left out of the
    domain and counted (``na`` is not used: the catalogue decides). Indicators that cannot be
    computed are reported as warnings with the reason; when none of them can,
    :class:`~survmig.errors.NothingComputed` says why (the CLI exits with status 1).
    ``report_options``: ``thresholds`` (a :class:`~survmig.report.Thresholds`) and the keywords of
    :func:`~survmig.report.write_report` (``lang``, ``title``, ``agency``, ``date``); ``lang`` also
    picks the form's language for category labels.
    ``compare``: the indicators for each group of this variable and each group's ``contrast`` to
    ``reference`` (:func:`~survmig.indicators.comparison.compare_indicators`), as one table (the
    group rows, then the contrasts); indicators that cannot be compared are warnings, and none
    comparable is an error. The report (``report_dir``) then has a comparison section.
    """
    publish = dict(report_options or {})
    if data is None or design_spec is None:
        raise SurvmigError(
            "indicators need the survey dataset directory and the design file",
            where="--indicators",
            hint="run `survmig estimate DATASET_DIR --design design.yaml --indicators all`, "
            "DATASET_DIR written by `survmig data import`",
        )
    dataset = data if isinstance(data, Dataset) else Dataset.read(data)
    options = dict(
        rates=rates,
        level=level,
        parameters=parameters,
        ci=ci,
        design_data=design_data,
        language=publish.get("lang", "en"),
    )
    selected = "all" if not names else list(names)
    comparison = None
    if compare is not None:
        comparison = _comparison(dataset, design_spec, selected, compare, by, reference, contrast,
                                 options)  # fmt: skip
    if margins:  # separate breakdowns (and the national rows), one result set
        results = compute_margins(dataset, design_spec, selected, margins, **options)
    else:
        results = compute(dataset, design_spec, selected, by=list(by), **options)
    if results.table.empty and results.not_computable:
        reasons = "; ".join(f"{iid}: {why}" for iid, why in results.not_computable.items())
        raise NothingComputed(
            f"none of the requested indicators can be computed from this data ({reasons})",
            where="--indicators",
            hint="`survmig indicators ID` lists the concepts an indicator needs",
        )
    if report_dir is not None:
        from survmig.indicators.compute import level_map
        from survmig.report import from_design, write_report

        thresholds = publish.pop("thresholds", None)
        persons = level_map(dataset).get("person")
        methodology = from_design(
            design,
            persons=len(dataset.table(persons)) if persons else None,
        )
        results.comparison = comparison
        write_report(results, report_dir, thresholds, methodology=methodology, **publish)
    for iid, reason in results.not_computable.items():
        warnings.warn(f"indicator {iid} not computable: {reason}", SurvmigWarning, stacklevel=2)
    if comparison is not None:
        from survmig.indicators.comparison import notes_text, stack

        for line in notes_text(comparison):
            warnings.warn(line, SurvmigWarning, stacklevel=2)
        return stack(comparison)
    table = results.table.copy()
    table["variable"] = table["indicator"]
    table["deft"] = np.sqrt(pd.to_numeric(table["deff"], errors="coerce"))
    lead = ["statistic", "variable", "category"]
    rest = [c for c in table.columns if c not in lead and c != "indicator"]
    return table[lead + rest]


def _comparison(
    dataset: Dataset,
    design_spec: Any,
    selected: Any,
    compare: str,
    by: Sequence[str],
    reference: Any,
    contrast: Sequence[str],
    options: dict[str, Any],
) -> Any:
    """:func:`compare_indicators`; an error when no requested indicator can be compared."""
    from survmig.indicators.comparison import compare_indicators

    comparison = compare_indicators(
        dataset, design_spec, selected, compare=compare, by=by, reference=reference,
        contrast=contrast, **options,
    )  # fmt: skip
    if comparison.comparisons.empty:
        reasons = "; ".join(f"{iid}: {text}" for iid, (_, text) in comparison.notes.items())
        raise SurvmigError(
            f"none of the requested indicators can be compared by {compare} ({reasons})",
            where="--compare",
            hint="compare by a variable the indicators are not defined by, on their level",
        )
    return comparison
