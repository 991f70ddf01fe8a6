"""Survey designs: strata, clusters, weights, fpc, replicate weights and calibration records.

Public surface:

* :class:`SurveyDesign` — immutable; ``SurveyDesign(data, ids=…, strata=…, weights=…, fpc=…)``,
  ``SurveyDesign.replicate(data, repweights=…, type=…)``, ``design.to_replicate(…)``,
  ``design.with_weights(…)``, ``design.subset(mask)``;
* :func:`load_design` — the same from ``design.yaml`` (format in :mod:`survmig.design.spec`);
* :class:`GregCalibration`, :class:`PostStratification`, :class:`Raking` — calibration records the
  weighting stage attaches so that variances use calibration residuals (as R ``survey``);
* two-phase designs: ``SurveyDesign(…, phase2={"ids": …, "strata": …, "fpc": …})`` (R ``twophase``)
  and :func:`calibrate_to_phase1` (R ``calibrate(twophase, phase = 2)``).
"""

from survmig.design.calibration import Calibration, GregCalibration, PostStratification, Raking
from survmig.design.core import (
    CREATED_REPLICATE_TYPES,
    LONELY_PSU_RULES,
    REPLICATE_TYPES,
    VARIANCE_METHODS,
    ReplicateWeights,
    Stage,
    SurveyDesign,
)
from survmig.design.spec import design_from_options, load_design
from survmig.design.twophase import TwoPhase, calibrate_to_phase1

__all__ = [
    "CREATED_REPLICATE_TYPES",
    "LONELY_PSU_RULES",
    "REPLICATE_TYPES",
    "VARIANCE_METHODS",
    "Calibration",
    "GregCalibration",
    "PostStratification",
    "Raking",
    "ReplicateWeights",
    "Stage",
    "SurveyDesign",
    "TwoPhase",
    "calibrate_to_phase1",
    "design_from_options",
    "load_design",
]
