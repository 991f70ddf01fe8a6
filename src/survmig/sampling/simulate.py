"""Compare sample designs for a rare population on one synthetic population, many times over.

The simulation is exact and vectorized across repetitions. Selection of PSUs uses the same array
primitives as :mod:`survmig.sampling.selection` (PPS systematic starts and random keys as matrices);
within a selected EA, an SRS of households is summarised by its composition, which is exactly
multivariate hypergeometric, so no household-level loop is needed. Estimators are array algebra on
PSU totals (ultimate-cluster variances) or on networks (adaptive cluster sampling).

Two estimands: the *prevalence* of migrant households (Horvitz-Thompson total over the known number
of households) and the *remittance share* among migrant households (a ratio, a domain mean).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from survmig.errors import SurvmigError
from survmig.fileio import atomic_path
from survmig.sampling.adaptive import (
    acs_estimates,
    acs_ratio,
    final_sample,
    grid_adjacency,
    networks,
    srs_miss_probability,
)
from survmig.sampling.allocation import largest_remainder, rare_domain
from survmig.sampling.results import (
    check_count,
    check_nonnegative,
    check_probability,
    check_rate,
    check_seed,
)
from survmig.sampling.selection import pps_probabilities, pps_systematic_draw, smallest_keys

__all__ = [
    "AdaptiveCluster",
    "CostModel",
    "SimulationResult",
    "SrsHouseholds",
    "StratifiedCluster",
    "TwoPhase",
    "default_designs",
    "simulate",
]

ESTIMANDS = ("prevalence", "remittance_share")
Z95 = 1.959963984540054


@dataclasses.dataclass(frozen=True)
class CostModel:
    """Linear field costs (any currency): per EA visited, household listed, household screened
    (roster with the migration questions: status known without error) and migrant household
    interviewed with the full module."""

    psu: float = 400.0
    listing: float = 1.0
    screen: float = 3.0
    interview: float = 15.0

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            check_nonnegative(getattr(self, field.name), f"cost_{field.name}")


@dataclasses.dataclass(frozen=True)
class SrsHouseholds:
    """SRS of ``n`` households from a household list (no listing; travel to every EA hit)."""

    n: int = 3000
    name: str = "SRS of households"


@dataclasses.dataclass(frozen=True)
class StratifiedCluster:
    """Stratified two-stage: ``psus`` EAs by PPS systematic, ``take`` households by SRS in each.

    ``allocation`` of EAs to strata: ``proportional`` (to households) or ``rare``
    (disproportionate, k_h ∝ √(P_h/(1+(c−1)P_h)) from census prevalence and the cost model).
    """

    psus: int = 150
    take: int = 20
    allocation: str = "proportional"
    name: str = "proportionate stratified cluster"


@dataclasses.dataclass(frozen=True)
class TwoPhase:
    """Phase 1: ``psus`` EAs (PPS) fully listed with a quick screener of given sensitivity and
    specificity; phase 2: households subsampled at ``rate_positive`` / ``rate_negative`` by
    screener result, then screened properly and (if migrant) interviewed."""

    psus: int = 100
    rate_positive: float = 1.0
    rate_negative: float = 0.05
    sensitivity: float = 0.9
    specificity: float = 0.97
    allocation: str = "rare"
    name: str = "two-phase screening"


@dataclasses.dataclass(frozen=True)
class AdaptiveCluster:
    """Adaptive cluster sampling of EAs: initial SRS of ``initial`` EAs; an EA whose migrant share
    is at least ``threshold`` brings in its four grid neighbours, repeatedly. Every household in
    the final EAs is screened. Reported with both the HH and HT estimators."""

    initial: int = 40
    threshold: float = 0.15
    name: str = "adaptive cluster"


Design = SrsHouseholds | StratifiedCluster | TwoPhase | AdaptiveCluster


def default_designs() -> list[Design]:
    """The five designs of the trainer's comparison, with comparable field budgets."""
    return [
        SrsHouseholds(),
        StratifiedCluster(),
        StratifiedCluster(allocation="rare", name="disproportionate stratified cluster"),
        TwoPhase(),
        AdaptiveCluster(),
    ]


