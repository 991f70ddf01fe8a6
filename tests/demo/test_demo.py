"""The demo end to end: files, data consistent with the form, estimates near the truth, determinism,
bad targets. Two small runs (a few hundred households) share the module's fixtures."""

from __future__ import annotations

import re
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest

from survmig.demo.run import run_demo

SMALL = ("--households", "300", "--population", "3000", "--seed", "11")


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    """One run through the real command line."""
    from survmig.cli import main

    out = tmp_path_factory.mktemp("cli") / "demo-out"
    try:
        main(["demo", str(out), *SMALL])
    except SystemExit as done:  # only on errors: the entry point returns normally on success
        pytest.fail(f"survmig demo exited with {done.code}")
    return out


@pytest.fixture(scope="module")
def api_run(tmp_path_factory):
    """The same settings through the Python API (for the truth and for determinism)."""
    return run_demo(
        tmp_path_factory.mktemp("api") / "demo", households=300, population=3000, seed=11
    )


def test_every_file_is_written_and_explained(demo_dir):
    files = sorted(
        p.relative_to(demo_dir).as_posix()
        for p in demo_dir.rglob("*")
        if p.is_file() and p.name != ".survmig-demo"
    )
    expected = {
        "README.txt",
        "questionnaire/household.yaml",
        "questionnaire/survmig_demo.xlsx",
        "country/census_totals.csv",
        "country/population_summary.csv",
        "fieldwork/sample.csv",
        "fieldwork/survmig_demo.zip",
        "fieldwork/data_check.csv",
        "fieldwork/data_check_not_checked.csv",
        "weights/households_weighted.csv",
        "weights/households_weighted.weighting.md",
        "weights/households_weighted.weighting.json",
        "report/report.html",
        "report/indicators.xlsx",
        "report/indicators.csv",
        "truth/estimates_vs_truth.csv",
        "truth/coverage.csv",
    }
    assert expected <= set(files)
    charts = [f for f in files if f.startswith("report/charts/")]
    assert len(charts) >= 10
    assert all((demo_dir / c).stat().st_size > 1000 for c in charts)
    readme = (demo_dir / "README.txt").read_text(encoding="utf-8")
    for name in expected - {"README.txt", "fieldwork/data_check_not_checked.csv"}:
        assert re.search(rf"^{re.escape(name)}", readme, re.M), name
    assert "report/charts/" in readme
    # no temporary folders left beside the result
    assert [p.name for p in demo_dir.parent.iterdir()] == ["demo-out"]


def test_export_is_an_odk_central_zip_that_passes_the_data_checks(demo_dir, run_cli):
    export = demo_dir / "fieldwork" / "survmig_demo.zip"
    with zipfile.ZipFile(export) as zf:
        names = set(zf.namelist())
    assert "survmig_demo.csv" in names
    assert {"survmig_demo-members.csv", "survmig_demo-emigrant_roster.csv"} <= names
    problems = demo_dir / "problems.csv"
    res = run_cli(
        "data",
        "check",
        export,
        "--form",
        demo_dir / "questionnaire" / "survmig_demo.xlsx",
        "-o",
        problems,
    )
    assert res.exit_code == 0, res.stdout + res.stderr
    assert pd.read_csv(problems).empty
    assert pd.read_csv(demo_dir / "fieldwork" / "data_check.csv").empty


def test_skip_logic_and_special_codes_in_the_answers(demo_dir):
    export = demo_dir / "fieldwork" / "survmig_demo.zip"
    with zipfile.ZipFile(export) as zf:
        hh = pd.read_csv(zf.open("survmig_demo.csv"), dtype=str)
        members = pd.read_csv(zf.open("survmig_demo-members.csv"), dtype=str)
        emig = pd.read_csv(zf.open("survmig_demo-emigrant_roster.csv"), dtype=str)
    # households without an emigrant are not asked how many, and have no emigrant rows
    no = hh["hh_emigrant_any"] == "0"
    assert no.any() and hh.loc[no, "hh_n_emigrants"].isna().all()
    assert not emig["PARENT_KEY"].isin(hh.loc[no, "KEY"]).any()
    n_emig = pd.to_numeric(hh["hh_n_emigrants"]).fillna(0)
    counts = emig.groupby("PARENT_KEY").size().reindex(hh["KEY"]).fillna(0).to_numpy()
    assert np.array_equal(n_emig.to_numpy(), counts)
    # children are not asked about activity; only the foreign-born give a country of birth
    young = pd.to_numeric(members["age"]) < 15
    assert members.loc[young, "activity"].isna().all()
    assert members.loc[members["cc_born_here"] == "1", "cc_country_birth"].isna().all()
    assert members.loc[members["cc_born_here"] == "0", "cc_country_birth"].notna().all()
    # the roster has exactly hh_size rows per household
    sizes = members.groupby("PARENT_KEY").size().reindex(hh["KEY"]).to_numpy()
    assert np.array_equal(sizes, pd.to_numeric(hh["hh_size"]).to_numpy())


