"""Adaptive cluster sampling (Thompson 1990): networks, modified Hansen-Hurwitz and Horvitz-Thompson.

An initial SRS without replacement of ``n1`` of ``N`` units is drawn; when a unit meets the condition
(e.g. "the enumeration area has at least 5 migrant households") its neighbours are added, and so on.
A *network* is a set of condition-meeting units that bring each other in; a unit that does not meet
the condition is a network of its own (edge units count only when in the initial sample).

Every estimator here takes a matrix of initial samples (one row per repetition), so a full
enumeration of all initial samples or a simulation of thousands is one array computation.
"""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from scipy.special import gammaln

from survmig.errors import SurvmigError
from survmig.sampling.results import Result, check_count

__all__ = [
    "AcsEstimates",
    "Networks",
    "acs_estimates",
    "acs_ratio",
    "all_initial_samples",
    "expected_final_size",
    "final_sample",
    "grid_adjacency",
    "line_adjacency",
    "miss_probability",
    "networks",
    "rao_blackwell",
    "srs_miss_probability",
    "summarise_enumeration",
]


@dataclasses.dataclass(frozen=True)
class Networks:
    """The network partition of a population for a given condition and neighbourhood."""

    label: np.ndarray  #: (N,) network id of each unit
    size: np.ndarray  #: (K,) number of units x_k in each network
    meets: np.ndarray  #: (N,) whether each unit meets the condition
    adjacency: sparse.csr_array  #: (N, N) neighbourhood

    @property
    def n_units(self) -> int:
        return len(self.label)

    def totals(self, y: np.ndarray) -> np.ndarray:
        """Network totals ``y*_k``."""
        return np.bincount(self.label, weights=np.asarray(y, float), minlength=len(self.size))

    def means(self, y: np.ndarray) -> np.ndarray:
        """Each unit's network mean ``w_i`` (what the modified Hansen-Hurwitz estimator averages)."""
        return (self.totals(y) / self.size)[self.label]

    def inclusion(self, n1: int, replacement: bool = False) -> np.ndarray:
        """``α_k``: the probability that network k is intersected by the initial sample —
        ``1 − C(N − x_k, n1)/C(N, n1)`` without replacement, ``1 − (1 − x_k/N)^n1`` with."""
        return 1.0 - miss_probability(self.size, self.n_units, n1, replacement)


@dataclasses.dataclass(frozen=True)
class AcsEstimates:
    """Population-mean estimates and variance estimates, one entry per initial sample."""

    hh: np.ndarray
    hh_var: np.ndarray
    ht: np.ndarray
    ht_var: np.ndarray


def line_adjacency(n: int) -> sparse.csr_array:
    """Neighbours left and right on a line of ``n`` units."""
    n = check_count(n, "n_units")
    i = np.arange(n - 1)
    a = sparse.coo_array((np.ones(n - 1), (i, i + 1)), shape=(n, n))
    return (a + a.T).tocsr()


