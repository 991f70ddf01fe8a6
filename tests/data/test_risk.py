"""Disclosure-risk measures against sdcMicro's own worked examples (its testthat suite, on the
``francdat``-style 8-record data of Templ 2017) and against pycanon for k-anonymity / l-diversity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from survmig.data.risk import frequencies, individual_risk, local_suppression, measure_risk
from survmig.errors import SurvmigError

# sdcMicro tests/testthat/test_freqCalc.R and test_indivRisk.R (R fills the 8 x 3 array by column)
VALUES = [2, 3, 2, 2, 3, 3, 1, 2, 3, 3, 3, 3, 3, 3, 4, 3, 1, 3, 1, 2, 1, 1, 1, 1]
WEIGHT = np.array([18.0, 45.5, 39.0, 17.0, 92.0, 8.0, 123.5, 51])


def _data(values=VALUES) -> pd.DataFrame:
    a = np.array(values, dtype=float).reshape(3, 8).T
    return pd.DataFrame(a, columns=["A", "B", "C"])


def test_frequencies_match_sdcmicro():
    fk, big = frequencies(_data(), ["A", "B", "C"], WEIGHT)
    np.testing.assert_array_equal(fk, [3, 1, 3, 1, 2, 2, 1, 3])
    np.testing.assert_array_equal(big, [108.0, 45.5, 108.0, 17.0, 100.0, 100.0, 123.5, 108.0])


def test_frequencies_with_missing_values_match_sdcmicro():
    """A missing key value matches any value (sdcMicro's alpha = 1)."""
    values = list(VALUES)
    values[18] = values[22] = np.nan  # C[3], C[7] in R's 1-based column-major order
    fk, big = frequencies(_data(values), ["A", "B", "C"], WEIGHT)
    np.testing.assert_array_equal(fk, [3, 1, 4, 2, 2, 2, 1, 3])
    np.testing.assert_array_equal(big, [108.0, 45.5, 125.0, 56.0, 100.0, 100.0, 123.5, 108.0])
    values = [2, 3, np.nan, 2, 3, 3, 1, 2, 3, 3, np.nan, 3, 3, 3, 4, 3] + [np.nan] * 8
    fk, big = frequencies(_data(values), ["A", "B", "C"], WEIGHT)
    np.testing.assert_array_equal(fk, [4, 4, 8, 4, 4, 4, 2, 4])
    np.testing.assert_array_equal(big, [125.0, 184.5, 394.0, 125.0, 184.5, 184.5, 162.5, 125.0])


def test_individual_risk_matches_sdcmicro():
    fk, big = frequencies(_data(), ["A", "B", "C"], WEIGHT)
    expected = [
        0.01369863,
        0.08579129,
        0.01369863,
        0.17707583,
        0.01877883,
        0.01877883,
        0.03931625,
        0.01369863,
    ]
    np.testing.assert_allclose(individual_risk(fk, big), expected, atol=5e-9)
    np.testing.assert_allclose(individual_risk(fk, None), 1 / fk)


def test_global_and_household_risk():
    frame = _data()
    hh = np.array([1, 1, 2, 2, 3, 3, 4, 4])
    rep = measure_risk(frame, ["A", "B", "C"], weights=WEIGHT, household=hh, k=2)
    r = rep.records["risk"].to_numpy()
    assert rep.summary["expected_reidentifications"] == pytest.approx(r.sum())
    assert rep.summary["global_risk_pct"] == pytest.approx(100 * r.mean())
    # household risk 1 - Π(1 - r), carried by every member (sdcMicro measure_risk, hid)
    expected = np.repeat([1 - (1 - r[i]) * (1 - r[i + 1]) for i in range(0, 8, 2)], 2)
    np.testing.assert_allclose(rep.records["household_risk"], expected, rtol=1e-12)
    assert rep.summary["violations_sample"] == 3  # fk = 1
    assert rep.summary["violations_population"] == 0


def test_k_anonymity_and_l_diversity_agree_with_pycanon():
    from pycanon import anonymity

    rng = np.random.default_rng(4)
    frame = pd.DataFrame(
        {
            "region": rng.integers(1, 4, 300),
            "sex": rng.integers(1, 3, 300),
            "age": rng.integers(0, 6, 300),
            "cob": rng.choice(["MAR", "FRA", "SEN", "ESP"], 300),
        }
    )
    keys = ["region", "sex", "age"]
    rep = measure_risk(frame, keys, sensitive=["cob"], k=3)
    assert int(rep.records["fk"].min()) == anonymity.k_anonymity(frame, keys)
    assert int(rep.records["l_cob"].min()) == anonymity.l_diversity(frame, keys, ["cob"])
    safe, _ = local_suppression(frame, keys, 3)
    fk, _ = frequencies(safe, keys)
    assert fk.min() >= 3


def test_local_suppression_reaches_k_with_importance_order():
    frame = _data()
    keys = ["A", "B", "C"]
    out, suppressed = local_suppression(frame, keys, 2, importance=["A", "B", "C"])
    fk, _ = frequencies(out, keys)
    assert fk.min() >= 2
    # only violating records lose values, and no more than needed: one cell each, two for the
    # record (1, 4, 1) whose A = 1 and B = 4 are both unique to it (one blank cannot pair it)
    fk0, _ = frequencies(frame, keys)
    assert not suppressed[fk0 >= 2].any().any()
    assert suppressed.sum(axis=1)[fk0 < 2].tolist() == [1, 1, 2]
    # the most important key is kept when another suppression suffices
    assert suppressed["A"].sum() <= suppressed[["B", "C"]].sum().sum()
    np.testing.assert_array_equal(out.isna(), suppressed)


def test_suppression_of_a_household_key_covers_the_household():
    frame = pd.DataFrame({"region": [1, 1, 2, 2, 2, 2], "sex": [1, 2, 1, 2, 1, 2]})
    hh = np.array([1, 1, 2, 2, 3, 3])
    out, suppressed = local_suppression(
        frame, ["region", "sex"], 2, importance=["sex", "region"], groups={"region": hh}
    )
    # household 1 is the only one in region 1: its region goes for both members, not its sexes
    assert suppressed["region"].tolist() == [True, True, False, False, False, False]
    assert not suppressed["sex"].any()
    # with sex the less important key, blanking the sexes of household 1 is enough
    _, suppressed = local_suppression(frame, ["region", "sex"], 2, groups={"region": hh})
    assert suppressed["sex"].tolist() == [True, True, False, False, False, False]
    assert not suppressed["region"].any()


def test_importance_must_list_the_keys():
    with pytest.raises(SurvmigError, match="importance"):
        local_suppression(_data(), ["A", "B", "C"], 2, importance=["A", "B"])
