"""The synthetic population: documented columns, prevalence, clustering, reproducibility."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from survmig.errors import SurvmigError
from survmig.sampling.population import MIGRANT_CLASSES, ea_frame, synthetic_population

COLUMNS = [
    "hh_id",
    "ea",
    "stratum",
    "row",
    "col",
    "ea_households",
    "census_households",
    "prevalence",
    "census_prevalence",
    "migrant_class",
    "is_migrant",
    "size",
    "remittances",
]


@pytest.fixture(scope="module")
def pop() -> pd.DataFrame:
    return synthetic_population(60_000, 3, prevalence=0.06, seed=4)


def test_columns_and_sizes(pop):
    assert list(pop.columns) == COLUMNS
    assert len(pop) == 60_000 and pop["hh_id"].is_unique
    assert list(pop["migrant_class"].cat.categories) == list(MIGRANT_CLASSES)
    counts = pop.groupby("ea").size()
    assert (counts == pop.groupby("ea")["ea_households"].first()).all()
    assert (pop["is_migrant"] == (pop["migrant_class"] != "none")).all()
    assert pop["size"].min() >= 1


def test_prevalence_close_to_target(pop):
    # expected prevalence is exactly 0.06 (calibrated); the realised share is binomial around it
    expected = np.sum(pop.groupby("ea")["prevalence"].first() * pop.groupby("ea").size()) / len(pop)
    assert expected == pytest.approx(0.06, rel=1e-6)
    assert abs(pop["is_migrant"].mean() - 0.06) < 4 * np.sqrt(0.06 * 0.94 / len(pop))


def test_strata_are_ordered_by_census_prevalence_and_concentrate_migrants(pop):
    by = pop.groupby("stratum").agg(share=("is_migrant", "mean"), hh=("hh_id", "size"))
    assert by["share"].is_monotonic_increasing
    top = by.index.max()
    share_of_migrants = by.loc[top, "share"] * by.loc[top, "hh"] / pop["is_migrant"].sum()
    assert share_of_migrants > 2 * by.loc[top, "hh"] / len(pop)  # clustered


def test_reproducible(pop):
    again = synthetic_population(60_000, 3, prevalence=0.06, seed=4)
    pd.testing.assert_frame_equal(pop, again)


def test_ea_frame(pop):
    frame = ea_frame(pop)
    assert frame["ea"].is_unique and len(frame) == pop["ea"].nunique()
    assert {"households", "stratum", "census_prevalence", "row", "col"} <= set(frame.columns)


def test_bad_prevalence():
    with pytest.raises(SurvmigError) as err:
        synthetic_population(1000, prevalence=1.2)
    assert err.value.where == "prevalence"
