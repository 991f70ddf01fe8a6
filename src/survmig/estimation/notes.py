"""What the SEs of a design assume about its weights, said the same way in every output.

Linearization SEs of a calibrated design use the calibration residuals (R ``calibrate()``);
replicate SEs carry every adjustment redone per replicate. Everything else treats the weights as
fixed: a design without calibration records, and the adjustments ``survmig weight`` records as
``fixed_adjustments`` (nonresponse in linearization designs, trimming). :func:`variance_basis` is
the one place that decides; the estimate table note, the JSON output and the report's method note
all print its result.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from survmig.design.core import SurveyDesign
from survmig.errors import SurvmigError

UNCALIBRATED_NOTE = (
    "SEs treat the calibrated weights as fixed, ignoring the calibration: the design given carries "
    "none; {file} (written by survmig weight) carries it — give --design {file}"
)


def variance_basis(design: SurveyDesign, *, calibrated_file: Path | None = None) -> dict[str, Any]:
    """``weights_treated_as_fixed`` (bool), ``variance`` (how SEs are computed) and ``weights_note``
    (a sentence, or ``None`` when nothing needs saying).

    ``calibrated_file``: a design file with calibration that ``survmig weight`` wrote beside the data
    (see :func:`written_design_beside`), when the design given is not calibrated.
    """
    notes = [design.weights_note] if design.weights_note else []
    if design.is_replicate:
        variance = f"replicate weights ({design.replicate_weights.type})"
        fixed = False
    elif design.calibration:
        variance = (
            f"linearization with the residuals of {len(design.calibration)} calibration step(s)"
        )
        fixed = False
    else:
        variance = "linearization, weights treated as fixed"
        fixed = True
        if calibrated_file is not None:
            notes.insert(0, UNCALIBRATED_NOTE.format(file=calibrated_file))
    if design.twophase is not None:
        variance = "two-phase " + variance + " (phase 1 and phase 2 contributions, R twophase)"
    return {
        "variance": variance,
        "weights_treated_as_fixed": fixed,
        "weights_note": " ".join(n if n.endswith(".") else n + "." for n in notes) or None,
    }


def written_design_beside(*paths: Path | None) -> Path | None:
    """The ``OUT.design.yaml`` with a ``calibration`` section that ``survmig weight`` wrote beside
    one of ``paths`` (the weighted data), if any."""
    from survmig.modules.yamlio import load_yaml
    from survmig.weighting.report import design_yaml_path

    for path in paths:
        if path is None or Path(path).is_dir():
            continue
        candidate = design_yaml_path(Path(path))
        if not candidate.is_file():
            continue
        try:
            spec = load_yaml(candidate)
        except SurvmigError:
            continue
        if isinstance(spec, dict) and "calibration" in spec:
            return candidate
    return None
