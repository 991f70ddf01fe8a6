"""Small array helpers shared by the data generator, the demo and sample selection."""

from __future__ import annotations

import numpy as np


def positions_in_groups(counts: np.ndarray, start: int = 1) -> np.ndarray:
    """Position of each row within its group, for consecutive groups of the given sizes.

    ``positions_in_groups([2, 0, 3]) -> [1, 2, 1, 2, 3]`` (``start=0`` gives 0-based positions);
    used for repeat line numbers and for the j-th pick within a stratum, without a Python loop.
    """
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(total) - starts + start
