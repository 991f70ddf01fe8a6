"""The report's methodology note: the sample, the weighting steps and how variances were estimated.

:func:`from_design` reads what the design knows (strata, PSUs, households, population size, df,
calibration, replicates, two phases); the caller adds what only it knows (persons, response rate,
the weighting record).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np


@dataclasses.dataclass(frozen=True)
class Methodology:
    """What a reader needs to judge the figures (all optional: unknown items are left out)."""

    strata: int | None = None
    psus: int | None = None
    households: int | None = None
    persons: int | None = None
    response_rate: float | None = None
    population: float | None = None
    df: int | None = None
    #: linearization (weights fixed), calibrated, replicate or twophase
    variance: str = "linearization"
    replicate_method: str | None = None
    replicates: int | None = None
    weighting: tuple[str, ...] = ()


def from_design(
    design: Any,
    *,
    persons: int | None = None,
    response_rate: float | None = None,
    weighting: Sequence[str] = (),
    two_phase: bool = False,
) -> Methodology:
    """A methodology note from a :class:`~survmig.design.SurveyDesign` (household rows)."""
    rep = design.replicate_weights if design.is_replicate else None
    if two_phase or getattr(design, "twophase", None) is not None:
        variance = "twophase"
    elif rep is not None:
        variance = "replicate"
    elif design.calibration:
        variance = "calibrated"
    else:
        variance = "linearization"
    steps = list(weighting)
    if not steps and design.calibration:
        steps = [f"calibration step {i + 1}" for i in range(len(design.calibration))]
    return Methodology(
        strata=design.n_strata,
        psus=design.n_psu,
        households=int(design.n),
        persons=persons,
        response_rate=response_rate,
        population=float(np.sum(design.weights)),
        df=int(design.df),
        variance=variance,
        replicate_method=rep.type if rep is not None else None,
        replicates=rep.n_replicates if rep is not None else None,
        weighting=tuple(steps),
    )
