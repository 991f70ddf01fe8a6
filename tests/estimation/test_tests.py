"""Rao-Scott chi-square (R svychisq) and design-based t tests (R svyttest) against survey 4.1-1
(tests/reference/tests.R)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from survmig.design import SurveyDesign
from survmig.errors import SurvmigError
from survmig.estimation.tests import svychisq, svyttest

REF = Path(__file__).resolve().parents[1] / "reference"
FIX = json.loads((REF / "tests.json").read_text())
REL = 1e-8


@cache
def design(name: str) -> SurveyDesign:
    if name == "strat":
        return SurveyDesign(
            pd.read_csv(REF / "api" / "apistrat.csv"), strata="stype", weights="pw", fpc="fpc"
        )
    clus1 = SurveyDesign(
        pd.read_csv(REF / "api" / "apiclus1.csv"), ids="dnum", weights="pw", fpc="fpc"
    )
    return clus1.to_replicate("JK1") if name == "jk1" else clus1


@pytest.mark.parametrize("name", list(FIX["cases"]))
@pytest.mark.parametrize(
    ("key", "rows", "cols", "statistic"),
    [
        ("chisq_F", "sch.wide", "stype", "F"),
        ("chisq_Chisq", "sch.wide", "stype", "Chisq"),
        ("chisq_awards_F", "awards", "yr.rnd", "F"),
    ],
)
def test_svychisq_matches_r(name: str, key: str, rows: str, cols: str, statistic: str) -> None:
    ref = FIX["cases"][name][key]
    got = svychisq(design(name), rows, cols, statistic=statistic)
    assert got["statistic"] == pytest.approx(ref["statistic"], rel=REL)
    np.testing.assert_allclose(np.ravel(got["df"]), np.ravel(ref["df"]), rtol=REL)
    assert got["p_value"] == pytest.approx(ref["p"], rel=1e-7)


@pytest.mark.parametrize("name", list(FIX["cases"]))
def test_svyttest_matches_r(name: str) -> None:
    for key, group in (("ttest", "sch.wide"), ("ttest_one", None)):
        ref = FIX["cases"][name][key]
        got = svyttest(design(name), "api00", group)
        assert got["statistic"] == pytest.approx(ref["statistic"], rel=REL)
        assert got["df"] == ref["df"]
        assert got["estimate"] == pytest.approx(ref["estimate"], rel=REL)
        assert got["p_value"] == pytest.approx(ref["p"], rel=1e-7)
        np.testing.assert_allclose([got["ci_low"], got["ci_high"]], ref["ci"], rtol=REL)


def test_bad_tests() -> None:
    d = design("clus1")
    with pytest.raises(SurvmigError, match="two groups; 'stype' has 3"):
        svyttest(d, "api00", "stype")
    with pytest.raises(SurvmigError, match="has 1 category"):
        svychisq(
            SurveyDesign(d.data.assign(k=1), ids="dnum", weights="pw", fpc="fpc"), "k", "stype"
        )
    with pytest.raises(SurvmigError, match="unknown statistic"):
        svychisq(d, "sch.wide", "stype", statistic="Wald")