def test_rules_the_checker_cannot_evaluate_hold(demo_dir):
    """indexed-repeat() constraints: a return migrant's line points to a member screened as a
    returnee, at most once, and the age at departure is at most that member's age."""
    export = demo_dir / "fieldwork" / "survmig_demo.zip"
    with zipfile.ZipFile(export) as zf:
        members = pd.read_csv(zf.open("survmig_demo-members.csv"), dtype=str)
        ret = pd.read_csv(zf.open("survmig_demo-return_roster.csv"), dtype=str)
    members["line"] = members["KEY"].str.extract(r"members\[(\d+)\]$")[0]
    member = members.set_index(["PARENT_KEY", "line"])
    at = pd.MultiIndex.from_arrays([ret["PARENT_KEY"], ret["ret_member"]])
    assert len(ret) > 0 and member.index.get_indexer(at).min() >= 0
    assert (member.loc[at, "returned_migrant"] == "1").all()
    assert not at.duplicated().any()
    dep = pd.to_numeric(ret["ret_age_departure"])
    age = pd.to_numeric(member.loc[at, "age"]).to_numpy()
    assert ((dep == -8) | ((dep >= 0) & (dep <= age))).all()


def test_sample_has_stage_probabilities_and_nonresponse(demo_dir):
    sample = pd.read_csv(demo_dir / "fieldwork" / "sample.csv")
    assert set(sample["screen"]) == {"emigrant", "return", "none"}
    assert (sample.loc[sample["screen"] != "none", "prob_phase2"] == 1).all()
    none_rate = sample.loc[sample["screen"] == "none", "prob_phase2"].unique()
    assert len(none_rate) == 1 and 0 < none_rate[0] < 1
    assert np.allclose(
        sample["prob"], sample["prob_stage1"] * sample["prob_stage2"] * sample["prob_phase2"]
    )
    assert 0 < sample["responded"].mean() < 1
    assert sample.loc[sample["responded"] == 0, "KEY"].isna().all()


def test_calibrated_weights_reproduce_the_census(demo_dir):
    w = pd.read_csv(demo_dir / "weights" / "households_weighted.csv")
    census = pd.read_csv(demo_dir / "country" / "census_totals.csv").set_index("cell")["total"]
    by_region = w.groupby("region")["weight"].sum()
    for region, total in by_region.items():
        assert total == pytest.approx(census[f"households_{region}"], rel=1e-6)
    assert by_region.sum() == pytest.approx(3000, rel=1e-6)
    assert (w["weight"] > 0).all()


def test_true_values_are_the_country_values(api_run):
    est = api_run.estimates
    hh = api_run.country.households
    persons = api_run.country.persons
    nat = est[est["domain"] == "national"].set_index("indicator")
    assert nat.loc["households_with_emigrant_share", "true_value"] == pytest.approx(
        hh["hh_member_abroad"].mean(), rel=1e-12
    )
    assert nat.loc["foreign_born_share", "true_value"] == pytest.approx(
        (persons["born_here"] == 0).mean(), rel=1e-12
    )
    assert nat.loc["emigrants_count", "true_value"] == pytest.approx(len(api_run.country.emigrants))


def test_estimates_are_close_to_the_truth(api_run):
    est = api_run.estimates
    nat = est[est["domain"] == "national"].set_index("indicator")
    for iid in ("households_with_emigrant_share", "foreign_born_share", "return_migrants_count"):
        row = nat.loc[iid]
        assert abs(row["estimate"] - row["true_value"]) < 3 * row["se"], iid
    cov = api_run.coverage.set_index("group")
    assert cov.loc["all estimates", "intervals"] == len(est) > 100
    assert (est["se"] > 1e-9 * est["estimate"].abs()).all()  # zero-width intervals left out
    assert 0.75 < cov.loc["all estimates", "coverage"] <= 1.0
    assert api_run.check_problems == 0


