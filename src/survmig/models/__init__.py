"""Design-based models: :func:`svyglm` (gaussian, binomial/quasibinomial, poisson/quasipoisson GLMs
with linearization or replicate variances) and Wald tests of terms (:meth:`ModelResult.wald_test`)."""

from survmig.models.glm import ModelResult, svyglm
from survmig.models.irls import FAMILIES

__all__ = ["FAMILIES", "ModelResult", "svyglm"]
