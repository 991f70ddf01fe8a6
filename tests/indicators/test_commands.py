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
