"""Allocations: Lohr's stratified-prevalence exercise (Kalton & Anderson) and the formulas' limits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from survmig.errors import SurvmigError
from survmig.sampling import allocation as al

SIZES = [400_000, 600_000]  # N1/N = 0.4; large N: no fpc
P = [0.10, 0.03]


def test_lohr_neyman_and_variances():
    strata = pd.DataFrame({"stratum": ["high", "low"], "N": SIZES, "prevalence": P})
    res = al.allocate(strata, "neyman", n=2000)
    n1, n2 = res.table["n_exact"]
    assert round(n1, 1) == 1079.4
    assert round(n2, 1) == 920.6
    assert res["variance"] == pytest.approx(2.472e-5, abs=5e-9)  # V_opt
    assert res["variance_proportional"] == pytest.approx(2.673e-5, abs=5e-9)  # V_prop
    assert res["variance_srs"] == pytest.approx(2.732e-5, abs=5e-9)  # V_SRS
    assert list(res.table["n"]) == [1079, 921]


def test_lohr_rare_domain():
    res = al.rare_domain(SIZES, P, n=2000)
    k = res.table["k"].to_numpy()
    assert k[0] / k[1] == pytest.approx(np.sqrt(0.10 / 0.03))
    assert round(k[0] / k[1], 3) == 1.826
    assert round(res["R_min"], 3) == 0.915
    assert res["R"] == pytest.approx(res["R_min"])
    assert "√(P_h" in res.formula and "screener" in res.assumptions


def test_rare_domain_cost_form_and_budget():
    # c = (c_s + c_i)/c_s = 6: k_h ∝ √(P_h/(1 + 5 P_h))
    res = al.rare_domain(SIZES, P, n=2000, screen_cost=1, interview_cost=5)
    k = res.table["k"].to_numpy()
    assert k[0] / k[1] == pytest.approx(np.sqrt((0.10 / 1.5) / (0.03 / 1.15)), rel=1e-3)
    # the cost-adjusted rates minimise R_cost: perturbing them makes it worse
    assert res["R_cost"] < 1
    budget = res["cost"]
    again = al.rare_domain(SIZES, P, budget=budget, screen_cost=1, interview_cost=5)
    assert again.table["n_exact"].sum() == pytest.approx(2000)


def test_rare_domain_ratio_is_the_variance_ratio():
    # R is V(domain mean, allocation)/V(domain mean, proportional) at equal n
    w = np.array(SIZES) / sum(SIZES)
    res = al.rare_domain(SIZES, P, n=2000)
    n_h = res.table["n_exact"].to_numpy()
    a = w * np.array(P) / np.sum(w * np.array(P))
    v = np.sum(a**2 / (n_h * np.array(P)))
    v_prop = np.sum(a**2 / (2000 * w * np.array(P)))
    assert res["R"] == pytest.approx(v / v_prop)


def test_optimal_with_costs_budget_and_variance():
    sizes, sds, costs = [1000, 2000, 500], [10.0, 5.0, 20.0], [4.0, 1.0, 9.0]
    by_n = al.optimal(sizes, sds, costs, n=300)
    share = np.array(sizes) * np.array(sds) / np.sqrt(costs)
    assert by_n.table["n_exact"].to_numpy() == pytest.approx(300 * share / share.sum())
    by_budget = al.optimal(sizes, sds, costs, budget=by_n["cost"] + 100, fixed_cost=100)
    assert by_budget.table["n_exact"].sum() == pytest.approx(300)
    v = al.stratified_variance(sizes, sds, by_n.table["n_exact"], fpc=True)
    by_var = al.optimal(sizes, sds, costs, target_variance=v)
    assert by_var.table["n_exact"].sum() == pytest.approx(300)


def test_neyman_caps_strata_taken_whole():
    res = al.neyman([10, 1000], [100.0, 1.0], 100)
    assert res.table["n_exact"].iloc[0] == 10
    assert res.table["n_exact"].sum() == pytest.approx(100)
    assert res.table["n"].sum() == 100


def test_compromise_limits():
    sizes = [100, 300, 600]
    equal = al.compromise(sizes, 300, importance=0)
    assert equal.table["n_exact"].to_numpy() == pytest.approx([100, 100, 100])
    prop = al.compromise(sizes, 300, importance=1e9)
    assert prop.table["n_exact"].to_numpy() == pytest.approx([30, 90, 180], rel=1e-4)


def test_power_allocation_limits():
    sds, means, x = [2.0, 4.0, 6.0], [10.0, 10.0, 20.0], [100.0, 400.0, 900.0]
    q0 = al.power(sds, means, x, 90, q=0)  # equal CVs: n_h ∝ CV_h
    assert q0.table["n_exact"].to_numpy() == pytest.approx(90 * np.array([0.2, 0.4, 0.3]) / 0.9)
    q1 = al.power(sds, means, x, 90, q=1)
    share = np.array(sds) / np.array(means) * np.array(x)
    assert q1.table["n_exact"].to_numpy() == pytest.approx(90 * share / share.sum())


def test_two_phase_optimum_formula():
    w, s, ybar, c = [0.06, 0.94], [0.3, 0.1], [0.5, 0.02], [20.0, 20.0]
    res = al.two_phase_optimum(w, s, ybar, 1.0, c, 10_000)
    within = 0.06 * 0.09 + 0.94 * 0.01
    s2 = within + np.sum(np.array(w) * (np.array(ybar) - np.dot(w, ybar)) ** 2)
    nu = np.array(s) * np.sqrt(1.0 / (np.array(c) * (s2 - within)))
    assert res.value == pytest.approx(nu)
    n1 = 10_000 / (1 + np.sum(np.array(c) * np.array(w) * nu))
    assert res["phase1_n"] == pytest.approx(n1)

    # the optimum beats every other pair of rates at the same cost
    def var_at(rates):
        n = 10_000 / (1 + np.sum(np.array(c) * np.array(w) * rates))
        return (s2 - within) / n + np.sum(np.array(w) * np.array(s) ** 2 / (n * rates))

    assert res["variance"] == pytest.approx(var_at(nu))
    for other in ([0.9, 0.2], [0.4, 0.1], [1.0, 0.5]):
        assert var_at(np.array(other)) > res["variance"]


def test_two_phase_loses_when_phase1_is_expensive():
    res = al.two_phase_optimum([0.06, 0.94], [0.3, 0.1], [0.5, 0.02], 15.0, [20.0, 20.0], 10_000)
    assert res["ratio_to_single_phase"] > 1


def test_two_phase_caps_rates_at_one():
    res = al.two_phase_optimum([0.05, 0.95], [0.5, 0.05], [0.5, 0.01], 5.0, [10.0, 10.0], 10_000)
    assert res.value[0] == 1.0
    assert 0 < res.value[1] < 1


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: al.rare_domain([10, 20], [0.1, 1.2], n=5), "prevalence"),
        (lambda: al.neyman([10, 0], [1, 1], 5), "N"),
        (lambda: al.neyman([10, 20], [1, -1], 5), "sd"),
        (lambda: al.optimal([10, 20], [1, 1], [1, 1], budget=50, fixed_cost=80), "budget"),
        (
            lambda: al.two_phase_optimum([0.5, 0.5], [1, 1], [0, 1], 1, [1, 1], 10, fixed_cost=20),
            "budget",
        ),
        (lambda: al.proportional([10, 20], 100), "n"),
    ],
)
def test_bad_input(call, field):
    with pytest.raises(SurvmigError) as err:
        call()
    assert err.value.where == field


def test_empty_stratum_is_named():
    strata = pd.DataFrame({"stratum": ["north", "south"], "N": [100, 0], "sd": [1.0, 1.0]})
    with pytest.raises(SurvmigError, match="'south' has no units"):
        al.allocate(strata, "neyman", n=10)


def test_missing_column_is_named():
    with pytest.raises(SurvmigError) as err:
        al.allocate(pd.DataFrame({"stratum": [1], "N": [10]}), "optimal", n=5)
    assert err.value.where == "sd"
