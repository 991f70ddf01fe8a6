"""The command line's side of scale: which columns to read, and the out-of-core engines' call.

``survmig estimate`` in memory reads only the columns a request needs (design columns, analysis
and domain variables); with ``--engine duckdb|spark`` it hands the file and the design to
:func:`survmig.estimation.sql.estimate_sql` and the rows never reach Python.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import click
import pandas as pd

from survmig.errors import SurvmigError, SurvmigWarning
from survmig.estimation.sources import table_columns


def one_line_spec(
    strata: str | None, psu: str | None, weight: str | None, fpc: str | None, nest: bool
) -> dict[str, Any]:
    """The ``--strata/--psu/--weight/--fpc`` design as ``design.yaml`` fields."""
    spec: dict[str, Any] = {"weights": weight, "nest": nest}
    if strata:
        spec["strata"] = strata
    if psu:
        spec["ids"] = [psu]
    if fpc:
        spec["fpc"] = [fpc]
    return spec


def _names(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(v) for v in value]
    return []


def needed_columns(
    data: Path, spec: Path | dict[str, Any], request: dict[str, Any]
) -> list[str] | None:
    """Every column the design and the request use (``None``: read them all — a design file that
    does not parse, a calibrated design, or a replicate pattern over a file whose columns are not
    cheaply known; the design checks then report the problem as usual)."""
    fields: Any = spec
    if isinstance(spec, Path):
        from survmig.modules.yamlio import load_yaml

        try:
            fields = load_yaml(spec)
        except SurvmigError:
            return None  # the design checks report the problem
    if not isinstance(fields, dict) or "calibration" in fields or "fixed_adjustments" in fields:
        return None  # a calibrated design names its own columns (auxiliaries, weights before)
    cols: list[str] = []
    for key in ("ids", "strata", "fpc", "probs", "weights"):
        cols += _names(fields.get(key))
    phase2 = fields.get("phase2")
    if isinstance(phase2, dict):  # a two-phase design: the phase-2 unit, strata and sizes too
        for key in ("ids", "strata", "fpc"):
            cols += _names(phase2.get(key))
    rep = fields.get("repweights")
    if isinstance(rep, str):
        names = table_columns(data) if data.exists() else None
        if names is None:
            return None
        try:
            rx = re.compile(rep)
        except re.error:
            return None
        cols += [c for c in names if rx.search(c)]
    else:
        cols += _names(rep)
    for key in ("mean", "total", "prop", "by"):
        cols += list(request.get(key) or [])
    cols += [v for pair in request.get("ratio") or [] for v in pair]
    cols += list(request.get("quantile") or {})
    return list(dict.fromkeys(cols))


def echo_warnings(caught: list[warnings.WarningMessage]) -> None:
    """Print the engine's statistical warnings (lonely PSUs…) on stderr, once each."""
    for w in caught:
        if issubclass(w.category, SurvmigWarning):
            click.echo(f"warning: {w.message}", err=True)


def run_out_of_core(
    data: Path,
    spec: Path | dict[str, Any],
    engine: str,
    spark_master: str | None,
    lonely_psu: str | None,
    lonely_psu_domain: bool,
    request: dict[str, Any],
    *,
    by: list[str],
    others: tuple[Any, ...] = (),
    national: bool | None = None,
) -> pd.DataFrame:
    """``survmig estimate --engine duckdb|spark``: the design file (or one-liner) over the file.

    One breakdown (``--by a`` or ``--by a,b``), or margins (``--by a --by b``: each breakdown and,
    unless ``national`` is False, the national row, stacked as in memory); ``others`` are the
    options that run in memory only (``--indicators``, ``--design-data``, ``--compare``), refused
    when given.
    """
    from survmig.errors import SurvmigError
    from survmig.estimation.margins import breakdowns_of, stack_margins, with_national
    from survmig.estimation.sql import estimate_sql

    if any(o is not None and o != () for o in others):
        raise SurvmigError(
            "--indicators, --design-data and --compare run in memory",
            where="--engine",
            hint="use --engine memory, or --mean/--prop/… with --by",
        )
    todo = with_national(breakdowns_of(list(by)), national)
    options: dict[str, Any] = {}
    if lonely_psu:
        options["lonely_psu"] = lonely_psu
    if lonely_psu_domain:
        options["lonely_psu_domain"] = True
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SurvmigWarning)
        parts = [
            (
                b,
                estimate_sql(
                    data,
                    spec,
                    engine=engine,
                    spark_master=spark_master,
                    options=options or None,
                    by=b,
                    **request,
                ),
            )
            for b in (todo or [[]])
        ]
    echo_warnings(caught)
    return stack_margins(parts) if len(todo) > 1 else parts[0][1]
