"""Write the sampling training notebooks (01–03) from the cells below, outputs stripped.

Run from the repository root: ``.venv/bin/python notebooks/make_sampling_notebooks.py``. The test
suite executes the notebooks and checks that they are current with this script.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent


def md(text: str):
    return new_markdown_cell(text.strip())


def code(text: str):
    return new_code_cell(text.strip())


def answer(text: str):
    """A collapsible answer block (click to open in Jupyter)."""
    return md(
        f"<details><summary><b>Answer</b> (click to open)</summary>\n\n{text.strip()}\n\n</details>"
    )


SETUP = code(
    """
%matplotlib inline
import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
pd.set_option("display.width", 140)
pd.set_option("display.precision", 4)
"""
)

NB1 = [
    md(
        """
# 1. Why rare populations are hard — and what screening costs

Migrant households, return migrants and remittance receivers are **rare** (often 2–10 % of
households) and **clustered** in a few regions and villages. This notebook shows both facts on a
synthetic country and works out what they mean for sample size and field cost.

*Tools:* `survmig.sampling` (the same functions as `survmig sample-size` on the command line).
Every result carries its `formula` and `assumptions` — read them aloud in class.
"""
    ),
    SETUP,
    md(
        "## A synthetic country\n\n100,000 households in about 500 enumeration areas (EAs), 5 % migrant households."
    ),
    code(
        """
from survmig.sampling.population import synthetic_population, ea_frame

pop = synthetic_population(100_000, n_strata=3, prevalence=0.05, seed=1)
pop.head()
"""
    ),
    code(
        """
ea = pop.groupby("ea").agg(households=("hh_id", "size"), migrants=("is_migrant", "sum"))
ea["share"] = ea["migrants"] / ea["households"]
ordered = ea.sort_values("share", ascending=False)
cum_eas = np.arange(1, len(ea) + 1) / len(ea)
cum_migrants = ordered["migrants"].cumsum() / ordered["migrants"].sum()

fig, axes = plt.subplots(1, 2, figsize=(11, 4))
axes[0].hist(ea["share"], bins=40)
axes[0].set(title="Migrant share by EA", xlabel="share of households with a migrant", ylabel="EAs")
axes[1].plot(cum_eas, cum_migrants)
axes[1].plot([0, 1], [0, 1], "--", color="grey")
axes[1].set(title="Concentration", xlabel="share of EAs (highest first)", ylabel="share of migrant households")
plt.tight_layout()
print(f"national prevalence {pop['is_migrant'].mean():.3f}; "
      f"the top 10% of EAs hold {np.interp(0.1, cum_eas, cum_migrants):.0%} of migrant households")
"""
    ),
    md(
        """
## How many interviews, how many households to screen?

Suppose we want the share of migrant households that receive remittances (about 40 %) within ±5
points. The sample-size chain is: SRS size → design effect → response → **screening** (divide by
the prevalence).
"""
    ),
    code(
        """
from survmig.sampling import size

res = size.sample_size_proportion(0.4, margin=0.05, response_rate=0.85, prevalence=0.05)
print(res)
"""
    ),
    md(
        """
The number of households to screen grows like 1/P. The plot shows it for a fixed 400 completed
interviews with migrant households.
"""
    ),
    code(
        """
prevalences = np.linspace(0.01, 0.2, 60)
screened = [size.screening(400, p, screener_response=0.95, interview_response=0.85).steps["households_to_screen"]
            for p in prevalences]
plt.figure(figsize=(6, 3.5))
plt.plot(prevalences, screened)
plt.yscale("log")
plt.xlabel("prevalence P"); plt.ylabel("households to screen"); plt.title("400 migrant-household interviews")
plt.grid(alpha=0.3)
"""
    ),
    md(
        """
## Clustering: a design effect for the total, hardly any for the rare domain

