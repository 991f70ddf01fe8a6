"""The report in English, French and Arabic: every fixed text and catalogue text translated, numbers
written as readers expect them, parameters substituted, Arabic right to left."""

from __future__ import annotations

import html
import re

import pytest
import yaml

from survmig.errors import SurvmigError
from survmig.indicators import compute, load_catalogue
from survmig.report import Methodology, Thresholds, write_html
from survmig.report.html import cell_text
from survmig.report.i18n import Texts, languages, substitute
from tests.indicators.survey import RATES, build_survey

IDS = ["foreign_born_count", "foreign_born_share", "recent_immigrants_count", "emigrants_by_sex"]


@pytest.fixture(scope="module")
def results():
    ds, design = build_survey()
    return compute(ds, design, IDS, rates=RATES, parameters={"recent_years": 7})


def _texts() -> dict:
    from importlib import resources

    return yaml.safe_load(
        resources.files("survmig.report").joinpath("texts.yaml").read_text("utf-8")
    )


def test_every_fixed_text_is_in_every_language():
    spec = _texts()
    langs = set(spec["languages"])
    assert {"en", "fr", "ar"} <= langs
    missing = [f"{k}.{lang}" for k, v in spec["texts"].items() for lang in langs if not v.get(lang)]
    assert missing == []


def test_every_catalogue_text_is_translated():
    from importlib import resources

    table = yaml.safe_load(
        resources.files("survmig.report").joinpath("catalogue_texts.yaml").read_text("utf-8")
    )
    missing = []
    for ind in load_catalogue().indicators.values():
        texts = [ind.title, ind.definition, ind.reference_period]
        texts += [d.universe_text for d in ind.definitions]
        for text in texts:
            for lang in set(languages()) - {"en"}:
                if not (table.get(text) or {}).get(lang):
                    missing.append(f"{ind.id} [{lang}]: {text[:50]}")
    assert missing == []


def test_numbers_as_people_read_them():
    en, fr, ar = Texts("en"), Texts("fr"), Texts("ar")
    assert en.number(1234567.4) == "1,234,567"
    assert fr.number(1234567.4) == "1\u202f234\u202f567"
    assert fr.number(3.14159, 2) == "3,14"
    assert en.percent(0.0342) == "3.4"
    # a rounded zero has no sign, infinities and NaN are never printed
    assert en.number(-0.0001, 2) == "0.00" and en.number(-0.4) == "0"
    assert en.number(float("inf")) == "" and en.number(float("nan")) == ""
    assert ar.number(1234.5, 1) == "1٬234٫5"
    # decimals by statistic: shares in percent, counts whole, months of earnings two decimals
    assert cell_text(0.25, "estimate", "share", "proportion", en) == "25.0"
    assert cell_text(12345.6, "estimate", "persons", "total", en) == "12,346"
    assert cell_text(1.234, "estimate", "months of earnings", "mean", en) == "1.23"
    assert cell_text(0.123, "cv", "persons", "total", en) == "12.3"
    with pytest.raises(SurvmigError, match="--lang"):
        Texts("pt")


def test_parameters_are_substituted_in_definitions():
    assert substitute("at most `recent_years` years", {"recent_years": 7}) == "at most 7 years"
    assert substitute("in `convert_to`", {}) == "in convert_to"


@pytest.mark.parametrize("lang", ["en", "fr", "ar"])
def test_report_in_each_language(results, tmp_path, lang):
    m = Methodology(strata=4, psus=32, households=320, population=50000.0, df=28)
    path = write_html(
        results,
        tmp_path / f"r_{lang}.html",
        Thresholds(),
        lang=lang,
        methodology=m,
        agency="INS",
        date="2026-12-02",
    )
    text = path.read_text(encoding="utf-8")
    tx = Texts(lang)
    assert f'<html lang="{lang}" dir="{"rtl" if lang == "ar" else "ltr"}">' in text
    body = text[text.index("<body>") : text.index('<section class="annex">')]
    # every indicator title in the language, the parameter value in the definition
    for iid in IDS:
        assert html.escape(tx.indicator(results.info[iid].title)) in body
    assert "`" not in body and "recent_years" not in body
    assert " 7 " in tx.indicator(
        results.info["recent_immigrants_count"].definition, {"recent_years": 7}
    )
    # headers in words, no internal ids in the body (the annex has them)
    assert tx.t("estimate") in body and tx.t("headline") in body and tx.t("methodology") in body
    for iid in IDS:
        assert not re.search(rf">{iid}<", body)
    annex = text[text.index('<section class="annex">') :]
    assert all(iid in annex for iid in IDS)
    # A4 print styles with a page break before each indicator
    assert "@page{size:A4" in text and "break-before:page" in text
    assert (
        "deff inf" not in text
        and ">-0<" not in text
        and "nan" not in body.lower().replace("nanc", "")
    )


@pytest.mark.parametrize("lang", ["en", "fr", "ar"])
def test_workbook_in_each_language(results, tmp_path, lang):
    """Sheet names, notes and headers in the language; Arabic sheets right to left; the same
    number formats in every language (Excel writes the separators of the reader's locale)."""
    import openpyxl

    from survmig.report import write_excel

    tx = Texts(lang)
    wb = openpyxl.load_workbook(write_excel(results, tmp_path / f"w_{lang}.xlsx", lang=lang))
    assert wb.sheetnames[:2] == [tx.t("contents"), tx.t("not_computable")]
    assert all(ws.sheet_view.rightToLeft is (True if lang == "ar" else None) for ws in wb)
    contents = wb[tx.t("contents")]
    assert contents["A1"].value == tx.t("title")
    title = tx.indicator(results.info["foreign_born_share"].title)
    row = next(r for r in range(5, 12) if contents.cell(r, 1).value == title)
    sheet = contents.cell(row, 2).value
    assert contents.cell(row, 1).hyperlink.location == f"'{sheet}'!A1"
    ws = wb[sheet]
    assert ws["A1"].value == "← " + tx.t("contents")
    assert ws["A1"].hyperlink.location == f"'{tx.t('contents')}'!A1"
    notes = {ws.cell(r, 1).value: ws.cell(r, 2).value for r in range(2, 10)}
    assert notes[tx.t("definition")] == tx.indicator(results.info["foreign_born_share"].definition)
    assert notes[tx.t("unit")] == tx.t("unit_share")
    top = next(r for r in range(2, 20) if ws.cell(r, 1).value == tx.t("estimate")) + 1
    head = [ws.cell(top - 1, c).value for c in range(1, 7)]
    assert head[:2] == [tx.t("estimate"), tx.t("se")] and head[4:6] == [tx.t("cv"), tx.t("n")]
    assert ws.cell(top, 1).number_format == "0.0%" and ws.cell(top, 6).number_format == "#,##0"
    assert isinstance(ws.cell(top, 1).value, float)


@pytest.mark.parametrize("lang", ["fr", "ar"])
def test_weighting_steps_are_named_in_the_language(lang):
    from survmig.report.methodology import step_names

    tx = Texts(lang)
    m = Methodology(
        weighting=("base (PPS of EAs)", "nonresponse", "calibration to the census"),
        weighting_kinds=("base", "nonresponse", "calibrate"),
    )
    names = step_names(m, tx)
    assert names == [tx.t("step_base"), tx.t("step_nonresponse"), tx.t("step_calibrate")]
    assert not any(re.search("[A-Za-z]{4}", n) for n in names if lang == "ar")
    assert step_names(m, Texts("en")) == list(m.weighting)  # the user's own names in English
