"""The DuckDB engine gives the in-memory engine's numbers (1e-12) on every R fixture design."""

from __future__ import annotations

import warnings

import pytest

from survmig.errors import SurvmigWarning
from survmig.estimation import estimate
from survmig.estimation.sql import estimate_sql

from .conftest import build_design, dataset, fixtures, request_kwargs
from .engines import assert_same, sql_case, supported, write_parquet

CASES = [c for c in fixtures()["cases"] if supported(c)]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_duckdb_matches_memory(case, tmp_path):
    kw = request_kwargs(case["request"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SurvmigWarning)
        expected = estimate(build_design(case["design"]), **kw)
        spec = case["design"]
        base = spec["base"] if spec["kind"] == "to_replicate" else spec
        data, fields = sql_case(case, dataset(base["data"]))
        path = write_parquet(data, tmp_path / "data.parquet")
        got = estimate_sql(path, fields, **kw)
    assert_same(got, expected)
