"""The Spark engine (local mode) gives the in-memory numbers (1e-12) on a few R fixture designs.

One SparkSession for the test session and a handful of small cases: Spark's start-up dominates.
pyspark is a dev dependency (``bash .ci/setup`` installs it and Java 17): no skip when missing.
"""

from __future__ import annotations

import warnings

import pytest

from survmig.errors import SurvmigWarning
from survmig.estimation import estimate
from survmig.estimation.sql import estimate_sql

from .conftest import build_design, dataset, fixtures, request_kwargs
from .engines import assert_same, sql_case

# two-stage nested strata with domains and proportions; lonely PSUs averaged; supplied Fay replicates
NAMES = ["mig_weights_only", "mig_lonely_average", "rep_fay_mig"]
CASES = [c for c in fixtures()["cases"] if c["name"] in NAMES]


@pytest.fixture(scope="session")
def spark():
    from survmig.estimation.sources import spark_session

    session = spark_session(
        "local[1]",
        app="survmig-tests",
        config={
            "spark.ui.enabled": "false",
            "spark.sql.shuffle.partitions": "1",
            "spark.sql.execution.arrow.pyspark.enabled": "true",
        },
    )
    yield session
    session.stop()


def test_all_cases_found():
    assert sorted(c["name"] for c in CASES) == sorted(NAMES)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_spark_matches_memory(case, spark):
    kw = request_kwargs(case["request"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SurvmigWarning)
        expected = estimate(build_design(case["design"]), **kw)
        spec = case["design"]
        base = spec["base"] if spec["kind"] == "to_replicate" else spec
        data, fields = sql_case(case, dataset(base["data"]))
        got = estimate_sql(spark.createDataFrame(data), fields, engine="spark", **kw)
    assert_same(got, expected)