@dataclasses.dataclass
class SimulationResult:
    """Per-design summaries (``table``) and the raw per-repetition results (``runs``)."""

    table: pd.DataFrame
    runs: pd.DataFrame
    truth: dict[str, float]
    reps: int
    formula: str = (
        "bias = mean(θ̂) − θ; empirical SE = sd(θ̂); coverage = share of reps with "
        "|θ̂ − θ| ≤ 1.96·se(θ̂); var×cost = empirical variance × mean cost (smaller is better), "
        "relative = var×cost / best design"
    )
    assumptions: str = (
        "one fixed synthetic population; PSUs by randomized PPS systematic within strata "
        "(census measure of size, random order each repetition); ultimate-cluster (with-replacement) variances for the cluster "
        "designs; SRS variance with fpc for the household SRS; Thompson's HH and HT variances for "
        "adaptive cluster sampling; full response; normal-theory 95% intervals"
    )

    def to_markdown(self) -> str:
        """A Markdown table (numbers rounded for reading)."""
        return _markdown(self.table)

    def write(self, path: str | Path) -> Path:
        """Write the table as CSV (``.csv``) or Markdown (``.md``), atomically."""
        path = Path(path)
        if path.suffix not in (".csv", ".md"):
            raise SurvmigError(
                f"cannot write {path.suffix or 'a file without suffix'}",
                file=path,
                hint=".csv or .md",
            )
        with atomic_path(path) as tmp:
            if path.suffix == ".csv":
                self.table.to_csv(tmp, index=False)
            else:
                tmp.write_text(self.to_markdown() + "\n", encoding="utf-8")
        return path

    def plot(self, path: str | Path | None = None):
        """Classroom figure: estimates by design (with the truth) and empirical SE against cost."""
        import textwrap

        import matplotlib.pyplot as plt

        # constrained layout keeps long tick labels, titles and the legend inside the page;
        # designs are told apart by colour and marker in one shared legend, not by labels
        # written next to the points (two estimators of one design share a cost and collide).
        fig, axes = plt.subplots(2, 2, figsize=(12, 8.5), layout="constrained")
        designs = list(dict.fromkeys(self.runs["design"]))
        wrapped = [textwrap.fill(d, 22) for d in designs]
        markers = "osD^vP*Xph"
        style = {
            d: {"color": f"C{i % 10}", "marker": markers[i % len(markers)]}
            for i, d in enumerate(designs)
        }
        for row, estimand in enumerate(ESTIMANDS):
            ax = axes[row, 0]
            data = [
                self.runs.loc[self.runs["design"] == d, estimand].dropna().to_numpy()
                for d in designs
            ]
            ax.boxplot(data, orientation="horizontal", showfliers=False)
            ax.set_yticks(range(1, len(designs) + 1), wrapped, fontsize=8)
            ax.axvline(self.truth[estimand], color="C3", linestyle="--", label="true value")
            ax.set_title(f"{estimand.replace('_', ' ')}: estimates over {self.reps} samples")
            ax.legend(loc="lower right", fontsize=8)
            ax = axes[row, 1]
            sub = self.table[self.table["estimand"] == estimand]
            for design in designs:
                at = sub[sub["design"] == design]
                ax.scatter(at["mean_cost"], at["empirical_se"], label=design, **style[design])
            ax.set_xlabel("mean field cost")
            ax.set_ylabel("empirical SE")
            ax.set_xscale("log")
            ax.margins(x=0.08, y=0.08)
            ax.set_title(f"{estimand.replace('_', ' ')}: precision against cost")
        handles, labels = axes[0, 1].get_legend_handles_labels()
        fig.legend(
            handles, labels, loc="outside lower center", ncols=min(len(labels), 4), fontsize=8
        )
        if path is not None:
            path = Path(path)
            with atomic_path(path) as tmp:
                fig.savefig(tmp, dpi=110, format=path.suffix.lstrip(".") or "png")
            plt.close(fig)
        return fig


# --------------------------------------------------------------------------- the simulator


