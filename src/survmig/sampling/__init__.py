"""Sampling rare populations: sample sizes, allocation, selection, adaptive and network estimators,
a synthetic population and a design simulator (the trainer's toolkit).

Every calculator returns a :class:`Result` with ``.formula`` and ``.assumptions``; every selection
returns inclusion probabilities per stage (``prob_stage1``, ``prob_stage2``, ``prob_phase2``), the
overall ``prob`` and ``weight``. The simulator lives in :mod:`survmig.sampling.simulate` (its
``simulate`` function and design classes).
"""

from survmig.sampling.adaptive import acs_estimates, acs_ratio, networks, summarise_enumeration
from survmig.sampling.allocation import (
    allocate,
    compromise,
    neyman,
    optimal,
    power,
    proportional,
    rare_domain,
    two_phase_optimum,
)
from survmig.sampling.network import multiplicity_total, weight_share, weight_share_total
from survmig.sampling.population import ea_frame, synthetic_population
from survmig.sampling.results import Result
from survmig.sampling.selection import (
    select_households,
    select_pps,
    select_srs,
    select_systematic,
    select_two_phase,
    select_two_stage,
)
from survmig.sampling.size import (
    design_effect,
    optimal_cluster_take,
    sample_size_mean,
    sample_size_proportion,
    screening,
    weighting_effect,
)

__all__ = [
    "Result",
    "acs_estimates",
    "acs_ratio",
    "allocate",
    "compromise",
    "design_effect",
    "ea_frame",
    "multiplicity_total",
    "networks",
    "neyman",
    "optimal",
    "optimal_cluster_take",
    "power",
    "proportional",
    "rare_domain",
    "sample_size_mean",
    "sample_size_proportion",
    "screening",
    "select_households",
    "select_pps",
    "select_srs",
    "select_systematic",
    "select_two_phase",
    "select_two_stage",
    "summarise_enumeration",
    "synthetic_population",
    "two_phase_optimum",
    "weight_share",
    "weight_share_total",
    "weighting_effect",
]