def test_household_ses_use_the_calibration(api_run):
    """Household and person indicators get the calibrated design's SEs, not those of the final
    weights taken as fixed (the weights file with the design spec); same estimates."""
    from survmig.data import read_export
    from survmig.demo.run import DESIGN
    from survmig.indicators import compute
    from survmig.indicators.compute import FIXED_WEIGHTS_NOTE

    data = read_export(api_run.files["export"], form=api_run.files["questionnaire"])
    weights = pd.read_csv(api_run.files["weights"], dtype={"KEY": str})
    ids = ["households_with_emigrant_share", "foreign_born_share"]
    one_phase = {k: DESIGN[k] for k in ("ids", "strata", "weights", "lonely_psu")}
    fixed = compute(data, one_phase, ids, design_data=weights[["KEY", "ea", "stratum", "weight"]])
    fixed = fixed.table.set_index("indicator")
    est = api_run.estimates
    nat = est[est["domain"] == "national"].set_index("indicator")
    hh, person = ids
    assert nat.loc[hh, "estimate"] == pytest.approx(fixed.loc[hh, "estimate"], rel=1e-10)
    assert abs(nat.loc[hh, "se"] / fixed.loc[hh, "se"] - 1) > 1e-3
    # person level: a ratio of household totals on the calibrated design, same estimate
    assert nat.loc[person, "estimate"] == pytest.approx(fixed.loc[person, "estimate"], rel=1e-10)
    assert abs(nat.loc[person, "se"] / fixed.loc[person, "se"] - 1) > 1e-3
    workbook = openpyxl.load_workbook(api_run.files["workbook"], read_only=True)
    for iid in ids:
        notes = [r[1] for r in workbook[iid].iter_rows(max_row=15, values_only=True)]
        assert FIXED_WEIGHTS_NOTE not in notes


def test_every_family_of_indicators_is_computed(api_run):
    wanted = {
        "foreign_born_share",
        "recent_immigrants_count",
        "emigrants_by_destination",
        "households_with_emigrant_share",
        "return_migrants_share_15plus",
        "remittance_receiving_households_share",
        "remittances_median_received",
        "remittances_total_converted",
        "remittance_channel_shares",
        "intention_to_migrate_share",
        "sdg_10_7_1",
        "migrant_workers_share",
        "for_work_migrants_recent",
    }
    assert wanted <= set(api_run.computed), wanted - set(api_run.computed)
    assert not wanted & set(api_run.not_computable)


def test_same_seed_same_numbers(api_run, demo_dir):
    a = pd.read_csv(api_run.files["truth"])
    b = pd.read_csv(demo_dir / "truth" / "estimates_vs_truth.csv")
    pd.testing.assert_frame_equal(a, b)
    with (
        zipfile.ZipFile(api_run.files["export"]) as za,
        zipfile.ZipFile(demo_dir / "fieldwork" / "survmig_demo.zip") as zb,
    ):
        assert za.read("survmig_demo.csv") == zb.read("survmig_demo.csv")


def test_report_has_coverage_and_indicator_sheets(demo_dir):
    html = (demo_dir / "report" / "report.html").read_text(encoding="utf-8")
    assert 'id="coverage"' in html and "households_with_emigrant_share" in html
    wb = openpyxl.load_workbook(demo_dir / "report" / "indicators.xlsx", read_only=True)
    assert len(wb.sheetnames) >= 10
    coverage = pd.read_csv(demo_dir / "truth" / "coverage.csv").set_index("group")
    assert coverage.loc["all estimates", "covering"] <= coverage.loc["all estimates", "intervals"]


def test_bad_directory_is_a_user_error(tmp_path, run_cli):
    target = tmp_path / "a_file.txt"
    target.write_text("not a folder")
    res = run_cli("demo", target, *SMALL)
    assert res.exit_code == 2
    assert res.stderr.startswith("error:") and "Traceback" not in res.stderr
    assert "not a folder" in res.stderr
    assert target.read_text() == "not a folder"


