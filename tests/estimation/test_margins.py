"""Margins: repeated --by gives separate breakdowns plus the national row; a comma crosses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from survmig.design import SurveyDesign
from survmig.errors import SurvmigError
from survmig.estimation import estimate
from survmig.estimation.margins import breakdowns_of, estimate_margins

REF = Path(__file__).resolve().parents[1] / "reference"


@pytest.fixture(scope="module")
def strat() -> SurveyDesign:
    data = pd.read_csv(REF / "api" / "apistrat.csv")
    return SurveyDesign(data, strata="stype", weights="pw", fpc="fpc")


def test_breakdowns_of() -> None:
    assert breakdowns_of("region,sex") == [["region", "sex"]]
    assert breakdowns_of(["region", "sex"]) == [["region"], ["sex"]]
    assert breakdowns_of([[], ["region"]]) == [[], ["region"]]
    with pytest.raises(SurvmigError, match="named twice"):
        breakdowns_of("sex,sex")


def test_margins_are_the_separate_breakdowns(strat: SurveyDesign) -> None:
    got = estimate_margins(strat, ["stype", "sch.wide"], mean="api00", prop="awards")
    assert got["breakdown"].unique().tolist() == ["national", "stype", "sch.wide"]
    assert list(got.columns[:6]) == [
        "breakdown",
        "statistic",
        "variable",
        "category",
        "stype",
        "sch.wide",
    ]
    nat = got[got["breakdown"] == "national"]
    assert nat[["stype", "sch.wide"]].isna().all().all()
    pd.testing.assert_series_equal(
        nat["se"].reset_index(drop=True), estimate(strat, mean="api00", prop="awards")["se"]
    )
    by = got[got["breakdown"] == "stype"]
    one = estimate(strat, mean="api00", prop="awards", by="stype")
    np.testing.assert_allclose(by["se"], one["se"], rtol=1e-14)
    assert by["sch.wide"].isna().all()
    # R: svyby(~api00, ~stype, dstrat, svymean) (docs/specs/estimation.md)
    means = by[by["statistic"] == "mean"].set_index("stype")
    assert means.loc["E", "se"] == pytest.approx(12.3825, abs=1e-4)
    assert means.loc["H", "se"] == pytest.approx(14.9371, abs=1e-4)


def test_cli_repeated_by_and_crossing(run_cli, tmp_path: Path) -> None:
    data = REF / "api" / "apistrat.csv"
    base = [
        "estimate",
        data,
        "--strata",
        "stype",
        "--weight",
        "pw",
        "--fpc",
        "fpc",
        "--mean",
        "api00",
    ]
    out = tmp_path / "m.csv"
    res = run_cli(*base, "--by", "stype", "--by", "sch.wide", "-o", out)
    assert res.exit_code == 0, res.stderr
    got = pd.read_csv(out)
    assert len(got) == 1 + 3 + 2 and got["breakdown"].iloc[0] == "national"
    res = run_cli(*base, "--by", "stype", "--by", "sch.wide", "--no-national", "-o", out)
    assert len(pd.read_csv(out)) == 5
    res = run_cli(*base, "--by", "stype,sch.wide", "-o", out)
    crossed = pd.read_csv(out)
    assert "breakdown" not in crossed.columns and len(crossed) == 6
    res = run_cli(*base, "--by", "stype", "--national", "-o", out)
    assert len(pd.read_csv(out)) == 4