Kish: `deff = 1 + (m̄ − 1)ρ`. For a *domain* mean (migrant households only) the take per cluster is
`m̄·P`, so the clustering penalty nearly disappears — but the screening cost does not.
"""
    ),
    code(
        """
for m in (10, 20, 40):
    total = size.design_effect(m, 0.1).value
    domain = size.design_effect(m, 0.1, prevalence=0.05).value
    print(f"take {m:>2}: deff all households {total:.2f}   deff migrant-household domain {domain:.2f}")
"""
    ),
    md(
        """
## Optimal take per cluster, with screening costs

`m̄_opt = √((C1/C2)(1 − ρ)/ρ)`; for a screened rare group `C2 = c_i + c_s/P` — each migrant
household found costs the screening of 1/P households.
"""
    ),
    code(
        """
plain = size.optimal_cluster_take(psu_cost=400, unit_cost=20, icc=0.05)
screen = size.optimal_cluster_take(psu_cost=400, unit_cost=20, icc=0.05, screen_cost=2, prevalence=0.05)
print(plain.formula)
print(f"optimal take without screening: {plain.value:.1f}; with screening at P = 0.05: {screen.value:.1f}")
"""
    ),
    md(
        """
## Measure δ on a frame, then plan the clusters

The ICC is rarely known; a census frame gives it. `variance_components` (PracTools `BW2stagePPS`)
splits the relvariance into between-EA (B²) and within-EA (W²) parts: δ = B²/(B² + W²). The optimum
of a two-stage design (`clusOpt2`) then gives the take per EA, the number of EAs and the CV a budget
buys. Same on the command line: `survmig plan components` and `survmig plan cluster`.
"""
    ),
    code(
        """
from survmig.sampling import clusters

frame = pop.assign(ea_households=pop.groupby("ea")["hh_id"].transform("size"))
comp = clusters.variance_components(frame, "is_migrant", "ea", size="ea_households")
print({k: round(v, 4) for k, v in comp.steps.items()})
opt = clusters.cluster_optimum(psu_cost=400, unit_cost=20, delta=comp.steps["delta"],
                               unit_relvar=comp.steps["unit_relvar"], k=comp.steps["k"], budget=60_000)
print(opt.table.round(4).to_string(index=False))
plt.figure(figsize=(6, 3.5))
plt.plot(opt.table["take_per_psu"], opt.table["cv"], "o-")
plt.xlabel("households per EA"); plt.ylabel("CV of the migrant-household total")
plt.title("One budget, several takes: the optimum is flat"); plt.grid(alpha=0.3)
"""
    ),
    md(
        """
## Sizes for a rare domain, a small prevalence and a difference

- the *number* of migrant households needs more sample than their *mean* (the count is random);
- for P = 3 % the Wald margin fails near 0: size the Wilson or log-odds interval instead;
- "are migrant households poorer?" is a difference with power.
"""
    ),
    code(
        """
from survmig.sampling import precision

print(precision.domain_size(0.05, 0.1).steps)                              # count of migrant households
print(precision.proportion_size_interval(0.03, 0.01, method="log-odds").value)
print(precision.difference_size_proportions(0.30, 0.22, deff=1.8).value)  # poverty, migrant vs other
"""
    ),
    md(
        """
## Exercises

1. With P = 0.02, a screener response of 0.9 and an interview response of 0.85, how many households
   must be screened for 600 completed interviews? What does each completed interview cost if
   screening costs 2 and interviewing 25?
2. Why does the optimal take per cluster *fall* when the screening cost rises?
3. In the concentration plot, what share of EAs would you need to visit to find half of all migrant
   households? What does that suggest for the design?
"""
    ),
    code("# your work here\n"),
    answer(
        """
1. `size.screening(600, 0.02, screener_response=0.9, interview_response=0.85, screen_cost=2, interview_cost=25)`:
   about 39,216 households to screen; cost per completed case (25 + 2/(0.02·0.9))/0.85 ≈ 160.
