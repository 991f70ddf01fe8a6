"""Unequal-probability designs: joint inclusion probabilities, conditional Poisson, Poisson and PPS
with replacement, and the Horvitz-Thompson / Sen-Yates-Grundy variances they make possible.

- **PPS systematic** (the selection ``select_pps`` makes) has exact joint probabilities for a given
  frame order, but some are zero (two units closer than an interval apart in the order are never
  selected together), so no unbiased variance estimator exists — the reason a trainer shows it.
- **Conditional Poisson** (maximum entropy; Hájek 1964, Chen, Dempster & Liu 1994) is fixed-size with
  every joint probability positive and computable exactly, so HT and SYG variances are unbiased.
- **Poisson** sampling (random size, π_kl = π_k π_l) and **PPS with replacement** (multinomial draws,
  Hansen-Hurwitz estimator) complete the set of textbook designs.

Joint probabilities are ``N × N`` matrices: meant for PSU frames (hundreds to a few thousand units).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from survmig.arrays import positions_in_groups
from survmig.errors import SurvmigError
from survmig.sampling.results import Result

__all__ = [
    "cps_inclusion",
    "cps_joint_inclusion",
    "cps_working_probabilities",
    "ht_variance",
    "joint_inclusion",
    "select_cps",
    "select_poisson",
    "select_pps_wr",
    "select_unequal",
    "systematic_joint_inclusion",
]

_TILLE = "Tillé (2006) Sampling Algorithms, §5.6 and §7.3; R package sampling"
_MAX_UNITS = 20_000


def _check_pik(pik: np.ndarray | pd.Series, *, fixed_size: bool = True) -> tuple[np.ndarray, int]:
    p = np.asarray(pik, dtype=float).ravel()
    if p.size == 0 or not np.all(np.isfinite(p)) or np.any((p < 0) | (p > 1 + 1e-12)):
        bad = (
            int(np.flatnonzero(~(np.isfinite(p) & (p >= 0) & (p <= 1 + 1e-12)))[0]) if p.size else 0
        )
        raise SurvmigError(
            f"inclusion probabilities must be in [0, 1], got {p[bad] if p.size else 'none'} at unit {bad + 1}",
            where="prob",
            hint="compute them with select --method pps (column prob_stage1) or n·x/X",
        )
    if p.size > _MAX_UNITS:
        raise SurvmigError(
            f"{p.size} units: joint probabilities form an N × N matrix, meant for PSU frames",
            where="prob",
            hint=f"use at most {_MAX_UNITS} units per stratum",
        )
    n = float(p.sum())
    if fixed_size and abs(n - round(n)) > 1e-6:
        raise SurvmigError(
            f"the inclusion probabilities sum to {n:.6g}, not a whole sample size",
            where="prob",
            hint="a fixed-size design needs Σπ = n",
        )
    return np.clip(p, 0.0, 1.0), round(n)


def systematic_joint_inclusion(pik: np.ndarray | pd.Series) -> np.ndarray:
    """Exact joint inclusion probabilities of PPS systematic sampling in the given (frame) order.

    The random start ``u`` ~ U(0, 1) picks unit k when an integer lies in ``(V_{k−1} − u, V_k − u]``;
    the sample is constant between consecutive sorted fractional parts of the cumulated ``V_k``, so
    π_kl is the total length of the pieces where both k and l are picked (R ``UPsystematicpi2``).
    Certainty (π = 1) and zero units enter as ``π_k π_l``.
    """
    p, _ = _check_pik(pik)
    inner = (p > 0) & (p < 1)
    q = p[inner]
    joint = np.outer(p, p)
    if q.size == 0:
        return joint
    cum = np.cumsum(q)
    frac = np.mod(cum, 1.0)
    frac[-1] = 0.0  # the total is a whole number
    cuts = np.concatenate([np.sort(frac), [1.0]])
    centre = (cuts[:-1] + cuts[1:]) / 2
    length = np.diff(cuts)
    # a[j, c]: the fractional position of boundary j for start `centre[c]`; unit k is picked when
    # the position wraps between boundary k and k + 1
    a = np.mod(np.concatenate([[0.0], cum])[:, None] - centre[None, :], 1.0)
    picked = (a[:-1] > a[1:]).astype(float)  # (units, pieces)
    joint[np.ix_(inner, inner)] = (picked * length) @ picked.T
    return joint


def cps_inclusion(w: np.ndarray, n: int) -> np.ndarray:
    """First-order inclusion probabilities of conditional Poisson sampling with odds ``w``.

    ``π_k = w_k e_{n−1}(w without k)/e_n(w)`` with ``e_j`` the elementary symmetric polynomials,
    computed from prefix and suffix polynomials (one pass over units, vectorized over j: the
    recursion itself is sequential).
    """
    w = np.asarray(w, dtype=float)
    w = w / np.exp(np.mean(np.log(w)))  # scale-free: keeps the polynomials in range
    big_n = w.size
    prefix = np.zeros((big_n + 1, n + 1))
    suffix = np.zeros((big_n + 2, n + 1))
    prefix[0, 0] = suffix[big_n + 1, 0] = 1.0
    for k in range(big_n):
        prefix[k + 1] = prefix[k]
        prefix[k + 1, 1:] += w[k] * prefix[k, :-1]
    for k in range(big_n, 0, -1):
        suffix[k] = suffix[k + 1]
        suffix[k, 1:] += w[k - 1] * suffix[k + 1, :-1]
    total = prefix[big_n, n]
    if not np.isfinite(total) or total <= 0:
        raise SurvmigError(
            "conditional Poisson: the frame is too large for exact probabilities", where="prob"
        )
    # e_{n-1}(w_{-k}) = Σ_j prefix[k, j] · suffix[k+2, n-1-j]
    without = np.einsum("kj,kj->k", prefix[:big_n, :n], suffix[2 : big_n + 2, n - 1 :: -1])
    return w * without / total


def cps_working_probabilities(
    pik: np.ndarray, *, tol: float = 1e-12, max_iter: int = 500
) -> np.ndarray:
    """The Poisson probabilities π̃ whose conditional-Poisson design has inclusion probabilities π.

    Fixed point ``π̃ ← π̃ + π − π(π̃)`` (Deville's algorithm, R ``UPMEpiktildefrompik``), run to
    ``tol`` rather than R's 1e-6 so that joint probabilities are exact to rounding.
    """
    p = np.asarray(pik, dtype=float)
    n = round(p.sum())
    tilde = p.copy()
    for _ in range(max_iter):
        current = cps_inclusion(tilde / (1 - tilde), n)
        step = p - current
        tilde = np.clip(tilde + step, 1e-15, 1 - 1e-15)
        if np.abs(step).sum() < tol:
            return tilde
    raise SurvmigError(
        "conditional Poisson: the working probabilities did not converge", where="prob"
    )


def cps_joint_inclusion(pik: np.ndarray | pd.Series) -> np.ndarray:
    """Exact joint inclusion probabilities of conditional Poisson (maximum-entropy) sampling.

    ``π_kl = (π_k w_l − π_l w_k)/(w_l − w_k)`` for π_k ≠ π_l (Chen, Dempster & Liu 1994), ties from
    ``Σ_l π_kl = n π_k`` (R ``UPmaxentropypi2``). All are positive: HT and SYG variances are unbiased.
    """
    p, n = _check_pik(pik)
    joint = np.outer(p, p)
    inner = (p > 0) & (p < 1)
    q = p[inner]
    certain = p >= 1
    joint[certain, :] = p[None, :]
    joint[:, certain] = p[:, None]
    if n - int(certain.sum()) < 2 or q.size == 0:
        np.fill_diagonal(joint, p)
        return joint
    tilde = cps_working_probabilities(q)
    w = tilde / (1 - tilde)
    with np.errstate(divide="ignore", invalid="ignore"):
        m = (q[:, None] * w[None, :] - q[None, :] * w[:, None]) / (w[None, :] - w[:, None])
    tie = ~np.isfinite(m) | np.isclose(q[:, None], q[None, :], rtol=0, atol=1e-14)
    np.fill_diagonal(tie, False)
    np.fill_diagonal(m, q)
    m = np.where(tie, 0.0, m)
    n_inner = n - int(certain.sum())
    fill = (n_inner * q - m.sum(axis=1)) / np.maximum(tie.sum(axis=1), 1)
    m = np.where(tie, fill[:, None], m)
    joint[np.ix_(inner, inner)] = m
    return joint


def joint_inclusion(pik: np.ndarray | pd.Series, design: str) -> np.ndarray:
    """Joint inclusion probabilities of ``systematic`` (PPS), ``cps`` or ``poisson`` sampling.

    PPS with replacement has none (a unit can be drawn twice): its variance is Hansen-Hurwitz's.
    """
    if design == "systematic":
        return systematic_joint_inclusion(pik)
    if design == "cps":
        return cps_joint_inclusion(pik)
    if design == "poisson":
        p, _ = _check_pik(pik, fixed_size=False)
        joint = np.outer(p, p)
        np.fill_diagonal(joint, p)
        return joint
    if design == "pps-wr":
        raise SurvmigError(
            "PPS with replacement has no joint inclusion probabilities (a unit can be drawn twice)",
            where="design",
            hint="its variance is the Hansen-Hurwitz one, from the draws; or choose cps",
        )
    raise SurvmigError(
        f"unknown design {design!r}", where="design", hint="systematic, cps or poisson"
    )


def ht_variance(y: np.ndarray, pik: np.ndarray, joint: np.ndarray, *, method: str = "syg") -> float:
    """Variance estimate of the Horvitz-Thompson total from a sample's ``y``, π_k and π_kl.

    ``syg`` (Sen-Yates-Grundy, fixed-size designs): ½ ΣΣ (π_kπ_l − π_kl)/π_kl (y_k/π_k − y_l/π_l)²;
    ``ht``: ΣΣ (π_kl − π_kπ_l)/π_kl · y_k y_l/(π_k π_l). Either needs every π_kl > 0.
    """
    y = np.asarray(y, dtype=float)
    p = np.asarray(pik, dtype=float)
    joint = np.asarray(joint, dtype=float)
    if joint.shape != (y.size, y.size) or p.shape != y.shape:
        raise SurvmigError(
            "y, π and the joint matrix must describe the same sampled units", where="joint"
        )
    if np.any(joint <= 0):
        raise SurvmigError(
            "some joint inclusion probabilities are zero: no unbiased variance exists for this design",
            where="joint",
            hint="PPS systematic has zero joint probabilities; use conditional Poisson (select --method cps)",
        )
    e = y / p
    outer = np.outer(p, p)
    if method == "syg":
        diff = (e[:, None] - e[None, :]) ** 2
        return float(0.5 * np.sum((outer - joint) / joint * diff))
    if method == "ht":
        return float(np.sum((joint - outer) / joint * np.outer(e, e)))
    raise SurvmigError(f"must be 'syg' or 'ht', got {method!r}", where="method")


def select_cps(
    pik: np.ndarray | pd.Series, rng: np.random.Generator, *, reps: int | None = None
) -> np.ndarray:
    """Conditional Poisson samples with inclusion probabilities π: indices of one sample, or with
    ``reps`` a boolean ``(reps, N)`` matrix of that many independent samples.

    Rejective sampling, which *is* the design's definition (Hájek 1964): Poisson samples with the
    working probabilities π̃ are drawn a batch at a time (one array operation) and those of size n
    are kept. Certainty units are always in.
    """
    p, n = _check_pik(pik)
    want = 1 if reps is None else int(reps)
    inner = np.flatnonzero((p > 0) & (p < 1))
    out = np.broadcast_to(p >= 1, (want, p.size)).copy()
    r = n - int((p >= 1).sum())
    if r > 0:
        tilde = cps_working_probabilities(p[inner])
        kept = np.empty((0, inner.size), dtype=bool)
        for _ in range(200):  # each batch keeps ~1/√(2π Var(size)) of its draws
            draws = rng.random((max(512, 4 * want), inner.size)) < tilde[None, :]
            kept = np.concatenate([kept, draws[draws.sum(axis=1) == r]])
            if len(kept) >= want:
                break
        else:
            raise SurvmigError(
                "conditional Poisson: no sample of the right size was drawn", where="prob"
            )
        out[:, inner] = kept[:want]
    return out if reps is not None else np.flatnonzero(out[0])


def select_poisson(pik: np.ndarray | pd.Series, rng: np.random.Generator) -> np.ndarray:
    """A Poisson sample: each unit independently with its π (random sample size)."""
    p, _ = _check_pik(pik, fixed_size=False)
    return np.flatnonzero(rng.random(p.size) < p)


def select_pps_wr(size: np.ndarray | pd.Series, n: int, rng: np.random.Generator) -> np.ndarray:
    """PPS with replacement: ``n`` independent draws with ``p_k = x_k/X``; hits per unit."""
    x = np.asarray(size, dtype=float)
    if x.size == 0 or not np.all(np.isfinite(x)) or np.any(x < 0) or x.sum() <= 0:
        raise SurvmigError(
            "the measure of size must be zero or positive, and not all zero", where="size"
        )
    return rng.multinomial(int(n), x / x.sum())


def design_summary(pik: np.ndarray, joint: np.ndarray) -> Result:
    """What a trainer reads off a joint-probability matrix: zero pairs, the smallest π_kl."""
    p = np.asarray(pik, dtype=float)
    off = joint[~np.eye(p.size, dtype=bool)]
    return Result(
        title="Joint inclusion probabilities",
        value=joint,
        formula="π_kl = P(k and l both in the sample); Σ_l≠k π_kl = (n − 1) π_k for a fixed size n",
        assumptions="the design and frame order as given",
        steps={
            "units": float(p.size),
            "n": float(p.sum()),
            "zero_pairs": float((off <= 0).sum() / 2),
            "min_joint": float(off.min()) if off.size else float("nan"),
        },
        references=_TILLE,
    )


def select_unequal(
    frame: pd.DataFrame,
    n: object,
    size: str,
    method: str,
    *,
    strata: str | None = None,
    seed: int | None = None,
) -> pd.DataFrame:
    """Select PSUs from a frame by ``cps`` (conditional Poisson: fixed size, all π_kl > 0),
    ``poisson`` (random size) or ``pps-wr`` (n independent PPS draws; one row per hit).

    ``prob_stage1`` is π_k = n_h x_k/X_h (certainty units removed as for PPS systematic); for
    ``pps-wr`` it is the expected number of hits ``n_h p_k`` and ``weight`` = 1/(n_h p_k) per hit,
    the Hansen-Hurwitz weight. Strata are independent.
    """
    from survmig.sampling.selection import (  # the frame helpers PPS systematic uses
        _codes,
        _measure_of_size,
        _output,
        _sizes_per_stratum,
        pps_probabilities,
    )

    if method not in ("cps", "poisson", "pps-wr"):
        raise SurvmigError(
            f"unknown method {method!r}", where="method", hint="cps, poisson or pps-wr"
        )
    mos = _measure_of_size(frame, size)
    codes, labels = _codes(frame, strata)
    n_h = _sizes_per_stratum(n, labels, strata, np.bincount(codes, minlength=len(labels)))
    rng = np.random.default_rng(seed)
    if method == "pps-wr":
        x_h = np.bincount(codes, weights=mos, minlength=len(labels))
        expected = n_h[codes] * mos / x_h[codes]
        # n_h uniform points on each stratum's stretch of the cumulated sizes: multinomial draws
        order = np.argsort(codes, kind="stable")
        cum = np.cumsum(mos[order])
        start = np.concatenate([[0.0], np.cumsum(x_h)[:-1]])
        stratum = np.repeat(np.arange(len(labels)), n_h)
        points = start[stratum] + rng.random(stratum.size) * x_h[stratum]
        picks = order[np.minimum(np.searchsorted(cum, points, side="right"), len(frame) - 1)]
        count = np.bincount(picks, minlength=len(frame))
        idx = np.repeat(np.arange(len(frame)), count)
        out = _output(frame, idx, {"prob_stage1": expected, "hits": count})
        out["draw"] = positions_in_groups(count[count > 0], start=1)
        return out
    prob, certain = pps_probabilities(mos, codes, n_h)
    if method == "poisson":
        idx = np.flatnonzero(rng.random(len(frame)) < prob)
    else:
        idx = np.sort(
            np.concatenate(
                [
                    np.flatnonzero(codes == h)[select_cps(prob[codes == h], rng)]
                    for h in range(len(labels))
                ]
            )
        )
    return _output(frame, idx, {"prob_stage1": prob, "certainty": certain})
