"""`survmig indicators`: the catalogue from the command line."""

from __future__ import annotations

from survmig.indicators import load_catalogue


def test_lists_every_indicator(run_cli):
    res = run_cli("indicators", "--parameters")
    assert res.exit_code == 0, res.stderr
    flat = res.stdout.replace("\n", " ")
    catalogue = load_catalogue()
    assert f"{len(catalogue.indicators)} indicators" in flat
    for key in ("sdg_10_7_1", "households_with_emigrant_share", "convert_to", "recent_years"):
        assert key in flat


def test_describes_one_and_suggests_on_typos(run_cli):
    res = run_cli("indicators", "sdg_10_7_1")
    assert res.exit_code == 0
    assert "SDG indicator 10.7.1" in res.stdout and "universe" in res.stdout
    bad = run_cli("indicators", "sdg_10_71")
    assert bad.exit_code == 2
    assert "did you mean 'sdg_10_7_1'" in bad.stderr and "survmig indicators" in bad.stderr


def test_estimate_indicators_with_weights_from_a_weighted_household_file(run_cli, tmp_path):
    """data import gives households without weights; `survmig weight` gives a household file with
    them; `estimate DATASET --design-data WEIGHTED` joins the new columns by KEY."""
    import numpy as np
    import pandas as pd
    import yaml

    from survmig.data import KEY, Dataset
    from survmig.indicators import compute

    from .survey import build_survey

    ds, design = build_survey()
    households = ds.table(ds.root)
    tables = {lv: ds.table(lv) for lv in ds.levels}
    tables[ds.root] = households.drop(columns=["wt"])
    Dataset(tables, ds.metadata).write(tmp_path / "ds")
    weighted = tmp_path / "weighted.parquet"
    households.to_parquet(weighted)  # the whole household table plus the weight, as weight writes
    (tmp_path / "design.yaml").write_text(yaml.safe_dump(design))
    out = tmp_path / "est.csv"
    common = ["estimate", tmp_path / "ds", "--design", tmp_path / "design.yaml"]
    res = run_cli(
        *common, "--design-data", weighted, "--indicators", "foreign_born_share", "-o", out
    )
    assert res.exit_code == 0, res.stderr
    expected = compute(ds, design, ["foreign_born_share"]).table
    got = pd.read_csv(out)
    np.testing.assert_allclose(got["estimate"], expected["estimate"], rtol=1e-12)
    np.testing.assert_allclose(got["se"], expected["se"], rtol=1e-12)
    # without the weights the design cannot be built, and the message names the column
    res = run_cli(*common, "--indicators", "foreign_born_share")
    assert res.exit_code == 2 and "wt" in res.stderr
    # a household missing from the weighted file is an error, not a silent drop
    households.iloc[1:].to_parquet(weighted)
    res = run_cli(*common, "--design-data", weighted, "--indicators", "foreign_born_share")
    assert res.exit_code == 2
    assert "1 household(s) have no row in the design data" in res.stderr
    assert KEY in households.columns


def test_only_uncomputable_indicators_exit_1_with_the_reasons(run_cli, tmp_path):
    """Asking only for indicators the data cannot give is not a success with an empty table."""
    import yaml

    from .survey import build_survey

    ds, design = build_survey()
    ds.write(tmp_path / "ds")
    (tmp_path / "design.yaml").write_text(yaml.safe_dump(design))
    out = tmp_path / "est.csv"
    report = tmp_path / "report"
    common = ["estimate", tmp_path / "ds", "--design", tmp_path / "design.yaml", "-o", out]
    asked = "return_migrants_by_years_since_return,remittances_total_lcu"
    res = run_cli(*common, "--indicators", asked, "--report", report)
    assert res.exit_code == 1, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --indicators: none of the requested")
    assert "return_migrant-level records" in res.stderr and "needs exchange rates" in res.stderr
    assert not out.exists() and not report.exists()
    # one computable indicator among them: exit 0, the others are warnings
    res = run_cli(*common, "--indicators", f"{asked},foreign_born_share")
    assert res.exit_code == 0, res.stderr
    assert "remittances_total_lcu not computable" in res.stderr and out.exists()
