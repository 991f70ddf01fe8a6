"""Cluster planning, sample sizes, unequal-probability designs: against PracTools and R `sampling`.

Reference values: ``tests/reference/sampling_plans.R`` (PracTools' documented examples, R sampling's
UPsystematicpi2 / UPmaxentropypi2) → ``sampling_plans.json``; the frame it drew is
``sampling_frame.csv``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from survmig.errors import SurvmigError
from survmig.sampling import allocation, clusters, precision, unequal

REF = Path(__file__).parents[1] / "reference"
R = json.loads((REF / "sampling_plans.json").read_text())


def test_clusopt2_budget_and_cv():
    got = clusters.cluster_optimum(750, 100, 0.05, 1, budget=100_000).value
    ref = R["clusOpt2_budget"]  # PracTools rounds its printout to 0.1 / 1e-4
    assert got["take_per_psu"] == pytest.approx(ref["n.opt"], abs=0.05)
    assert got["psus"] == pytest.approx(ref["m.opt"], abs=0.05)
    assert got["cv"] == pytest.approx(ref["CV"], abs=5e-5)
    got = clusters.cluster_optimum(750, 100, 0.01, 1, cv=0.05).value
    assert got["cost"] == pytest.approx(R["clusOpt2_cv"]["cost"], rel=1e-12)
    assert got["psus"] == pytest.approx(R["clusOpt2_cv"]["m.opt"], abs=0.05)


def test_clusopt2_whole_takes_table_spends_the_budget():
    res = clusters.cluster_optimum(750, 100, 0.05, 1, budget=100_000)
    t = res.table
    assert np.allclose(t["psus"] * (750 + 100 * t["take_per_psu"]), 100_000)
    # the optimum's CV is the smallest any take reaches
    assert res.value["cv"] <= t["cv"].min() + 1e-12


def test_clusopt3_budget_and_cv():
    got = clusters.cluster_optimum_3stage((500, 100, 120), 0.01, 0.10, 1, budget=100_000).value
    ref = R["clusOpt3_budget"]
    assert got["psus"] == pytest.approx(ref["m.opt"], abs=0.05)
    assert got["ssus_per_psu"] == pytest.approx(ref["n.opt"], abs=0.05)
    assert got["take_per_ssu"] == pytest.approx(ref["q.opt"], abs=0.05)
    assert got["cv"] == pytest.approx(ref["CV"], abs=5e-5)
    got = clusters.cluster_optimum_3stage((500, 100, 120), 0.01, 0.10, 1, cv=0.01).value
    assert got["cost"] == pytest.approx(R["clusOpt3_cv"]["cost"], rel=1e-12)


@pytest.mark.parametrize("method,size", [("BW2stagePPS", "mos"), ("BW2stageSRS", None)])
def test_variance_components_match_practools(method, size):
    frame = pd.read_csv(REF / "sampling_frame.csv")
    got = clusters.variance_components(frame, "remit", "ea", size=size).steps
    ref = R[method]
    for ours, theirs in [("B2", "B2"), ("W2", "W2"), ("unit_relvar", "unit relvar")] + [
        ("k", "k"),
        ("delta", "delta"),
    ]:
        assert got[ours] == pytest.approx(ref[theirs], rel=1e-12), ours


def test_variance_components_bad_input():
    frame = pd.read_csv(REF / "sampling_frame.csv")
    with pytest.raises(SurvmigError, match="no column 'eaid'"):
        clusters.variance_components(frame, "remit", "eaid")
    bad = frame.assign(mos=frame["mos"].where(frame.index != 3, 99))
    with pytest.raises(SurvmigError, match="differs within a PSU"):
        clusters.variance_components(bad, "remit", "ea", size="mos")


def test_dub_components_and_cap():
    ph = np.array([0.02, 0.12, 0.37, 0.54])
    sh = np.sqrt(ph * (1 - ph))
    res = allocation.two_phase_optimum([0.25] * 4, sh, ph, 10, [100] * 4, 20_000)
    ref = R["dub_nocap"]
    assert res["classes_capped"] == 0 and res["cap_variance_ratio"] == pytest.approx(1.0)
    for ours, theirs in [("V1", "V1"), ("V2", "V2"), ("phase1_n", "n1"), ("phase2_n", "n2")] + [
        ("variance", "Vopt")
    ]:
        assert res[ours] == pytest.approx(ref[theirs], rel=1e-12), ours
    # dub's own help example asks class 4 for more phase-2 units than phase 1 finds there
    # (rate 1.09): survmig caps the rate at 1, re-optimises and says what the cap costs
    capped = allocation.two_phase_optimum([0.25] * 4, sh, ph, 10, [50] * 4, 20_000)
    assert capped["V1"] == pytest.approx(R["dub"]["V1"], rel=1e-12)
    assert capped["variance_uncapped"] == pytest.approx(R["dub"]["Vopt"], rel=1e-12)
    assert capped["classes_capped"] >= 1  # after re-optimising, class 3 reaches the cap too
    assert capped.value.max() == 1.0
    assert capped["cap_variance_ratio"] > 1


def test_domain_sizes():
    assert precision.domain_size(0.5, 0.05, unit_cv=1).value == pytest.approx(R["nDomain_total"])
    assert precision.domain_size(0.5, 0.05, unit_cv=1, estimate="mean").value == R["nDomain_mean"]
    got = precision.domain_size(0.06, 0.1, unit_cv=0.5, population_size=5000).steps["n"]
    assert got == pytest.approx(R["nDomain_total_N"], rel=1e-12)


def test_small_proportion_sizes():
    wilson = precision.proportion_size_interval(0.04, 0.01)
    assert wilson.steps["n"] == pytest.approx(R["nWilson_abs"]["n.sam"], rel=1e-12)
    assert wilson.steps["ci_lower"] == pytest.approx(R["nWilson_abs"]["CI lower limit"], rel=1e-12)
    rel = precision.proportion_size_interval(0.04, 0.25, relative=True)
    assert rel.steps["n"] == pytest.approx(R["nWilson_rel"]["n.sam"], rel=1e-12)
    lo = precision.proportion_size_interval(0.2, 0.05, method="log-odds")
    assert lo.steps["n"] == pytest.approx(R["nLogOdds_abs"], rel=1e-12)
    lo = precision.proportion_size_interval(0.2, 0.05, method="log-odds", relative=True)
    assert lo.steps["n"] == pytest.approx(R["nLogOdds_rel"], rel=1e-12)
    lo = precision.proportion_size_interval(0.03, 0.01, method="log-odds", population_size=20_000)
    assert lo.steps["n"] == pytest.approx(R["nLogOdds_N"], rel=1e-12)
    with pytest.raises(SurvmigError, match="not smaller than P"):
        precision.proportion_size_interval(0.03, 0.05, method="log-odds")


def test_difference_sizes():
    got = precision.difference_size_proportions(0.5, 0.55).value
    assert got["n1"] == R["nProp2sam_indep"]["n1"]
    got = precision.difference_size_proportions(
        0.5, 0.55, overlap=0.5, p_both=0.45, sided="one"
    ).value
    assert got["n1"] == R["nProp2sam_panel"]["n1"]
    got = precision.difference_size_means(
        5, math.sqrt(200), overlap=0.75, correlation=0.9, sided="one"
    )
    assert got.value["n1"] == R["nDep2sam"]["n1"]
    with pytest.raises(SurvmigError, match="impossible"):
        precision.difference_size_proportions(0.1, 0.5, overlap=0.5, p_both=0.3)
    # a design effect scales both groups
    base = precision.difference_size_proportions(0.08, 0.12).steps["n1"]
    assert precision.difference_size_proportions(0.08, 0.12, deff=2).steps["n1"] == pytest.approx(
        2 * base
    )


def test_composite_mos_matches_practools():
    dsn = pd.DataFrame(
        {
            "psuID": range(1, 11),
            "D1": [50, 50, 50, 50, 50, 70, 50, 50, 50, 50],
            "D2": [50, 30, 90, 40, 25, 40, 80, 65, 30, 50],
        }
    )
    res = clusters.composite_mos(dsn, "psuID", {"D1": 130, "D2": 50}, 4, response_rates={"D2": 0.8})
    ref = R["CompMOS"]
    assert np.allclose(res.table["composite_mos"], ref["mos"], rtol=1e-12)
    assert np.allclose(res.table["prob"], ref["prob"], rtol=1e-12)
    assert np.allclose(res.table["D1_rate"], ref["rate_D1"], rtol=1e-12)
    assert np.allclose(res.table["D2_rate"], ref["rate_D2"], rtol=1e-12)
    # every PSU has the same expected workload
    takes = res.table["D1_take"] + res.table["D2_take"]
    assert np.allclose(takes, takes.iloc[0])


@pytest.mark.parametrize("case", ["a", "b", "c"])
def test_joint_inclusion_match_r_sampling(case):
    pik = np.array(R[f"pik_{case}"])
    assert np.allclose(
        unequal.systematic_joint_inclusion(pik), np.array(R[f"sys_{case}"]), atol=1e-14
    )
    # R stops its fixed point at 1e-6; ours runs to 1e-12, so agreement is to R's tolerance
    cps = unequal.cps_joint_inclusion(pik)
    assert np.allclose(cps, np.array(R[f"cps_{case}"]), atol=1e-6)
    n = round(pik.sum())
    off = cps - np.diag(np.diag(cps))
    assert np.allclose(off.sum(axis=1), (n - 1) * pik, atol=1e-10)  # exact margins
    assert np.all(cps > 0)


def test_systematic_has_zero_pairs_and_syg_refuses_them():
    pik = np.array(R["pik_b"])
    joint = unequal.systematic_joint_inclusion(pik)
    assert (joint == 0).any()
    with pytest.raises(SurvmigError, match="no unbiased variance"):
        unequal.ht_variance(np.ones(6), pik, joint)


def test_cps_selection_and_syg_unbiased_by_enumeration():
    """Over all samples of a conditional Poisson design (its probabilities from the exact joint
    matrix of 2-unit samples), HT is unbiased and the SYG estimator's mean is the true variance."""
    pik = np.array([0.3, 0.5, 0.6, 0.6])  # n = 2: each pair's probability is π_kl
    joint = unequal.cps_joint_inclusion(pik)
    y = np.array([3.0, 10.0, 4.0, 12.0])
    pairs = [(i, j) for i in range(4) for j in range(i + 1, 4)]
    prob = np.array([joint[i, j] for i, j in pairs])
    assert prob.sum() == pytest.approx(1.0)
    ht = np.array([y[i] / pik[i] + y[j] / pik[j] for i, j in pairs])
    v = np.array(
        [
            unequal.ht_variance(y[[i, j]], pik[[i, j]], joint[np.ix_([i, j], [i, j])])
            for i, j in pairs
        ]
    )
    assert np.sum(prob * ht) == pytest.approx(y.sum())
    true_var = np.sum(prob * (ht - y.sum()) ** 2)
    assert np.sum(prob * v) == pytest.approx(true_var)
    # draws reproduce the design's inclusion probabilities (10,000 samples: 4 SE tolerance)
    rng = np.random.default_rng(7)
    samples = unequal.select_cps(pik, rng, reps=10_000)
    assert np.all(samples.sum(axis=1) == 2)
    hits = samples.mean(axis=0)
    assert np.all(np.abs(hits - pik) < 4 * np.sqrt(pik * (1 - pik) / 10_000))
    assert unequal.select_cps(pik, rng).size == 2


def test_poisson_and_pps_wr():
    rng = np.random.default_rng(3)
    pik = np.full(1000, 0.1)
    assert 60 < unequal.select_poisson(pik, rng).size < 140
    hits = unequal.select_pps_wr(np.arange(1, 11), 50, rng)
    assert hits.sum() == 50 and hits.shape == (10,)
    with pytest.raises(SurvmigError, match="sum to 2.5"):
        unequal.cps_joint_inclusion([0.5, 1.0, 1.0])
