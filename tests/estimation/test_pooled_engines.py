"""Pooled surveys (``survey:``), the command line's engines, and column-limited reading."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from survmig.design import SurveyDesign, load_design
from survmig.errors import SurvmigError, SurvmigWarning
from survmig.estimation import estimate
from survmig.estimation.scale import needed_columns
from survmig.estimation.sql import estimate_sql

from .conftest import dataset
from .engines import assert_same

DESIGN = {"ids": ["ea", "hh"], "strata": "stratum", "weights": "w", "nest": True}
REQUEST = dict(mean=["age"], prop=["migrant"], ratio=[("remit", "hhsize")], na="drop")


def pooled() -> pd.DataFrame:
    """Two surveys whose stratum and PSU codes restart: the second is the first, shifted."""
    a = dataset("mig").assign(survey="A")
    b = dataset("mig").assign(survey="B")
    b["age"] = b["age"] + 3.0
    b["w"] = b["w"] * 1.5
    b = b.iloc[: len(b) - 300]  # fewer PSUs: a different df
    return pd.concat([a, b], ignore_index=True)


def separate(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    out = []
    for name, part in frame.groupby("survey", sort=True):
        d = SurveyDesign(part.reset_index(drop=True), **DESIGN)
        table = estimate(d, **REQUEST, by=by)
        table.insert(3, "survey", name)
        out.append(table)
    cols = ["statistic", "variable", "category"]
    return pd.concat(out).sort_values(cols, kind="stable").reset_index(drop=True)


def test_pooled_by_survey_equals_separate_surveys():
    frame = pooled()
    design = SurveyDesign(frame, **DESIGN, survey="survey")
    got = estimate(design, **REQUEST, by="survey")
    expected = separate(frame, [])
    expected = expected[got.columns]
    key = ["statistic", "variable", "category", "survey"]
    got = got.sort_values(key, kind="stable").reset_index(drop=True)
    expected = expected.sort_values(key, kind="stable").reset_index(drop=True)
    assert_same(got, expected)
    assert sorted(got["df"].unique()) == sorted(design.df_by_survey().values())
    assert len(set(design.df_by_survey().values())) == 2
    # without survey: the codes of the two surveys are merged — different (wrong) SEs
    merged = estimate(SurveyDesign(frame, **DESIGN), **REQUEST, by="survey")
    assert not np.allclose(merged["se"], estimate(design, **REQUEST, by="survey")["se"])


def test_pooled_duckdb_over_hive_folder(tmp_path):
    frame = pooled()
    folder = tmp_path / "pooled"
    for name, part in frame.groupby("survey"):
        (folder / f"survey={name}").mkdir(parents=True)
        part.drop(columns="survey").to_parquet(folder / f"survey={name}" / "part-0.parquet")
    spec = {**DESIGN, "survey": "survey"}
    expected = estimate(load_design(spec, frame), **REQUEST, by=["survey", "sex"])
    got = estimate_sql(folder, spec, **REQUEST, by=["survey", "sex"])
    assert_same(got, expected)


def test_pooled_average_rule_is_refused():
    with pytest.raises(SurvmigError, match="average"):
        SurveyDesign(pooled(), **DESIGN, survey="survey", lonely_psu="average")


@pytest.fixture
def mig_files(tmp_path):
    data = dataset("mig")
    path = tmp_path / "mig.parquet"
    data.to_parquet(path, index=False)
    parts = tmp_path / "parts"
    parts.mkdir()
    half = len(data) // 2
    data.iloc[:half].to_parquet(parts / "a.parquet", index=False)
    data.iloc[half:].to_parquet(parts / "b.parquet", index=False)
    design = tmp_path / "design.yaml"
    design.write_text(
        "ids: [ea, hh]\nstrata: stratum\nweights: w\nnest: true\n"
        "create_replicates:\n  type: bootstrap\n  replicates: 50\n  seed: 7\n"
    )
    return tmp_path, path, parts, design


def test_cli_engines_agree(mig_files, run_cli):
    tmp, path, parts, design = mig_files
    ask = [
        "--mean",
        "age,amount",
        "--prop",
        "migrant",
        "--by",
        "region",
        "--na",
        "drop",
        "--quantile",
        "age:0.5",
    ]
    outs = {}
    for engine, source in (("memory", path), ("duckdb", path), ("duckdb", parts / "*.parquet")):
        out = tmp / f"{engine}-{len(outs)}.csv"
        res = run_cli("estimate", source, "--design", design, *ask, "--engine", engine, "-o", out)
        assert res.exit_code == 0, res.stderr
        outs[len(outs)] = pd.read_csv(out)
    assert_same(outs[1], outs[0])
    assert_same(outs[2], outs[0])


def test_cli_out_of_core_errors(mig_files, run_cli):
    tmp, path, _, design = mig_files
    res = run_cli(
        "estimate",
        str(path),
        "--weight",
        "w",
        "--mean",
        "age",
        "--na",
        "drop",
        "--engine",
        "duckdb",
    )
    assert res.exit_code == 2 and "PSU ids" in res.stderr and "Traceback" not in res.stderr
    res = run_cli(
        "estimate", str(path), "--design", str(design), "--indicators", "all", "--engine", "duckdb"
    )
    assert res.exit_code == 2 and "--engine memory" in res.stderr
    res = run_cli(
        "estimate",
        str(tmp / "nope*.parquet"),
        "--design",
        str(design),
        "--mean",
        "age",
        "--engine",
        "duckdb",
    )
    assert res.exit_code == 2 and "no file matches" in res.stderr
    res = run_cli(
        "estimate", str(path), "--design", str(design), "--mean", "agee", "--engine", "duckdb"
    )
    assert res.exit_code == 2 and "'agee'" in res.stderr and "'age'" in res.stderr
    res = run_cli(
        "estimate", str(path), "--design", str(design), "--mean", "amount", "--engine", "duckdb"
    )
    assert res.exit_code == 2 and "missing value" in res.stderr


def test_duckdb_relation_api(mig_files):
    import duckdb

    _, path, _, _ = mig_files
    con = duckdb.connect()
    rel = con.sql(f"SELECT * FROM read_parquet('{path}') WHERE age >= 15")
    data = pd.read_parquet(path).query("age >= 15").reset_index(drop=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SurvmigWarning)
        expected = estimate(SurveyDesign(data, **DESIGN), total=["amount"], na="drop", by="urban")
        got = estimate_sql(rel, DESIGN, connection=con, total=["amount"], na="drop", by="urban")
    assert_same(got, expected)


def test_needed_columns(mig_files):
    _, path, _, design = mig_files
    request = {
        "mean": ["age"],
        "by": ["region"],
        "ratio": [("remit", "hhsize")],
        "quantile": {"amount": [0.5]},
    }
    cols = needed_columns(path, design, request)
    assert sorted(cols) == sorted(
        ["ea", "hh", "stratum", "w", "age", "region", "remit", "hhsize", "amount"]
    )
    rep = path.parent / "rep.yaml"
    rep.write_text("weights: w\nrepweights: '^(N_|M_)'\ntype: JK1\n")
    assert sorted(needed_columns(path, rep, {"mean": ["age"]})) == ["M_hh", "N_ea", "age", "w"]
