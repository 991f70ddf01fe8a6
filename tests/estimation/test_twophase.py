"""Two-phase designs against R survey 4.1-1 ``twophase()`` (method "full"; tests/reference/twophase.R):
phase 1 PSUs by probs or fpc, phase 2 a stratified SRS of the listed units within PSU × class."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from survmig.design import SurveyDesign, load_design
from survmig.design.twophase import twophase_quadratic
from survmig.errors import SurvmigError
from survmig.estimation import estimate
from survmig.estimation.contrasts import domain_covariance
from survmig.weighting import Calibrate, ControlTable
from survmig.weighting.pipeline import weight_design

REF = Path(__file__).resolve().parents[1] / "reference"
FIX = json.loads((REF / "twophase.json").read_text())
REL = 1e-8
PHASE2 = {"ids": "hh", "strata": "s2", "fpc": "listed"}


def households() -> pd.DataFrame:
    return pd.DataFrame(FIX["households"])


@cache
def design(phase1: str) -> SurveyDesign:
    extra = {"probs": "p1"} if phase1 == "probs" else {"fpc": "N1"}
    return SurveyDesign(households(), ids="ea", strata="st", phase2=PHASE2, **extra)


def flat(values: object) -> np.ndarray:
    return np.asarray(values, dtype=float).ravel()


@pytest.mark.parametrize("phase1", ["probs", "fpc"])
def test_totals_means_shares_ratios_match_twophase(phase1: str) -> None:
    case = FIX["cases"][phase1]
    d = design(phase1)
    t = estimate(d, total=["remit", "emig", "hhsize"])
    np.testing.assert_allclose(t["estimate"], case["total"]["estimate"], rtol=REL)
    np.testing.assert_allclose(t["se"], case["total"]["se"], rtol=REL)
    m = estimate(d, mean=["remit", "hhsize"])
    np.testing.assert_allclose(m["estimate"], case["mean"]["estimate"], rtol=REL)
    np.testing.assert_allclose(m["se"], case["mean"]["se"], rtol=REL)
    p = estimate(d, prop="class")
    assert p["category"].tolist() == ["emigrant", "none", "return"]
    np.testing.assert_allclose(p["estimate"], case["class"]["estimate"], rtol=REL)
    np.testing.assert_allclose(p["se"], case["class"]["se"], rtol=REL)
    r = estimate(d, ratio=[("remit", "hhsize")])
    np.testing.assert_allclose(r["estimate"], flat(case["ratio"]["estimate"]), rtol=REL)
    np.testing.assert_allclose(r["se"], flat(case["ratio"]["se"]), rtol=REL)


@pytest.mark.parametrize("phase1", ["probs", "fpc"])
def test_domains_match_svyby(phase1: str) -> None:
    case = FIX["cases"][phase1]
    d = design(phase1)
    m = estimate(d, mean="remit", by="region")
    np.testing.assert_allclose(m["estimate"], case["by_region_mean"]["estimate"], rtol=REL)
    np.testing.assert_allclose(m["se"], case["by_region_mean"]["se"], rtol=REL)
    t = estimate(d, total="emig", by="region")
    np.testing.assert_allclose(t["estimate"], case["by_region_total"]["estimate"], rtol=REL)
    np.testing.assert_allclose(t["se"], case["by_region_total"]["se"], rtol=REL)
    # the joint covariance reproduces the variances (comparisons between domains use it)
    table, cov = domain_covariance(d, by="region", mean="remit")
    np.testing.assert_allclose(np.sqrt(np.diag(cov.to_numpy())), table["se"], rtol=1e-10)


def test_phase_contributions_add_up() -> None:
    """R's phases attribute: phase 2 is the Ď₂ form alone; the total is both."""
    d = design("probs")
    tp = d.twophase
    x = np.zeros(tp.n_units)
    np.add.at(x, tp.units, d.weights * households()["remit"].to_numpy())
    total = float(twophase_quadratic(tp, x[:, None])[0])
    want1, want2 = FIX["cases"]["probs"]["phases_total"]
    np.testing.assert_allclose(total, want1 + want2, rtol=REL)


def test_persons_nested_in_phase2_households() -> None:
    case = FIX["cases"]["persons"]
    persons = pd.DataFrame(FIX["persons"])
    d = SurveyDesign(persons, ids="ea", strata="st", probs="p1", phase2=PHASE2)
    t = estimate(d, total="foreign")
    np.testing.assert_allclose(t["estimate"], flat(case["total"]["estimate"]), rtol=REL)
    np.testing.assert_allclose(t["se"], flat(case["total"]["se"]), rtol=REL)
    m = estimate(d, mean=["age", "foreign"])
    np.testing.assert_allclose(m["estimate"], case["mean"]["estimate"], rtol=REL)
    np.testing.assert_allclose(m["se"], case["mean"]["se"], rtol=REL)
    b = estimate(d, total="foreign", by="sex")
    np.testing.assert_allclose(b["estimate"], case["by_sex_total"]["estimate"], rtol=REL)
    np.testing.assert_allclose(b["se"], case["by_sex_total"]["se"], rtol=REL)


def test_calibration_residuals_enter_both_phases() -> None:
    case = FIX["cases"]["calibrated"]
    pop = case["population"]
    region = ControlTable(
        ("region",),
        {"North": pop["(Intercept)"] - pop["regionSouth"], "South": pop["regionSouth"]},
    )
    cal = weight_design(
        design("probs"), [Calibrate(margins=[region], continuous={"hhsize": pop["hhsize"]})]
    ).design
    assert cal.twophase is not None
    np.testing.assert_allclose(cal.weights, case["weights"], rtol=REL)
    t = estimate(cal, total=["remit", "emig"])
    np.testing.assert_allclose(t["estimate"], case["total"]["estimate"], rtol=REL)
    np.testing.assert_allclose(t["se"], case["total"]["se"], rtol=REL)
    m = estimate(cal, mean="remit")
    np.testing.assert_allclose(m["estimate"], flat(case["mean"]["estimate"]), rtol=REL)
    np.testing.assert_allclose(m["se"], flat(case["mean"]["se"]), rtol=REL)


