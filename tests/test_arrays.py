"""Positions within consecutive groups."""

from __future__ import annotations

import numpy as np

from survmig.arrays import positions_in_groups


def test_positions_in_groups():
    assert positions_in_groups(np.array([2, 0, 3])).tolist() == [1, 2, 1, 2, 3]
    assert positions_in_groups(np.array([2, 0, 3]), start=0).tolist() == [0, 1, 0, 1, 2]
    assert positions_in_groups(np.array([0, 0])).tolist() == []
    counts = np.random.default_rng(3).integers(0, 6, 200)
    expected = np.concatenate([np.arange(1, c + 1) for c in counts])
    np.testing.assert_array_equal(positions_in_groups(counts), expected)
