"""``survmig weight``: run weighting.yaml on a data file and write the weighted data and its report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import numpy as np
import pandas as pd

from survmig.design.core import show
from survmig.design.spec import write_design_spec
from survmig.errors import SurvmigError
from survmig.tableio import check_table_path, read_table, write_table
from survmig.weighting.report import design_yaml_path

WEIGHTED_FORMATS = (".csv", ".parquet", ".sav", ".dta")


def _design_weight_column(design: Any) -> str | None:
    for attr in ("weight_column", "weights_column", "weight_name"):
        name = getattr(design, attr, None)
        if isinstance(name, str):
            return name
    return None


def _design_weights_key(path: Path) -> str | None:
    """The weight column named by design.yaml (``weights: COL``), if any."""
    from survmig.modules.yamlio import load_yaml

    spec = load_yaml(path)
    value = spec.get("weights") if isinstance(spec, dict) else None
    return value if isinstance(value, str) else None


def weight_file(
    data_path: Path,
    steps_path: Path,
    output: Path,
    *,
    design_path: Path | None = None,
    weight: str | None = None,
    weight_column: str | None = None,
    replicate_prefix: str = "repw_",
    keep_nonrespondents: bool = False,
) -> Any:
    """What the command does, callable from Python: returns the :class:`WeightingResult`."""
    from survmig.weighting.pipeline import run_steps, weight_design
    from survmig.weighting.report import write_reports
    from survmig.weighting.spec import load_steps
    from survmig.weighting.steps import BaseWeights

    check_table_path(output, WEIGHTED_FORMATS)
    steps = load_steps(steps_path)
    data = read_table(data_path, WEIGHTED_FORMATS)
    if design_path is not None:
        from survmig.design import load_design

        pre_reports: list[Any] = []
        lead = 0
        while lead < len(steps) and isinstance(steps[lead], BaseWeights):
            lead += 1
        col = _design_weights_key(design_path)
        if lead and col is not None and col not in data.columns:
            # the design's weight column is made by the base step(s): compute it first
            try:
                pre = run_steps(data, steps[:lead])
            except SurvmigError as err:
                raise _with_file(err, steps_path) from None
            data = data.assign(**{col: pre.weights})
            pre_reports, steps = pre.reports, steps[lead:]
        design = load_design(design_path, data, data_file=data_path)
        try:
            result = weight_design(design, steps, data=data)
        except SurvmigError as err:
            raise _with_file(err, steps_path) from None
        result.reports[:0] = pre_reports
        out_col = weight_column or _design_weight_column(design) or col or "weight"
    else:
        weights = None
        if weight is not None:
            if weight not in data.columns:
                raise SurvmigError(f"weight column {weight!r} is not in the data", file=data_path)
            weights = pd.to_numeric(data[weight], errors="coerce").to_numpy(float)
            bad = ~np.isfinite(weights) | (weights < 0)
            if bad.any() and not (steps and isinstance(steps[0], BaseWeights)):
                first = int(np.flatnonzero(bad)[0])
                raise SurvmigError(
                    f"weight column {weight!r} has {int(bad.sum())} missing, non-numeric or "
                    f"negative value(s), first {show(data[weight].iloc[first])} at row {first + 1}",
                    file=data_path,
                    where=weight,
                    hint="fix the weights in the data file, or start the steps with a base step",
                )
        try:
            result = run_steps(data, steps, weights=weights)
        except SurvmigError as err:
            raise _with_file(err, steps_path) from None
        out_col = weight_column or weight or "weight"
    n_all = len(data)
    weights_all = np.zeros(n_all)
    weights_all[result.rows] = result.weights
    frame = data.copy()
    frame[out_col] = weights_all
    if result.repweights is not None:
        reps_all = np.zeros((n_all, result.repweights.shape[1]))
        reps_all[result.rows] = result.repweights
        names = [f"{replicate_prefix}{i + 1}" for i in range(result.repweights.shape[1])]
        frame = pd.concat(
            [
                frame.drop(columns=[c for c in names if c in frame.columns]),
                pd.DataFrame(reps_all, columns=names, index=frame.index),
            ],
            axis=1,
        )
    if not keep_nonrespondents:
        frame = frame.iloc[result.rows]
    if not np.isfinite(result.weights).all():
        raise SurvmigError("the weighting produced non-finite weights", file=steps_path)
    spec, comment, extra = _output_design(
        result, out_col, names if result.repweights is not None else None, steps
    )
    for col, values in extra.items():
        column = np.zeros(n_all)
        column[result.rows] = values
        frame[col] = column if keep_nonrespondents else column[result.rows]
    write_table(frame, output, WEIGHTED_FORMATS)
    write_design_spec(spec, design_yaml_path(output), comment)
    write_reports(result, output)
    return result


def _output_design(
    result: Any, weight_col: str, rep_cols: list[str] | None, steps: list[Any]
) -> tuple[dict[str, Any], str, dict[str, np.ndarray]]:
    """design.yaml of the weighted file, the columns it needs beside the weights (the weights before
    calibration), and notes on what it cannot carry (added to the report)."""
    from survmig.design.spec import calibration_note, design_to_spec
    from survmig.weighting.designfile import calibration_spec, fixed_adjustments

    comment = "the design of the weighted data written by survmig weight"
    extra: dict[str, np.ndarray] = {}
    if result.design is None:
        spec: dict[str, Any] = {"weights": weight_col}
        result.notes.append(
            "no design was given (--weight): the written design.yaml has the weights only; "
            "add the strata and PSU columns (ids, strata) for design-based SEs"
        )
    else:
        spec = design_to_spec(result.design, weights=weight_col, repweights=rep_cols)
    replicate = result.repweights is not None
    if not replicate and result.uncalibrated is not None:
        before = f"{weight_col}_uncalibrated"
        try:
            spec["calibration"] = calibration_spec(result.calibration_steps, before)
            extra[before] = result.uncalibrated
            comment += (
                f"; calibration: the recorded steps rerun on column {before} give the weights and"
                " the calibration residuals of the linearization SEs"
            )
        except SurvmigError:
            note = calibration_note(result.design) if result.design is not None else None
            if note:
                result.notes.append(note)
    fixed = fixed_adjustments(steps, replicate=replicate)
    if fixed:
        spec["fixed_adjustments"] = fixed
    return spec, comment, extra


def _with_file(err: SurvmigError, path: Path) -> SurvmigError:
    if err.file is None:
        err = SurvmigError(err.message, file=path, line=err.line, where=err.where, hint=err.hint)
    return err


@click.command("weight")
@click.argument("data", type=click.Path(path_type=Path))
@click.option(
    "--steps",
    "steps_path",
    required=True,
    type=click.Path(path_type=Path),
    help="weighting.yaml: the ordered steps with their controls.",
)
@click.option(
    "--design",
    "design_path",
    type=click.Path(path_type=Path),
    help="design.yaml (strata, PSUs, weights, replicate weights).",
)
@click.option("--weight", default=None, help="Input weight column when no --design is given.")
@click.option(
    "--weight-column",
    default=None,
    help="Name of the output weight column (default: the design's).",
)
@click.option(
    "--replicate-prefix",
    default="repw_",
    show_default=True,
    help="Prefix of replicate weight columns.",
)
@click.option(
    "--keep-nonrespondents",
    is_flag=True,
    help="Also write nonrespondents (weight 0); by default only weighted respondents are written.",
)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path),
    help="Weighted data (.csv, .parquet, .sav, .dta); the report is written beside it.",
)
def weight(
    data: Path,
    steps_path: Path,
    design_path: Path | None,
    weight: str | None,
    weight_column: str | None,
    replicate_prefix: str,
    keep_nonrespondents: bool,
    output: Path,
) -> None:
    """Run a weighting pipeline: base weights, nonresponse, post-stratification, raking, calibration,
    trimming — on the full-sample weights and every replicate weight column.

    Writes the weighted data (same formats as the input, by extension), the report
    OUTPUT-STEM.weighting.md / .weighting.json (with the weight and g-factor histograms
    OUTPUT-STEM.weighting.png) and the design of the weighted data
    OUTPUT-STEM.design.yaml beside it (for survmig estimate --design); prints a summary.

    \b
    Example:
      survmig weight survey.csv --design design.yaml --steps weighting.yaml -o weighted.csv
      survmig weight hh.parquet --weight w0 --steps weighting.yaml -o hh_weighted.parquet
    """
    from survmig.weighting.report import picture_path, print_summary, report_paths

    result = weight_file(
        data,
        steps_path,
        output,
        design_path=design_path,
        weight=weight,
        weight_column=weight_column,
        replicate_prefix=replicate_prefix,
        keep_nonrespondents=keep_nonrespondents,
    )
    print_summary(result)
    dropped = result.n_input - len(result.rows)
    if dropped:
        click.echo(
            f"{dropped} nonrespondent(s) "
            + (
                "written with weight 0"
                if keep_nonrespondents
                else "not written (--keep-nonrespondents keeps them)"
            )
        )
    for note in result.notes:
        click.echo(f"note: {note}")
    md, js = report_paths(output)
    click.echo(f"wrote {output}, {md.name}, {js.name}, {picture_path(output).name}")
    click.echo(
        f"wrote {design_yaml_path(output)}: estimate with "
        f"survmig estimate {output} --design {design_yaml_path(output)}"
    )
