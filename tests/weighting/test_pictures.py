"""The weighting report's pictures: weight and g-factor histograms per step, bounds marked."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest

from survmig.weighting import Calibrate, ControlTable, Nonresponse, Trim
from survmig.weighting.pipeline import run_steps
from survmig.weighting.report import picture_path, write_reports

REF = Path(__file__).resolve().parents[1] / "reference"
API = pd.read_csv(REF / "api" / "apiclus1.csv")
STYPE = ControlTable(("stype",), {"E": 4421.0, "H": 755.0, "M": 1018.0})
RESP = (np.arange(len(API)) % 4 != 0).astype(int)
STEPS = [
    Nonresponse(response="resp", classes=["stype"]),
    Calibrate(margins=[STYPE], method="logit", bounds=(0.7, 1.6), name="calibration"),
    Trim(upper=60.0, lower=20.0),
]


@pytest.fixture(scope="module")
def result():
    return run_steps(API.assign(resp=RESP), STEPS, weights=API.pw.to_numpy())


def _stages(result) -> list[tuple[np.ndarray, np.ndarray]]:
    """(rows, weights) after each step, run step by step (independently of the histograms)."""
    data = API.assign(resp=RESP)
    out = []
    for k in range(1, len(STEPS) + 1):
        r = run_steps(data, STEPS[:k], weights=API.pw.to_numpy())
        out.append((r.rows, r.weights))
    return out


def test_histograms_count_every_weight_and_every_g_factor(result):
    stages = _stages(result)
    prev_rows, prev_w = np.arange(len(API)), API.pw.to_numpy()
    for rep, (rows, w) in zip(result.reports, stages, strict=True):
        h = rep.histograms
        edges, counts = np.asarray(h["weights"]["edges"]), np.asarray(h["weights"]["counts"])
        assert counts.sum() == len(w) and edges[0] == pytest.approx(w.min())
        assert edges[-1] == pytest.approx(w.max())
        np.testing.assert_array_equal(counts, np.histogram(w, bins=edges)[0])
        g = w / pd.Series(prev_w, index=prev_rows)[rows].to_numpy()
        gedges = np.asarray(h["g"]["edges"])
        assert gedges[0] == pytest.approx(g.min()) and gedges[-1] == pytest.approx(g.max())
        np.testing.assert_array_equal(h["g"]["counts"], np.histogram(g, bins=gedges)[0])
        prev_rows, prev_w = rows, w
    # the nonresponse factors are 1 / weighted response rate of the class: above 1
    assert result.reports[0].histograms["g"]["edges"][0] > 1
    # bounds: calibration on g, trimming on the weights; nonresponse has none
    assert result.reports[0].histograms["bounds"] == {}
    assert result.reports[1].histograms["bounds"] == {"g": [0.7, 1.6]}
    assert result.reports[2].histograms["bounds"] == {"weights": [20.0, 60.0]}
    final = result.reports[-1].histograms["weights"]["edges"]
    assert final[0] >= 20 - 1e-9 and final[-1] <= 60 + 1e-9


def test_the_report_shows_the_picture(result, tmp_path):
    out = tmp_path / "weighted.csv"
    md, js = write_reports(result, out)
    png = picture_path(out)
    assert png.name == "weighted.weighting.png"
    image = matplotlib.image.imread(png)
    assert image.shape[0] >= 100 * (0.4 + 1.9 * len(STEPS)) - 1 and image.shape[1] == 1000
    assert (image[..., :3] < 0.9).any()  # something is drawn
    assert f"![Weights and g-factors by step]({png.name})" in md.read_text(encoding="utf-8")
    steps = json.loads(js.read_text(encoding="utf-8"))["steps"]
    assert steps[2]["histograms"]["bounds"]["weights"] == [20.0, 60.0]


def test_cli_prints_the_picture(run_cli, tmp_path):
    import yaml

    API.assign(resp=RESP).to_csv(tmp_path / "d.csv", index=False)
    steps = [{"step": "nonresponse", "response": "resp", "classes": ["stype"]}]
    (tmp_path / "s.yaml").write_text(yaml.safe_dump({"steps": steps}))
    out = tmp_path / "o.csv"
    res = run_cli("weight", tmp_path / "d.csv", "--weight", "pw", "--steps", tmp_path / "s.yaml",
                  "-o", out)  # fmt: skip
    assert res.exit_code == 0, res.stderr
    assert "o.weighting.png" in res.stdout and (tmp_path / "o.weighting.png").stat().st_size > 5000


def test_histogram_bins_are_numpy_s_even_for_values_on_an_edge():
    from survmig.weighting.pictures import _histogram

    rng = np.random.default_rng(3)
    for _ in range(100):  # rounded values: many fall exactly on a bin edge
        v = np.round(rng.uniform(0, rng.integers(1, 100), rng.integers(2, 3000)), 1)
        h = _histogram(v)
        assert h["counts"] == np.histogram(v, bins=np.asarray(h["edges"]))[0].tolist()
    one = _histogram(np.full(5, 2.0))  # a single value: one bin around it holds them all
    assert sum(one["counts"]) == 5 and one["edges"][0] < 2 < one["edges"][-1]
