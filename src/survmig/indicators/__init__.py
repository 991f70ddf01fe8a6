"""Migration indicators: the catalogue (as data), bound to the data through concepts.

Public API::

    load_catalogue(path=None) -> Catalogue        # the bundled catalogue.yaml, checked
    compute(dataset, design, indicators="all", by=(), rates=None, level=0.95,
            parameters=None, design_data=None, levels=None) -> IndicatorResults
    level_map(dataset) -> {concept level: table}  # how tables were matched to levels
    normalize_rates(rates) -> {currency: rate}

``IndicatorResults.table`` is tidy (indicator, statistic, category, category_label, <by…>, estimate,
se, ci_low, ci_high, cv, deff, n, weighted_n, df); ``.info[id]`` holds each indicator's definition,
standard, universe, reference period and the columns it used; ``.not_computable[id]`` the reason.
Publication outputs are in :mod:`survmig.report`.
"""

from survmig.indicators.catalogue import Catalogue, Definition, Indicator, load_catalogue
from survmig.indicators.compute import (
    IndicatorInfo,
    IndicatorResults,
    compute,
    level_map,
    normalize_rates,
)
from survmig.indicators.hook import estimate_indicators

__all__ = [
    "Catalogue",
    "Definition",
    "Indicator",
    "IndicatorInfo",
    "IndicatorResults",
    "compute",
    "estimate_indicators",
    "level_map",
    "load_catalogue",
    "normalize_rates",
]