2. C2 (the cost per found member) rises, so each extra member in a cluster is dearer relative to a new
   cluster: spread the sample over more clusters with smaller takes.
3. Read it off the curve (`np.interp(0.5, cum_migrants, cum_eas)`): a small share of EAs. Stratify by
   census prevalence and oversample the dense strata — notebook 2.
"""
    ),
    code(
        """
check = size.screening(600, 0.02, screener_response=0.9, interview_response=0.85, screen_cost=2, interview_cost=25)
print(round(check.steps["households_to_screen"]), round(check.steps["cost_per_case"], 1))
print(f"EAs holding half the migrant households: {np.interp(0.5, cum_migrants, cum_eas):.0%}")
"""
    ),
]

NB2 = [
    md(
        """
# 2. Disproportionate stratification and two-phase designs

When the census tells us where migrants live, we can sample dense areas at higher rates
(Kalton & Anderson 1986) or screen a large first-phase sample and subsample by screening class
(two-phase sampling). This notebook computes the gains and then checks them by simulation.
"""
    ),
    SETUP,
    md(
        """
## Lohr's exercise (after Kalton & Anderson)

Two strata: 40 % of households with prevalence 10 %, 60 % with 3 %; n = 2000, no fpc.
"""
    ),
    code(
        """
from survmig.sampling import allocation as al

strata = pd.DataFrame({"stratum": ["dense", "sparse"], "N": [400_000, 600_000], "prevalence": [0.10, 0.03]})
ney = al.allocate(strata, "neyman", n=2000)
print(ney.table[["stratum", "n_exact", "n"]])
print({k: f"{v:.4g}" for k, v in ney.steps.items()})
"""
    ),
    md(
        """
For the **prevalence**, Neyman allocation gains little over proportional (V_opt 2.472e-5 vs
V_prop 2.673e-5). For the **mean over the rare domain**, the optimal relative rates are
`k_h ∝ √P_h` and the variance ratio against proportionate allocation is
`R = (Σ W_h k_h)(Σ A_h/k_h)`, at best `R_min = (Σ √(W_h A_h))²`.
"""
    ),
    code(
        """
rare = al.rare_domain(strata["N"], strata["prevalence"], n=2000, labels=strata["stratum"])
print(rare.table[["stratum", "n", "k", "expected_cases"]])
print(f"k_dense/k_sparse = {rare.table['k'][0] / rare.table['k'][1]:.3f},  R_min = {rare.steps['R_min']:.3f}")
print(rare.assumptions)
"""
    ),
    md(
        """
## When is disproportionate sampling worth it?

Gains are large only when a **small** high-density stratum holds **most** of the rare group. Below:
a dense stratum with W = 10 % of households and the share A of the rare group living there.
"""
    ),
    code(
        """
W = 0.10
shares = np.linspace(0.1, 0.95, 60)
r_min = [(np.sqrt(W * A) + np.sqrt((1 - W) * (1 - A))) ** 2 for A in shares]
plt.figure(figsize=(6, 3.5))
plt.plot(shares, r_min)
plt.axhline(1, color="grey", linestyle="--")
plt.xlabel("share A of the rare group in the dense stratum (W = 10%)")
plt.ylabel("R_min (variance ratio)")
plt.title("Gain from disproportionate allocation")
plt.grid(alpha=0.3)
"""
    ),
    md(
        """
## Two-phase sampling: screen many, interview few

Phase 1 classifies households (say, a listing question "is anyone living abroad?"); phase 2
subsamples the classes at rates ν_h. Optimum: `ν_h = S_h √(c′/(c_h (S² − Σ W_h S_h²)))`.
"""
    ),
    code(
        """
classes = dict(shares=[0.06, 0.94], sds=[0.3, 0.1], means=[0.5, 0.02], phase2_costs=[20.0, 20.0], budget=20_000)
tp = al.two_phase_optimum(phase1_cost=1.0, **classes)
print(tp.table[["stratum", "share", "rate", "n"]])
print(f"phase 1: {tp.steps['phase1_n']:.0f} households; variance ratio to a single-phase sample: {tp.steps['ratio_to_single_phase']:.2f}")

