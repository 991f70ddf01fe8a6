"""The demo's fieldwork: a two-stage sample with a screening phase, and household nonresponse.

Bilsborrow's recipe for migration surveys (MED-HIMS): enumeration areas (EAs) selected by PPS within
census-prevalence strata, high-prevalence strata oversampled; a full listing with a short screener
in each selected EA that classifies every household (current emigrant / return migrant / none, with
some screener error); then households subsampled at different rates by screening class (all migrant
households, a fraction of the others as the comparison group). Some selected households do not
respond. The selection uses :mod:`survmig.sampling` and keeps every stage's probability.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from survmig.demo.country import Country
from survmig.sampling.population import ea_frame
from survmig.sampling.selection import select_two_phase, select_two_stage

#: screening classes and the phase-2 rate of the migrant classes (the "none" rate is computed)
SCREEN_CLASSES = ("emigrant", "return", "none")
#: share of the EA sample in each census-prevalence stratum (lowest first): oversampling the top
EA_SHARES = (0.4, 0.3, 0.3)


@dataclasses.dataclass
class Fieldwork:
    """The selected households with design variables, the response outcome, and the plan."""

    sample: (
        pd.DataFrame
    )  # one row per phase-2 household: hh_id, ea, stratum, region, probs, responded
    n_eas: dict[int, int]  # EAs selected per stratum
    rates: dict[str, float]  # phase-2 rate per screening class
    listed: int  # households listed and screened


def plan_eas(
    frame: pd.DataFrame, households: int, country: Country, rate_none: float
) -> dict[int, int]:
    """EAs per stratum so that about ``households`` interviews result (at least 3 per stratum)."""
    hh = country.households
    size = frame.groupby("stratum")["households"]
    # PPS favours big EAs: the expected size of a selected EA is sum(M^2) / sum(M)
    expected_size = (frame["households"] ** 2).groupby(frame["stratum"]).sum() / size.sum()
    take = hh.groupby("stratum")["is_migrant"].mean() * (1 - rate_none) + rate_none
    per_ea = expected_size * take
    share = np.asarray(EA_SHARES[: len(per_ea)], float)
    share = share / share.sum()
    total = households / float(np.sum(share * per_ea.to_numpy()))
    n_ea = np.maximum(3, np.round(share * total)).astype(int)
    available = frame.groupby("stratum").size().reindex(per_ea.index).to_numpy()
    return dict(zip(per_ea.index.tolist(), np.minimum(n_ea, available).tolist(), strict=True))


def draw_sample(
    country: Country,
    households: int,
    *,
    seed: int,
    rate_none: float = 0.25,
    sensitivity: float = 0.95,
    false_positive: float = 0.01,
    response_rate: float = 0.9,
) -> Fieldwork:
    """Select EAs (PPS), list and screen them, subsample by screening class, record nonresponse."""
    rng = np.random.default_rng(seed)
    hh = country.households
    frame = ea_frame(hh)
    n_eas = plan_eas(frame, households, country, rate_none)
    listing = hh[["hh_id", "ea", "region", "district", "migrant_class"]]
    phase1 = select_two_stage(
        frame,
        listing,
        n_eas,
        take=int(hh["ea_households"].max()),  # the whole listing goes to the screener
        psu="ea",
        size="households",
        strata="stratum",
        seed=int(rng.integers(2**31)),
    )
    # the screener: migrant households mostly recognised, a few others misclassified
    true = phase1["migrant_class"].astype(str).to_numpy()
    u = rng.random(len(phase1))
    screen = np.where(
        true == "current_emigrant",
        np.where(u < sensitivity, "emigrant", "none"),
        np.where(
            true == "return_migrant",
            np.where(u < sensitivity, "return", "none"),
            np.where(u < false_positive, "return", "none"),
        ),
    )
    phase1["screen"] = screen
    # the phase-2 strata are EA × screening class: their population is the households listed in
    # them (what a two-phase design needs for the phase-2 probabilities n₂/N₂)
    phase1["screen_listed"] = phase1.groupby(["ea", "screen"])["screen"].transform("size")
    rates = {"emigrant": 1.0, "return": 1.0, "none": rate_none}
    sample = select_two_phase(
        phase1, rates, by="screen", within="ea", seed=int(rng.integers(2**31))
    )
    # response: a little lower in the North (cities) and among households without migrants
    p = (
        response_rate
        - 0.05 * (sample["region"].to_numpy() == 1)
        + 0.03 * (sample["screen"].to_numpy() != "none")
    )
    sample["responded"] = (rng.random(len(sample)) < np.clip(p, 0.05, 1)).astype(int)
    sample["ea_selected"] = sample["stratum"].map(n_eas)
    sample["ea_mos"] = sample["ea"].map(frame.set_index("ea")["households"])
    sample["stratum_mos"] = sample["stratum"].map(frame.groupby("stratum")["households"].sum())
    return Fieldwork(sample.drop(columns="migrant_class"), n_eas, rates, len(phase1))
