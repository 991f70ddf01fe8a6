"""Joint covariance of all estimates of one call, across domains (R ``svyby(covmat=TRUE)``).

The engine's variances are the diagonal of a quadratic form in the units' linearized scores (or
in the replicate estimates); the covariance between two domains' estimates is the same form on
both score vectors. :func:`covariance` takes what the engine kept (its ``joint``) and returns the
M × M matrix, M = outputs × domains in the order of the estimate table (outputs major, domains
minor, as R's ``svyby`` orders ``vcov``).

The lonely-PSU rules act as in :func:`survmig.estimation.variance.stage_variance`; ``average``
rescales each enclosing unit by its usable strata over all domains at once, and the domain rule
(``lonely_psu_domain``) is not applied to covariances — the diagonal then differs from the
reported SEs, which :func:`covariance` checks and reports.
"""

from __future__ import annotations

import numpy as np

from survmig.design.core import Stage, SurveyDesign
from survmig.design.twophase import twophase_quadratic
from survmig.errors import SurvmigError
from survmig.estimation.variance import SELF_REPRESENTING, Cells, group_sum


def stage_covariance(
    stage: Stage, cells: Cells, n_domains: int, design: SurveyDesign
) -> np.ndarray:
    U = stage.n_units_total
    P = cells.scores.shape[1]
    D = n_domains
    dense = np.zeros((U, D, P))
    dense[cells.unit, cells.domain] = cells.scores
    S = dense.transpose(0, 2, 1).reshape(U, P * D)  # output-major columns: p * D + d
    h = stage.unit_stratum
    n_h = stage.n_units.astype(float)
    mean = group_sum(h, stage.n_strata, S) / n_h[:, None]
    f = stage.fpc_factor
    selfrep = f < SELF_REPRESENTING
    lonely = (n_h == 1) & ~selfrep
    rule = design.lonely_psu
    centred = S - mean[h]
    weight = stage.scale * stage.multiplier
    weight = np.where(selfrep, 0.0, weight)
    if lonely.any():
        if rule == "adjust":
            centred = np.where(lonely[h][:, None], S, centred)
        else:  # remove, certainty: no contribution; average: rescaled below
            weight = np.where(lonely, 0.0, weight)
        if rule == "average":
            parent = stage.parent
            n_parent = int(parent.max()) + 1
            nstrat = np.bincount(parent, minlength=n_parent).astype(float)
            nok = np.bincount(parent, weights=(~lonely).astype(float), minlength=n_parent)
            with np.errstate(invalid="ignore", divide="ignore"):
                factor = np.where(nok > 0, nstrat / nok, 0.0)
            weight = weight * factor[parent]
    wc = centred * weight[h][:, None]
    return wc.T @ centred


def replicate_covariance(
    theta: np.ndarray, theta_r: np.ndarray, design: SurveyDesign
) -> np.ndarray:
    """R's ``svrVar`` as a matrix: ``scale Σ_r rscales_r (θ_r - c)(θ_r - c)'`` for θ (M,) and
    replicate estimates θ_r (R, M); ``c`` = θ with ``mse``, else the mean of the replicates (with
    rscales > 0). Non-finite replicate values are left out of their column."""
    rep = design.replicate_weights
    ok = np.isfinite(theta_r)
    rs = rep.rscales[:, None]
    if rep.mse:
        centre = theta
    else:
        use = ok & (rs > 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            centre = np.where(use, theta_r, 0.0).sum(axis=0) / use.sum(axis=0)
    dev = np.where(ok, theta_r - centre, 0.0)
    return rep.scale * (dev * rs).T @ dev


def covariance(engine: object, reported_var: np.ndarray | None = None) -> np.ndarray:
    """The M × M covariance of the estimates the engine produced (see the module docstring).

    ``reported_var`` (M,): the engine's variances, checked against the diagonal.
    """
    joint = getattr(engine, "joint", None)
    if joint is None:
        raise SurvmigError(
            "no joint covariance for this request (quantiles only?)", where="covariance"
        )
    req = engine.req  # type: ignore[attr-defined]
    design = req.design
    if joint[0] == "twophase":
        from survmig.estimation.engine import dense_unit_scores

        _, tp, cells, resid = joint
        D = req.n_domains
        P = cells.scores.shape[1]
        S = dense_unit_scores(tp, cells, D, P, output_major=True)  # columns p * D + d
        cov = twophase_quadratic(tp, S, full=True)
        if resid is not None:  # phase-2 calibration: its residuals in the phase-2 term
            R2 = dense_unit_scores(tp, resid, D, P, output_major=True)
            cov = (
                cov - twophase_quadratic(tp, S, True, True) + twophase_quadratic(tp, R2, True, True)
            )
    elif joint[0] == "linearization":
        _, stages, cells = joint
        cov = sum(
            stage_covariance(st, c, req.n_domains, design)
            for st, c in zip(stages, cells, strict=True)
        )
    else:
        _, theta, theta_r = joint
        R = theta_r.shape[0]
        cov = replicate_covariance(
            theta.T.reshape(-1), theta_r.transpose(0, 2, 1).reshape(R, -1), design
        )
    cov = np.asarray(cov, dtype=float)
    if reported_var is not None:
        diag = np.diag(cov)
        ok = np.isfinite(reported_var)
        if not np.allclose(
            diag[ok],
            reported_var[ok],
            rtol=1e-9,
            atol=1e-12 * np.nanmax(np.abs(reported_var[ok]), initial=1.0),
        ):
            raise SurvmigError(
                "the joint covariance does not reproduce the reported variances (the lonely-PSU "
                "rule inside domains or 'average' with domains)",
                where="covariance",
                hint="use lonely_psu adjust, remove or certainty without lonely_psu_domain for comparisons",
            )
    return cov
