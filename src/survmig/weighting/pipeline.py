"""Run weighting steps in order, on a data frame or on a :class:`survmig.design.SurveyDesign`.

The full-sample weights and every replicate weight column go through the same steps together (one
weight matrix), so replicate variances reflect the adjustments. For linearization designs the
calibration records (R's ``design$postStrata``) are appended to the design so that the estimation
engine uses the calibration residuals.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from survmig.errors import SurvmigError
from survmig.weighting.pictures import distribution
from survmig.weighting.spec import load_steps
from survmig.weighting.steps import (
    BaseWeights,
    Step,
    StepReport,
    WeightState,
    row_list,
    weight_summary,
)


@dataclasses.dataclass
class WeightingResult:
    """Adjusted weights, the calibration records, the per-step reports and (if given) the new design."""

    weights: np.ndarray
    repweights: np.ndarray | None
    calibration: list[Any]
    reports: list[StepReport]
    #: positions in the input data of the rows the weights belong to (respondents)
    rows: np.ndarray
    #: rows of the input data (respondents and nonrespondents)
    n_input: int
    design: Any = None
    #: notes on the whole run (the report lists them), e.g. what a written design.yaml cannot carry
    notes: list[str] = dataclasses.field(default_factory=list)
    #: full-sample weights just before the first post-stratification/raking/calibration step (None
    #: without one) and the steps from there on: what a design file needs to rebuild the records
    uncalibrated: np.ndarray | None = None
    calibration_steps: list[Step] = dataclasses.field(default_factory=list)

    @property
    def final(self) -> dict[str, float]:
        return weight_summary(self.weights)

    def as_dict(self) -> dict[str, Any]:
        return {
            "steps": [r.as_dict() for r in self.reports],
            "final": self.final,
            "replicates": 0 if self.repweights is None else int(self.repweights.shape[1]),
            "rows_in": self.n_input,
            "rows_weighted": int(len(self.rows)),
            "notes": list(self.notes),
        }


#: steps whose variance contribution linearization carries as calibration records
CALIBRATION_KINDS = ("poststratify", "rake", "calibrate")


def _steps(steps: Sequence[Step] | str | Path) -> tuple[list[Step], str | None]:
    if isinstance(steps, str | Path):
        return load_steps(steps), str(steps)
    return list(steps), None


def run_steps(
    data: pd.DataFrame,
    steps: Sequence[Step] | str | Path,
    *,
    weights: np.ndarray | None = None,
    repweights: np.ndarray | None = None,
    linearization: bool | None = None,
    matrix: np.ndarray | None = None,
) -> WeightingResult:
    """Apply ``steps`` (objects or a weighting.yaml path) to ``data`` and its weights.

    ``weights`` may be omitted when the first step is a base-weight step. ``repweights`` (n × R) are
    adjusted replicate by replicate with the same steps. Calibration records are kept when
    ``linearization`` (default: no replicate weights). After a nonresponse step only respondents
    remain: ``result.rows`` are the positions of the weighted rows in ``data``.
    ``matrix`` (n × (1 + R), float64) is the weights and replicate weights already side by side; it
    is adjusted in place and the result's weights are views of it (no n × R copies).
    """
    step_list, source = _steps(steps)
    n = len(data)
    if weights is None:
        if not step_list or not isinstance(step_list[0], BaseWeights):
            raise SurvmigError(
                "no input weights: start the pipeline with a base step or give weights",
                file=source,
                hint="add '- step: base' with the selection stages",
            )
        weights = np.ones(n)
    # a copy (or the caller's own matrix): steps adjust it in place
    W = matrix if matrix is not None else np.array(weights, dtype=float).reshape(n, 1)
    if repweights is not None and matrix is None:
        R = np.asarray(repweights, float)
        if R.ndim != 2 or R.shape[0] != n:
            raise SurvmigError(f"replicate weights have shape {R.shape}, expected ({n}, R)")
        W = np.column_stack([W, R])
    if linearization is None:
        linearization = repweights is None
    data = data.reset_index(drop=True)
    state = WeightState(data, W, linearization=linearization, source=source)
    bad = ~np.isfinite(W[:, 0]) | (W[:, 0] < 0)
    if bad.any() and not isinstance(step_list[0], BaseWeights):
        raise SurvmigError(
            f"input weights are missing or negative in {int(bad.sum())} row(s) ({row_list(state, bad)})",
            hint="fix the weight column or start with a base step",
        )
    reports = []
    first_cal: int | None = None
    uncalibrated = None
    for i, step in enumerate(step_list):
        if first_cal is None and step.kind in CALIBRATION_KINDS:
            first_cal, uncalibrated = i, state.W[:, 0].copy()
        before, rows_before = state.W[:, 0].copy(), state.rows.copy()
        report = step.apply(state)
        report.histograms = distribution(
            step, before, rows_before, state.W[:, 0], state.rows, report
        )
        reports.append(report)
    own = matrix is not None
    return WeightingResult(
        state.W[:, 0] if own else state.W[:, 0].copy(),
        (state.W[:, 1:] if own else state.W[:, 1:].copy()) if state.W.shape[1] > 1 else None,
        state.calibration,
        reports,
        state.rows,
        n,
        uncalibrated=uncalibrated,
        calibration_steps=[] if first_cal is None else list(step_list[first_cal:]),
    )


def weight_design(
    design: Any, steps: Sequence[Step] | str | Path, data: pd.DataFrame | None = None
) -> WeightingResult:
    """Weight a :class:`survmig.design.SurveyDesign`; the result carries the new design.

    The design's full-sample and replicate weights go through ``steps``; the new design is
    ``design.with_weights(weights, repweights, calibration=design.calibration + new records)``,
    restricted to the respondents when a nonresponse step removed nonrespondents.
    ``data`` defaults to the design's own data frame.
    """
    if data is None:
        data = getattr(design, "data", None)
        if data is None:
            raise SurvmigError("the design carries no data: pass data= to weight_design")
    matrix = None
    if getattr(design, "is_replicate", False):
        # weights and replicate weights side by side, written once (no n × R temporaries)
        matrix = np.empty((design.n, 1 + design.replicate_weights.n_replicates))
        matrix[:, 0] = design.weights
        design.write_repweights(matrix[:, 1:])
    res = run_steps(
        data,
        steps,
        weights=np.asarray(design.weights, float),
        repweights=None if matrix is None else matrix[:, 1:],
        linearization=matrix is None,
        matrix=matrix,
    )
    rep = matrix
    old = tuple(getattr(design, "calibration", ()) or ())
    if len(res.rows) < design.n:
        if old:
            raise SurvmigError(
                "the design is already calibrated: nonresponse adjustment must come first",
                hint="run the nonresponse step on the uncalibrated design",
            )
        # respondents only; strata keep their full-design PSU counts (R's subset())
        mask = np.zeros(design.n, dtype=bool)
        mask[res.rows] = True
        design = design.respondents(mask) if hasattr(design, "respondents") else design.subset(mask)
    res.design = design.with_weights(
        res.weights,
        res.repweights,
        calibration=old + tuple(res.calibration) if rep is None else None,
        copy=False,
    )
    if res.repweights is not None:  # the design's own (read-only) matrix, not a second copy
        res.repweights = res.design.replicate_weights.matrix
    return res
