"""Indicators compared by migratory status against R survey 4.1
(tests/reference/indicators_compare.R): group estimates, differences and ratios with SEs from the
joint covariance — svyby(covmat = TRUE) + svycontrast on the members' design, and the same
contrasts of household-total ratios on the calibrated household design — to 1e-8; indicators
that cannot be compared are notes, bad requests errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from survmig.errors import SurvmigError
from survmig.indicators.comparison import compare_indicators, stack

from .compare_input import VALUES, member_frame
from .survey import RATES, build_survey
from .test_calibrated import calibrated

REFERENCE = Path(__file__).resolve().parents[1] / "reference"
FIX = json.loads((REFERENCE / "indicators_compare.json").read_text())
REL = 1e-8


@pytest.fixture(scope="module")
def survey():
    return build_survey()


@pytest.fixture(scope="module")
def comparisons(survey):
    ds, spec = survey
    out = {}
    for name, design in (("members", spec), ("calibrated", calibrated(ds, "linear"))):
        out[name] = compare_indicators(
            ds, design, list(VALUES.values()), compare="born_in_country", reference="1",
            contrast=["difference", "ratio"], rates=RATES,
        )  # fmt: skip
    return out


def test_fixture_input_is_the_test_survey(survey):
    ds, _ = survey
    committed = pd.read_csv(REFERENCE / "indicators_compare.csv")
    pd.testing.assert_frame_equal(member_frame(ds), committed, check_dtype=False, rtol=1e-12)


@pytest.mark.parametrize("design", ["members", "calibrated"])
@pytest.mark.parametrize("value", list(VALUES))
def test_groups_and_contrasts_match_r(comparisons, design, value):
    res = comparisons[design]
    iid = VALUES[value]
    ref = FIX[design][value]
    groups = res.groups[res.groups["indicator"] == iid].set_index("born_in_country")
    np.testing.assert_allclose(groups.loc[["0", "1"], "estimate"], ref["estimate"], rtol=REL)
    np.testing.assert_allclose(
        groups.loc[["0", "1"], "se"], ref["se"], rtol=REL, atol=1e-12 * max(ref["se"])
    )
    rows = res.comparisons[res.comparisons["indicator"] == iid].set_index("contrast")
    diff = rows.loc["difference"]
    assert diff["born_in_country"] == "0 - 1"
    assert diff["estimate"] == pytest.approx(ref["difference"]["estimate"], rel=REL)
    assert diff["se"] == pytest.approx(ref["difference"]["se"], rel=REL)
    t = diff["estimate"] / diff["se"]
    assert diff["t"] == pytest.approx(t, rel=1e-12)
    assert 0 < diff["p_value"] < 1
    assert diff["ci_low"] < diff["estimate"] < diff["ci_high"]
    ratio = rows.loc["ratio"]
    if isinstance(ref["ratio"]["estimate"], str):  # 0 native-born foreign citizens: no ratio
        assert np.isnan(ratio["estimate"])
    else:
        assert ratio["estimate"] == pytest.approx(ref["ratio"]["estimate"], rel=REL)
        assert ratio["se"] == pytest.approx(ref["ratio"]["se"], rel=REL)


def test_indicators_that_cannot_be_compared_are_notes(survey):
    ds, spec = survey
    res = compare_indicators(
        ds, spec,
        ["foreign_born_share", "households_with_emigrant_share", "remittances_median_received",
         "intention_to_migrate_share"],
        compare="born_in_country", rates=RATES,
    )  # fmt: skip
    assert res.notes["foreign_born_share"][0] == "defines"
    assert res.notes["households_with_emigrant_share"][0] == "level"
    assert "born_in_country itself" in res.notes["foreign_born_share"][1]
    assert set(res.comparisons["indicator"]) == {"intention_to_migrate_share"}
    quantile = compare_indicators(
        ds, spec, ["remittances_median_received"], compare="psu", rates=RATES
    )
    assert quantile.notes["remittances_median_received"][0] == "quantile"
    table = stack(res)
    assert table["contrast"].isna().sum() == 2  # the two group rows of the one comparable
    assert table["variable"].eq("intention_to_migrate_share").all()


def test_one_group_and_bad_reference_are_errors(survey):
    ds, spec = survey
    hh = ds.table("household")
    with pytest.raises(SurvmigError, match="two or more groups"):
        compare_indicators(
            ds, {**spec}, ["households_with_emigrant_share"],
            compare="one_value", **_with_constant(ds, hh),
        )  # fmt: skip
    with pytest.raises(SurvmigError, match="reference group '7' is not a value"):
        compare_indicators(
            ds, spec, ["intention_to_migrate_share"], compare="born_in_country", reference="7"
        )
    with pytest.raises(SurvmigError, match="both compared and a domain"):
        compare_indicators(ds, spec, ["intention_to_migrate_share"], compare="sex", by=["sex"])


def _with_constant(ds, hh):
    """``design_data`` adding a household column with a single value."""
    from survmig.data import KEY

    return {"design_data": pd.DataFrame({KEY: hh[KEY].to_numpy(), "one_value": "x"})}


@pytest.fixture
def dataset_dir(survey, tmp_path):
    import yaml

    ds, spec = survey
    ds.write(tmp_path / "ds")
    (tmp_path / "design.yaml").write_text(yaml.safe_dump(spec))
    return ["estimate", tmp_path / "ds", "--design", tmp_path / "design.yaml"]


def test_cli_indicators_compare(run_cli, dataset_dir, tmp_path, comparisons):
    out = tmp_path / "cmp.csv"
    res = run_cli(
        *dataset_dir, "--indicators", "foreign_born_share,intention_to_migrate_share",
        "--compare", "born_in_country", "--reference", "1", "--contrast", "both", "-o", out,
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    assert "foreign_born_share not compared by born_in_country" in res.stderr
    assert "wrote 2 estimates and 2 comparisons" in res.stdout
    got = pd.read_csv(out)
    diff = got[got["contrast"] == "difference"].iloc[0]
    assert diff["variable"] == "intention_to_migrate_share"
    assert diff["se"] == pytest.approx(FIX["members"]["intent"]["difference"]["se"], rel=REL)


def test_cli_compare_errors_are_one_line(run_cli, dataset_dir):
    res = run_cli(
        *dataset_dir, "--indicators", "foreign_born_share", "--compare", "born_in_country"
    )
    assert res.exit_code == 2
    assert "none of the requested indicators can be compared by born_in_country" in res.stderr
    assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) <= 2
    res = run_cli(*dataset_dir, "--indicators", "intention_to_migrate_share", "--compare", "nope")
    assert res.exit_code == 2 and "neither a concept nor a column" in res.stderr