def test_design_file_round_trip(tmp_path: Path) -> None:
    spec = {"ids": "ea", "strata": "st", "probs": "p1", "phase2": PHASE2}
    d = load_design(spec, households())
    assert "two-phase" in d.describe()
    t = estimate(d, total="remit")
    np.testing.assert_allclose(t["se"], FIX["cases"]["probs"]["total"]["se"][0], rtol=REL)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f, s: (f.drop(columns="listed"), s), "phase2 fpc column 'listed' is not in"),
        (lambda f, s: (f.assign(listed=1), s), "is larger than its population"),
        (lambda f, s: (f, {**s, "phase2": {"ids": "hh", "strata": "s2"}}), "phase2 needs fpc"),
        (lambda f, s: (f, {**s, "phase2": {**PHASE2, "weights": "w"}}), "unknown phase2 field"),
        (lambda f, s: (f, {k: v for k, v in s.items() if k != "probs"}), "needs the phase-1"),
        (lambda f, s: (f.assign(p1=f["p1"] * (1 + 0.1 * (f.index % 2))), s), "varies within"),
        (lambda f, s: (f, {**s, "phase2": "hh"}), "phase2 must be a mapping"),
    ],
)
def test_bad_two_phase_designs(change, message: str) -> None:
    spec = {"ids": "ea", "strata": "st", "probs": "p1", "phase2": dict(PHASE2)}
    frame, spec = change(households(), spec)
    with pytest.raises(SurvmigError, match=message):
        load_design(spec, frame)


def test_cli_estimate_with_a_two_phase_design_file(tmp_path: Path, run_cli) -> None:
    import yaml

    data = tmp_path / "hh.csv"
    households().to_csv(data, index=False)
    good = tmp_path / "design.yaml"
    good.write_text(yaml.safe_dump({"ids": "ea", "strata": "st", "fpc": "N1", "phase2": PHASE2}))
    out = tmp_path / "est.json"
    res = run_cli("estimate", data, "--design", good, "--total", "remit", "-o", out)
    assert res.exit_code == 0, res.stderr
    doc = json.loads(out.read_text())
    assert doc["variance"].startswith("two-phase")
    np.testing.assert_allclose(
        doc["estimates"][0]["se"], FIX["cases"]["fpc"]["total"]["se"][0], rtol=REL
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        yaml.safe_dump({"ids": "ea", "strata": "st", "fpc": "N1", "phase2": {**PHASE2, "fpc": "x"}})
    )
    out2 = tmp_path / "never.json"
    res = run_cli("estimate", data, "--design", bad, "--total", "remit", "-o", out2)
    assert res.exit_code == 2
    assert "phase2 fpc column 'x' is not in the data" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr
    assert not out2.exists()


def test_phase2_calibrated_to_phase1_totals() -> None:
    """R ``calibrate(twophase, phase = 2, ~hhsize)``: the phase-2 weights 1/p2 calibrated to the
    listing's totals; the residuals enter the phase-2 term only."""
    from survmig.design.twophase import calibrate_to_phase1

    case = FIX["cases"]["phase1_totals"]
    pop = case["population"]
    step = Calibrate(continuous={"hhsize": pop["hhsize"]}, population=pop["households"])
    cal = calibrate_to_phase1(design("probs"), step)
    np.testing.assert_allclose(cal.weights, case["weights"], rtol=REL)
    t = estimate(cal, total=["remit", "emig"])
    np.testing.assert_allclose(t["estimate"], case["total"]["estimate"], rtol=REL)
    np.testing.assert_allclose(t["se"], case["total"]["se"], rtol=REL)
    m = estimate(cal, mean="remit")
    np.testing.assert_allclose(m["se"], flat(case["mean"]["se"]), rtol=REL)
    b = estimate(cal, mean="remit", by="region")
    np.testing.assert_allclose(b["estimate"], case["by_region_mean"]["estimate"], rtol=REL)
    np.testing.assert_allclose(b["se"], case["by_region_mean"]["se"], rtol=REL)
    table, cov = domain_covariance(cal, by="region", mean="remit")
    np.testing.assert_allclose(np.sqrt(np.diag(cov.to_numpy())), table["se"], rtol=1e-10)
    with pytest.raises(SurvmigError, match="already calibrated"):
        calibrate_to_phase1(cal, step)


@pytest.mark.parametrize("phase1", ["probs", "fpc"])
def test_models_and_quantiles_on_a_two_phase_design(phase1: str) -> None:
    """R ``svyglm`` (gaussian, quasibinomial) and ``svyquantile`` on the ``twophase`` design."""
    from survmig.models.glm import svyglm

    case = FIX["cases"][phase1]
    d = design(phase1)
    for family_name, key, y in (("gaussian", "glm", "remit"), ("quasibinomial", "logit", "emig")):
        fit = svyglm(d, f"{y} ~ C(region) + hhsize", family_name=family_name)
        np.testing.assert_allclose(fit.table["estimate"], case[key]["estimate"], rtol=REL)
        np.testing.assert_allclose(fit.table["se"], case[key]["se"], rtol=REL)
    q = estimate(d, quantile={"remit": [0.5, 0.9]})
    np.testing.assert_allclose(q["estimate"], case["quantile"]["estimate"], rtol=REL)
    np.testing.assert_allclose(q["se"], case["quantile"]["se"], rtol=REL)
