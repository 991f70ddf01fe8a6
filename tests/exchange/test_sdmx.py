"""SDMX output read back by sdmx1's own SDMX-ML and SDMX-CSV readers (with the written structure)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from survmig.errors import SurvmigError
from survmig.exchange import read_back, write_sdmx
from survmig.indicators import compute
from survmig.report.tables import publication_table
from tests.indicators.survey import RATES, build_survey


@pytest.fixture(scope="module")
def published():
    ds, design = build_survey()
    parts = [
        compute(
            ds,
            design,
            ["foreign_born_share", "sdg_10_7_1", "emigrants_by_destination"],
            by=by,
            rates=RATES,
        )
        for by in ([], ["sex"])
    ]
    tables = [publication_table(p) for p in parts]
    table = pd.concat(tables, ignore_index=True)
    return table


def test_written_files_parse_and_keep_every_number(published, tmp_path):
    files = write_sdmx(published, tmp_path / "sdmx", ref_area="504", time_period="2025")
    back = read_back(files)
    for kind in ("xml", "csv"):
        got = back[kind]
        assert len(got) == len(published)
        assert set(got["REF_AREA"]) == {"504"} and set(got["TIME_PERIOD"].astype(str)) == {"2025"}
        # the SDG series of indicator 10.7.1; our own series for the rest
        sdg = got[got["SURVMIG_INDICATOR"] == "sdg_10_7_1"]
        assert len(sdg) and set(sdg["SERIES"]) == {"SL_EMP_RCOST_MP"}
        merged = got.merge(
            published.assign(
                SURVMIG_INDICATOR=published["indicator"],
                SEX=published["sex"]
                .astype(str)
                .str.lower()
                .map({"male": "M", "female": "F", "1": "M", "2": "F"})
                .fillna("_T")
                if "sex" in published
                else "_T",
                BREAKDOWN=published["category"]
                .astype(object)
                .where(published["category"].notna(), "_T")
                .astype(str),
            ),
            on=["SURVMIG_INDICATOR", "SEX", "BREAKDOWN"],
        )
        assert len(merged) == len(published)
        factor = np.where(merged["unit"] == "share", 100.0, 1.0)
        np.testing.assert_allclose(
            merged["value"].astype(float), merged["estimate"] * factor, rtol=1e-12
        )
        se = pd.to_numeric(merged["STANDARD_ERROR"], errors="coerce")
        np.testing.assert_allclose(se, merged["se"] * factor, rtol=1e-12)
        low = pd.to_numeric(merged["LOWER_BOUND"], errors="coerce")
        np.testing.assert_allclose(low, merged["ci_low"] * factor, rtol=1e-12)
        flag = merged["flag"].fillna("")
        status = np.where(flag.str.startswith("suppressed"), "M", np.where(flag != "", "U", "A"))
        assert (merged["OBS_STATUS"] == status).all()
        units = merged.loc[merged["unit"] == "share", "UNIT_MEASURE"]
        assert set(units) == {"PT"}


def test_suppressed_estimates_publish_nothing(published, tmp_path):
    table = published.copy()
    table.loc[0, "flag"] = "suppressed"
    table.loc[0, ["estimate", "se", "ci_low", "ci_high"]] = [0.5, 0.1, 0.3, 0.7]  # not blanked
    files = write_sdmx(table, tmp_path / "sdmx", ref_area="504", time_period="2025")
    got = read_back(files)["csv"]
    row = got[
        (got["SURVMIG_INDICATOR"] == table.loc[0, "indicator"])
        & (got["SEX"] == "_T")
        & (got["BREAKDOWN"] == "_T")
    ].iloc[0]
    assert np.isnan(float(row["value"])) and row["CONF_STATUS"] == "C"
    for col in ("STANDARD_ERROR", "LOWER_BOUND", "UPPER_BOUND"):
        assert pd.isna(row[col]) or row[col] in ("", "nan")
    raw = pd.read_csv(files["csv"], dtype=str)
    line = raw[
        (raw["SURVMIG_INDICATOR"] == table.loc[0, "indicator"])
        & (raw["SEX"] == "_T")
        & (raw["BREAKDOWN"] == "_T")
    ]
    assert len(line) == 1
    assert line[["OBS_VALUE", "STANDARD_ERROR", "LOWER_BOUND", "UPPER_BOUND"]].isna().all(axis=None)


def test_bad_requests(published, tmp_path):
    with pytest.raises(SurvmigError, match="M49"):
        write_sdmx(published, tmp_path / "a", ref_area="MAR", time_period="2025")
    twice = pd.concat([published.iloc[:1], published.iloc[:1]])
    with pytest.raises(SurvmigError, match="share the key"):
        write_sdmx(twice, tmp_path / "b", ref_area="504", time_period="2025")
    with pytest.raises(SurvmigError, match="lacks"):
        write_sdmx(published.drop(columns="se"), tmp_path / "c", ref_area="504", time_period="2025")
    assert not (tmp_path / "b").exists()


def test_cli(run_cli, published, tmp_path):
    published.to_csv(tmp_path / "indicators.csv", index=False)
    res = run_cli(
        "sdmx",
        tmp_path / "indicators.csv",
        "--ref-area",
        "504",
        "--time-period",
        "2025",
        "-o",
        tmp_path / "out",
    )
    assert res.exit_code == 0, res.stderr
    assert (tmp_path / "out" / "data.xml").exists() and (tmp_path / "out" / "mapping.csv").exists()
    res = run_cli(
        "sdmx",
        tmp_path / "indicators.csv",
        "--ref-area",
        "x",
        "--time-period",
        "2025",
        "-o",
        tmp_path / "out2",
    )
    assert res.exit_code == 2 and "M49" in res.stderr
