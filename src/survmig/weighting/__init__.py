"""Weighting: base weights, nonresponse, post-stratification, raking, calibration and trimming.

Each step adjusts the full-sample weights and every replicate weight column the same way, records
what it did (totals against controls, weight spread, Kish effect, convergence) and, for
linearization designs, leaves the calibration record the estimation engine needs for variances that
use the calibration residuals, as R ``survey`` does.
"""

from survmig.weighting.steps import (
    BaseWeights,
    Calibrate,
    ControlTable,
    Nonresponse,
    PostStratify,
    Rake,
    Stage,
    StepReport,
    Trim,
    WeightState,
)

__all__ = [
    "BaseWeights",
    "Calibrate",
    "ControlTable",
    "Nonresponse",
    "PostStratify",
    "Rake",
    "Stage",
    "StepReport",
    "Trim",
    "WeightState",
]
