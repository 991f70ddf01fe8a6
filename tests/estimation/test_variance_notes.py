"""Every estimate output says whether its SEs treat the weights as fixed (table note, JSON field)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

REF = Path(__file__).resolve().parents[1] / "reference"
STEPS = """steps:
  - step: poststratify
    by: stype
    totals: {E: 4421, H: 755, M: 1018}
  - step: trim
    upper: {median: 1.5}
"""


def test_outputs_say_how_weights_enter_the_ses(run_cli, tmp_path: Path) -> None:
    api = pd.read_csv(REF / "api" / "apiclus1.csv")
    data = tmp_path / "api.csv"
    api.to_csv(data, index=False)
    (tmp_path / "d.yaml").write_text("ids: dnum\nweights: pw\nfpc: fpc\n")
    (tmp_path / "w.yaml").write_text(STEPS)
    out = tmp_path / "out.csv"
    res = run_cli(
        "weight", data, "--design", tmp_path / "d.yaml", "--steps", tmp_path / "w.yaml", "-o", out
    )
    assert res.exit_code == 0, res.stderr
    # the written design: calibrated SEs, trimming said to be fixed
    res = run_cli(
        "estimate", out, "--design", tmp_path / "out.design.yaml", "--mean", "api00",
        "-o", tmp_path / "a.json",
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    meta = json.loads((tmp_path / "a.json").read_text())
    assert meta["weights_treated_as_fixed"] is False
    assert "calibration" in meta["variance"] and "trimming" in meta["weights_note"]
    assert "note: SEs treat these weight adjustments as fixed" in res.stdout
    # the input design over the weighted file: fixed weights, and the calibrated design named
    (tmp_path / "final.yaml").write_text("ids: dnum\nweights: pw\nfpc: fpc\n")
    res = run_cli(
        "estimate", out, "--design", tmp_path / "final.yaml", "--mean", "api00",
        "-o", tmp_path / "b.json",
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    meta = json.loads((tmp_path / "b.json").read_text())
    assert meta["weights_treated_as_fixed"] is True
    assert "out.design.yaml" in meta["weights_note"] and "out.design.yaml" in res.stdout
    res = run_cli("estimate", out, "--psu", "dnum", "--weight", "pw", "--mean", "api00")
    assert res.exit_code == 0 and "ignoring the calibration" in res.stdout
    # design weights of the original sample: nothing to say beyond the JSON field
    res = run_cli(
        "estimate", data, "--design", tmp_path / "d.yaml", "--mean", "api00",
        "-o", tmp_path / "c.json",
    )  # fmt: skip
    meta = json.loads((tmp_path / "c.json").read_text())
    assert meta["weights_treated_as_fixed"] is True and meta["weights_note"] is None
    assert "note:" not in res.stdout
