"""A synthetic country of households with clustered migration, for teaching and for demos.

:func:`synthetic_population` returns one row per household. Enumeration areas (EAs, the PSUs) sit on
a grid; the chance that a household has a migrant follows a smooth field with a few migration
"hot spots" (a skewed, spatially clustered prevalence, as in real emigration regions), so a small
share of EAs holds a large share of migrant households. A census some years earlier measured each
EA's migrant share with error; the strata are census-prevalence classes.

Columns of the household table:

==================  ===========================================================================
``hh_id``           household id, 1..N
``ea``              enumeration area (PSU) id, 1..M
``stratum``         census-prevalence stratum, 1 (lowest) .. H (highest)
``row``, ``col``    the EA's position on the grid (rook neighbours are adjacent EAs)
``ea_households``   households in the EA now (the listing count M_i)
``census_households`` households in the EA at the census (the frame's measure of size)
``prevalence``      the EA's true probability that a household is a migrant household
``census_prevalence`` the EA's migrant-household share measured at the census
``migrant_class``   ``current_emigrant`` (a member abroad now), ``return_migrant`` (a member came
                    back, none abroad) or ``none``
``is_migrant``      ``migrant_class != "none"``
``size``            household size (persons)
``remittances``     received remittances in the last 12 months
==================  ===========================================================================

:func:`ea_frame` gives the matching EA frame (one row per EA) for PPS selection.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.special import expit

from survmig.errors import SurvmigError
from survmig.sampling.results import (
    check_count,
    check_nonnegative,
    check_positive,
    check_probability,
    generator,
)

__all__ = ["MIGRANT_CLASSES", "ea_frame", "stratum_shares", "synthetic_population"]

MIGRANT_CLASSES = ("current_emigrant", "return_migrant", "none")


def stratum_shares(n_strata: int) -> np.ndarray:
    """Default shares of EAs per stratum, lowest prevalence first: halving, e.g. 4/7, 2/7, 1/7."""
    raw = 2.0 ** np.arange(n_strata - 1, -1, -1)
    return raw / raw.sum()


def synthetic_population(
    n_households: int = 100_000,
    n_strata: int = 3,
    *,
    prevalence: float = 0.05,
    mean_ea_size: float = 200.0,
    return_share: float = 0.35,
    hotspots: int | None = None,
    clustering: float = 3.0,
    noise: float = 0.6,
    census_drift: float = 0.3,
    remittance_rates: tuple[float, float, float] = (0.6, 0.15, 0.03),
    seed: int | None = None,
) -> pd.DataFrame:
    """Households with stratum, EA (PSU), size, migrant class, remittances and EA prevalence.

    ``prevalence`` is the expected share of migrant households (current emigrant or return migrant);
    ``clustering`` the strength of the hot spots (logit scale, 0 = none) and ``noise`` the EA-to-EA
    noise; ``census_drift`` the log-scale change in EA prevalence since the census.
    ``remittance_rates`` are the chances of receiving remittances for the three migrant classes.
    """
    n_households = check_count(n_households, "n_households", minimum=100)
    n_strata = check_count(n_strata, "n_strata")
    prevalence = check_probability(prevalence, "prevalence")
    return_share = check_probability(return_share, "return_share")
    clustering = check_nonnegative(clustering, "clustering")
    noise = check_nonnegative(noise, "noise")
    census_drift = check_nonnegative(census_drift, "census_drift")
    rates = np.array([check_probability(r, "remittance_rates") for r in remittance_rates])
    if len(rates) != 3:
        raise SurvmigError("give three rates (current, return, none)", where="remittance_rates")
    mean_ea_size = check_positive(mean_ea_size, "--ea-size (mean_ea_size)")
    n_eas = max(2 * n_strata, round(n_households / float(mean_ea_size)))
    if n_eas > n_households:
        raise SurvmigError("fewer households than EAs", where="mean_ea_size")
    rng = generator(seed)

    n_cols = math.ceil(math.sqrt(n_eas))
    ea_row, ea_col = np.divmod(np.arange(n_eas), n_cols)
    weights = rng.gamma(4.0, size=n_eas)
    ea_size = 1 + rng.multinomial(n_households - n_eas, weights / weights.sum())

    n_spots = hotspots if hotspots is not None else max(1, round(n_eas / 150))
    centres = rng.uniform([0, 0], [ea_row.max() + 1, n_cols], size=(n_spots, 2))
    radius = rng.uniform(1.0, 3.0, size=n_spots) * max(1.0, math.sqrt(n_eas) / 70)
    height = rng.uniform(0.5, 1.0, size=n_spots) * clustering
    d2 = (ea_row[:, None] - centres[:, 0]) ** 2 + (ea_col[:, None] - centres[:, 1]) ** 2
    field = np.sum(height * np.exp(-d2 / (2 * radius**2)), axis=1) + noise * rng.normal(size=n_eas)
    base = optimize.brentq(
        lambda b: np.sum(ea_size * expit(b + field)) / n_households - prevalence, -30, 30
    )
    p_ea = expit(base + field)

    ea_of_hh = np.repeat(np.arange(n_eas), ea_size)
    u = rng.random(n_households)
    p_hh = p_ea[ea_of_hh]
    klass = np.where(u < p_hh * (1 - return_share), 0, np.where(u < p_hh, 1, 2))
    remit = rng.random(n_households) < rates[klass]
    size = 1 + rng.poisson(3.5, size=n_households)

    drifted = np.clip(p_ea * np.exp(census_drift * rng.normal(size=n_eas)), 0, 1)
    census_hh = np.maximum(1, np.round(ea_size * np.exp(0.1 * rng.normal(size=n_eas)))).astype(int)
    census_prev = rng.binomial(census_hh, drifted) / census_hh
    rank = np.argsort(np.argsort(census_prev + 1e-9 * rng.random(n_eas), kind="stable"))
    cuts = np.round(np.cumsum(stratum_shares(n_strata)) * n_eas)
    ea_stratum = 1 + np.searchsorted(cuts, rank, side="right")

    return pd.DataFrame(
        {
            "hh_id": np.arange(1, n_households + 1),
            "ea": ea_of_hh + 1,
            "stratum": ea_stratum[ea_of_hh],
            "row": ea_row[ea_of_hh],
            "col": ea_col[ea_of_hh],
            "ea_households": ea_size[ea_of_hh],
            "census_households": census_hh[ea_of_hh],
            "prevalence": p_hh,
            "census_prevalence": census_prev[ea_of_hh],
            "migrant_class": pd.Categorical.from_codes(klass, categories=list(MIGRANT_CLASSES)),
            "is_migrant": klass < 2,
            "size": size,
            "remittances": remit,
        }
    )


def ea_frame(population: pd.DataFrame) -> pd.DataFrame:
    """The EA frame of a synthetic population: ``ea, stratum, row, col, households,
    census_prevalence`` with ``households`` the census count (the measure of size for PPS)."""
    cols = ["ea", "stratum", "row", "col", "census_households", "census_prevalence"]
    missing = [c for c in cols if c not in population.columns]
    if missing:
        raise SurvmigError(f"the population has no column {missing[0]!r}", where=missing[0])
    frame = population[cols].drop_duplicates("ea").sort_values("ea").reset_index(drop=True)
    return frame.rename(columns={"census_households": "households"})