@dataclasses.dataclass(frozen=True)
class _Pop:
    """EA-level sufficient statistics of the household population."""

    a: np.ndarray  # migrant households receiving remittances, per EA
    b: np.ndarray  # other migrant households
    c: np.ndarray  # non-migrant households
    mos: np.ndarray  # census households (measure of size)
    stratum: np.ndarray  # codes 0..H−1
    census_prevalence: np.ndarray
    row: np.ndarray
    col: np.ndarray

    @property
    def m(self) -> np.ndarray:
        return self.a + self.b + self.c

    @property
    def n_households(self) -> int:
        return int(self.m.sum())


def simulate(
    population: pd.DataFrame,
    designs: Sequence[Design] | None = None,
    *,
    reps: int = 1000,
    costs: CostModel | None = None,
    seed: int | None = None,
    chunk: int = 100,
    progress: Callable[[int], None] | None = None,
) -> SimulationResult:
    """Run every design ``reps`` times on ``population`` (a :func:`synthetic_population` table).

    ``progress`` is called with the number of repetitions just finished (per design and chunk),
    for a progress bar. Same ``seed`` → same result; each design has its own random stream.
    """
    reps = check_count(reps, "reps")
    chunk = check_count(chunk, "chunk")
    costs = costs or CostModel()
    designs = list(designs) if designs is not None else default_designs()
    if not designs:
        raise SurvmigError("no design to simulate", where="designs")
    pop = _summarise(population)
    truth = {
        "prevalence": float((pop.a.sum() + pop.b.sum()) / pop.n_households),
        "remittance_share": float(pop.a.sum() / (pop.a.sum() + pop.b.sum())),
    }
    runners = [_prepare(d, pop, costs) for d in designs]  # validates every design before running
    streams = np.random.SeedSequence(check_seed(seed)).spawn(len(designs))
    frames = []
    for design, run, stream in zip(designs, runners, streams, strict=True):
        rng = np.random.default_rng(stream)
        parts: list[dict[str, np.ndarray]] = []
        done = 0
        while done < reps:
            r = min(chunk, reps - done)
            parts.append(run(rng, r))
            done += r
            if progress is not None:
                progress(r)
        for label, cols in _collect(design, parts).items():
            frames.append(pd.DataFrame({"design": label, **cols}))
    runs = pd.concat(frames, ignore_index=True)
    return SimulationResult(table=_summary(runs, truth), runs=runs, truth=truth, reps=reps)


def _summarise(population: pd.DataFrame) -> _Pop:
    need = ["ea", "stratum", "row", "col", "census_households", "census_prevalence"]
    need += ["is_migrant", "remittances"]
    missing = [c for c in need if c not in population.columns]
    if missing:
        raise SurvmigError(
            f"the population has no column {missing[0]!r}",
            where=missing[0],
            hint="make it with survmig.sampling.population.synthetic_population",
        )
    ea_codes, eas = pd.factorize(population["ea"], sort=True)
    n_eas = len(eas)
    mig = population["is_migrant"].to_numpy(dtype=bool)
    rem = population["remittances"].to_numpy(dtype=bool)
    a = np.bincount(ea_codes, weights=mig & rem, minlength=n_eas).astype(np.int64)
    b = np.bincount(ea_codes, weights=mig & ~rem, minlength=n_eas).astype(np.int64)
    c = np.bincount(ea_codes, weights=~mig, minlength=n_eas).astype(np.int64)
    first = np.unique(ea_codes, return_index=True)[1]
    ea_rows = population.iloc[first]
    strat_codes, _ = pd.factorize(ea_rows["stratum"], sort=True)
    return _Pop(
        a=a,
        b=b,
        c=c,
        mos=ea_rows["census_households"].to_numpy(dtype=float),
        stratum=strat_codes.astype(int),
        census_prevalence=ea_rows["census_prevalence"].to_numpy(dtype=float),
        row=ea_rows["row"].to_numpy(dtype=int),
        col=ea_rows["col"].to_numpy(dtype=int),
    )


Runner = Callable[[np.random.Generator, int], dict[str, np.ndarray]]


