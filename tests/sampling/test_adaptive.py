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
