"""Calibration carried in a design file, so that file-based SEs use the calibration residuals.

R's linearization after ``calibrate()``/``rake()``/``postStratify()`` needs, per step, the
calibration model (variables, categories), the weights before the step and the g-weights. A design
file cannot hold per-row projections, but it can hold what produces them: the column of weights
*before* the first post-stratification/raking/calibration step and the steps themselves (variables,
control totals, method, bounds, tolerances). :func:`recalibrate` reruns those steps on that column
when the design is loaded, checks that they give the file's final weights, and attaches the
calibration records — the same records, and so the same SEs, as the in-memory weighted design.

The file section (``calibration:`` in ``design.yaml``, written by ``survmig weight``)::

    calibration:
      weights_before: weight_uncalibrated   # column: weights entering the first calibration step
      steps:                                 # that step and every later one, totals inline
        - step: calibrate
          method: raking
          margins: [{by: [region], totals: {North: 1200, South: 800}}]
          continuous: {persons_f: 5400}
          bounds: [-.inf, .inf]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from survmig.design.core import SurveyDesign, numeric_column, require_columns, show
from survmig.errors import SurvmigError
from survmig.weighting.steps import Calibrate, ControlTable, PostStratify, Rake, Step, Trim

#: relative agreement required between the recomputed and the file's final weights
WEIGHT_RTOL = 1e-8
CALIBRATION_FIELDS = {"weights_before", "steps"}


def _margin(ct: ControlTable) -> dict[str, Any]:
    return {"by": list(ct.by), "totals": {str(k): float(v) for k, v in ct.totals.items()}}


def step_to_spec(step: Step) -> dict[str, Any]:
    """One post-stratification, raking, calibration or trimming step as plain YAML data."""
    out: dict[str, Any] = {"step": step.kind}
    if step.name:
        out["name"] = step.name
    if isinstance(step, PostStratify):
        assert step.controls is not None
        out.update(_margin(step.controls), partial=bool(step.partial))
    elif isinstance(step, Rake):
        out.update(
            margins=[_margin(m) for m in step.margins],
            epsilon=float(step.epsilon),
            maxit=int(step.maxit),
            partial=bool(step.partial),
        )
    elif isinstance(step, Calibrate):
        out.update(
            method=step.method,
            margins=[_margin(m) for m in step.margins],
            continuous={str(k): float(v) for k, v in step.continuous.items()},
            population=None if step.population is None else float(step.population),
            bounds=[float(b) for b in step.bounds],
            bounds_on=step.bounds_on,
            epsilon=float(step.epsilon),
            maxit=int(step.maxit),
            force=bool(step.force),
            allow_negative=bool(step.allow_negative),
        )
    elif isinstance(step, Trim):
        out.update(
            lower=step.lower,
            upper=step.upper,
            relative=bool(step.relative),
            redistribute=step.redistribute,
            strict=bool(step.strict),
            replicates=step.replicates,
        )
    else:
        raise SurvmigError(
            f"a {step.kind} step after calibration cannot be carried in a design file",
            where=f"step {step.label}",
            hint="put base and nonresponse steps before post-stratification, raking and calibration",
        )
    return out


def _control(node: Any, fail: Callable[[str], SurvmigError]) -> ControlTable:
    if not isinstance(node, dict) or not isinstance(node.get("totals"), dict) or "by" not in node:
        raise fail("a calibration margin is {by: [columns], totals: {category: total}}")
    by = node["by"] if isinstance(node["by"], list) else [node["by"]]
    try:
        totals = {str(k): float(v) for k, v in node["totals"].items()}
    except (TypeError, ValueError):
        raise fail(f"control totals of {' × '.join(map(str, by))} must be numbers") from None
    return ControlTable(tuple(str(b) for b in by), totals)


def step_from_spec(node: Any, fail: Callable[[str], SurvmigError]) -> Step:
    """The inverse of :func:`step_to_spec` (``fail`` makes an error naming the design file)."""
    if not isinstance(node, dict) or "step" not in node:
        raise fail("each calibration step is a mapping with a 'step' key")
    kind = node["step"]
    name = node.get("name")
    try:
        if kind == "poststratify":
            return PostStratify(
                controls=_control(node, fail), partial=bool(node.get("partial")), name=name
            )
        if kind == "rake":
            return Rake(
                margins=[_control(m, fail) for m in node.get("margins") or []],
                epsilon=float(node.get("epsilon", 1e-6)),
                maxit=int(node.get("maxit", 100)),
                partial=bool(node.get("partial")),
                name=name,
            )
        if kind == "calibrate":
            lo, up = (float(b) for b in node.get("bounds", [-np.inf, np.inf]))
            return Calibrate(
                margins=[_control(m, fail) for m in node.get("margins") or []],
                continuous={str(k): float(v) for k, v in (node.get("continuous") or {}).items()},
                population=None if node.get("population") is None else float(node["population"]),
                method=str(node.get("method", "linear")),
                bounds=(lo, up),
                bounds_on=str(node.get("bounds_on", "ratio")),
                epsilon=float(node.get("epsilon", 1e-7)),
                maxit=int(node.get("maxit", 50)),
                force=bool(node.get("force")),
                allow_negative=bool(node.get("allow_negative")),
                name=name,
            )
        if kind == "trim":
            return Trim(
                lower=node.get("lower"),
                upper=node.get("upper"),
                relative=bool(node.get("relative")),
                redistribute=str(node.get("redistribute", "equal")),
                strict=bool(node.get("strict")),
                replicates=str(node.get("replicates", "fixed")),
                name=name,
            )
    except (TypeError, ValueError) as exc:
        raise fail(f"calibration step {kind!r} has a malformed field: {exc}") from None
    raise fail(f"unknown calibration step {kind!r}: poststratify, rake, calibrate or trim")


def calibration_spec(steps: list[Step], weights_before: str) -> dict[str, Any]:
    """The ``calibration:`` section of a design file for ``steps`` applied to ``weights_before``."""
    return {"weights_before": weights_before, "steps": [step_to_spec(s) for s in steps]}


def recalibrate(
    design: SurveyDesign, section: Any, fail: Callable[[str], SurvmigError]
) -> SurveyDesign:
    """``design`` (whose weights are the final weights) with the calibration records rebuilt by
    rerunning the recorded steps on the ``weights_before`` column (see the module docstring)."""
    from survmig.weighting.pipeline import run_steps

    if not isinstance(section, dict) or set(section) - CALIBRATION_FIELDS or "steps" not in section:
        raise fail("calibration is a mapping with weights_before (a column) and steps (a list)")
    if design.is_replicate:
        raise fail("calibration goes with a linearization design; replicates carry it themselves")
    col = section.get("weights_before")
    if not isinstance(col, str):
        raise fail("calibration: weights_before must name the column of weights before calibration")
    data = design.data
    require_columns(data, [col], "calibration weights_before")
    before = numeric_column(data, col, "calibration weights_before")
    if not isinstance(section["steps"], list) or not section["steps"]:
        raise fail("calibration: steps must be a non-empty list")
    steps = [step_from_spec(node, fail) for node in section["steps"]]
    try:
        res = run_steps(data, steps, weights=before, linearization=True)
    except SurvmigError as err:
        raise fail(f"recomputing the recorded calibration failed: {err.message}") from None
    final = design.weights
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.abs(res.weights - final) / np.maximum(np.abs(final), 1e-300)
    if not np.all(rel <= WEIGHT_RTOL):
        row = int(np.nanargmax(np.where(np.isfinite(rel), rel, np.inf)))
        raise fail(
            f"the recorded calibration of column {show(col)} does not give the weights "
            f"{show(design.weights_column or 'weights')} (row {row + 1}: {show(res.weights[row])} "
            f"vs {show(final[row])}): the data or the design file changed after survmig weight "
            "wrote them"
        )
    return design.with_weights(final, calibration=tuple(res.calibration))


def calibration_columns(section: Any) -> list[str] | None:
    """The data columns a design file's ``calibration:`` section reads (the weights before, the
    margins and continuous auxiliaries), so a command can read only those; ``None`` when the
    section does not parse (loading the design then reports the problem)."""

    def fail(message: str) -> SurvmigError:
        return SurvmigError(message, where="calibration")

    if not isinstance(section, dict) or not isinstance(section.get("weights_before"), str):
        return None
    try:
        steps = [step_from_spec(node, fail) for node in section.get("steps") or []]
    except SurvmigError:
        return None
    cols = [section["weights_before"]]
    for step in steps:
        if isinstance(step, PostStratify) and step.controls is not None:
            cols += list(step.controls.by)
        elif isinstance(step, Rake | Calibrate):
            cols += [c for m in step.margins for c in m.by]
            if isinstance(step, Calibrate):
                cols += list(step.continuous)
    return list(dict.fromkeys(cols))


def fixed_adjustments(steps: list[Step], *, replicate: bool) -> list[str]:
    """The weighting steps whose effect the SEs treat as fixed: nonresponse adjustment in a
    linearization design (replicates redo it) and trimming (unless replicates are re-trimmed)."""
    from survmig.weighting.steps import Nonresponse

    out = []
    for step in steps:
        if isinstance(step, Nonresponse) and not replicate:
            out.append(f"nonresponse adjustment ({step.label})")
        elif isinstance(step, Trim) and not (replicate and step.replicates == "retrim"):
            out.append(f"trimming ({step.label})")
    return out
