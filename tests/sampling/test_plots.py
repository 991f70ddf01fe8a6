"""`sample-size --plot` and `allocate --plot`: the figures show the calculators' own numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from survmig.sampling import plots, size


def test_take_plot_has_its_minimum_at_the_optimal_take():
    fig = plots.take_plot(400, 20, 0.05)
    m, rel = fig.axes[0].lines[0].get_data()
    m_opt = size.optimal_cluster_take(400, 20, 0.05).value  # √(20 · 0.95/0.05) = 19.49
    assert m_opt == pytest.approx(np.sqrt(20 * 0.95 / 0.05))
    assert m[np.argmin(rel)] == pytest.approx(m_opt, abs=m[1] - m[0])
    assert rel.min() == pytest.approx(1.0, abs=1e-4)


def test_size_against_icc_is_the_calculator_on_a_grid():
    args = {"proportion": 0.3, "margin": 0.05, "cluster_size": 20, "icc": 0.1}
    fig = plots.calculator_plot(size.sample_size_proportion, args)
    line, point = fig.axes[0].lines[:2]
    icc, n = line.get_data()
    assert icc[0] == 0 and icc[-1] == pytest.approx(0.3)
    expected = [size.sample_size_proportion(**{**args, "icc": r}).value for r in icc]
    np.testing.assert_array_equal(n, expected)
    # ρ = 0 is no clustering: Cochran's n0 = 1.96² · 0.21 / 0.0025 = 322.7 -> 323
    assert n[0] == 323
    assert point.get_data()[1][0] == size.sample_size_proportion(**args).value


def test_screening_against_prevalence_falls_like_one_over_p():
    args = {"cases": 800, "prevalence": 0.04, "screen_cost": 2, "interview_cost": 25}
    fig = plots.calculator_plot(size.screening, args)
    p, screened = fig.axes[0].lines[0].get_data()
    np.testing.assert_allclose(screened * p, 800, rtol=0.01)  # households to screen = n / P


def test_allocation_bars_and_the_proportional_reference():
    table = pd.DataFrame({"stratum": ["a", "b"], "N": [300, 100], "n": [20, 20]})
    fig = plots.allocation_plot(table)
    bars = fig.axes[0].patches
    assert [b.get_height() for b in bars] == pytest.approx([20, 20, 30, 10])


def test_cli_writes_the_figures(run_cli, tmp_path):
    strata = tmp_path / "strata.csv"
    pd.DataFrame({"stratum": ["hi", "lo"], "N": [400, 600], "prevalence": [0.1, 0.03]}).to_csv(
        strata, index=False
    )
    calls = {
        "n.png": ["sample-size", "--proportion", "0.3", "--margin", "0.05", "--icc", "0.1",
                  "--cluster-size", "20"],
        "screen.svg": ["sample-size", "--cases", "400", "--prevalence", "0.05"],
        "take.pdf": ["sample-size", "--psu-cost", "400", "--unit-cost", "20", "--icc", "0.05"],
        "alloc.png": ["allocate", str(strata), "--method", "rare", "--n", "100",
                      "--screen-cost", "2", "--interview-cost", "20"],
    }  # fmt: skip
    magic = {".png": b"\x89PNG", ".svg": b"<?xml", ".pdf": b"%PDF"}
    for name, args in calls.items():
        out = tmp_path / name
        res = run_cli(*args, "--plot", out)
        assert res.exit_code == 0, res.stderr
        assert out.read_bytes()[:4] == magic[out.suffix][:4]


def test_cli_refuses_an_unknown_figure_format_before_working(run_cli, tmp_path):
    res = run_cli(
        "sample-size", "--proportion", "0.3", "--margin", "0.05", "--plot", tmp_path / "n.gif"
    )
    assert res.exit_code == 2 and ".png" in res.stderr
    assert list(tmp_path.iterdir()) == []
