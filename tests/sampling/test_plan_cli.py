"""``survmig plan`` and the unequal-probability methods of ``select``, through the real entry point."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REF = Path(__file__).parents[1] / "reference"


@pytest.fixture
def eas(tmp_path):
    rng = np.random.default_rng(11)
    frame = pd.DataFrame(
        {
            "ea": np.arange(1, 31),
            "stratum": np.repeat(["coast", "inland"], 15),
            "households": rng.integers(40, 400, 30),
            "emigrant_hh": rng.integers(0, 40, 30),
            "return_hh": rng.integers(1, 20, 30),
        }
    )
    frame.loc[0, "households"] = 5000  # a certainty unit for PPS
    path = tmp_path / "eas.csv"
    frame.to_csv(path, index=False)
    return path


def test_plan_cluster_writes_json(run_cli, tmp_path):
    out = tmp_path / "c.json"
    res = run_cli(
        "plan", "cluster", "--psu-cost", 750, "--unit-cost", 100, "--delta", 0.05,
        "--unit-relvar", 1, "--budget", 100000, "-o", out,
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    assert "formula:" in res.stdout
    data = json.loads(out.read_text())
    assert data["value"]["psus"] == pytest.approx(51.447, abs=1e-3)
    assert len(data["table"]) >= 5


def test_plan_cluster3_and_components(run_cli):
    res = run_cli(
        "plan", "cluster3", "--costs", "500,100,120", "--delta1", 0.01, "--delta2", 0.1,
        "--unit-relvar", 1, "--cv", 0.01,
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    assert "three-stage" in res.stdout
    res = run_cli("plan", "components", REF / "sampling_frame.csv", "--y", "migrant", "--psu", "ea")
    assert res.exit_code == 0, res.stderr
    assert "delta" in res.stdout
    res = run_cli(
        "plan", "components", REF / "sampling_frame.csv", "--y", "migrant=1", "--psu", "ea"
    )
    assert res.exit_code == 0, res.stderr
    res = run_cli(
        "plan", "components", REF / "sampling_frame.csv", "--y", "migrant=yes", "--psu", "ea"
    )
    assert res.exit_code == 2 and "no row has migrant = 'yes'" in res.stderr


@pytest.mark.parametrize(
    "args,needle",
    [
        (["cluster", "--psu-cost", 750, "--unit-cost", 100, "--delta", 0.05, "--unit-relvar", 1],
         "exactly one of a budget"),
        (["cluster", "--psu-cost", 750, "--unit-cost", 100, "--delta", 1.2, "--unit-relvar", 1,
          "--cv", 0.05], "delta: must be strictly between 0 and 1"),
        (["cluster3", "--costs", "500,100", "--delta1", 0.01, "--delta2", 0.1, "--unit-relvar", 1,
          "--cv", 0.05], "three costs"),
        (["components", REF / "sampling_frame.csv", "--y", "remit", "--psu", "nope"], "no column 'nope'"),
        (["domain", "--share", 1.5, "--cv", 0.1], "domain_share"),
        (["proportion", "--proportion", 0.03, "--margin", 0.05, "--method", "log-odds"], "not smaller than P"),
        (["difference", "--p1", 0.3], "--p1"),
        (["difference", "--p1", 0.3, "--p2", 0.3], "no difference"),
        (["composite-mos", REF / "sampling_frame.csv", "--psu", "ea", "--domain", "migrant=10",
          "--psus", 5], "appears twice"),
    ],
)  # fmt: skip
def test_plan_bad_input_is_one_line_exit_2(run_cli, args, needle):
    res = run_cli("plan", *args)
    assert res.exit_code == 2, res.stdout + res.stderr
    assert needle in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert "Traceback" not in res.stderr


def test_plan_joint_cps_and_systematic(run_cli, eas, tmp_path):
    out = tmp_path / "joint.csv"
    res = run_cli(
        "plan", "joint", eas, "--size", "households", "--n", 6, "--design", "cps", "-o", out
    )
    assert res.exit_code == 0, res.stderr
    matrix = pd.read_csv(out).to_numpy()
    assert matrix.shape == (30, 30)
    assert matrix[0, 0] == 1.0  # the certainty unit
    assert np.all(matrix > 0)
    res = run_cli("plan", "joint", eas, "--size", "households", "--n", 6, "--design", "systematic")
    assert res.exit_code == 0 and "zero_pairs" in res.stdout
    res = run_cli("plan", "joint", eas, "--size", "households", "--n", 6, "--design", "pps-wr")
    assert res.exit_code == 2 and "no joint inclusion probabilities" in res.stderr
    res = run_cli("plan", "joint", eas, "--size", "nope", "--n", 6, "--design", "cps")
    assert res.exit_code == 2 and "measure-of-size column 'nope'" in res.stderr


def test_plan_composite_mos(run_cli, eas, tmp_path):
    out = tmp_path / "mos.csv"
    res = run_cli(
        "plan", "composite-mos", eas, "--psu", "ea", "--domain", "emigrant_hh=150",
        "--domain", "return_hh=80", "--response", "return_hh=0.8", "--psus", 8, "-o", out,
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    table = pd.read_csv(out)
    assert table["prob"].sum() == pytest.approx(8)
    assert {"emigrant_hh_rate", "return_hh_take", "feasible"} <= set(table.columns)


@pytest.mark.parametrize("method", ["cps", "poisson", "pps-wr"])
def test_select_unequal_methods(run_cli, eas, tmp_path, method):
    out = tmp_path / f"{method}.csv"
    res = run_cli(
        "select", eas, "--method", method, "--strata", "stratum", "--size", "households",
        "--n", 4, "--seed", 5, "-o", out,
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    sample = pd.read_csv(out)
    if method == "cps":
        assert sample.groupby("stratum").size().tolist() == [4, 4]
        assert 1 in sample["ea"].tolist()  # certainty
    if method == "pps-wr":
        assert len(sample) == 8 and sample["hits"].ge(1).all()
        # Hansen-Hurwitz: weight per hit is 1/(n p_k)
        frame = pd.read_csv(eas)
        x_h = frame.groupby("stratum")["households"].sum()
        expected = 4 * sample["households"] / sample["stratum"].map(x_h)
        assert np.allclose(sample["weight"], 1 / expected)
    assert (sample["weight"] > 0).all()


def test_select_cps_reproduces_inclusion_probabilities():
    """Over many seeds the CPS selection of a frame hits each unit at its π (4-SE tolerance)."""
    from survmig.sampling.selection import pps_probabilities
    from survmig.sampling.unequal import select_cps

    size = np.array([12, 30, 45, 7, 22, 60, 15, 9, 33, 18], dtype=float)
    pik, _ = pps_probabilities(size, np.zeros(10, dtype=int), np.array([4]))
    draws = select_cps(pik, np.random.default_rng(1), reps=20_000)
    assert np.all(np.abs(draws.mean(axis=0) - pik) < 4 * np.sqrt(pik * (1 - pik) / 20_000))