costs = np.linspace(0.2, 20, 50)
ratios = [al.two_phase_optimum(phase1_cost=c, **classes).steps["ratio_to_single_phase"] for c in costs]
plt.figure(figsize=(6, 3.5))
plt.plot(costs, ratios); plt.axhline(1, color="grey", linestyle="--")
plt.xlabel("phase-1 cost per unit c′ (phase-2 cost 20)"); plt.ylabel("V(two-phase)/V(single phase)")
plt.title("Two-phase loses when screening is expensive"); plt.grid(alpha=0.3)
"""
    ),
    md(
        """
`V1` (between classes) and `V2` (within, the phase-2 part) are PracTools' `dub` components:
V = V1/n′ + V2/n2. When phase 2 is cheap, the optimum asks to interview *more* than all of a class:
the rate is capped at 1 and `cap_variance_ratio` says what the cap costs in variance.
"""
    ),
    code(
        """
cheap = al.two_phase_optimum(phase1_cost=1.0, **(classes | {"phase2_costs": [1.5, 1.5]}))
print({k: round(cheap.steps[k], 6) for k in ("V1", "V2", "classes_capped", "cap_variance_ratio")})
"""
    ),
    md(
        """
## Joint inclusion probabilities: why PPS systematic has no unbiased variance

PPS systematic never selects two EAs closer than one interval in the frame order together (π_kl = 0).
Conditional Poisson (maximum entropy) is fixed-size with every π_kl > 0, so the Horvitz-Thompson and
Sen-Yates-Grundy variances are unbiased (`survmig select --method cps`, `survmig plan joint`).
"""
    ),
    code(
        """
from survmig.sampling import unequal
from survmig.sampling.selection import pps_probabilities

x = np.array([120, 300, 450, 70, 220, 600, 150, 90, 330, 180.0])
pik, _ = pps_probabilities(x, np.zeros(10, dtype=int), np.array([4]))
sys_j, cps_j = unequal.systematic_joint_inclusion(pik), unequal.cps_joint_inclusion(pik)
fig, axes = plt.subplots(1, 2, figsize=(10, 4))
for ax, m, name in zip(axes, (sys_j, cps_j), ("PPS systematic", "conditional Poisson")):
    im = ax.imshow(np.where(np.eye(10, dtype=bool), np.nan, m), cmap="viridis", vmin=0)
    ax.set_title(f"{name}: {int((m == 0).sum() // 2)} zero pairs"); plt.colorbar(im, ax=ax)
plt.tight_layout()
"""
    ),
    md(
        """
## Selecting the sample

The frame of EAs has census household counts (measure of size) and census-prevalence strata. We
allocate EAs with the rare-domain rule, select them by PPS, then subsample listed households by
screening class. Every output carries `prob_stage1`, `prob_stage2`/`prob_phase2`, `prob`, `weight`.
"""
    ),
    code(
        """
from survmig.sampling.population import synthetic_population, ea_frame
from survmig.sampling import selection as sel

pop = synthetic_population(100_000, n_strata=3, prevalence=0.05, seed=1)
frame = ea_frame(pop)
by_stratum = frame.groupby("stratum").apply(
    lambda g: pd.Series({"N": g["households"].sum(),
                         "prevalence": np.average(g["census_prevalence"], weights=g["households"])}),
    include_groups=False).reset_index()
alloc = al.allocate(by_stratum, "rare", n=40 * 20, screen_cost=3, interview_cost=15)
eas_per_stratum = dict(zip(alloc.table["stratum"], np.maximum(2, np.round(alloc.table["n_exact"] / 20)).astype(int)))
print("EAs per stratum:", eas_per_stratum)