def grid_adjacency(n_rows: int, n_cols: int) -> sparse.csr_array:
    """Rook (4-neighbour) adjacency on a grid numbered row by row."""
    n_rows, n_cols = check_count(n_rows, "n_rows"), check_count(n_cols, "n_cols")
    idx = np.arange(n_rows * n_cols).reshape(n_rows, n_cols)
    pairs = [(idx[:, :-1].ravel(), idx[:, 1:].ravel()), (idx[:-1, :].ravel(), idx[1:, :].ravel())]
    rows = np.concatenate([p[0] for p in pairs])
    cols = np.concatenate([p[1] for p in pairs])
    n = n_rows * n_cols
    a = sparse.coo_array((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    return (a + a.T).tocsr()


def networks(meets: np.ndarray, adjacency: sparse.sparray | np.ndarray) -> Networks:
    """Networks: connected components of the condition-meeting units; other units stand alone."""
    meets = np.asarray(meets, dtype=bool)
    adj = sparse.csr_array(adjacency)
    if adj.shape != (len(meets), len(meets)):
        raise SurvmigError(
            f"the adjacency is {adj.shape[0]}×{adj.shape[1]} for {len(meets)} units",
            where="adjacency",
        )
    keep = sparse.diags_array(meets.astype(float))
    _, label = connected_components(keep @ adj @ keep, directed=False)
    _, label = np.unique(label, return_inverse=True)
    size = np.bincount(label)
    return Networks(label=label, size=size, meets=meets, adjacency=adj)


def acs_estimates(
    y: np.ndarray, nets: Networks, initial: np.ndarray, *, replacement: bool = False
) -> AcsEstimates:
    """Modified Hansen-Hurwitz and Horvitz-Thompson estimates of the population mean.

    ``initial`` holds initial-sample unit indices, shape ``(reps, n1)`` (or ``(n1,)``); with
    ``replacement`` the n1 draws are independent with equal probabilities (repeats allowed).

    HH: ``μ̂ = (1/n1) Σ w_i`` over the draws, ``v = (N − n1)/(N n1 (n1 − 1)) Σ (w_i − μ̂)²`` (no
    ``(N − n1)/N`` with replacement).
    HT: ``μ̂ = (1/N) Σ_k y*_k J_k/α_k``, ``v = (1/N²) Σ_k Σ_h y*_k y*_h (α_kh − α_k α_h)/(α_k α_h α_kh)``
    over the distinct networks intersected (Thompson 1990 §3–4; Thompson & Seber 1996).
    """
    initial = _initial(initial, nets)
    big_n, n1 = nets.n_units, initial.shape[1]
    w = nets.means(y)[initial]
    hh = w.mean(axis=1)
    fpc = 1.0 if replacement else (big_n - n1) / big_n
    hh_var = fpc / n1 * w.var(axis=1, ddof=1)
    lab, first = _distinct(nets.label[initial])
    totals = nets.totals(y)[lab] * first
    alpha = nets.inclusion(n1, replacement)
    ht = np.sum(totals / alpha[lab], axis=1) / big_n
    ht_var = _ht_quadratic(totals, lab, first, nets, n1, replacement) / big_n**2
    return AcsEstimates(hh=hh, hh_var=hh_var, ht=ht, ht_var=ht_var)


def acs_ratio(
    y: np.ndarray, d: np.ndarray, nets: Networks, initial: np.ndarray, *, replacement: bool = False
) -> AcsEstimates:
    """Ratio ``Σy/Σd`` (e.g. a mean over a rare domain, ``d`` its indicator count) by HH and HT.

    Variances by linearisation: the estimator's variance applied to ``y − R̂ d``, divided by the
    *estimated* ``D̂²`` (Thompson 2012 §24 divides by the known ``D²``; with ``d`` a domain count
    ``D`` is rarely known, and the estimated denominator is the usual survey convention — both
    agree to first order). Consistent but not unbiased (ratio estimators have O(1/n) bias).
    """
    initial = _initial(initial, nets)
    big_n, n1 = nets.n_units, initial.shape[1]
    wy, wd = nets.means(y)[initial], nets.means(d)[initial]
    fpc = 1.0 if replacement else (big_n - n1) / big_n
    with np.errstate(divide="ignore", invalid="ignore"):
        hh = wy.sum(axis=1) / wd.sum(axis=1)
        e = wy - hh[:, None] * wd
        hh_var = fpc / n1 * e.var(axis=1, ddof=1) / wd.mean(axis=1) ** 2
    lab, first = _distinct(nets.label[initial])
    alpha = nets.inclusion(n1, replacement)[lab]
    ty, td = nets.totals(y)[lab] * first, nets.totals(d)[lab] * first
    y_hat, d_hat = np.sum(ty / alpha, axis=1), np.sum(td / alpha, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ht = y_hat / d_hat
        z = ty - np.nan_to_num(ht)[:, None] * td
        ht_var = _ht_quadratic(z, lab, first, nets, n1, replacement) / d_hat**2
    return AcsEstimates(hh=hh, hh_var=hh_var, ht=ht, ht_var=ht_var)


def rao_blackwell(
    y: np.ndarray, nets: Networks, initial: np.ndarray, *, max_samples: int = 200_000
) -> AcsEstimates:
    """Rao-Blackwellised HH and HT estimates: each averaged over the initial samples compatible with
    the final sample observed (those that would have produced the same final sample).

    The final sample is the minimal sufficient statistic's support; given it, every compatible
    initial SRS is equally likely, so the average is ``E(μ̂ | d)`` — unbiased and never less
    precise. Variance estimate ``v_RB = E(v | d) − E((μ̂ − μ̂_RB)² | d)`` (Thompson 1990 §5;
    Thompson & Seber 1996 §4.4). Initial SRS without replacement. The enumeration runs once per
    distinct final sample, over the n1-subsets of its units (at most ``max_samples``).
    """
    y = np.asarray(y, dtype=float)
    initial = _initial(initial, nets)
    n1 = initial.shape[1]
    finals = final_sample(initial, nets)
    distinct, which = np.unique(finals, axis=0, return_inverse=True)
    out = np.empty((len(distinct), 4))
    for i, final in enumerate(distinct):  # one enumeration per distinct final sample
        units = np.flatnonzero(final)
        count = math.comb(units.size, n1)
        if count > max_samples:
            raise SurvmigError(
                f"a final sample of {units.size} units has {count} subsets of size {n1} to average over",
                where="n1",
                hint="the Rao-Blackwell estimator is exact but combinatorial: use it on teaching-size samples",
            )
        combos = units[np.array(list(itertools.combinations(range(units.size), n1)), dtype=int)]
        same = np.all(final_sample(combos, nets) == final[None, :], axis=1)
        est = acs_estimates(y, nets, combos[same])
        hh, ht = est.hh.mean(), est.ht.mean()
        out[i] = (
            hh,
            est.hh_var.mean() - np.mean((est.hh - hh) ** 2),
            ht,
            est.ht_var.mean() - np.mean((est.ht - ht) ** 2),
        )
    res = out[np.ravel(which)]
    return AcsEstimates(hh=res[:, 0], hh_var=res[:, 1], ht=res[:, 2], ht_var=res[:, 3])


def final_sample(initial: np.ndarray, nets: Networks) -> np.ndarray:
    """Boolean ``(reps, N)``: the initial units, the networks they hit and those networks' edge units."""
    initial = _initial(initial, nets)
    reps, big_n = initial.shape[0], nets.n_units
    rows = np.repeat(np.arange(reps), initial.shape[1])
    chosen = np.zeros((reps, big_n), dtype=bool)
    chosen[rows, initial.ravel()] = True
    hit_net = np.zeros((reps, len(nets.size)), dtype=bool)
    meets = nets.meets[initial.ravel()]
    hit_net[rows[meets], nets.label[initial.ravel()][meets]] = True
    member = sparse.csr_array(
        (np.ones(big_n), (nets.label, np.arange(big_n))), shape=(len(nets.size), big_n)
    )
    in_net = (member.T @ hit_net.T.astype(float)).T > 0
    in_net &= nets.meets[None, :]
    edge = (nets.adjacency @ in_net.T.astype(float)).T > 0
    return chosen | in_net | edge


def expected_final_size(nets: Networks, n1: int, replacement: bool = False) -> float:
    """``E(ν) = Σ_i [1 − C(N − r_i, n1)/C(N, n1)]``, ``r_i`` the units whose selection brings i in
    (``1 − (1 − r_i/N)^n1`` with replacement).

    For a condition unit ``r_i`` is its network; for any other unit it is itself plus the networks
    (of condition units) it borders.
    """
    big_n = nets.n_units
    adj = sparse.coo_array(nets.adjacency)
    border = ~nets.meets[adj.row] & nets.meets[adj.col]
    pairs = np.unique(np.stack([adj.row[border], nets.label[adj.col[border]]]), axis=1)
    reach = np.where(nets.meets, nets.size[nets.label], 1).astype(float)
    reach += np.bincount(pairs[0], weights=nets.size[pairs[1]], minlength=big_n)
    return float(np.sum(1.0 - miss_probability(reach, big_n, n1, replacement)))


def all_initial_samples(n_units: int, n1: int, replacement: bool = False) -> np.ndarray:
    """Every initial sample of size ``n1`` (rows), for teaching-size populations only: the
    C(N, n1) subsets, or with ``replacement`` the N^n1 equally likely ordered draws."""
    n_units, n1 = check_count(n_units, "n_units"), check_count(n1, "n1")
    count = n_units**n1 if replacement else math.comb(n_units, n1)
    if count > 2_000_000:
        raise SurvmigError(f"{count} samples is too many to enumerate", where="n1", hint="simulate")
    if replacement:
        return np.indices((n_units,) * n1).reshape(n1, -1).T.copy()
    return np.array(list(itertools.combinations(range(n_units), n1)), dtype=int)


def summarise_enumeration(
    y: np.ndarray, nets: Networks, n1: int, *, replacement: bool = False
) -> Result:
    """Exact design properties by full enumeration of the initial samples (a classroom tool)."""
    y = np.asarray(y, dtype=float)
    samples = all_initial_samples(nets.n_units, n1, replacement)
    est = acs_estimates(y, nets, samples, replacement=replacement)
    initial_mean = y[samples].mean(axis=1)
    final = final_sample(samples, nets).sum(axis=1)
    steps = {
        "population_mean": float(y.mean()),
        "samples": float(len(samples)),
        "mean_initial": float(initial_mean.mean()),
        "var_initial": float(initial_mean.var()),
        "mean_hh": float(est.hh.mean()),
        "var_hh": float(est.hh.var()),
        "mean_hh_var_estimate": float(est.hh_var.mean()),
        "mean_ht": float(est.ht.mean()),
        "var_ht": float(est.ht.var()),
        "mean_ht_var_estimate": float(est.ht_var.mean()),
        "expected_final_size": float(final.mean()),
        "expected_final_size_formula": expected_final_size(nets, n1, replacement),
    }
    if not replacement:
        rb = rao_blackwell(y, nets, samples)
        steps |= {"mean_rb_hh": float(rb.hh.mean()), "var_rb_hh": float(rb.hh.var())}
        steps |= {"mean_rb_ht": float(rb.ht.mean()), "var_rb_ht": float(rb.ht.var())}
    return Result(
        title="Adaptive cluster sampling by full enumeration",
        value=steps["var_ht"],
        formula=(
            f"variances over all {'N^n1 ordered' if replacement else 'C(N, n1)'} equally likely "
            "initial samples; RB = the estimator averaged over the initial samples that give the "
            "same final sample"
        ),
        assumptions=(
            f"initial SRS {'with' if replacement else 'without'} replacement; networks and edge "
            "units as in Thompson (1990)"
        ),
        steps=steps,
        references="Thompson (1990) JASA 85; Thompson & Seber (1996) Adaptive Sampling",
    )


# --------------------------------------------------------------------------- internals


def _initial(initial: np.ndarray, nets: Networks) -> np.ndarray:
    initial = np.atleast_2d(np.asarray(initial, dtype=int))
    if initial.shape[1] < 2:
        raise SurvmigError("the initial sample needs at least 2 units", where="n1")
    if initial.min() < 0 or initial.max() >= nets.n_units:
        raise SurvmigError("initial-sample indices outside the population", where="initial")
    return initial


def miss_probability(x: np.ndarray, big_n: int, n1: int, replacement: bool) -> np.ndarray:
    """The chance that the initial sample misses a set of x units: ``C(N − x, n1)/C(N, n1)``
    without replacement, ``(1 − x/N)^n1`` with."""
    if replacement:
        return np.clip(1.0 - np.asarray(x, dtype=float) / big_n, 0.0, 1.0) ** n1
    return srs_miss_probability(x, big_n, n1)


def srs_miss_probability(x: np.ndarray, big_n: int, n1: int) -> np.ndarray:
    """``C(N − x, n1)/C(N, n1)``: the chance that an SRS of n1 from N misses a set of x units."""
    x = np.asarray(x, dtype=float)
    rest = big_n - x
    ok = rest >= n1
    safe = np.where(ok, rest, n1)
    log_q = (
        gammaln(safe + 1) - gammaln(safe - n1 + 1) - gammaln(big_n + 1) + gammaln(big_n - n1 + 1)
    )
    return np.where(ok, np.exp(log_q), 0.0)


def _distinct(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort each row's network labels and flag first occurrences (a network counts once)."""
    lab = np.sort(labels, axis=1)
    first = np.ones(lab.shape, dtype=bool)
    first[:, 1:] = lab[:, 1:] != lab[:, :-1]
    return lab, first


def _ht_quadratic(
    values: np.ndarray,
    lab: np.ndarray,
    first: np.ndarray,
    nets: Networks,
    n1: int,
    replacement: bool = False,
) -> np.ndarray:
    """``Σ_k Σ_h v_k v_h (α_kh − α_k α_h)/(α_k α_h α_kh)`` over distinct networks, per row."""
    big_n = nets.n_units
    x = nets.size[lab].astype(float)
    q = miss_probability(x, big_n, n1, replacement)
    alpha = 1.0 - q
    joint = (
        1.0
        - q[:, :, None]
        - q[:, None, :]
        + miss_probability(x[:, :, None] + x[:, None, :], big_n, n1, replacement)
    )
    same = lab[:, :, None] == lab[:, None, :]
    joint = np.where(same, alpha[:, :, None], joint)
    a_kh = alpha[:, :, None] * alpha[:, None, :]
    term = (joint - a_kh) / (a_kh * joint)
    v = values * first
    return np.einsum("rk,rkh,rh->r", v, term, v)
