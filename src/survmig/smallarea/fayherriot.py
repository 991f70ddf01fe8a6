"""The Fay-Herriot area-level model: fitting (REML, ML), EBLUP, shrinkage and analytic MSE.

The model (Fay and Herriot 1979; Rao and Molina 2015, *Small Area Estimation*, 2nd ed., ch. 6):
``y_i = x_i'β + v_i + e_i`` with ``v_i ~ N(0, σ²_v)`` the area effect and ``e_i ~ N(0, ψ_i)`` the
sampling error of the direct estimate ``y_i`` whose design variance ``ψ_i`` is treated as known.
``V = diag(σ²_v + ψ_i)`` is diagonal, so every quantity reduces to sums over areas and ``p × p``
matrices; the fit is written for a *batch* of ``B`` data vectors at once (columns of ``y``), which
the parametric bootstrap uses to refit all its replicates together (no loop over replicates).

``σ²_v`` is found by Fisher scoring on the (restricted) likelihood, started from the Prasad-Rao
moment estimate and kept at the boundary 0 when the likelihood has its maximum there (then the
EBLUP is the synthetic estimate ``x_i'β̂``).

MSE (Rao and Molina 2015, eqs. 6.2.19-6.2.25): ``g1 = γ_i ψ_i``, ``g2 = (1-γ_i)² x_i'(X'V⁻¹X)⁻¹x_i``,
``g3 = (1-γ_i)² V̄(σ̂²_v) / (σ²_v + ψ_i)`` with ``V̄ = 2 / Σ(σ²_v + ψ_i)⁻²``; REML:
``g1 + g2 + 2 g3`` (Prasad-Rao form, Datta and Lahiri 2000); ML adds the bias of σ̂²_v:
``- b_ML (1-γ_i)²`` with ``b_ML = -tr[(X'V⁻¹X)⁻¹ X'V⁻²X] / Σ(σ²_v + ψ_i)⁻²`` (Datta and Lahiri 2000).
An area without a sample gets the synthetic estimate with MSE ``σ̂²_v + x_i'(X'V⁻¹X)⁻¹x_i``
(Rao and Molina 2015, sec. 6.2.2).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from survmig.errors import SurvmigError

METHODS = ("REML", "ML")


@dataclasses.dataclass
class BatchFit:
    """Fitted parameters of ``B`` data vectors: ``sigma2`` (B,), ``beta`` (B, p),
    ``a_inv`` = (X'V⁻¹X)⁻¹ (B, p, p), ``iterations`` and ``converged`` (B,)."""

    sigma2: np.ndarray
    beta: np.ndarray
    a_inv: np.ndarray
    iterations: np.ndarray
    converged: np.ndarray


def _gls(
    y: np.ndarray, psi: np.ndarray, x: np.ndarray, sigma2: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Weights ``w = 1/(σ²+ψ)`` (m, B), ``A⁻¹`` (B, p, p), ``β̂`` (B, p), residuals (m, B)."""
    w = 1.0 / (sigma2[None, :] + psi)
    a_inv = np.linalg.inv(_xwx(x, w))
    beta = np.einsum("bpq,bq->bp", a_inv, (w * y).T @ x)
    resid = y - x @ beta.T
    return w, a_inv, beta, resid


def _xwx(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``X' diag(w_b) X`` for every column ``b`` of ``w`` (B, p, p)."""
    return np.swapaxes(x[None, :, :] * w.T[:, :, None], 1, 2) @ x


def _trace_ainv_xwx(a_inv: np.ndarray, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``tr(A⁻¹ X' diag(w) X)`` per column of ``w`` (B,)."""
    return np.einsum("bpq,bqp->b", a_inv, _xwx(x, w))


def _score_info(
    method: str, w: np.ndarray, a_inv: np.ndarray, resid: np.ndarray, x: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Score and Fisher information of σ²_v (B,) for the ML or the REML likelihood."""
    w2 = w * w
    quad = np.sum(w2 * resid * resid, axis=0)  # y'PPy for REML (P y = V⁻¹ r); r'V⁻²r for ML
    if method == "ML":
        return 0.5 * (quad - w.sum(axis=0)), 0.5 * w2.sum(axis=0)
    t1 = _trace_ainv_xwx(a_inv, x, w2)
    trace_p = w.sum(axis=0) - t1
    # tr(P²) = Σw² - 2 tr(A⁻¹X'W³X) + tr((A⁻¹X'W²X)²)
    m2 = a_inv @ _xwx(x, w2)
    trace_pp = (
        w2.sum(axis=0) - 2 * _trace_ainv_xwx(a_inv, x, w2 * w) + np.einsum("bpq,bqp->b", m2, m2)
    )
    return 0.5 * (quad - trace_p), 0.5 * trace_pp


def moment_start(y: np.ndarray, psi: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Prasad-Rao moment estimate of σ²_v (B,), truncated at zero (the Fisher scoring start)."""
    m, p = x.shape
    q, _ = np.linalg.qr(x)
    h = np.sum(q * q, axis=1)  # leverages of OLS
    resid = y - q @ (q.T @ y)
    psi2 = np.broadcast_to(psi, y.shape)
    return np.maximum(0.0, (np.sum(resid**2, axis=0) - ((1 - h)[:, None] * psi2).sum(0)) / (m - p))


def fit_batch(
    y: np.ndarray,
    psi: np.ndarray,
    x: np.ndarray,
    method: str = "REML",
    *,
    tol: float = 1e-10,
    maxiter: int = 200,
) -> BatchFit:
    """Fit σ²_v and β for each column of ``y`` (m, B); ``psi`` is (m, 1) or (m, B)."""
    if method not in METHODS:
        raise SurvmigError(f"unknown fitting method {method!r}", where="method", hint="REML or ML")
    scale = float(np.mean(psi))
    sigma2 = moment_start(y, psi, x)
    sigma2 = np.where(sigma2 > 0, sigma2, 0.1 * scale)
    n_batch = y.shape[1]
    done = np.zeros(n_batch, bool)
    iterations = np.zeros(n_batch, int)
    for _ in range(maxiter):
        w, a_inv, _, resid = _gls(y, psi, x, sigma2)
        score, info = _score_info(method, w, a_inv, resid, x)
        at_zero = (sigma2 <= 0) & (score <= 0)  # the maximum is on the boundary
        new = np.maximum(sigma2 + score / info, 0.0)
        step = np.abs(new - sigma2)
        new = np.where(done | at_zero, sigma2, new)
        iterations = iterations + (~done)
        done = done | at_zero | (step <= tol * (scale + sigma2))
        sigma2 = new
        if done.all():
            break
    _, a_inv, beta, _ = _gls(y, psi, x, sigma2)
    return BatchFit(sigma2, beta, a_inv, iterations, done)


def eblup_batch(
    fit: BatchFit, y: np.ndarray, psi: np.ndarray, x_all: np.ndarray, sampled: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """EBLUP (areas, B) for every area of ``x_all`` (synthetic where not ``sampled``), the shrinkage
    ``γ`` and the model's conditional variance of the area value given the data (``γψ`` for sampled
    areas, ``σ²_v`` for the others: what a back-transformation's bias correction needs)."""
    synthetic = x_all @ fit.beta.T
    psi_s = np.broadcast_to(psi, y.shape)
    gamma_s = fit.sigma2[None, :] / (fit.sigma2[None, :] + psi_s)
    estimate = synthetic.copy()
    estimate[sampled] = gamma_s * y + (1 - gamma_s) * synthetic[sampled]
    gamma = np.zeros_like(synthetic)
    gamma[sampled] = gamma_s
    cond = np.broadcast_to(fit.sigma2[None, :], synthetic.shape).copy()
    cond[sampled] = gamma_s * psi_s
    return estimate, gamma, cond


@dataclasses.dataclass
class Prediction:
    """EBLUP, shrinkage and the MSE terms of one fit, for every area of ``x_all``."""

    estimate: np.ndarray
    synthetic: np.ndarray
    gamma: np.ndarray  # shrinkage weight on the direct estimate (0 for areas without a sample)
    g1: np.ndarray  # also the conditional variance of the area value given the data
    g2: np.ndarray
    g3: np.ndarray
    bias_term: np.ndarray  # the ML bias correction subtracted from the MSE (0 for REML)
    mse: np.ndarray


def predict(
    fit: BatchFit,
    y: np.ndarray,
    psi: np.ndarray,
    x: np.ndarray,
    x_all: np.ndarray,
    sampled: np.ndarray,
    method: str,
) -> Prediction:
    """EBLUP for sampled areas (``sampled`` marks rows of ``x_all``, in the order of ``y``) and the
    synthetic estimate for the others, with the analytic MSE (Prasad-Rao / Datta-Lahiri); one
    data vector (``y`` is (m, 1))."""
    estimate, gamma, cond = eblup_batch(fit, y, psi, x_all, sampled)
    s2 = float(fit.sigma2[0])
    a_inv = fit.a_inv[0]
    psi_s = np.broadcast_to(psi, y.shape)[:, 0]
    w = 1.0 / (s2 + psi_s)
    gamma_s = gamma[sampled, 0]
    g2_all = np.einsum("ip,pq,iq->i", x_all, a_inv, x_all)
    g1 = cond[:, 0]
    g2 = g2_all.copy()
    g2[sampled] = (1 - gamma_s) ** 2 * g2_all[sampled]
    g3 = np.zeros(len(x_all))
    g3[sampled] = (1 - gamma_s) ** 2 * (2.0 / np.sum(w * w)) * w
    bias = np.zeros(len(x_all))
    if method == "ML":
        b_ml = -float(np.einsum("pq,iq,i,ip->", a_inv, x, w * w, x)) / np.sum(w * w)
        bias[sampled] = b_ml * (1 - gamma_s) ** 2
    mse = g1 + g2 + 2 * g3 - bias
    return Prediction(
        estimate[:, 0], (x_all @ fit.beta.T)[:, 0], gamma[:, 0], g1, g2, g3, bias, mse
    )