eas = sel.select_pps(frame, eas_per_stratum, "households", strata="stratum", seed=7)
listing = pop[pop["ea"].isin(eas["ea"])].copy()
# the listing's screener question misses 10% of migrant households and flags 3% of the others
rng = np.random.default_rng(3)
flag = np.where(listing["is_migrant"], rng.random(len(listing)) < 0.9, rng.random(len(listing)) < 0.03)
listing["screener"] = np.where(flag, "migrant", "none")
phase1 = listing.merge(eas[["ea", "prob_stage1"]], on="ea").assign(prob=lambda d: d["prob_stage1"])
phase2 = sel.select_two_phase(phase1, {"migrant": 1.0, "none": 0.1}, by="screener", within="ea", seed=8)
print(len(phase2), "households in phase 2")
est = np.sum(phase2["weight"] * phase2["is_migrant"]) / len(pop)
print(f"weighted prevalence {est:.4f} (true {pop['is_migrant'].mean():.4f})")
"""
    ),
    md(
        """
## Five designs, one population, many samples

`simulate` compares SRS of households, proportionate and disproportionate stratified cluster
samples, two-phase screening (with screener errors) and adaptive cluster sampling.
"""
    ),
    code(
        """
from survmig.sampling.simulate import simulate, SrsHouseholds, StratifiedCluster, TwoPhase, AdaptiveCluster

designs = [
    SrsHouseholds(n=1500),
    StratifiedCluster(psus=75, take=20),
    StratifiedCluster(psus=75, take=20, allocation="rare", name="disproportionate stratified cluster"),
    TwoPhase(psus=50),
    AdaptiveCluster(initial=20),
]
sim = simulate(pop, designs, reps=300, seed=2)
sim.table[["design", "estimand", "bias", "empirical_se", "mean_estimated_se", "coverage_95",
           "mean_cost", "rare_interviews", "relative_var_x_cost"]]
"""
    ),
    code("sim.plot();"),
    md(
        """
## Exercises

1. In Lohr's exercise, what allocation minimises the variance of the *domain mean* and by how much
   does it beat proportional allocation? Why is the gain so small?
2. Re-run the simulation with a poorer screener (`TwoPhase(psus=50, sensitivity=0.7)`). Is the
   prevalence estimate still unbiased? What happens to its standard error, and why?
3. Raise the phase-2 rate for screened negatives to 0.3. What happens to cost and precision?
"""
    ),
    code("# your work here\n"),
    answer(
        """
1. `k_dense/k_sparse = √(0.10/0.03) = 1.826`, `R_min = 0.915`: only 8.5 % less variance, because the
   dense stratum is large (40 % of households) and holds only 69 % of the rare group.
2. Still unbiased: missed migrant households can be selected among the screened negatives, and their
   weights (1/ν) account for it. But they come with large weights, so the SE grows — screener
   sensitivity buys precision.
3. More negatives are interviewed: cost rises, the weights become more equal and the SE of the
   prevalence falls; the var×cost column tells whether it was worth it.
"""
    ),
    code(
        """
poor = simulate(pop, [TwoPhase(psus=50), TwoPhase(psus=50, sensitivity=0.7, name="poor screener")], reps=200, seed=3)
poor.table[["design", "estimand", "bias", "empirical_se", "coverage_95", "mean_cost"]]
"""
    ),
]

NB3 = [
    md(
        """
# 3. Adaptive cluster sampling and network sampling

**Adaptive cluster sampling** (Thompson 1990) follows the rare group: when a sampled area meets a
condition (many migrant households), its neighbours are added. **Network (multiplicity) sampling**
(Sirken 1970) reaches people abroad through the households linked to them.
"""
    ),
    SETUP,
    md(
        """
## Thompson's five-unit example

y = (1, 0, 2, 10, 1000), initial SRS of n1 = 2, neighbours left and right, condition y ≥ 5.
Units 4 and 5 form a network; unit 3 is an edge unit of it.
"""
    ),
    code(
        """