def test_directory_below_a_file_is_a_user_error(tmp_path, run_cli):
    target = tmp_path / "a_file.txt"
    target.write_text("not a folder")
    res = run_cli("demo", target / "out", *SMALL)
    assert res.exit_code == 2 and "inside the file" in res.stderr
    assert "Traceback" not in res.stderr


def test_foreign_folder_is_not_replaced(tmp_path, run_cli):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "thesis.tex").write_text("precious")
    res = run_cli("demo", folder, *SMALL)
    assert res.exit_code == 2 and "holds files survmig did not write" in res.stderr
    assert (folder / "thesis.tex").read_text() == "precious"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--households", "50"), "at least 100 households"),
        (("--households", "600", "--population", "2000"), "too small"),
        (("--households", "100", "--population", "400"), "at least 2000 households"),
    ],
)
def test_bad_sizes(tmp_path, run_cli, args, message):
    res = run_cli("demo", tmp_path / "out", *args)
    assert res.exit_code == 2 and message in res.stderr
    assert not (tmp_path / "out").exists()


def test_help_has_an_example(run_cli):
    res = run_cli("demo", "--help")
    assert res.exit_code == 0 and "survmig demo out --households 600 --seed 7" in res.stdout


# ------------------------------------------------------------------ the README's commands on inputs/


def test_inputs_are_written(demo_dir):
    inputs = demo_dir / "inputs"
    names = {p.name for p in inputs.iterdir()}
    assert {
        "design.yaml",
        "weighting.yaml",
        "household_totals.csv",
        "rates.csv",
        "public.yaml",
        "strata.csv",
        "frame.csv",
        "listing.csv",
        "classes.csv",
    } <= names
    frame = pd.read_csv(inputs / "frame.csv")
    listing = pd.read_csv(inputs / "listing.csv")
    strata = pd.read_csv(inputs / "strata.csv")
    # the frame (census counts as measures of size), the strata and the listing of the country
    assert strata["households"].sum() == frame["households"].sum()
    assert len(listing) == 3000 and listing["hh_id"].is_unique
    assert strata.set_index("stratum")["N"].to_dict() == frame.groupby("stratum").size().to_dict()
    assert set(listing["ea"]) == set(frame["ea"])
    rates = pd.read_csv(inputs / "rates.csv")
    assert set(rates["currency"]) == {"MAD", "EUR"}


@pytest.fixture(scope="module")
def weighted(demo_dir, tmp_path_factory):
    """`survmig weight` on the demo's sample with inputs/design.yaml and inputs/weighting.yaml."""
    from survmig.cli import main

    out = tmp_path_factory.mktemp("weighted") / "weighted.parquet"
    inputs = demo_dir / "inputs"
    args = ["weight", demo_dir / "fieldwork" / "sample.csv", "--design", inputs / "design.yaml"]
    try:
        main([str(a) for a in [*args, "--steps", inputs / "weighting.yaml", "-o", out]])
    except SystemExit as done:
        pytest.fail(f"survmig weight exited with {done.code}")
    return out


def test_weight_command_runs_the_demo_weighting(demo_dir, weighted):
    w = pd.read_parquet(weighted)
    sample = pd.read_csv(demo_dir / "fieldwork" / "sample.csv")
    assert len(w) == int(sample["responded"].sum())
    assert (w["weight"] > 0).all()
    totals = pd.read_csv(demo_dir / "inputs" / "household_totals.csv").set_index("region")
    by_region = w.groupby("region")["weight"].sum()
    np.testing.assert_allclose(by_region.sort_index(), totals["total"].sort_index(), rtol=1e-6)
    # the same household totals as the demo's own weighting
    own = pd.read_csv(demo_dir / "weights" / "households_weighted.csv")
    np.testing.assert_allclose(
        own.groupby("region")["weight"].sum().sort_index(), by_region, rtol=1e-6
    )


