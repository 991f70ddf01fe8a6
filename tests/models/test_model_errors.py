"""`survmig model` and svyglm: the CLI path, and bad input as one-line errors (exit 2, nothing written)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from survmig.design import SurveyDesign
from survmig.errors import SurvmigError
from survmig.models import svyglm

REF = Path(__file__).resolve().parents[1] / "reference"
FIX = json.loads((REF / "models.json").read_text())


@pytest.fixture
def api(tmp_path: Path) -> Path:
    d = pd.read_csv(REF / "api" / "apiclus1.csv")
    d["yes"] = (d["sch.wide"] == "Yes").astype(int)
    d["sep"] = (d["stype"] == "H").astype(int)  # predicted exactly by C(stype)
    d["twice_ell"] = 2 * d["ell"]
    d["counts"] = d["yes"] * 2
    path = tmp_path / "api.csv"
    d.to_csv(path, index=False)
    return path


def test_cli_logistic_model_matches_r(run_cli, api: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.json"
    res = run_cli(
        "model", api, "yes ~ ell + meals + C(stype)", "--family", "binomial",
        "--psu", "dnum", "--weight", "pw", "--fpc", "fpc", "--test", "C(stype)", "-o", out,
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    got = json.loads(out.read_text())
    assert got["family"] == "binomial" and "linearization" in got["variance"]
    rows = {r["term"]: r for r in got["estimates"]}
    ref = FIX["cases"]["clus1_quasibinomial"]
    i = ref["terms"].index("stypeH")
    assert rows["C(stype)[T.H]"]["se"] == pytest.approx(ref["se"][i], rel=1e-8)
    assert rows["C(stype)[T.H]"]["odds_ratio"] == pytest.approx(
        np.exp(ref["estimate"][i]), rel=1e-8
    )
    assert rows["Wald test: C(stype)"]["F"] == pytest.approx(ref["test_stype"]["F"], rel=1e-8)


@pytest.mark.parametrize(
    ("formula", "family", "message"),
    [
        ("yes ~ ell + nope", "binomial", "names 'nope', which is not a column"),
        ("counts ~ ell", "binomial", "must be 0 or 1 for the binomial family; it has 2"),
        ("sep ~ C(stype)", "binomial", "perfect separation"),
        ("api00 ~ ell + twice_ell", "gaussian", "singular: twice_ell"),
        ("api00 ell", "gaussian", "outcome ~ terms"),
        ("I(yes * 0) ~ ell", "binomial", "is 0 in every row"),
    ],
)
def test_bad_models_are_one_line_errors(
    run_cli, api: Path, tmp_path: Path, formula, family, message
) -> None:
    out = tmp_path / "m.csv"
    res = run_cli(
        "model", api, formula, "--family", family, "--psu", "dnum", "--weight", "pw", "-o", out
    )
    assert res.exit_code == 2, res.stdout
    assert message in res.stderr and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_missing_values_need_an_explicit_rule(api: Path) -> None:
    d = pd.read_csv(api)
    d.loc[3, "ell"] = np.nan
    design = SurveyDesign(d, ids="dnum", weights="pw", fpc="fpc")
    with pytest.raises(SurvmigError, match="missing values"):
        svyglm(design, "api00 ~ ell")
    res = svyglm(design, "api00 ~ ell", na="drop")
    assert res.n == len(d) - 1
    with pytest.raises(SurvmigError, match="term 'C\\(x\\)' is not in the model"):
        res.wald_test("C(x)")
