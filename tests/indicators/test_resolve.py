"""Binding through concepts, not-computable reporting, domains, parameters and every bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from survmig.data import Dataset
from survmig.errors import SurvmigError
from survmig.indicators import compute, level_map, load_catalogue
from survmig.indicators import expr as ex
from survmig.modules import load_concepts

from .survey import RATES, build_survey

SOME = [
    "foreign_born_share",
    "recent_immigrants_count",
    "households_with_emigrant_share",
    "emigrants_by_destination",
    "remittances_mean_received",
    "remittance_use_shares",
    "sdg_10_7_1",
]


@pytest.fixture(scope="module")
def survey():
    return build_survey()


def _without(ds: Dataset, level: str, column: str | None = None) -> Dataset:
    tables = {lv: ds.table(lv) for lv in ds.levels}
    if column is None:
        del tables[level]
    else:
        tables[level] = tables[level].drop(columns=[column])
    return Dataset(tables, ds.metadata)


def test_catalogue_covers_the_brief_and_binds_only_registered_concepts():
    cat = load_catalogue()
    registry = load_concepts()
    assert len(cat.indicators) >= 30
    for ind in cat.indicators.values():
        assert ind.definition and ind.standard and ind.universe_text and ind.reference_period
        for concept in ind.concepts(cat.parameters):
            assert registry.get(concept) is not None, (ind.id, concept)
    standards = " ".join(i.standard for i in cat.indicators.values())
    for std in ("UN Recommendations", "ILO 20th ICLS", "SDG indicator 10.7.1", "MED-HIMS", "BPM6"):
        assert std in standards


def test_tables_are_matched_to_levels_by_their_concepts(survey):
    ds, _ = survey
    assert level_map(ds) == {
        "household": "household",
        "person": "members",
        "emigrant": "emigrants",
        "remittance_sender": "senders",
        "recruitment_cost_item": "costs",
    }


def test_renamed_variables_give_the_same_numbers(survey):
    ds, design = survey
    rename = {
        "q_born": "born_here",
        "q_age": "age_years",
        "q_uses": "what_for",
        "s_amount": "money",
        "c_amount": "paid",
        "e_country": "lives_in",
    }
    renamed, _ = build_survey(rename=rename)
    assert "born_here" in renamed.table("members").columns
    a = compute(ds, design, SOME, by=["stratum"], rates=RATES)
    b = compute(renamed, design, SOME, by=["stratum"], rates=RATES)
    assert b.info["foreign_born_share"].concepts["born_in_country"] == "members.born_here"
    pd.testing.assert_frame_equal(a.table, b.table)
    assert len(a.table) > 30


def test_missing_concepts_and_tables_are_reported_not_computable(survey):
    ds, design = survey
    no_channel = _without(ds, "senders", "s_channel")
    res = compute(no_channel, design, ["remittance_channel_shares", "foreign_born_share"])
    assert res.not_computable == {
        "remittance_channel_shares": "needs concept `remittance_channel`, not in the data"
    }
    assert res.computed == ["foreign_born_share"]
    no_emigrants = _without(ds, "emigrants")
    res = compute(no_emigrants, design, ["emigrants_count"])
    assert "needs emigrant-level records" in res.not_computable["emigrants_count"]
    assert res.table.empty


def test_return_migrant_count_falls_back_to_the_roster_screen(survey):
    ds, design = survey
    res = compute(ds, design, ["return_migrants_count", "return_migrants_by_country_of_return"])
    info = res.info["return_migrants_count"]
    assert info.data_level == "members" and "roster screen" in info.note
    assert "return_migrant-level" in res.not_computable["return_migrants_by_country_of_return"]


def test_amounts_need_rates_and_every_currency_needs_one(survey):
    ds, design = survey
    res = compute(ds, design, ["remittances_total_lcu", "remittances_total_converted"])
    assert "needs exchange rates" in res.not_computable["remittances_total_lcu"]
    res = compute(ds, design, ["remittances_total_converted"], rates=RATES)
    assert "convert_to" in res.not_computable["remittances_total_converted"]
    partial = {k: v for k, v in RATES.items() if k != "EUR"}
    with pytest.raises(SurvmigError, match="no exchange rate for currency EUR"):
        compute(ds, design, ["remittances_mean_received"], rates=partial)
    with pytest.raises(SurvmigError, match="positive number"):
        compute(ds, design, ["remittances_mean_received"], rates={**RATES, "EUR": 0})


def test_rates_from_a_csv_table(survey, tmp_path):
    ds, design = survey
    path = tmp_path / "rates.csv"
    pd.DataFrame({"currency": list(RATES), "rate": list(RATES.values())}).to_csv(path, index=False)
    a = compute(ds, design, ["remittances_total_lcu"], rates=path)
    b = compute(ds, design, ["remittances_total_lcu"], rates=RATES)
    pd.testing.assert_frame_equal(a.table, b.table)


def test_unknown_indicator_and_parameter_names_suggest_the_closest(survey):
    ds, design = survey
    with pytest.raises(SurvmigError, match="did you mean 'foreign_born_share'"):
        compute(ds, design, ["foreign_born_shares"])
    with pytest.raises(SurvmigError, match="did you mean 'recent_years'"):
        compute(ds, design, ["foreign_born_share"], parameters={"recent_year": 3})


def test_design_that_does_not_match_the_data_and_missing_weights(survey):
    ds, design = survey
    with pytest.raises(SurvmigError, match="region"):
        compute(ds, {**design, "strata": "region"}, ["foreign_born_share"])
    tables = {lv: ds.table(lv) for lv in ds.levels}
    hh = tables["household"].copy()
    hh.loc[3, "wt"] = np.nan
    tables["household"] = hh
    with pytest.raises(SurvmigError, match="weights.*missing"):
        compute(Dataset(tables, ds.metadata), design, ["foreign_born_share"])


def test_design_columns_from_a_separate_household_frame(survey):
    ds, design = survey
    hh = ds.table("household")
    extra = hh[["KEY", "stratum", "psu", "wt"]].rename(
        columns={"stratum": "st2", "psu": "psu2", "wt": "w2"}
    )
    a = compute(ds, design, ["foreign_born_share"])
    b = compute(
        ds,
        {"ids": "psu2", "strata": "st2", "weights": "w2"},
        ["foreign_born_share"],
        design_data=extra,
    )
    pd.testing.assert_frame_equal(a.table, b.table)
    with pytest.raises(SurvmigError, match="no row in the design data"):
        compute(ds, design, ["foreign_born_share"], design_data=extra.iloc[5:])


def test_domains_by_design_column_and_concept(survey):
    ds, design = survey
    res = compute(
        ds, design, ["foreign_born_count", "households_with_emigrant_share"], by=["stratum", "sex"]
    )
    fb = res.for_indicator("foreign_born_count")
    assert len(fb) == 8 and set(fb["sex"]) == {"1", "2"}
    total = compute(ds, design, ["foreign_born_count"]).table["estimate"].iloc[0]
    assert fb["estimate"].sum() == pytest.approx(total, rel=1e-12)
    hh = res.info["households_with_emigrant_share"]
    assert hh.by == ["stratum"] and hh.by_dropped == ["sex"]
    assert res.labels["sex"] == {"1": "Male", "2": "Female"}
    with pytest.raises(SurvmigError, match="did you mean 'stratum'"):
        compute(ds, design, ["foreign_born_count"], by=["stratun"])


def test_recent_years_parameter_changes_the_window(survey):
    ds, design = survey
    five = compute(ds, design, ["recent_immigrants_count"]).table["estimate"].iloc[0]
    ten = compute(ds, design, ["recent_immigrants_count"], parameters={"recent_years": 10})
    assert ten.table["estimate"].iloc[0] > five
    assert ten.info["recent_immigrants_count"].parameters == {"recent_years": 10}


def test_bad_catalogue_entries_name_file_and_line(tmp_path):
    doc = yaml.safe_load(Path(load_catalogue().file).read_text(encoding="utf-8"))
    doc["indicators"][1]["value"] = "born_in_countyr == 0"
    path = tmp_path / "cat.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    with pytest.raises(SurvmigError, match=r"cat\.yaml:\d+.*did you mean 'born_in_country'"):
        load_catalogue(path)


def test_expressions_cannot_run_code():
    with pytest.raises(SurvmigError, match="not allowed|unknown function"):
        ex.parse("__import__('os').system('true')")
    with pytest.raises(SurvmigError, match="not allowed"):
        ex.parse("age.real")


def test_kleene_logic_keeps_missing_answers_missing():
    class Scope(ex.Scope):
        n = 4

        def value(self, name):
            return {
                "a": pd.Series(pd.array([1, 0, None, None], dtype="Float64")),
                "b": pd.Series(pd.array([5, None, 1, 9], dtype="Float64")),
            }[name]

    def listed(expr):
        out = ex.evaluate(ex.parse(expr), Scope())
        return [None if v is pd.NA else bool(v) for v in out.tolist()]

    assert listed("a == 0 or b > 3") == [True, True, None, True]
    assert listed("a == 1 and b > 3") == [True, False, False, None]
    assert listed("not (a in [0])") == [True, False, None, None]
    assert ex.band(pd.Series([0, 14, 15, 70, None]), [0, 15, 60]).tolist() == [
        "0-14",
        "0-14",
        "15-59",
        "60+",
        None,
    ]


def test_cli_estimate_indicators(survey, tmp_path, run_cli):
    ds, design = survey
    ds.write(tmp_path / "ds")
    (tmp_path / "design.yaml").write_text(yaml.safe_dump(design))
    out = tmp_path / "est.csv"
    res = run_cli(
        "estimate",
        tmp_path / "ds",
        "--design",
        tmp_path / "design.yaml",
        "--indicators",
        "foreign_born_share,emigrants_by_sex,intended_destination_shares",
        "--by",
        "stratum",
        "-o",
        out,
    )
    assert res.exit_code == 0, res.stderr
    table = pd.read_csv(out)
    expected = compute(ds, design, ["foreign_born_share"], by=["stratum"]).table
    got = table[table["variable"] == "foreign_born_share"]["estimate"].to_numpy()
    np.testing.assert_allclose(got, expected["estimate"].to_numpy(), rtol=1e-12)
    assert set(table["variable"]) == {
        "foreign_born_share",
        "emigrants_by_sex",
        "intended_destination_shares",
    }
    bad = run_cli(
        "estimate",
        tmp_path / "ds",
        "--design",
        tmp_path / "design.yaml",
        "--indicators",
        "emigrant_count",
    )
    assert bad.exit_code == 2
    assert "did you mean 'emigrants_count'" in bad.stderr and "Traceback" not in bad.stderr


def test_sdg_falls_back_when_the_module_detail_is_absent(survey):
    ds, design = survey
    tables = {lv: ds.table(lv) for lv in ds.levels}
    tables["members"] = tables["members"].drop(columns=["q_moved", "q_wage", "q_period", "q_days"])
    tables["costs"] = tables["costs"].drop(columns=["c_paid", "c_refund"])
    res = compute(Dataset(tables, ds.metadata), design, ["sdg_10_7_1"], rates=RATES)
    info = res.info["sdg_10_7_1"]
    assert "earnings taken as monthly" in info.note
    assert "recruitment_year" in info.concepts
    assert res.table["estimate"].iloc[0] > 0


def test_replicate_designs_made_from_the_household_design(survey):
    ds, design = survey
    lin = compute(ds, design, ["foreign_born_share", "emigrants_count"])
    rep = compute(
        ds,
        {**design, "create_replicates": {"type": "JKn"}},
        ["foreign_born_share", "emigrants_count"],
    )
    np.testing.assert_allclose(rep.table["estimate"], lin.table["estimate"], rtol=1e-12)
    # jackknife and linearization SEs agree closely for these smooth statistics
    np.testing.assert_allclose(rep.table["se"], lin.table["se"], rtol=0.05)


def test_logit_intervals_for_shares_keep_estimates_and_ses(survey):
    ds, design = survey
    ids = ["foreign_born_share", "remittance_use_shares", "intended_destination_shares"]
    t = compute(ds, design, ids, by=["stratum"]).table
    logit = compute(ds, design, ids, by=["stratum"], ci="logit").table
    assert len(t) == len(logit)
    np.testing.assert_allclose(logit["estimate"], t["estimate"], rtol=1e-12)
    np.testing.assert_allclose(logit["se"], t["se"], rtol=1e-12)
    assert (logit["ci_low"] >= 0).all() and (logit["ci_high"] <= 1).all()
    assert (t["ci_high"] > 1).any()  # the symmetric t interval leaves [0, 1] somewhere


def test_missing_select_multiple_is_not_computable(survey):
    ds, design = survey
    tables = {lv: ds.table(lv) for lv in ds.levels}
    uses = [c for c in tables["household"].columns if c.startswith("q_uses")]
    tables["household"] = tables["household"].drop(columns=uses)
    res = compute(Dataset(tables, ds.metadata), design, ["remittance_use_shares"])
    assert res.not_computable == {
        "remittance_use_shares": "needs concept `remittance_use`, not in the data"
    }


def test_cli_rates_parameters_and_report(survey, tmp_path, run_cli):
    """Exchange rates, catalogue parameters and the publication report from the command line."""
    ds, design = survey
    ds.write(tmp_path / "ds")
    (tmp_path / "design.yaml").write_text(yaml.safe_dump(design))
    rates = tmp_path / "rates.csv"
    pd.DataFrame({"currency": list(RATES), "rate": list(RATES.values())}).to_csv(rates, index=False)
    ids = "remittances_total_converted,sdg_10_7_1"
    common = [
        "estimate",
        tmp_path / "ds",
        "--design",
        tmp_path / "design.yaml",
        "--indicators",
        ids,
    ]
    out, report = tmp_path / "est.csv", tmp_path / "report"
    res = run_cli(
        *common, "--rates", rates, "--param", "convert_to=EUR", "--report", report, "-o", out
    )
    assert res.exit_code == 0, res.stderr
    table = pd.read_csv(out)
    expected = compute(
        ds, design, ids.split(","), rates=RATES, parameters={"convert_to": "EUR"}
    ).table
    np.testing.assert_allclose(
        table.set_index("variable").loc[expected["indicator"], "estimate"].to_numpy(),
        expected["estimate"].to_numpy(),
        rtol=1e-12,
    )
    assert {"indicators.xlsx", "indicators.csv", "report.html"} <= {
        p.name for p in report.iterdir()
    }
    # without rates the same request cannot be computed: exit 1 with the reason, nothing written
    res = run_cli(*common, "-o", tmp_path / "norates.csv")
    assert res.exit_code == 1
    assert "can be computed" in res.stderr and "exchange rates" in res.stderr
    assert not (tmp_path / "norates.csv").exists()
    # the options belong to --indicators, and a malformed parameter is named
    lone = run_cli(
        "estimate",
        tmp_path / "ds",
        "--design",
        tmp_path / "design.yaml",
        "--mean",
        "x",
        "--rates",
        rates,
    )
    assert lone.exit_code == 2 and "go with --indicators" in lone.stderr
    bad = run_cli(*common, "--param", "convert_to")
    assert bad.exit_code == 2 and "KEY=VALUE" in bad.stderr and "Traceback" not in bad.stderr