from survmig.sampling import adaptive as acs

y = np.array([1, 0, 2, 10, 1000.0])
nets = acs.networks(y >= 5, acs.line_adjacency(5))
samples = acs.all_initial_samples(5, 2)
est = acs.acs_estimates(y, nets, samples)
final = acs.final_sample(samples, nets)
table = pd.DataFrame({
    "initial": [f"{{{a + 1},{b + 1}}}" for a, b in samples],
    "mean of initial": y[samples].mean(axis=1),
    "HH": est.hh, "HT": est.ht, "final size": final.sum(axis=1),
})
table
"""
    ),
    code(
        """
summary = acs.summarise_enumeration(y, nets, 2)
for key in ("population_mean", "var_initial", "var_hh", "var_ht", "expected_final_size"):
    print(f"{key:>20}: {summary.steps[key]:,.1f}")
print("inclusion probabilities α_k:", nets.inclusion(2))
"""
    ),
    md(
        """
All three estimators are unbiased (their mean over the ten samples is 202.6), but the adaptive
ones have far smaller variance: the large value is found through its network.

## On a map of EAs

The migrant share of EAs on a grid; EAs with a share ≥ 15 % form networks.
"""
    ),
    code(
        """
from survmig.sampling.population import synthetic_population

pop = synthetic_population(60_000, prevalence=0.05, mean_ea_size=150, seed=4)
ea = pop.groupby("ea").agg(row=("row", "first"), col=("col", "first"),
                           households=("hh_id", "size"), migrants=("is_migrant", "sum"))
share = (ea["migrants"] / ea["households"]).to_numpy()
shape = (ea["row"].max() + 1, ea["col"].max() + 1)
grid = np.full(shape, np.nan)
grid[ea["row"], ea["col"]] = share
adj = acs.grid_adjacency(*shape)
full = np.zeros(shape[0] * shape[1], dtype=bool)
full[: len(share)] = share >= 0.15  # EAs are numbered row by row on the grid
nets_map = acs.networks(full, adj)
rng = np.random.default_rng(5)
initial = rng.choice(len(share), size=15, replace=False)[None, :]
chosen = acs.final_sample(initial, nets_map)[0].reshape(shape)

fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
im = axes[0].imshow(grid, cmap="viridis"); plt.colorbar(im, ax=axes[0], label="migrant share")
axes[0].set_title("EA migrant share")
axes[1].imshow(grid, cmap="Greys", alpha=0.4)
r, c = np.divmod(initial[0], shape[1])
axes[1].imshow(np.where(chosen, 1.0, np.nan), cmap="autumn", alpha=0.8)
axes[1].scatter(c, r, marker="x", color="blue", label="initial sample")
axes[1].set_title(f"final sample: {chosen.sum()} EAs from 15 initial"); axes[1].legend(loc="lower right")
plt.tight_layout()
"""
    ),
    md(
        """
## An initial sample with replacement, and the Rao-Blackwell improvement

With replacement, α_k = 1 − (1 − x_k/N)^n1 and the HH variance has no finite-population factor
(Thompson 1990). The usual estimators do not use all the final sample tells us: averaging them over
the initial samples that give the same final sample (Rao-Blackwell) is unbiased and never worse.
"""
    ),
    code(
        """
wr = acs.summarise_enumeration(y, nets, 2, replacement=True)
wor = acs.summarise_enumeration(y, nets, 2)
print(f"with replacement: Var(HH) {wr.steps['var_hh']:,.1f}  Var(HT) {wr.steps['var_ht']:,.1f}")
print(f"without: Var(HH) {wor.steps['var_hh']:,.1f} -> RB {wor.steps['var_rb_hh']:,.1f};"
      f"  Var(HT) {wor.steps['var_ht']:,.1f} -> RB {wor.steps['var_rb_ht']:,.1f}")
"""
    ),
    md(
        """