def _prepare(design: Design, pop: _Pop, costs: CostModel) -> Runner:
    """Validate a design against the population and return its vectorized runner."""
    if isinstance(design, SrsHouseholds):
        return _srs_runner(design, pop, costs)
    if isinstance(design, StratifiedCluster):
        return _cluster_runner(design, pop, costs)
    if isinstance(design, TwoPhase):
        return _two_phase_runner(design, pop, costs)
    if isinstance(design, AdaptiveCluster):
        return _adaptive_runner(design, pop, costs)
    raise SurvmigError(f"unknown design {design!r}", where="designs")


def _srs_runner(design: SrsHouseholds, pop: _Pop, costs: CostModel) -> Runner:
    big_n = pop.n_households
    n = check_count(design.n, "n")
    if n >= big_n:
        raise SurvmigError(f"n = {n} is not below the {big_n} households", where="n")
    colors = np.array([pop.a.sum(), pop.b.sum(), pop.c.sum()])
    eas_hit = float(np.sum(1 - srs_miss_probability(pop.m, big_n, n)))
    fpc = 1 - n / big_n

    def run(rng: np.random.Generator, r: int) -> dict[str, np.ndarray]:
        s = rng.multivariate_hypergeometric(colors, n, size=r).astype(float)
        a, b = s[:, 0], s[:, 1]
        mig = a + b
        p = mig / n
        with np.errstate(divide="ignore", invalid="ignore"):
            rr = a / mig
            ss = (a * (1 - rr) ** 2 + b * rr**2) / (n - 1)
            rr_var = fpc * ss / (n * p**2)
        return {
            "prevalence": p,
            "prevalence_se": np.sqrt(fpc * p * (1 - p) / (n - 1)),
            "remittance_share": rr,
            "remittance_share_se": np.sqrt(rr_var),
            "cost": eas_hit * costs.psu + n * costs.screen + mig * costs.interview,
            "rare_interviews": mig,
        }

    return run


def _psu_allocation(
    allocation: str, psus: int, pop: _Pop, costs: CostModel, take: float
) -> np.ndarray:
    """EAs per stratum: proportional to households, or the rare-domain allocation (≥ 2 each)."""
    n_strata = int(pop.stratum.max()) + 1
    x_h = np.bincount(pop.stratum, weights=pop.mos, minlength=n_strata)
    eas_h = np.bincount(pop.stratum, minlength=n_strata)
    psus = check_count(psus, "psus", minimum=2 * n_strata)
    if allocation == "proportional":
        share = x_h
    elif allocation == "rare":
        p_h = np.bincount(pop.stratum, weights=pop.mos * pop.census_prevalence, minlength=n_strata)
        p_h = np.clip(p_h / x_h, 1e-6, 1 - 1e-6)
        alloc = rare_domain(
            x_h,
            p_h,
            n=int(min(psus * take, x_h.sum() - 1)),
            screen_cost=max(costs.screen, 1e-9),
            interview_cost=costs.interview,
        )
        share = alloc.table["n_exact"].to_numpy()
    else:
        raise SurvmigError(
            f"unknown allocation {allocation!r}", where="allocation", hint="proportional or rare"
        )
    a_h = np.maximum(2, largest_remainder(psus * share / share.sum()))
    if np.any(a_h > eas_h):
        h = int(np.flatnonzero(a_h > eas_h)[0])
        raise SurvmigError(f"stratum {h + 1} needs {a_h[h]} EAs but has {eas_h[h]}", where="psus")
    return a_h


