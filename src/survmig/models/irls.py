"""Weighted GLM fitting by IRLS for several weight columns at once (full sample and replicates).

One iteration solves ``(X' W_k X) b_k = X' W_k z_k`` for every weight column ``k``; the cross
products are one matrix product per block of rows (``wk' [x_i x_i']``), so replicate refits are array
operations, not a loop over replicates. Families: gaussian (identity link), binomial and
quasibinomial (logit), poisson and quasipoisson (log) — the canonical links, as R's defaults.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from survmig.errors import SurvmigError

# (errors about families; fitting problems are reported by the caller from ``Fit.converged``)
FAMILIES = ("gaussian", "binomial", "quasibinomial", "poisson", "quasipoisson")
BLOCK = 65536


@dataclasses.dataclass(frozen=True)
class Family:
    """Link and variance of a GLM family (canonical link)."""

    name: str

    @property
    def kind(self) -> str:
        return {"quasibinomial": "binomial", "quasipoisson": "poisson"}.get(self.name, self.name)

    def start(self, y: np.ndarray) -> np.ndarray:
        if self.kind == "binomial":
            return np.log((y + 0.5) / (1.5 - y))  # logit((y + 0.5) / 2)
        if self.kind == "poisson":
            return np.log(y + 0.1)
        return y.copy()

    def mean(self, eta: np.ndarray) -> np.ndarray:
        if self.kind == "binomial":
            return 0.5 * (1.0 + np.tanh(0.5 * eta))  # the logistic, without overflow
        if self.kind == "poisson":
            return np.exp(np.minimum(eta, 700.0))
        return eta

    def dmu_deta(self, mu: np.ndarray) -> np.ndarray:
        if self.kind == "binomial":
            return np.maximum(mu * (1.0 - mu), 1e-300)
        if self.kind == "poisson":
            return np.maximum(mu, 1e-300)
        return np.ones_like(mu)

    def variance(self, mu: np.ndarray) -> np.ndarray:
        # canonical links: V(mu) = dmu/deta
        return self.dmu_deta(mu)


def family(name: str) -> Family:
    if name not in FAMILIES:
        raise SurvmigError(
            f"unknown family {name!r}",
            where="--family",
            hint=f"choose one of {', '.join(FAMILIES)}",
        )
    return Family(name)


@dataclasses.dataclass
class Fit:
    beta: np.ndarray  # (K, p)
    converged: np.ndarray  # (K,)
    iterations: int
    mu: np.ndarray  # (n,) fitted means of the first weight column
    xtwx: np.ndarray  # (p, p) of the first column at the solution


def _cross(X: np.ndarray, wk: np.ndarray) -> np.ndarray:
    """``X' diag(wk[:, k]) X`` for every column k: (K, p, p)."""
    n, p = X.shape
    if wk.shape[1] == 1:  # the full sample: one BLAS product
        return ((X * wk).T @ X)[None, :, :]
    out = np.zeros((wk.shape[1], p * p))
    for start in range(0, n, BLOCK):  # row blocks: memory stays O(BLOCK · p²)
        xb = X[start : start + BLOCK]
        outer = (xb[:, :, None] * xb[:, None, :]).reshape(len(xb), p * p)
        out += wk[start : start + BLOCK].T @ outer
    return out.reshape(-1, p, p)


def irls(
    X: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray,
    fam: Family,
    *,
    start: np.ndarray | None = None,
    tol: float = 1e-12,
    maxit: int = 100,
) -> Fit:
    """Fit the GLM for each column of ``weights`` (n × K). Convergence: every coefficient's change
    below ``tol · (|b| + 1e-3)`` (R's deviance rule at 1e-8 stops earlier; this is tighter)."""
    W = weights if weights.ndim == 2 else weights[:, None]
    K = W.shape[1]
    p = X.shape[1]
    if start is None:
        eta = np.repeat(fam.start(y)[:, None], K, axis=1)
        beta = np.zeros((K, p))
    else:
        beta = np.broadcast_to(start, (K, p)).copy()
        eta = X @ beta.T
    if K == 1:  # the full sample: one weight column, 1-D arrays, no replicate cross products
        return _irls_one(X, y, W[:, 0], fam, eta[:, 0], beta[0], tol, maxit)
    converged = np.zeros(K, dtype=bool)
    it = 0
    while it < maxit:
        it += 1
        mu = fam.mean(eta)
        d = fam.dmu_deta(mu)  # canonical link: V(mu) = dmu/deta, so the working weight is W d
        z = eta + (y[:, None] - mu) / d
        wk = W * d
        A = _cross(X, wk)
        b = X.T @ (wk * z)  # (p, K)
        try:
            new = np.linalg.solve(A, b.T[:, :, None])[:, :, 0]
        except np.linalg.LinAlgError:  # weights vanish (separation) or a category empties
            converged = np.zeros(K, dtype=bool)
            break
        step = np.abs(new - beta)
        beta = new
        eta = X @ beta.T
        converged = np.all(step <= tol * (np.abs(beta) + 1e-3), axis=1)
        if converged.all() or not np.all(np.isfinite(beta)):
            break
    mu = fam.mean(eta[:, 0])
    d = fam.dmu_deta(mu)
    xtwx = _cross(X, W[:, :1] * d[:, None])[0]
    return Fit(beta, converged, it, mu, xtwx)


