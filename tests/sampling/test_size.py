"""Sample-size calculators: textbook formulas and agreement with samplics."""

from __future__ import annotations

import math
import warnings

import pytest

from survmig.errors import SurvmigError
from survmig.sampling import size

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from samplics.sampling import calculate_ss_wald_prop
    from samplics.sampling.size_functions import _ss_for_mean_wald


def test_proportion_margin_textbook():
    # Cochran: P = 0.5, e = 0.05, 95 % → n0 = 384.15
    res = size.sample_size_proportion(0.5, margin=0.05)
    assert res["n0"] == pytest.approx(1.959963984540054**2 * 0.25 / 0.0025)
    assert res.value == 385
    assert "z² P(1−P)/e²" in res.formula
    assert "simple random sampling" in res.assumptions


@pytest.mark.parametrize(
    ("p", "e", "big_n", "deff", "rr"),
    [(0.3, 0.03, None, 1.0, 1.0), (0.05, 0.01, 20000, 2.5, 0.85), (0.6, 0.05, 1500, 1.7, 0.9)],
)
def test_proportion_agrees_with_samplics(p, e, big_n, deff, rr):
    ours = size.sample_size_proportion(
        p, margin=e, population_size=big_n, deff=deff, response_rate=rr
    )
    theirs = calculate_ss_wald_prop(p, e, pop_size=big_n, deff_c=deff, resp_rate=rr)
    assert ours.value == theirs


@pytest.mark.parametrize(("sd", "e", "big_n"), [(400.0, 25.0, None), (12.0, 1.5, 800)])
def test_mean_agrees_with_samplics(sd, e, big_n):
    ours = size.sample_size_mean(sd, margin=e, population_size=big_n, deff=1.4)
    theirs = _ss_for_mean_wald(e, sd, big_n, 1.4, 1.0, 0.05)
    assert ours.value == theirs


def test_target_cv_and_fpc():
    res = size.sample_size_proportion(0.05, cv=0.1, population_size=10_000)
    n0 = 0.95 / (0.05 * 0.01)
    assert res["n0"] == pytest.approx(n0)
    assert res["n_fpc"] == pytest.approx(n0 / (1 + (n0 - 1) / 10_000))
    res = size.sample_size_mean(400, mean=250, cv=0.05)
    assert res["n0"] == pytest.approx((400 / 250) ** 2 / 0.0025)


def test_cluster_deff_and_rare_domain():
    assert size.design_effect(20, 0.1).value == pytest.approx(2.9)
    # a domain with P = 0.05 takes 1 member per cluster on average: no clustering penalty
    assert size.design_effect(20, 0.1, prevalence=0.05).value == pytest.approx(1.0)
    assert size.design_effect(40, 0.1, prevalence=0.1).value == pytest.approx(1.3)
    res = size.sample_size_proportion(0.4, margin=0.05, cluster_size=40, icc=0.1, prevalence=0.1)
    assert res["deff"] == pytest.approx(1.3)
    # households to screen = interviews / P
    assert res["households_to_screen"] == pytest.approx(res["interviews"] / 0.1)
    assert res.value == math.ceil(res["households_to_screen"])


def test_screening_and_cost_per_case():
    res = size.screening(
        800, 0.04, screener_response=0.9, interview_response=0.8, screen_cost=2, interview_cost=25
    )
    assert res["households_to_screen"] == pytest.approx(800 / (0.04 * 0.9 * 0.8))
    assert res["cost_per_case"] == pytest.approx((25 + 2 / (0.04 * 0.9)) / 0.8)


def test_optimal_take():
    res = size.optimal_cluster_take(400, 20, 0.05)
    assert res.value == pytest.approx(math.sqrt(20 * 0.95 / 0.05))
    rare = size.optimal_cluster_take(400, 20, 0.05, screen_cost=2, prevalence=0.05)
    assert rare["C2"] == pytest.approx(20 + 2 / 0.05)
    assert rare.value == pytest.approx(math.sqrt(400 / 60 * 0.95 / 0.05))


def test_weighting_effect():
    res = size.weighting_effect([1, 1, 2, 2])
    assert res.value == pytest.approx(4 * 10 / 36)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: size.sample_size_proportion(1.2, margin=0.05), "proportion"),
        (lambda: size.sample_size_proportion(0.0, margin=0.05), "proportion"),
        (lambda: size.sample_size_proportion(0.3, margin=-0.05), "margin"),
        (lambda: size.sample_size_proportion(0.3, cv=0), "cv"),
        (lambda: size.sample_size_proportion(0.3, margin=0.05, prevalence=1.5), "prevalence"),
        (lambda: size.screening(100, 0), "prevalence"),
        (lambda: size.sample_size_proportion(0.3, margin=0.05, response_rate=1.2), "response_rate"),
        (lambda: size.optimal_cluster_take(-1, 20, 0.1), "psu_cost"),
        (lambda: size.design_effect(20, 1.0), "icc"),
    ],
)
def test_bad_input_names_the_field(call, field):
    with pytest.raises(SurvmigError) as err:
        call()
    assert err.value.where == field
