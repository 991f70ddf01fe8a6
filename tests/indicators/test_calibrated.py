"""Indicators with a calibrated household :class:`SurveyDesign` against R ``survey`` 4.1.

The household design of the test survey is calibrated (households by stratum, persons in total;
GREG and raking) by :func:`survmig.weighting.pipeline.weight_design`; ``compute(dataset, design)``
must give R's ``svymean``/``svytotal`` on ``calibrate()`` (tests/reference/indicators_calibrated.R
and .json, input indicators_calibrated.csv) to 1e-8 relative for household-level indicators.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from survmig.data import KEY, PARENT_KEY, Dataset
from survmig.design import SurveyDesign
from survmig.errors import SurvmigError
from survmig.indicators import compute
from survmig.indicators.compute import FIXED_WEIGHTS_NOTE
from survmig.weighting import Calibrate, ControlTable
from survmig.weighting.pipeline import weight_design

from .survey import RATES, build_survey
from .test_values import _num, hand_values

REFERENCE = Path(__file__).resolve().parents[1] / "reference"
REL = 1e-8
HOUSEHOLD = {
    "households_with_emigrant_share": "emig",
    "remittance_receiving_households_share": "rem",
    "remittances_total_lcu": "rem_total",
}


def household_frame(ds: Dataset) -> pd.DataFrame:
    """One row per household: design columns, size and the per-household values R is given."""
    hh = ds.table("household").reset_index(drop=True)
    members = ds.table("members")
    size = members[PARENT_KEY].value_counts().reindex(hh[KEY]).fillna(0).to_numpy()
    values = hand_values(ds)
    out = pd.DataFrame(
        {
            KEY: hh[KEY].to_numpy(),
            "stratum": hh["stratum"].to_numpy(),
            "psu": hh["psu"].to_numpy(),
            "wt": hh["wt"].to_numpy(dtype=float),
            "size": size,
        }
    )
    for iid, col in HOUSEHOLD.items():
        out[col] = values[iid][0]["v"].to_numpy(dtype=float)
    born = _num(members["q_born"])
    sex = _num(members["q_sex"])
    per_member = pd.DataFrame(
        {
            "k": members[PARENT_KEY].to_numpy(),
            "fb": (born == 0).astype(float),
            "known": (~np.isnan(born)).astype(float),
        }
    )
    for s in (1, 2):
        per_member[f"fb_s{s}"] = per_member["fb"] * (sex == s)
        per_member[f"known_s{s}"] = per_member["known"] * (sex == s)
    sums = per_member.groupby("k").sum().reindex(out[KEY]).fillna(0.0)
    for col in sums.columns:
        out[col] = sums[col].to_numpy()
    return out


def calibrated(ds: Dataset, method: str) -> SurveyDesign:
    """The household design calibrated as in indicators_calibrated.R."""
    frame = household_frame(ds)
    design = SurveyDesign(frame, ids="psu", strata="stratum", weights="wt")
    strata = frame.groupby("stratum")["wt"].sum() * 1.1
    step = Calibrate(
        margins=[ControlTable(("stratum",), {str(k): float(v) for k, v in strata.items()})],
        continuous={"size": 1.02 * float((frame["wt"] * frame["size"]).sum())},
        method=method,
    )
    return weight_design(design, [step]).design


@pytest.fixture(scope="module")
def survey():
    ds, spec = build_survey()
    return ds, spec, json.loads((REFERENCE / "indicators_calibrated.json").read_text())


def test_fixture_input_is_the_test_survey(survey):
    ds, _, _ = survey
    committed = pd.read_csv(REFERENCE / "indicators_calibrated.csv", dtype={KEY: str})
    pd.testing.assert_frame_equal(
        household_frame(ds).reset_index(drop=True), committed, check_dtype=False, rtol=1e-12
    )


@pytest.mark.parametrize("method", ["linear", "raking"])
def test_household_indicators_use_the_calibration_like_r(survey, method):
    ds, spec, ref = survey
    design = calibrated(ds, method)
    np.testing.assert_allclose(design.weights, ref[method]["weights"], rtol=1e-9)
    res = compute(ds, design, list(HOUSEHOLD), rates=RATES, parameters={"convert_to": "USD"})
    # the same weights treated as fixed (the design spec route) give other SEs
    fixed = compute(
        ds,
        {**spec, "weights": "w_cal"},
        list(HOUSEHOLD),
        rates=RATES,
        design_data=pd.DataFrame({KEY: household_frame(ds)[KEY], "w_cal": design.weights}),
    )
    for iid, col in HOUSEHOLD.items():
        got = res.table.set_index("indicator").loc[iid]
        r = ref[method][col]
        assert got["estimate"] == pytest.approx(r["estimate"][0], rel=REL), iid
        assert got["se"] == pytest.approx(r["se"][0], rel=REL), iid
        other = fixed.table.set_index("indicator").loc[iid]
        assert other["estimate"] == pytest.approx(got["estimate"], rel=REL)
        assert abs(other["se"] / got["se"] - 1) > 1e-3, iid
        assert res.info[iid].note is None or FIXED_WEIGHTS_NOTE not in res.info[iid].note


def test_design_rows_in_another_order_are_matched_by_key(survey):
    ds, _, ref = survey
    design = calibrated(ds, "linear")
    tables = {lv: ds.table(lv) for lv in ds.levels}
    tables["household"] = tables["household"].iloc[::-1].reset_index(drop=True)
    shuffled = Dataset(tables, ds.metadata, source=ds.source)
    res = compute(shuffled, design, ["households_with_emigrant_share"])
    assert res.table["se"].iloc[0] == pytest.approx(ref["linear"]["emig"]["se"][0], rel=REL)


def test_design_that_does_not_fit_the_households_is_an_error(survey):
    ds, _, _ = survey
    frame = household_frame(ds)
    short = SurveyDesign(frame.iloc[:-1], ids="psu", strata="stratum", weights="wt")
    with pytest.raises(SurvmigError, match="the design has 319 rows"):
        compute(ds, short, ["households_with_emigrant_share"])
    other = frame.assign(**{KEY: frame[KEY].str.replace("uuid:00000", "uuid:x", regex=False)})
    with pytest.raises(SurvmigError, match="do not match the household table"):
        compute(ds, SurveyDesign(other, ids="psu", strata="stratum", weights="wt"), "all")
    design = SurveyDesign(frame, ids="psu", strata="stratum", weights="wt")
    with pytest.raises(SurvmigError, match="design_data goes with a design spec"):
        compute(ds, design, "all", design_data=frame[[KEY, "wt"]])


@pytest.mark.parametrize("method", ["linear", "raking"])
def test_person_indicators_are_ratios_of_household_totals_like_r(survey, method):
    """A person-level share with the calibrated household design: R svyratio of the households'
    member totals (foreign-born / known place of birth), nationally and by sex."""
    ds, _, ref = survey
    design = calibrated(ds, method)
    res = compute(ds, design, ["foreign_born_share"], by=["sex"])
    nat = compute(ds, design, ["foreign_born_share"]).table.iloc[0]
    r = ref[method]
    assert nat["estimate"] == pytest.approx(r["fb"]["estimate"][0], rel=REL)
    assert nat["se"] == pytest.approx(r["fb"]["se"][0], rel=REL)
    rows = res.table.set_index("sex")
    for s in (1, 2):
        got = rows.loc[str(s)]
        assert got["estimate"] == pytest.approx(r[f"fb_s{s}"]["estimate"][0], rel=REL), s
        assert got["se"] == pytest.approx(r[f"fb_s{s}"]["se"][0], rel=REL), s
        assert got["ci_low"] < got["estimate"] < got["ci_high"]
        assert got["cv"] == pytest.approx(got["se"] / got["estimate"], rel=1e-12)
    assert res.info["foreign_born_share"].note is None


@pytest.mark.parametrize("method", ["linear", "raking"])
def test_design_file_written_by_weight_gives_rs_calibrated_ses(survey, method, tmp_path):
    """The `survmig weight` → OUT.design.yaml route (what `estimate --indicators` gets) equals R."""
    import yaml

    from survmig.weighting.commands import weight_file

    ds, _, ref = survey
    frame = household_frame(ds)
    frame.to_csv(tmp_path / "hh.csv", index=False)
    (tmp_path / "design.yaml").write_text("ids: psu\nstrata: stratum\nweights: wt\n")
    strata = frame.groupby("stratum")["wt"].sum() * 1.1
    step = {
        "step": "calibrate",
        "method": method,
        "margins": [{"by": "stratum", "totals": {str(k): float(v) for k, v in strata.items()}}],
        "continuous": {"size": 1.02 * float((frame["wt"] * frame["size"]).sum())},
    }
    (tmp_path / "w.yaml").write_text(yaml.safe_dump({"steps": [step]}))
    out = tmp_path / "weighted.csv"
    weight_file(
        tmp_path / "hh.csv", tmp_path / "w.yaml", out,
        design_path=tmp_path / "design.yaml", weight_column="w_final",
    )  # fmt: skip
    written = pd.read_csv(out, dtype={KEY: str})
    root = ds.table(ds.root)
    design_data = written[[KEY, *[c for c in written.columns if c not in root.columns]]]
    res = compute(
        ds, tmp_path / "weighted.design.yaml", [*HOUSEHOLD, "foreign_born_share"],
        rates=RATES, parameters={"convert_to": "USD"}, design_data=design_data,
    )  # fmt: skip
    assert res.variance["weights_treated_as_fixed"] is False
    rows = res.table.set_index("indicator")
    for iid, col in {**HOUSEHOLD, "foreign_born_share": "fb"}.items():
        assert rows.loc[iid, "estimate"] == pytest.approx(ref[method][col]["estimate"][0], rel=REL)
        assert rows.loc[iid, "se"] == pytest.approx(ref[method][col]["se"][0], rel=REL), iid
