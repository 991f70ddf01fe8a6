"""The sampling commands through the real entry point: outputs, formulas, and bad input (exit 2)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest


@pytest.fixture
def strata_csv(tmp_path):
    path = tmp_path / "strata.csv"
    pd.DataFrame(
        {"stratum": ["high", "low"], "N": [400_000, 600_000], "prevalence": [0.10, 0.03]}
    ).to_csv(path, index=False)
    return path


@pytest.fixture
def frame_csv(tmp_path):
    rng = np.random.default_rng(2)
    frame = pd.DataFrame(
        {
            "ea": np.arange(1, 41),
            "stratum": np.repeat(["high", "low"], 20),
            "households": rng.integers(50, 300, 40),
        }
    )
    path = tmp_path / "frame.csv"
    frame.to_csv(path, index=False)
    listing = pd.DataFrame({"ea": np.repeat(frame["ea"], frame["households"] // 10)})
    listing["hh_id"] = np.arange(len(listing))
    listing["screener"] = np.where(listing["hh_id"] % 4 == 0, "migrant", "none")
    listing.to_csv(tmp_path / "listing.csv", index=False)
    return path


def test_sample_size_prints_formula_and_writes_json(run_cli, tmp_path):
    out = tmp_path / "n.json"
    res = run_cli("sample-size", "--proportion", "0.5", "--margin", "0.05", "-o", out)
    assert res.exit_code == 0, res.stderr
    assert "result: 385" in res.stdout
    assert "formula:" in res.stdout and "assumptions:" in res.stdout
    data = json.loads(out.read_text())
    assert data["value"] == 385 and "z²" in data["formula"]


def test_sample_size_modes(run_cli):
    res = run_cli("sample-size", "--cases", "800", "--prevalence", "0.04")
    assert res.exit_code == 0 and "result: 20000" in res.stdout
    res = run_cli("sample-size", "--psu-cost", "400", "--unit-cost", "20", "--icc", "0.05")
    assert res.exit_code == 0 and "m_opt" in res.stdout


def test_allocate_lohr(run_cli, strata_csv, tmp_path):
    out = tmp_path / "alloc.csv"
    res = run_cli("allocate", strata_csv, "--method", "neyman", "--n", "2000", "-o", out)
    assert res.exit_code == 0, res.stderr
    alloc = pd.read_csv(out)
    assert alloc["n_exact"].round(1).tolist() == [1079.4, 920.6]
    assert "N_h S_h" in res.stdout
    res = run_cli("allocate", strata_csv, "--method", "rare", "--n", "2000")
    assert res.exit_code == 0 and "R_min" in res.stdout and "0.915" in res.stdout


def test_select_pipeline(run_cli, frame_csv, tmp_path):
    alloc = tmp_path / "alloc.csv"
    pd.DataFrame({"stratum": ["high", "low"], "n": [4, 3]}).to_csv(alloc, index=False)
    eas = tmp_path / "eas.csv"
    res = run_cli(
        "select",
        frame_csv,
        "--method",
        "pps",
        "--strata",
        "stratum",
        "--size",
        "households",
        "--allocation",
        alloc,
        "--seed",
        "7",
        "-o",
        eas,
    )
    assert res.exit_code == 0, res.stderr
    sample = pd.read_csv(eas)
    assert sample.groupby("stratum").size().to_dict() == {"high": 4, "low": 3}
    assert {"prob_stage1", "prob", "weight"} <= set(sample.columns)
    hh = tmp_path / "hh.csv"
    res = run_cli(
        "select",
        tmp_path / "listing.csv",
        "--method",
        "households",
        "--psus",
        eas,
        "--psu",
        "ea",
        "--take",
        "5",
        "--seed",
        "8",
        "-o",
        hh,
    )
    assert res.exit_code == 0, res.stderr
    households = pd.read_csv(hh)
    assert len(households) == 35
    assert households["prob"].to_numpy() == pytest.approx(
        households["prob_stage1"] * households["prob_stage2"]
    )
    phase2 = tmp_path / "p2.csv"
    res = run_cli(
        "select",
        hh,
        "--method",
        "two-phase",
        "--by",
        "screener",
        "--within",
        "ea",
        "--rate",
        "migrant=1",
        "--rate",
        "none=0.5",
        "--seed",
        "9",
        "-o",
        phase2,
    )
    assert res.exit_code == 0, res.stderr
    p2 = pd.read_csv(phase2)
    assert p2["prob"].to_numpy() == pytest.approx(
        p2["prob_stage1"] * p2["prob_stage2"] * p2["prob_phase2"]
    )


def test_simulate_writes_table_and_plot(run_cli, tmp_path):
    table, plot = tmp_path / "sim.md", tmp_path / "sim.png"
    res = run_cli(
        "simulate",
        "--households",
        "30000",
        "--ea-size",
        "100",
        "--reps",
        "40",
        "--psus",
        "40",
        "--take",
        "10",
        "--phase1-psus",
        "30",
        "--acs-initial",
        "15",
        "--srs-n",
        "600",
        "-o",
        table,
        "--plot",
        plot,
    )
    assert res.exit_code == 0, res.stderr
    assert "two-phase screening" in res.stdout and "coverage" in res.stdout
    assert table.read_text().count("\n") == 2 + 12
    assert plot.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["sample-size", "--proportion", "1.5", "--margin", "0.05"], "proportion"),
        (["sample-size", "--proportion", "0.3", "--margin", "0"], "margin"),
        (["sample-size", "--proportion", "0.3", "--cv", "-0.1"], "cv"),
        (
            ["sample-size", "--proportion", "0.3", "--margin", "0.05", "--prevalence", "0"],
            "prevalence",
        ),
        (["simulate", "--prevalence", "1.2", "--reps", "5"], "prevalence"),
    ],
)
def test_bad_numbers_exit_2_and_write_nothing(run_cli, tmp_path, args, field):
    out = tmp_path / "out.json" if args[0] == "sample-size" else tmp_path / "out.md"
    res = run_cli(*args, "-o", out)
    assert res.exit_code == 2
    assert res.stderr.startswith("error: ") and field in res.stderr
    assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_allocate_bad_inputs(run_cli, tmp_path):
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"stratum": ["a", "b"], "N": [100, 0], "prevalence": [0.1, 0.2]}).to_csv(
        bad, index=False
    )
    out = tmp_path / "alloc.csv"
    res = run_cli("allocate", bad, "--method", "proportional", "--n", "10", "-o", out)
    assert res.exit_code == 2 and "'b' has no units" in res.stderr and "bad.csv" in res.stderr
    assert not out.exists()
    good = tmp_path / "good.csv"
    pd.DataFrame(
        {"stratum": ["a", "b"], "N": [100, 200], "sd": [1.0, 2.0], "cost": [1.0, 4.0]}
    ).to_csv(good, index=False)
    res = run_cli(
        "allocate", good, "--method", "optimal", "--budget", "500", "--fixed-cost", "800", "-o", out
    )
    assert res.exit_code == 2 and "budget" in res.stderr and "fixed cost" in res.stderr
    assert not out.exists()
    prev = tmp_path / "prev.csv"
    pd.DataFrame({"stratum": ["a", "b"], "N": [100, 200], "prevalence": [0.1, 1.3]}).to_csv(
        prev, index=False
    )
    res = run_cli("allocate", prev, "--method", "rare", "--n", "50", "-o", out)
    assert res.exit_code == 2 and "prevalence" in res.stderr and "'b'" in res.stderr
    assert "Traceback" not in res.stderr and not out.exists()


def test_select_bad_inputs(run_cli, frame_csv, tmp_path):
    out = tmp_path / "s.csv"
    res = run_cli(
        "select",
        frame_csv,
        "--method",
        "pps",
        "--size",
        "mos",
        "--n",
        "3",
        "--seed",
        "1",
        "-o",
        out,
    )
    assert res.exit_code == 2 and "measure-of-size" in res.stderr and "mos" in res.stderr
    alloc = tmp_path / "alloc.csv"
    pd.DataFrame({"stratum": ["high", "low", "east"], "n": [2, 2, 2]}).to_csv(alloc, index=False)
    res = run_cli(
        "select",
        frame_csv,
        "--method",
        "srs",
        "--strata",
        "stratum",
        "--allocation",
        alloc,
        "--seed",
        "1",
        "-o",
        out,
    )
    assert res.exit_code == 2 and "'east' has no units" in res.stderr
    assert "Traceback" not in res.stderr and not out.exists()


@pytest.mark.parametrize(
    ("column", "bad", "method"),
    [("sd", "one", "neyman"), ("N", "300 000", "neyman"), ("prevalence", "5%", "rare")],
)
def test_allocate_names_a_non_numeric_cell(run_cli, tmp_path, column, bad, method):
    table = {"stratum": ["a", "b"], "N": ["100", "300"], "sd": ["1", "2"]}
    table["prevalence"] = ["0.1", "0.02"]
    table[column] = [table[column][0], bad]
    path = tmp_path / "strata.csv"
    pd.DataFrame(table).to_csv(path, index=False)
    res = run_cli("allocate", path, "--method", method, "--n", "200")
    assert res.exit_code == 2, res.stderr
    assert f"{column}: must be a number, got {bad!r} for stratum 'b'" in res.stderr
    assert "Traceback" not in res.stderr and "internal error" not in res.stderr


def test_allocate_tables_are_never_cut_in_80_columns(run_cli, tmp_path, monkeypatch):
    """Rich shrinks a too-wide table by cutting cells with an ellipsis ("strat…", "500,0…"):
    every stratum name and every number must be printed whole in an 80-column terminal."""
    monkeypatch.setenv("COLUMNS", "80")
    path = tmp_path / "strata.csv"
    names = ["northern_governorates_rural", "southern_governorates_urban"]
    pd.DataFrame({"stratum": names, "N": [500_000, 1_200_000], "prevalence": [0.10, 0.03]}).to_csv(
        path, index=False
    )
    out = tmp_path / "alloc.csv"
    res = run_cli(
        "allocate", path, "--method", "rare", "--n", "6000",
        "--screen-cost", "2", "--interview-cost", "20", "-o", out,
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    assert "…" not in res.stdout
    lines = res.stdout.splitlines()
    exact = [f"{v:,.4f}" for v in pd.read_csv(out)["n_exact"]]
    n = [str(v) for v in pd.read_csv(out)["n"]]
    for number in ["500,000", "1,200,000", *exact, *n]:
        assert any(number in line.split() for line in lines), number
    # a long stratum name may be folded over lines, but all of it is there
    first_cells = "".join(line.split()[0] for line in lines if line.strip())
    assert all(name in first_cells for name in names)
