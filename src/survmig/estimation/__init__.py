"""Design-based estimation: :func:`estimate` returns a tidy table of estimates with standard errors.

The engine reduces the data once to (sampling unit, domain) sums and does the variance algebra on
those (see :mod:`survmig.estimation.engine`); :mod:`survmig.estimation.reduce` holds the swappable
reduction step.
"""

from survmig.estimation.engine import COLUMNS, STATISTICS, estimate

__all__ = ["COLUMNS", "STATISTICS", "estimate"]
