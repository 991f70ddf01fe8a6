"""Adaptive cluster sampling: Thompson's 5-unit example by full enumeration, and general properties."""

from __future__ import annotations

import numpy as np
import pytest

from survmig.errors import SurvmigError
from survmig.sampling import adaptive as acs

Y = np.array([1, 0, 2, 10, 1000.0])


@pytest.fixture
def nets() -> acs.Networks:
    return acs.networks(Y >= 5, acs.line_adjacency(5))


def test_networks_and_inclusion(nets):
    assert nets.label[3] == nets.label[4]
    assert len(set(nets.label[:3])) == 3
    alpha = nets.inclusion(2)[nets.label]
    assert alpha == pytest.approx([0.4, 0.4, 0.4, 0.7, 0.7])


def test_known_answers_by_full_enumeration(nets):
    res = acs.summarise_enumeration(Y, nets, 2)
    assert res["samples"] == 10
    assert res["population_mean"] == pytest.approx(202.6)
    for est in ("initial", "hh", "ht"):
        assert res[f"mean_{est}"] == pytest.approx(202.6)  # all three unbiased
    assert round(res["var_initial"], 1) == 59_615.3
    assert round(res["var_hh"], 1) == 22_861.6
    assert round(res["var_ht"], 1) == 17_418.4
    assert res["expected_final_size"] == pytest.approx(3.1)
    assert res["expected_final_size_formula"] == pytest.approx(3.1)


def test_variance_estimators_are_unbiased(nets):
    res = acs.summarise_enumeration(Y, nets, 2)
    assert res["mean_hh_var_estimate"] == pytest.approx(res["var_hh"])
    assert res["mean_ht_var_estimate"] == pytest.approx(res["var_ht"])


def test_sample_1_4_gives_ht_289_07(nets):
    est = acs.acs_estimates(Y, nets, np.array([0, 3]))
    assert round(float(est.ht[0]), 2) == 289.07
    assert est.hh[0] == pytest.approx((1 + 505) / 2)
    final = acs.final_sample(np.array([0, 3]), nets)[0]
    assert final.tolist() == [True, False, True, True, True]  # unit 3 is an edge unit


def test_grid_population_enumeration():
    """On a 4×4 grid with two networks: unbiasedness, and E(ν) from the formula equals enumeration."""
    rng = np.random.default_rng(3)
    y = rng.poisson(0.5, 16).astype(float)
    y[[5, 6, 10]] = [8, 12, 9]
    y[15] = 20
    nets = acs.networks(y >= 5, acs.grid_adjacency(4, 4))
    assert nets.size.max() == 3
    res = acs.summarise_enumeration(y, nets, 3)
    assert res["mean_hh"] == pytest.approx(y.mean())
    assert res["mean_ht"] == pytest.approx(y.mean())
    assert res["mean_ht_var_estimate"] == pytest.approx(res["var_ht"])
    assert res["expected_final_size"] == pytest.approx(res["expected_final_size_formula"])


def test_ratio_properties(nets):
    samples = acs.all_initial_samples(5, 2)
    plain = acs.acs_estimates(Y, nets, samples)
    ratio = acs.acs_ratio(Y, np.ones(5), nets, samples)
    assert ratio.hh == pytest.approx(plain.hh)  # network means of d = 1 are 1
    # HT of the ratio: Ŷ_HT / D̂_HT with D̂_HT = Σ x_k/α_k over distinct networks
    lab = nets.label[samples]
    alpha = nets.inclusion(2)
    d_hat = np.array([sum(nets.size[k] / alpha[k] for k in set(row)) for row in lab], dtype=float)
    assert ratio.ht == pytest.approx(plain.ht * 5 / d_hat)
    same = acs.acs_ratio(Y + 1, Y + 1, nets, samples)  # y/y = 1 with no variance
    assert same.ht == pytest.approx(np.ones(10)) and same.hh == pytest.approx(np.ones(10))
    assert np.abs(same.ht_var).max() < 1e-12 and np.abs(same.hh_var).max() < 1e-12


def test_errors(nets):
    with pytest.raises(SurvmigError) as err:
        acs.acs_estimates(Y, nets, np.array([[1]]))
    assert err.value.where == "n1"
    with pytest.raises(SurvmigError):
        acs.networks(np.ones(3, bool), acs.line_adjacency(4))


def test_with_replacement_initial_sample(nets):
    """Initial sample of n1 = 2 draws with replacement (Thompson 1990 §4): the 25 ordered samples.

    By hand: network means w = (1, 0, 2, 505, 505), so Var(μ̂_HH) = Σ(w_i − μ)²/(N n1)
    = 304,821.2/10 = 30,482.12; α_k = 1 − (1 − x_k/N)^n1 = 0.36 for single units, 0.64 for {4, 5}.
    """
    res = acs.summarise_enumeration(Y, nets, 2, replacement=True)
    assert res["samples"] == 25
    assert res["mean_hh"] == pytest.approx(202.6)
    assert res["mean_ht"] == pytest.approx(202.6)
    assert res["var_hh"] == pytest.approx(30_482.12)
    assert res["mean_hh_var_estimate"] == pytest.approx(res["var_hh"])
    assert res["mean_ht_var_estimate"] == pytest.approx(res["var_ht"])
    alpha = nets.inclusion(2, replacement=True)[nets.label]
    assert alpha == pytest.approx([0.36, 0.36, 0.36, 0.64, 0.64])
    # the HT variance from its definition, written out pair by pair
    totals = {0: 1.0, 1: 0.0, 2: 2.0, 3: 1010.0}
    size = {0: 1, 1: 1, 2: 1, 3: 2}
    miss = {k: (1 - x / 5) ** 2 for k, x in size.items()}
    var = 0.0
    for k in totals:
        for h in totals:
            a_k, a_h = 1 - miss[k], 1 - miss[h]
            a_kh = a_k if k == h else 1 - miss[k] - miss[h] + (1 - (size[k] + size[h]) / 5) ** 2
            var += totals[k] * totals[h] * (a_kh - a_k * a_h) / (a_k * a_h)
    assert res["var_ht"] == pytest.approx(var / 25)
    assert res["expected_final_size"] == pytest.approx(res["expected_final_size_formula"])


def test_rao_blackwell_is_the_conditional_mean_and_never_worse(nets):
    samples = acs.all_initial_samples(5, 2)
    plain = acs.acs_estimates(Y, nets, samples)
    rb = acs.rao_blackwell(Y, nets, samples)
    finals = [tuple(row) for row in acs.final_sample(samples, nets)]
    # E(μ̂ | final sample) computed by grouping the enumeration, independently of rao_blackwell
    groups: dict[tuple, list[int]] = {}
    for i, key in enumerate(finals):
        groups.setdefault(key, []).append(i)
    for rows in groups.values():
        assert rb.hh[rows] == pytest.approx(np.full(len(rows), plain.hh[rows].mean()))
        assert rb.ht[rows] == pytest.approx(np.full(len(rows), plain.ht[rows].mean()))
    assert rb.hh.mean() == pytest.approx(202.6) and rb.ht.mean() == pytest.approx(202.6)
    assert rb.hh.var() < plain.hh.var()  # 18,644.8 against 22,861.6
    assert rb.ht.var() <= plain.ht.var() + 1e-9
    # the RB variance estimator stays unbiased for the RB estimator's variance
    assert rb.hh_var.mean() == pytest.approx(rb.hh.var())
    assert rb.ht_var.mean() == pytest.approx(rb.ht.var())
    res = acs.summarise_enumeration(Y, nets, 2)
    assert round(res["var_rb_hh"], 1) == round(float(rb.hh.var()), 1)
