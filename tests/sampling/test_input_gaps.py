"""Sample-size inputs a user gets wrong (a margin in points, an infinite margin) or right (ρ = 0),
and the one-line error of `simulate` when output is captured."""

from __future__ import annotations

import pytest

from survmig.errors import SurvmigError
from survmig.sampling import size


@pytest.mark.parametrize(
    ("proportion", "margin", "text"),
    [
        (0.4, 5, "below 0.5"),  # 5 meant as 5 points
        (0.4, 0.5, "below 0.5"),
        (0.04, 0.05, "min(P, 1 − P) = 0.04"),  # wider than P itself
        (0.97, 0.035, "min(P, 1 − P)"),
    ],
)
def test_margin_too_wide_for_the_proportion(proportion, margin, text):
    with pytest.raises(SurvmigError) as err:
        size.sample_size_proportion(proportion, margin=margin)
    assert err.value.where == "margin" and text in err.value.message
    assert "0.05 for 5 points" in err.value.hint


def test_margin_just_inside_is_accepted():
    # Cochran (1977) eq. 4.2: n0 = z² P(1-P)/e², P = 0.04, e = 0.039 -> 3.8415 · 0.0384 / 0.001521 = 96.98
    res = size.sample_size_proportion(0.04, margin=0.039)
    assert res.value == 97


def test_margin_cli_hint(run_cli):
    res = run_cli("sample-size", "--proportion", "0.4", "--margin", "5")
    assert res.exit_code == 2 and "margin" in res.stderr and "0.05 for 5 points" in res.stderr


@pytest.mark.parametrize("value", ["inf", "nan"])
def test_infinite_margin_is_not_called_negative(run_cli, value):
    res = run_cli("sample-size", "--proportion", "0.4", "--margin", value)
    assert res.exit_code == 2
    assert "must be a finite number" in res.stderr and "must be positive" not in res.stderr


def test_icc_zero_means_no_clustering(run_cli):
    assert size.design_effect(20, 0.0).value == 1.0
    res = run_cli(
        "sample-size", "--proportion", "0.5", "--margin", "0.05", "--cluster-size", "20",
        "--icc", "0",
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    assert "result: 385" in res.stdout  # deff 1: Cochran's 384.15 rounded up


def test_icc_zero_for_the_optimal_take_says_why(run_cli):
    res = run_cli("sample-size", "--psu-cost", "400", "--unit-cost", "20", "--icc", "0")
    assert res.exit_code == 2 and "infinite" in res.stderr


@pytest.mark.parametrize("icc", ["1", "-0.1"])
def test_icc_out_of_range(run_cli, icc):
    res = run_cli("sample-size", "--proportion", "0.5", "--margin", "0.05",
                  "--cluster-size", "20", "--icc", icc)  # fmt: skip
    assert res.exit_code == 2 and "icc" in res.stderr


def test_simulate_error_after_the_bar_is_one_line(run_cli, tmp_path):
    """An error raised while the progress bar runs: one line on captured stderr, no blank line."""
    res = run_cli("simulate", "--households", "5000", "--reps", "3", "--psus", "100000")
    assert res.exit_code == 2
    assert res.stderr.startswith("error: ") and len(res.stderr.splitlines()) == 1, repr(res.stderr)
