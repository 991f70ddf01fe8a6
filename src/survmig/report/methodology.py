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
    #: the kind of each weighting step (base, nonresponse, poststratify, rake, calibrate, trim):
    #: a report in another language than English names the steps by their kind, in its language
    weighting_kinds: tuple[str, ...] = ()


#: the weighting step behind each calibration record of a design
_KIND_OF_RECORD = {"PostStratification": "poststratify", "Raking": "rake"}


def from_design(
    design: Any,
    *,
    persons: int | None = None,
    response_rate: float | None = None,
    weighting: Sequence[Any] = (),
    two_phase: bool = False,
) -> Methodology:
    """A methodology note from a :class:`~survmig.design.SurveyDesign` (household rows).

    ``weighting``: the steps' names, or their records (anything with ``name`` and ``kind``, e.g.
    :attr:`survmig.weighting.WeightingResult.reports`), whose kinds name them in other languages."""
    rep = design.replicate_weights if design.is_replicate else None
    if two_phase or getattr(design, "twophase", None) is not None:
        variance = "twophase"
    elif rep is not None:
        variance = "replicate"
    elif design.calibration:
        variance = "calibrated"
    else:
        variance = "linearization"
    steps = [getattr(w, "name", w) for w in weighting]
    kinds = [getattr(w, "kind", None) for w in weighting]
    if not steps and design.calibration:
        steps = [f"calibration step {i + 1}" for i in range(len(design.calibration))]
        kinds = [_KIND_OF_RECORD.get(type(r).__name__, "calibrate") for r in design.calibration]
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
        weighting=tuple(str(x) for x in steps),
        weighting_kinds=tuple(kinds) if all(kinds) else (),
    )


#: weighting step kinds with a name in texts.yaml (``step_<kind>``)
STEP_KINDS = ("base", "nonresponse", "poststratify", "rake", "calibrate", "trim")


def step_names(m: Methodology, tx: Any) -> list[str]:
    """The weighting steps as the report names them: the user's names in English, the steps'
    kinds in the report's language otherwise (the names are the weighting spec's, in English)."""
    kinds = m.weighting_kinds
    if tx.lang == "en" or len(kinds) != len(m.weighting):
        return list(m.weighting)
    return [tx.t(f"step_{k}") if k in STEP_KINDS else tx.t("step_other") for k in kinds]
