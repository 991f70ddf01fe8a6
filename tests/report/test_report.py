"""Publication outputs: reliability flags, blanking, Excel/CSV/PNG/SVG/HTML contents, atomic writes."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import openpyxl
import pandas as pd
import pytest

from survmig.errors import SurvmigError
from survmig.indicators import compute
from survmig.report import (
    FLAG_CAUTION,
    FLAG_NO_VARIATION,
    FLAG_SUPPRESSED,
    Thresholds,
    flag_reliability,
    is_suppressed,
    plot_indicator,
    publication_table,
    write_csv,
    write_excel,
    write_html,
    write_report,
)
from tests.indicators.survey import RATES, build_survey

IDS = [
    "foreign_born_count",
    "foreign_born_share",
    "emigrants_by_destination",
    "remittance_use_shares",
    "sdg_10_7_1",
    "return_migrants_by_country_of_return",  # not computable here (no return-migrant records)
]


@pytest.fixture(scope="module")
def results():
    ds, design = build_survey()
    return compute(ds, design, IDS, by=["stratum"], rates=RATES)


def _table(cv, n, se=None):
    return pd.DataFrame(
        {
            "cv": cv,
            "n": n,
            "se": se if se is not None else [1.0] * len(cv),
            "estimate": [10.0] * len(cv),
        }
    )


def test_flags_follow_the_thresholds_and_are_configurable():
    t = _table([0.10, 0.17, 0.34, 0.10, np.nan, 0.10], [100, 100, 100, 29, 100, 100])
    t.loc[5, "se"] = np.nan
    flags = flag_reliability(t)["flag"].tolist()
    # row 4: the stored CV is missing but SE/estimate = 0.1 is recomputed
    assert flags == ["", FLAG_CAUTION, FLAG_SUPPRESSED, FLAG_SUPPRESSED, "", FLAG_SUPPRESSED]
    loose = flag_reliability(t, Thresholds(cv_caution=0.2, cv_suppress=0.5, min_n=10))["flag"]
    assert loose.tolist() == ["", "", FLAG_CAUTION, "", "", FLAG_SUPPRESSED]
    with pytest.raises(SurvmigError, match="cv_caution"):
        Thresholds(cv_caution=0.5, cv_suppress=0.2)


def test_an_estimate_without_usable_precision_is_never_reliable():
    # SEs of exactly zero and of rounding noise (the 1e-19 of a tiny demo domain), an estimate of 0
    # with a positive SE (no CV), an infinite SE, and a sound estimate for contrast
    t = pd.DataFrame(
        {
            "estimate": [0.25, 0.25, 0.0, 0.0, 0.25, 0.25],
            "se": [0.0, 1e-19, 0.01, 0.0, np.inf, 0.02],
            "cv": [0.0, 4e-19, np.nan, np.nan, np.inf, 0.08],
            "n": [200, 200, 200, 200, 200, 200],
        }
    )
    flags = flag_reliability(t)["flag"].tolist()
    assert flags == [
        FLAG_NO_VARIATION,
        FLAG_NO_VARIATION,
        FLAG_CAUTION,
        FLAG_NO_VARIATION,
        FLAG_SUPPRESSED,
        "",
    ]
    assert is_suppressed(pd.Series(flags)).tolist() == [True, True, False, True, True, False]
    # too few cases outranks no variation
    assert flag_reliability(t.assign(n=5))["flag"].eq(FLAG_SUPPRESSED).all()
    with pytest.raises(SurvmigError, match="cv_zero"):
        Thresholds(cv_zero=0.5)


def test_no_variation_rows_are_blanked_in_the_publication_table(results):
    table = results.table.copy()
    table.loc[0, "se"] = 1e-19
    table.loc[0, "cv"] = 1e-19 / table.loc[0, "estimate"]
    table.loc[0, "n"] = 1000
    pub = publication_table(dataclasses.replace(results, table=table))
    assert pub.loc[0, "flag"] == FLAG_NO_VARIATION
    blank = ["estimate", "se", "ci_low", "ci_high", "cv", "deff", "n", "weighted_n", "df"]
    assert np.isnan(pub.loc[0, blank].astype(float)).all()


def test_suppressed_estimates_are_blanked_but_keep_their_flag(results):
    table = publication_table(results)
    flagged = flag_reliability(results.table)
    suppressed = flagged["flag"] == FLAG_SUPPRESSED
    assert suppressed.any() and (~suppressed).any()
    blank = ["estimate", "se", "ci_low", "ci_high", "cv", "deff", "n", "weighted_n", "df"]
    assert table.loc[suppressed, blank].isna().all().all()
    assert (table.loc[suppressed, "flag"] == FLAG_SUPPRESSED).all()
    kept = ~is_suppressed(table["flag"])
    assert (kept <= ~suppressed).all()
    np.testing.assert_allclose(
        table.loc[kept, "estimate"].to_numpy(float),
        results.table.loc[kept, "estimate"].to_numpy(float),
    )
    cv = flagged["cv"].abs()
    assert ((cv > 0.333) | (flagged["n"] < 30) <= suppressed).all()


def test_csv_is_the_publication_table(results, tmp_path):
    path = write_csv(results, tmp_path / "out.csv")
    back = pd.read_csv(path, keep_default_na=True)
    expected = publication_table(results)
    assert len(back) == len(expected)
    np.testing.assert_allclose(
        back["estimate"].to_numpy(float), expected["estimate"].to_numpy(float), rtol=1e-12
    )
    assert back["flag"].fillna("").tolist() == expected["flag"].tolist()


def test_excel_has_a_sheet_per_indicator_with_notes_and_values(results, tmp_path):
    path = write_excel(results, tmp_path / "out.xlsx", Thresholds(min_n=50))
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[:2] == ["Contents", "Not computable"]
    assert len(wb.sheetnames) == 2 + len(results.info)
    nc = wb["Not computable"]
    assert nc["A2"].value == "return_migrants_by_country_of_return"
    ws = wb["sdg_10_7_1"]
    notes = {ws.cell(r, 1).value: ws.cell(r, 2).value for r in range(1, 15) if ws.cell(r, 1).value}
    assert "SDG indicator 10.7.1" in notes["Standard"]
    assert "per-worker" in notes["Definition"].lower() or "own ratio" in notes["Definition"]
    assert notes["Universe"] and notes["Reference period"]
    header_row = next(r for r in range(1, 30) if ws.cell(r, 1).value == "Stratum")
    header = [ws.cell(header_row, c).value for c in range(1, 10)]
    assert header == [
        "Stratum",
        "Estimate",
        "SE",
        "Lower 95 % limit",
        "Upper 95 % limit",
        "CV %",
        "n",
        "Note",
        None,
    ]
    pub = publication_table(results, Thresholds(min_n=50))
    rows = pub[pub["indicator"] == "sdg_10_7_1"]
    for i, (_, row) in enumerate(rows.iterrows(), start=header_row + 1):
        assert ws.cell(i, 8).value == (row["flag"] or None)
        if row["flag"] == FLAG_SUPPRESSED:
            assert ws.cell(i, 2).value is None
            assert ws.cell(i, 2).fill.fgColor.rgb.endswith("E7E6E6")  # grey
        else:
            assert ws.cell(i, 2).value == pytest.approx(row["estimate"], rel=1e-12)
            assert ws.cell(i, 2).number_format == "#,##0.00"  # months of earnings: 2 decimals
            assert ws.cell(i, 6).number_format == "0.0%"
    # shares in percent, counts with thousands separators
    share = wb["foreign_born_share"]
    top = next(r for r in range(1, 30) if share.cell(r, 2).value == "Estimate")
    assert share.cell(top + 1, 2).number_format == "0.0%"
    count = wb["foreign_born_count"]
    top = next(r for r in range(1, 30) if count.cell(r, 2).value == "Estimate")
    assert count.cell(top + 1, 2).number_format == "#,##0"
    assert count.column_dimensions["A"].width >= 8
    # the contents sheet links every indicator's sheet and maps cut names back to the indicator
    contents = wb["Contents"]
    links = {
        contents.cell(r, 3).value: (contents.cell(r, 2).value, contents.cell(r, 1).hyperlink)
        for r in range(5, 5 + len(results.info))
    }
    for iid, (sheet, link) in links.items():
        assert sheet in wb.sheetnames and link.location == f"'{sheet}'!A1"
        assert sheet == iid[:31] or sheet.startswith(iid[:25])
    # sheet names are valid Excel names even for long ids
    assert all(len(name) <= 31 for name in wb.sheetnames)


def test_charts_png_and_svg(results, tmp_path):
    png = plot_indicator(results, "foreign_born_share", tmp_path / "c.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    everything = Thresholds(cv_caution=50, cv_suppress=100, min_n=1)
    svg = plot_indicator(results, "emigrants_by_destination", tmp_path / "c.svg", everything)
    text = svg.read_text()
    assert "<svg" in text and "Country FRA" in text
    with pytest.raises(SurvmigError, match="chart format"):
        plot_indicator(results, "foreign_born_share", tmp_path / "c.gif")
    with pytest.raises(SurvmigError, match="no results"):
        plot_indicator(results, "return_migrants_by_country_of_return", tmp_path / "x.png")


def test_html_report_is_self_contained(results, tmp_path):
    path = write_html(results, tmp_path / "r.html")
    text = path.read_text(encoding="utf-8")
    assert text.count("<svg") == len(results.info)
    assert not re.search(r"""(src|href)=["'](https?:)?//""", text)  # nothing fetched
    assert "<img" not in text and "<script" not in text and "<link" not in text
    assert "Not computable" in text and "return_migrants_by_country_of_return" in text
    for info in results.info.values():
        assert info.title in text


def test_report_directory_is_written_whole_or_not_at_all(results, tmp_path, monkeypatch):
    out = tmp_path / "report"
    paths = write_report(results, out, charts=(".png", ".svg"))
    assert paths["excel"].exists() and paths["csv"].exists() and paths["html"].exists()
    assert len(list((out / "charts").glob("*.png"))) == len(results.info)
    assert len(list((out / "charts").glob("*.svg"))) == len(results.info)
    before = sorted(p.name for p in out.rglob("*"))
    import survmig.report.html as html_mod

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(html_mod, "render_html", broken)
    with pytest.raises(RuntimeError):
        write_report(results, out)
    assert sorted(p.name for p in out.rglob("*")) == before  # the old report is intact
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".report")]  # no leftovers


def test_single_files_are_atomic(results, tmp_path, monkeypatch):
    target = tmp_path / "t.xlsx"
    target.write_bytes(b"old")
    import openpyxl.workbook.workbook as wbmod

    def broken(self, *args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(wbmod.Workbook, "save", broken)
    with pytest.raises(RuntimeError):
        write_excel(results, target)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["t.xlsx"]
