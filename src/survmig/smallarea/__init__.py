"""Small-area estimation: Fay-Herriot area-level models on the engine's direct estimates.

Public API::

    small_area(dataset, design, indicator, area, covariates, ...) -> SmallAreaResult
    fay_herriot(direct, covariates, area=..., x=[...], ...) -> SmallAreaResult   # table level
    write_small_area(result, area, folder, truth=None)  # estimates, diagnostics, charts, summary

``SmallAreaResult.table`` has one row per area: direct estimate, SE, CV, sample size, shrinkage,
synthetic and model (EBLUP) estimates with MSE, CV and interval, standardised residual and, with a
benchmark, the benchmarked estimate. Methods and formulas: :mod:`survmig.smallarea.fayherriot`,
:mod:`survmig.smallarea.scales`.
"""

from survmig.smallarea.direct import read_covariates, small_area
from survmig.smallarea.model import SmallAreaResult, fay_herriot
from survmig.smallarea.output import write_small_area

__all__ = ["SmallAreaResult", "fay_herriot", "read_covariates", "small_area", "write_small_area"]