#: rows per block of the one-column IRLS pass (the block's temporaries stay in cache)
ROW_BLOCK = 16384


def _normal_pass(
    X: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    fam: Family,
    beta: np.ndarray | None,
    eta0: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One pass over the rows in cache-sized blocks: ``η = Xβ`` (or ``eta0``), μ, the working
    weights ``W = w μ'`` and response ``z``; returns the augmented cross-product
    ``[√W X, √W z]' [√W X, √W z]`` ((p+1) × (p+1): ``X'WX`` and ``X'Wz``) and η."""
    n, p = X.shape
    acc = np.zeros((p + 1, p + 1))
    buf = np.empty((min(n, ROW_BLOCK), p + 1))
    eta = np.empty(n) if eta0 is None else eta0
    for start in range(0, n, ROW_BLOCK):  # blocks of rows, not a loop over rows
        sl = slice(start, start + ROW_BLOCK)
        xb = X[sl]
        bb = buf[: len(xb)]
        if eta0 is None:
            np.dot(xb, beta, out=eta[sl])
        e = eta[sl]
        mu = fam.mean(e)
        d = fam.dmu_deta(mu)
        sw = np.sqrt(w[sl] * d)
        np.multiply(xb, sw[:, None], out=bb[:, :p])
        bb[:, p] = e * sw + (y[sl] - mu) * (sw / d)  # √W z, z = η + (y - μ) / μ'
        acc += bb.T @ bb
    return acc, eta


def _irls_one(
    X: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    fam: Family,
    eta: np.ndarray,
    beta: np.ndarray,
    tol: float,
    maxit: int,
) -> Fit:
    """:func:`irls` for one weight column: each iteration solves the p × p normal equations
    ``(X' W X) b = X' W z`` (Cholesky; LU if not positive definite) from one blocked pass.

    The canonical links make IRLS Newton's method, which converges quadratically: besides the
    step rule of :func:`irls`, it stops when the next step predicted from the last two
    (``C · step²``, ``C = step / previous²``) is below the tolerance — the iteration that would
    only confirm convergence is not run."""
    p = X.shape[1]
    converged = False
    it = 0
    previous = np.inf
    eta = np.array(eta, dtype=float)
    acc, eta = _normal_pass(X, y, w, fam, None, eta)
    while it < maxit:
        it += 1
        try:
            new = _solve_spd(acc[:p, :p], acc[:p, p])
        except np.linalg.LinAlgError:  # weights vanish (separation) or a category empties
            converged = False
            break
        rel = float(np.max(np.abs(new - beta) / (np.abs(new) + 1e-3)))  # the relative step
        beta = new
        if not np.all(np.isfinite(beta)):
            break
        acc, eta = _normal_pass(X, y, w, fam, beta)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            predicted = rel * rel * (rel / previous**2)  # C · step², C from the last two steps
        converged = rel <= tol or (rel < 1e-6 and bool(predicted <= tol))
        if converged:
            break
        previous = rel
    mu = fam.mean(eta)
    return Fit(beta[None, :], np.array([converged]), it, mu, acc[:p, :p].copy())


def _solve_spd(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    from scipy.linalg import LinAlgError as ScipyLinAlgError
    from scipy.linalg import cho_factor, cho_solve

    try:
        return cho_solve(cho_factor(A), b)
    except ScipyLinAlgError:
        return np.linalg.solve(A, b)
