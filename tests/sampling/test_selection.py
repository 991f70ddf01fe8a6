"""Selection: inclusion probabilities (against samplics), reproducibility, empirical frequencies."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from survmig.errors import SurvmigError
from survmig.sampling import selection as sel

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from samplics.sampling import SampleSelection
    from samplics.utils.types import SelectMethod


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    return pd.DataFrame(
        {
            "ea": np.arange(1, 61),
            "stratum": np.repeat(["north", "south", "west"], 20),
            "households": rng.integers(40, 400, 60),
        }
    )


def test_pps_probabilities_agree_with_samplics(frame):
    n = {"north": 4, "south": 5, "west": 3}
    sample = sel.select_pps(frame, n, "households", strata="stratum", seed=1)
    ours = sel.pps_probabilities(
        frame["households"].to_numpy(),
        pd.factorize(frame["stratum"], sort=True)[0],
        np.array([4, 5, 3]),
    )[0]
    design = SampleSelection(method=SelectMethod.pps_sys, strat=True, wr=False)
    theirs = design.inclusion_probs(
        frame["ea"].to_numpy(), n, frame["stratum"].to_numpy(), frame["households"].to_numpy()
    )
    assert ours == pytest.approx(np.asarray(theirs), rel=1e-12)
    merged = sample.merge(frame.assign(expected=ours), on="ea")
    assert merged["prob_stage1"].to_numpy() == pytest.approx(merged["expected"].to_numpy())
    assert merged["weight"].to_numpy() == pytest.approx(1 / merged["expected"].to_numpy())


def test_pps_systematic_picks_agree_with_samplics(frame, monkeypatch):
    """With the same random start, our PPS systematic picks the same units as samplics."""
    sizes = frame["households"].to_numpy()
    for start in (0.13, 0.5, 0.97):
        monkeypatch.setattr(np.random, "random_sample", lambda start=start: start)
        design = SampleSelection(method=SelectMethod.pps_sys, strat=False, wr=False)
        chosen, _, _ = design.select(frame["ea"].to_numpy(), 7, mos=sizes)
        ours = sel.pps_systematic_draw(
            sizes,
            np.zeros(60, dtype=int),
            np.array([7]),
            np.zeros(60, dtype=bool),
            np.array([[start]]),
        )[0]
        assert sorted(ours) == sorted(np.flatnonzero(chosen))


def test_srs_probabilities_agree_with_samplics(frame):
    n = {"north": 4, "south": 5, "west": 3}
    sample = sel.select_srs(frame, n, strata="stratum", seed=3)
    design = SampleSelection(method=SelectMethod.srs_wor, strat=True, wr=False)
    theirs = design.inclusion_probs(frame["ea"].to_numpy(), n, frame["stratum"].to_numpy())
    expected = dict(zip(frame["ea"], np.asarray(theirs), strict=True))
    assert sample["prob"].to_numpy() == pytest.approx(sample["ea"].map(expected).to_numpy())
    assert sample.groupby("stratum").size().to_dict() == n


def test_certainty_units(frame):
    big = frame.copy()
    big.loc[0, "households"] = 50_000
    sample = sel.select_pps(big, 4, "households", strata="stratum", seed=2)
    row = sample[sample["ea"] == 1]
    assert bool(row["certainty"].iloc[0]) and row["prob_stage1"].iloc[0] == 1.0
    north = sample[sample["stratum"] == "north"]
    assert len(north) == 4
    rest = big[(big["stratum"] == "north") & (big["ea"] != 1)]
    expected = 3 * rest.set_index("ea")["households"] / rest["households"].sum()
    got = north[north["ea"] != 1].set_index("ea")["prob_stage1"]
    assert got.to_numpy() == pytest.approx(expected[got.index].to_numpy())


def test_empirical_pps_frequencies_match_probabilities(frame):
    """Over many random starts (and random orders), selection frequencies equal π_i."""
    sizes = frame["households"].to_numpy()
    codes = pd.factorize(frame["stratum"], sort=True)[0]
    n_h = np.array([4, 5, 3])
    prob, certain = sel.pps_probabilities(sizes, codes, n_h)
    rng = np.random.default_rng(5)
    reps = 40_000
    for keys in (None, rng.random((reps, 60))):
        picks = sel.pps_systematic_draw(sizes, codes, n_h, certain, 1 - rng.random((reps, 3)), keys)
        assert all(len(set(row)) == 12 for row in picks[:200])
        freq = np.bincount(picks.ravel(), minlength=60) / reps
        se = np.sqrt(prob * (1 - prob) / reps)
        assert np.all(np.abs(freq - prob) <= 5 * se + 1e-12)


def test_systematic_is_reproducible_and_spread(frame):
    a = sel.select_systematic(frame, 7, seed=42)
    b = sel.select_systematic(frame, 7, seed=42)
    c = sel.select_systematic(frame, 7, seed=43)
    pd.testing.assert_frame_equal(a, b)
    assert not a["ea"].equals(c["ea"])
    gaps = np.diff(a["ea"].to_numpy())
    assert set(gaps) <= {8, 9}  # interval 60/7 = 8.57
    assert a["prob"].to_numpy() == pytest.approx(np.full(7, 7 / 60))


def test_two_stage_probabilities(frame):
    listing = pd.DataFrame({"ea": np.repeat(frame["ea"], frame["households"] // 10)})
    listing["hh"] = np.arange(len(listing))
    out = sel.select_two_stage(
        frame, listing, 3, 6, psu="ea", size="households", strata="stratum", seed=9
    )
    assert out.groupby("ea").size().le(6).all() and out["ea"].nunique() == 9
    listed = listing.groupby("ea").size()
    m = out["ea"].map(listed)
    assert out["prob_stage2"].to_numpy() == pytest.approx(np.minimum(6, m) / m)
    assert out["prob"].to_numpy() == pytest.approx(out["prob_stage1"] * out["prob_stage2"])
    assert out["weight"].to_numpy() == pytest.approx(1 / out["prob"])
    assert {"stratum", "prob_stage1", "prob_stage2", "prob", "weight"} <= set(out.columns)
    again = sel.select_two_stage(
        frame, listing, 3, 6, psu="ea", size="households", strata="stratum", seed=9
    )
    pd.testing.assert_frame_equal(out, again)


def test_two_phase_rates_are_exact_inclusion_probabilities():
    phase1 = pd.DataFrame(
        {"ea": np.repeat([1, 2, 3], 7), "screen": ["pos", "neg", "neg"] * 7, "prob": 0.25}
    )
    phase1["row"] = np.arange(len(phase1))
    freq = np.zeros(len(phase1))
    reps = 1000
    for seed in range(reps):
        out = sel.select_two_phase(
            phase1, {"pos": 1.0, "neg": 0.3}, by="screen", within="ea", seed=seed
        )
        freq[out["row"].to_numpy()] += 1
    nu = np.where(phase1["screen"] == "pos", 1.0, 0.3)
    assert np.all(np.abs(freq / reps - nu) <= 5 * np.sqrt(nu * (1 - nu) / reps) + 1e-12)
    assert out["prob_phase2"].to_numpy() == pytest.approx(
        np.where(out["screen"] == "pos", 1.0, 0.3)
    )
    assert out["prob"].to_numpy() == pytest.approx(0.25 * out["prob_phase2"])
    assert out["weight"].to_numpy() == pytest.approx(1 / out["prob"])


def test_frame_without_measure_of_size(frame):
    with pytest.raises(SurvmigError) as err:
        sel.select_pps(frame, 3, "mos", strata="stratum", seed=1)
    assert err.value.where == "mos"
    bad = frame.assign(households=frame["households"].astype(float))
    bad.loc[5, "households"] = np.nan
    with pytest.raises(SurvmigError, match="row 6 has no positive measure of size"):
        sel.select_pps(bad, 3, "households", strata="stratum", seed=1)


def test_allocation_stratum_with_no_units(frame):
    with pytest.raises(SurvmigError, match="'east' has no units"):
        sel.select_srs(
            frame, {"north": 2, "south": 2, "west": 2, "east": 2}, strata="stratum", seed=1
        )


def test_sample_larger_than_stratum(frame):
    with pytest.raises(SurvmigError, match="exceeds the 20 units"):
        sel.select_srs(frame, 21, strata="stratum", seed=1)


def test_two_phase_needs_a_rate_per_class():
    phase1 = pd.DataFrame({"screen": ["pos", "neg", "odd"]})
    with pytest.raises(SurvmigError, match="no phase-2 rate for class 'odd'"):
        sel.select_two_phase(phase1, {"pos": 1, "neg": 0.5}, by="screen", seed=1)
    with pytest.raises(SurvmigError, match="must be in"):
        sel.select_two_phase(phase1, {"pos": 1, "neg": 0.5, "odd": 1.5}, by="screen", seed=1)