## Network (multiplicity) sampling of emigrants

Each emigrant is reported by the households of their parents and siblings — by `m_i` households.
Counting every report over-counts emigrants with many relatives at home; Sirken's estimator divides
each report by `m_i`.
"""
    ),
    code(
        """
from survmig.sampling import network

rng = np.random.default_rng(6)
n_households, n_emigrants = 2_000, 300
m = 1 + rng.poisson(1.2, n_emigrants)                 # households linked to each emigrant
links = pd.DataFrame({
    "person": np.repeat(np.arange(n_emigrants), m),
    "household": np.concatenate([rng.choice(n_households, k, replace=False) for k in m]),
})
links["multiplicity"] = np.repeat(m, m)
links["y"] = 1.0                                      # count emigrants

naive, sirken = [], []
for rep in range(300):
    chosen = rng.choice(n_households, 200, replace=False)
    sample = pd.DataFrame({"household": chosen, "prob": 200 / n_households})
    mine = links[links["household"].isin(chosen)]
    naive.append(len(mine) * n_households / 200)
    sirken.append(network.multiplicity_total(mine, sample, "y", population_size=n_households).value)
print(f"true number of emigrants {n_emigrants}; naive mean {np.mean(naive):.0f}; multiplicity mean {np.mean(sirken):.0f}")
plt.figure(figsize=(6, 3.5))
plt.hist(naive, bins=30, alpha=0.6, label="count every report")
plt.hist(sirken, bins=30, alpha=0.6, label="multiplicity estimator")
plt.axvline(n_emigrants, color="k", linestyle="--"); plt.legend(); plt.xlabel("estimated emigrants");
"""
    ),
    md(
        """
## Exercises

1. In the five-unit example, which initial samples give the largest HT estimate, and why?
2. Change the condition to y ≥ 1. How do the networks, α_k and Var(HT) change?
3. In the network example, what is the expected value of the naive estimator? (Hint: each emigrant is
   counted m_i times.)
"""
    ),
    code("# your work here\n"),
    answer(
        """
1. Samples that hit the network {4, 5} once together with unit 3: {3,4} and {3,5} give
   (2/0.4 + 1010/0.7)/5 = 289.57; with unit 1 ({1,4}, {1,5}) 289.07. The network total 1010 is
   divided by α = 0.7 whenever it is hit; a singleton adds y/0.4.
2. With y ≥ 1, units 3, 4 and 5 form one network (α = 1 − C(2,2)/C(5,2) = 0.9), unit 1 is a network
   of its own and unit 2 is an edge unit of both. The big value is now found more often, so Var(HT)
   falls further — run the cell below.
3. Σ m_i: every emigrant is counted once per linked household; here about 1 + 1.2 = 2.2 times the truth.
"""
    ),
    code(
        """
alt = acs.networks(y >= 1, acs.line_adjacency(5))
print("networks:", alt.label, " α:", alt.inclusion(2))
print(f"Var(HT) with y ≥ 1: {acs.summarise_enumeration(y, alt, 2).steps['var_ht']:,.1f}")
print("expected naive total:", m.sum())
"""
    ),
]

NOTEBOOKS = {
    "01_rare_populations_screening.ipynb": NB1,
    "02_stratification_two_phase.ipynb": NB2,
    "03_adaptive_network_sampling.ipynb": NB3,
}


def build(target: Path = HERE) -> list[Path]:
    """Write the notebooks into ``target`` (no outputs, a python3 kernel)."""
    paths = []
    for name, cells in NOTEBOOKS.items():
        nb = new_notebook(cells=cells)
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        nb.metadata["language_info"] = {"name": "python"}
        for i, cell in enumerate(nb.cells):
            cell["id"] = f"{name[:2]}-{i:02d}"
        path = target / name
        nbformat.write(nb, path)
        paths.append(path)
    return paths


if __name__ == "__main__":
    for p in build(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE):
        print(p)