def _stage1(pop: _Pop, a_h: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stage-1 probabilities, certainty EAs and the stratum of each sample column (−1: certainty).

    Certainty EAs are their own strata: they add only their within-EA variance.
    """
    prob, certain = pps_probabilities(pop.mos, pop.stratum, a_h)
    drawn = a_h - np.bincount(pop.stratum, weights=certain, minlength=len(a_h)).astype(int)
    if np.any(drawn == 1):
        h = int(np.flatnonzero(drawn == 1)[0])
        raise SurvmigError(
            f"stratum {h + 1} would have a single non-certainty EA (no variance estimate)",
            where="psus",
            hint="select more EAs",
        )
    cols = np.concatenate([np.full(int(certain.sum()), -1), np.repeat(np.arange(len(a_h)), drawn)])
    return prob, certain, cols


def _draw_psus(
    rng: np.random.Generator, pop: _Pop, a_h: np.ndarray, certain: np.ndarray, r: int
) -> np.ndarray:
    u = 1.0 - rng.random((r, len(a_h)))
    keys = rng.random((r, len(pop.mos)))
    return pps_systematic_draw(pop.mos, pop.stratum, a_h, certain, u, keys)


def _compose(rng: np.random.Generator, k: np.ndarray, a, b, c) -> tuple[np.ndarray, np.ndarray]:
    """Types (a, b) in an SRS of ``k`` from a group with counts a, b, c: chained hypergeometrics."""
    sa = rng.hypergeometric(a, b + c, k)
    sb = rng.hypergeometric(b, c, k - sa)
    return sa, sb


def _cluster_runner(design: StratifiedCluster, pop: _Pop, costs: CostModel) -> Runner:
    take = check_count(design.take, "take")
    a_h = _psu_allocation(design.allocation, design.psus, pop, costs, take)
    prob1, certain, col_stratum = _stage1(pop, a_h)
    big_n = pop.n_households
    fixed = col_stratum < 0

    def run(rng: np.random.Generator, r: int) -> dict[str, np.ndarray]:
        idx = _draw_psus(rng, pop, a_h, certain, r)
        m = pop.m[idx]
        k = np.minimum(take, m)
        sa, sb = _compose(rng, k, pop.a[idx], pop.b[idx], pop.c[idx])
        w = m / (k * prob1[idx])
        groups = [(m[:, fixed], k[:, fixed], sa[:, fixed], sb[:, fixed])]
        out = _uc(w * (sa + sb), w * sa, col_stratum, big_n, groups)
        mig = (sa + sb).sum(axis=1)
        out["cost"] = (
            idx.shape[1] * costs.psu
            + m.sum(axis=1) * costs.listing
            + k.sum(axis=1) * costs.screen
            + mig * costs.interview
        )
        out["rare_interviews"] = mig
        return out

    return run


def _two_phase_runner(design: TwoPhase, pop: _Pop, costs: CostModel) -> Runner:
    nu = np.array(
        [
            check_rate(design.rate_positive, "rate_positive"),
            check_rate(design.rate_negative, "rate_negative"),
        ]
    )
    sens = check_rate(design.sensitivity, "sensitivity")
    spec = check_rate(design.specificity, "specificity")
    a_h = _psu_allocation(design.allocation, design.psus, pop, costs, pop.m.mean())
    prob1, certain, col_stratum = _stage1(pop, a_h)
    big_n = pop.n_households
    fixed = col_stratum < 0

    def subsample(rng, a, b, c, rate):
        n = a + b + c
        target = rate * n
        k = np.floor(target + 1e-12).astype(np.int64)
        k += rng.random(k.shape) < (target - k)
        sa, sb = _compose(rng, k, a, b, c)
        return sa, sb, k

    def run(rng: np.random.Generator, r: int) -> dict[str, np.ndarray]:
        idx = _draw_psus(rng, pop, a_h, certain, r)
        a, b, c = pop.a[idx], pop.b[idx], pop.c[idx]
        ap, bp, cp = rng.binomial(a, sens), rng.binomial(b, sens), rng.binomial(c, 1 - spec)
        pa, pb, pk = subsample(rng, ap, bp, cp, nu[0])
        na, nb, nk = subsample(rng, a - ap, b - bp, c - cp, nu[1])
        w1 = 1.0 / prob1[idx]
        ty = w1 * ((pa + pb) / nu[0] + (na + nb) / nu[1])
        tr = w1 * (pa / nu[0] + na / nu[1])
        n_pos, n_neg = ap + bp + cp, (a + b + c) - (ap + bp + cp)
        groups = [
            (n_pos[:, fixed], pk[:, fixed], pa[:, fixed], pb[:, fixed]),
            (n_neg[:, fixed], nk[:, fixed], na[:, fixed], nb[:, fixed]),
        ]
        out = _uc(ty, tr, col_stratum, big_n, groups)
        mig = (pa + pb + na + nb).sum(axis=1)
        out["cost"] = (
            idx.shape[1] * costs.psu
            + (a + b + c).sum(axis=1) * costs.listing
            + (pk + nk).sum(axis=1) * costs.screen
            + mig * costs.interview
        )
        out["rare_interviews"] = mig
        return out

    return run


def _adaptive_runner(design: AdaptiveCluster, pop: _Pop, costs: CostModel) -> Runner:
    n1 = check_count(design.initial, "initial", minimum=2)
    threshold = check_probability(design.threshold, "threshold")
    n_eas = len(pop.m)
    if n1 >= n_eas:
        raise SurvmigError(f"initial = {n1} is not below the {n_eas} EAs", where="initial")
    grid = np.full((pop.row.max() + 1, pop.col.max() + 1), -1)
    grid[pop.row, pop.col] = np.arange(n_eas)
    full = grid_adjacency(*grid.shape)
    keep = grid.ravel() >= 0
    order = grid.ravel()[keep]
    adj = full[keep][:, keep]
    inv = np.empty(n_eas, dtype=int)
    inv[order] = np.arange(n_eas)
    adj = adj[inv][:, inv]  # EA order
    mig = (pop.a + pop.b).astype(float)
    nets = networks(mig / pop.m >= threshold, adj)
    scale = n_eas / pop.n_households
    zeros = np.zeros(n_eas, dtype=int)

    def run(rng: np.random.Generator, r: int) -> dict[str, np.ndarray]:
        initial = smallest_keys(zeros, np.array([n1]), rng.random((r, n_eas)))
        prev = acs_estimates(mig, nets, initial)
        share = acs_ratio(pop.a.astype(float), mig, nets, initial)
        final = final_sample(initial, nets).astype(float)
        households = final @ pop.m
        found = final @ mig
        cost = (
            final.sum(axis=1) * costs.psu
            + households * (costs.listing + costs.screen)
            + found * costs.interview
        )
        out = {}
        for est in ("hh", "ht"):
            out[f"{est}:prevalence"] = getattr(prev, est) * scale
            out[f"{est}:prevalence_se"] = (
                np.sqrt(np.maximum(getattr(prev, f"{est}_var"), 0)) * scale
            )
            out[f"{est}:remittance_share"] = getattr(share, est)
            out[f"{est}:remittance_share_se"] = np.sqrt(np.maximum(getattr(share, f"{est}_var"), 0))
        out["cost"] = cost
        out["rare_interviews"] = found
        return out

    return run


def _uc(
    ty: np.ndarray,
    tr: np.ndarray,
    col_stratum: np.ndarray,
    big_n: int,
    groups: Sequence[tuple[np.ndarray, ...]] = (),
) -> dict[str, np.ndarray]:
    """HT prevalence and ratio with ultimate-cluster variances from PSU totals, shape (reps, a).

    Columns with stratum −1 are certainty EAs: no between-PSU variance, but the within-EA SRS
    variance of each group ``(N_g, k_g, a_g, b_g)`` (population size, sample size, sampled
    migrant households with and without remittances).
    """
    drawn = col_stratum >= 0
    strata = col_stratum[drawn]
    n_strata = int(strata.max()) + 1 if drawn.any() else 0
    onehot = np.eye(n_strata)[strata]  # (a, H)
    a_h = onehot.sum(axis=0)
    a_h = np.where(a_h > 1, a_h, np.inf)  # strata with no drawn EA add nothing

    def var_total(t: np.ndarray) -> np.ndarray:
        t = t[:, drawn]
        mean_h = (t @ onehot) / np.where(np.isfinite(a_h), a_h, 1)
        dev = t - mean_h[:, strata]
        return (dev**2 @ onehot) @ (a_h / (a_h - 1))

    y_hat = ty.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = tr.sum(axis=1) / y_hat
        z = tr - np.nan_to_num(ratio)[:, None] * ty
        var_y, var_z = var_total(ty), var_total(z)
        for big_g, k_g, a_g, b_g in groups:
            factor = np.where(k_g > 1, big_g**2 * (1 - k_g / np.maximum(big_g, 1)) / k_g, 0.0)
            ok = k_g > 1
            denom = np.where(ok, k_g - 1, 1)
            y1 = a_g + b_g
            var_y += np.sum(
                np.where(ok, factor * (y1 - y1**2 / np.where(ok, k_g, 1)) / denom, 0), axis=1
            )
            rr = np.nan_to_num(ratio)[:, None]
            s1 = a_g * (1 - rr) - b_g * rr
            s2 = a_g * (1 - rr) ** 2 + b_g * rr**2
            var_z += np.sum(
                np.where(ok, factor * (s2 - s1**2 / np.where(ok, k_g, 1)) / denom, 0), axis=1
            )
        ratio_var = var_z / y_hat**2
    return {
        "prevalence": y_hat / big_n,
        "prevalence_se": np.sqrt(var_y) / big_n,
        "remittance_share": ratio,
        "remittance_share_se": np.sqrt(ratio_var),
    }


def _collect(
    design: Design, parts: list[dict[str, np.ndarray]]
) -> dict[str, dict[str, np.ndarray]]:
    joined = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    if isinstance(design, AdaptiveCluster):
        labels = {"hh": f"{design.name} (HH)", "ht": f"{design.name} (HT)"}
        return {
            label: {
                **{k.split(":", 1)[1]: v for k, v in joined.items() if k.startswith(f"{est}:")},
                "cost": joined["cost"],
                "rare_interviews": joined["rare_interviews"],
            }
            for est, label in labels.items()
        }
    return {design.name: joined}


def _summary(runs: pd.DataFrame, truth: dict[str, float]) -> pd.DataFrame:
    rows = []
    for design, sub in runs.groupby("design", sort=False):
        for estimand in ESTIMANDS:
            est = sub[estimand].to_numpy()
            se = sub[f"{estimand}_se"].to_numpy()
            ok = np.isfinite(est) & np.isfinite(se)
            e, s = est[ok], se[ok]
            theta = truth[estimand]
            rows.append(
                {
                    "design": design,
                    "estimand": estimand,
                    "truth": theta,
                    "mean_estimate": e.mean() if ok.any() else np.nan,
                    "bias": e.mean() - theta if ok.any() else np.nan,
                    "relative_bias_pct": 100 * (e.mean() - theta) / theta if ok.any() else np.nan,
                    "empirical_se": e.std(ddof=1) if ok.sum() > 1 else np.nan,
                    "mean_estimated_se": s.mean() if ok.any() else np.nan,
                    "coverage_95": np.mean(np.abs(e - theta) <= Z95 * s) if ok.any() else np.nan,
                    "mean_cost": sub["cost"].mean(),
                    "rare_interviews": sub["rare_interviews"].mean(),
                    "failed_reps": int((~ok).sum()),
                }
            )
    table = pd.DataFrame(rows)
    table["var_x_cost"] = table["empirical_se"] ** 2 * table["mean_cost"]
    best = table.groupby("estimand")["var_x_cost"].transform("min")
    table["relative_var_x_cost"] = table["var_x_cost"] / best
    return table


def _markdown(table: pd.DataFrame) -> str:
    fmt = {
        "truth": "{:.4f}",
        "mean_estimate": "{:.4f}",
        "bias": "{:+.5f}",
        "relative_bias_pct": "{:+.2f}",
        "empirical_se": "{:.5f}",
        "mean_estimated_se": "{:.5f}",
        "coverage_95": "{:.3f}",
        "mean_cost": "{:,.0f}",
        "rare_interviews": "{:,.1f}",
        "failed_reps": "{:d}",
        "var_x_cost": "{:.4g}",
        "relative_var_x_cost": "{:.2f}",
    }
    cols = list(table.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for _, row in table.iterrows():
        cells = [fmt.get(c, "{}").format(row[c]) if pd.notna(row[c]) else "" for c in cols]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
