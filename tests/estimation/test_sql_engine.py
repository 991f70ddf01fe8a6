"""The DuckDB engine gives the in-memory engine's numbers (1e-12) on every R fixture design."""

from __future__ import annotations

import pytest

from .conftest import fixtures
from .engines import compare_case, supported, write_parquet

CASES = [c for c in fixtures()["cases"] if supported(c)]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_duckdb_matches_memory(case, tmp_path):
    compare_case(case, lambda data: write_parquet(data, tmp_path / "data.parquet"))
