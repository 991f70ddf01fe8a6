"""Trimming replicate designs, against R's trimWeights applied by hand to each replicate column
(tests/reference/weighting_trim_replicates.R, run here with Rscript).

``replicates: retrim`` is R column by column; the default ``fixed`` carries the full-sample trimming
factors to the replicates. Re-trimming inflates the SE of a calibrated quantity (trimming each
replicate undoes its calibration); ``fixed`` stays at the linearization value.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from survmig.design import load_design
from survmig.estimation import estimate
from survmig.weighting import Trim
from survmig.weighting.pipeline import weight_design
from survmig.weighting.spec import load_steps

sys.path.insert(0, str(Path(__file__).parent))
from test_twophase import REGION, SAMPLE, URBAN, run  # noqa: E402

REF = Path(__file__).resolve().parents[1] / "reference"
RAKE = [{"step": "rake", "margins": [REGION, URBAN], "epsilon": 1e-10, "maxit": 100}]


def _raked(tmp_path: Path, create: dict | None):
    """The two-phase sample after base + nonresponse weights, as a design, raked to region × urban."""
    base = run(tmp_path, [])
    data = SAMPLE.iloc[base.rows].reset_index(drop=True).assign(w=base.weights)
    spec = {"ids": "ea", "strata": "stratum", "weights": "w", "nest": True}
    if create:
        spec["create_replicates"] = create
    path = tmp_path / "rake.yaml"
    path.write_text(yaml.safe_dump({"steps": RAKE}, sort_keys=False))
    return weight_design(load_design(spec, data), load_steps(path)).design


def _r_reference(tmp_path: Path, design) -> dict:
    rscript = shutil.which("Rscript")
    assert rscript, "Rscript is required for this test (R with survey and jsonlite)"
    rep = design.replicate_weights
    frame = (
        design.data[["urban", "hhsize", "remit"]].reset_index(drop=True).assign(w=design.weights)
    )
    reps = design.repweights
    names = [f"rep_{j + 1}" for j in range(reps.shape[1])]
    frame = pd.concat([frame, pd.DataFrame(reps, columns=names)], axis=1)
    frame.to_csv(tmp_path / "in.csv", index=False, float_format="%.17g")
    subprocess.run(
        [
            rscript,
            str(REF / "weighting_trim_replicates.R"),
            str(tmp_path / "in.csv"),
            str(tmp_path / "out.json"),
            repr(float(rep.scale)),
            ",".join(repr(float(r)) for r in rep.rscales),
        ],
        check=True,
        capture_output=True,
    )
    return json.loads((tmp_path / "out.json").read_text())


def _ses(design) -> np.ndarray:
    """SEs of mean hhsize, mean remit and the share urban (the raked margin)."""
    out = estimate(design, mean=["hhsize", "remit"], prop=["urban"], deff=False)
    keep = (out["statistic"] == "mean") | (out["category"] == "urban")
    return out.loc[keep, "se"].to_numpy()


TRIM = {"lower": 0.4, "upper": 2.5, "relative": True, "strict": True}


@pytest.mark.parametrize(
    "create", [{"type": "JKn"}, {"type": "bootstrap", "replicates": 40, "seed": 11}]
)
def test_trimmed_replicates_match_r_by_hand(tmp_path: Path, create: dict) -> None:
    raked = _raked(tmp_path, create)
    ref = _r_reference(tmp_path, raked)
    ses = {}
    for rule in ("retrim", "fixed"):
        design = weight_design(raked, [Trim(**TRIM, replicates=rule)]).design
        np.testing.assert_allclose(design.weights, ref["weights"], rtol=1e-10)
        ses[rule] = _ses(design)
        np.testing.assert_allclose(ses[rule], ref[rule]["se"], rtol=1e-8)
    # re-trimming undoes the replicates' calibration: the raked share gets a much larger SE than
    # the linearization SE with calibration residuals; the fixed factors stay close to it
    lin = _ses(weight_design(_raked(tmp_path, None), [Trim(**TRIM)]).design)
    assert ses["retrim"][2] > 5 * lin[2]
    assert ses["fixed"][2] < 2 * lin[2]


def test_trim_replicates_option_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text("steps:\n  - step: trim\n    upper: 10\n    replicates: sometimes\n")
    with pytest.raises(Exception, match="fixed.*retrim"):
        load_steps(path)