def test_estimate_indicators_from_the_weighted_file_with_rates(
    demo_dir, weighted, tmp_path, run_cli
):
    q = demo_dir / "questionnaire" / "survmig_demo.xlsx"
    res = run_cli(
        "data", "import", demo_dir / "fieldwork" / "survmig_demo.zip", "--form", q,
        "-o", tmp_path / "survey_dataset",
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    out = tmp_path / "indicators.csv"
    res = run_cli(
        "estimate", tmp_path / "survey_dataset", "--design", demo_dir / "inputs" / "design.yaml",
        "--design-data", weighted, "--indicators", "all", "--by", "region",
        "--rates", demo_dir / "inputs" / "rates.csv", "--param", "convert_to=EUR", "-o", out,
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    table = pd.read_csv(out)
    assert set(table["region"].dropna()) == {"North", "East", "West", "South"}
    # the converted remittance total needs the rates: it is computed, in euro (rate 10.8 dirham)
    converted = table[table["variable"] == "remittances_total_converted"]
    assert len(converted) >= 3 and (converted["estimate"] > 0).all()
    assert "not computable: needs exchange rates" not in res.stderr
    share = table.loc[table["variable"] == "foreign_born_share", "estimate"]
    assert len(share) and share.between(0, 1).all()


def test_allocate_and_select_on_the_demo_frame(demo_dir, tmp_path, run_cli):
    inputs = demo_dir / "inputs"
    alloc, eas, hh, phase2 = (tmp_path / f for f in ("alloc.csv", "eas.csv", "hh.csv", "p2.csv"))
    res = run_cli(
        "allocate", inputs / "strata.csv", "--method", "rare", "--n", "30",
        "--screen-cost", "2", "--interview-cost", "20", "-o", alloc,
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    n = pd.read_csv(alloc).set_index("stratum")["n"]
    assert n.sum() == 30
    res = run_cli(
        "select", inputs / "frame.csv", "--method", "pps", "--strata", "stratum",
        "--size", "households", "--allocation", alloc, "--seed", "7", "-o", eas,
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    selected = pd.read_csv(eas)
    assert selected.groupby("stratum").size().to_dict() == n.to_dict()
    res = run_cli(
        "select", inputs / "listing.csv", "--method", "households", "--psus", eas,
        "--psu", "ea", "--take", "20", "--seed", "8", "-o", hh,
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    households = pd.read_csv(hh)
    listed = pd.read_csv(inputs / "listing.csv").groupby("ea").size()
    per_ea = households.groupby("ea").size()
    assert per_ea.to_dict() == listed.reindex(per_ea.index).clip(upper=20).to_dict()
    assert set(per_ea.index) == set(selected["ea"])
    res = run_cli(
        "select", hh, "--method", "two-phase", "--by", "screener", "--within", "ea",
        "--rate", "migrant=1", "--rate", "none=0.1", "--seed", "9", "-o", phase2,
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    sub = pd.read_csv(phase2)
    migrants = households["screener"] == "migrant"
    assert (sub["screener"] == "migrant").sum() == migrants.sum()  # all migrant households kept
    assert sub.groupby("screener")["prob_phase2"].first().to_dict() == {"migrant": 1, "none": 0.1}
    res = run_cli(
        "allocate", inputs / "classes.csv", "--method", "two-phase", "--budget", "50000",
        "--phase1-cost", "2", "-o", tmp_path / "two.csv",
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    rates = pd.read_csv(tmp_path / "two.csv").set_index("stratum")["rate"]
    # the class with the smaller SD is subsampled more
    assert 0 < rates["none"] < rates["migrant"] <= 1


def test_public_use_export_with_the_demo_config(demo_dir, tmp_path, run_cli):
    q = demo_dir / "questionnaire" / "survmig_demo.xlsx"
    data = tmp_path / "survey_dataset"
    res = run_cli(
        "data", "import", demo_dir / "fieldwork" / "survmig_demo.zip", "--form", q, "-o", data
    )
    assert res.exit_code == 0, res.stderr
    out = tmp_path / "public"
    res = run_cli(
        "data", "export", data, "--public-use", demo_dir / "inputs" / "public.yaml",
        "--format", "csv", "-o", out,
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    members = pd.read_csv(out / "members.csv")
    original = pd.read_parquet(data / "members.parquet")
    assert original["age"].max() > 65  # ages before grouping
    # five groups from breaks 0, 15, 25, 40, 65 (special codes kept as they are)
    assert set(members["age"].dropna().astype(int)) - {-8, -9} <= {1, 2, 3, 4, 5}
    senders = pd.read_csv(out / "rem_senders.csv")
    assert "rem_sender_name" not in senders.columns  # a PII question
    assert "rem_sender_name" in pd.read_parquet(data / "rem_senders.parquet").columns
