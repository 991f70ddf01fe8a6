"""Districts of the demo's synthetic country, their immigrant concentration and a district census.

Each region (a quadrant of the EA grid) is cut into 3 × 3 blocks of EAs: 36 districts, nested in
the regions, too many for the household sample to estimate directly (most hold one or two sampled
EAs, some none). Immigrants are more common in some districts than others (a log-normal district
effect on the chance of being foreign-born); an earlier census measured each district's
foreign-born share with error, and that share is the covariate of the demo's small-area model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from survmig.errors import SurvmigError

#: blocks per side of a region: 3 × 3 districts per region
BLOCKS = 3
#: the chance of being foreign-born by region code (1 = North, the big cities)
REGION_RATE = {1: 0.06, 2: 0.02, 3: 0.02, 4: 0.02}
#: SD of the log district effect on that chance, and of the census's measurement error
EFFECT_SD = 0.6
CENSUS_ERROR_SD = 0.15


def assign_districts(hh: pd.DataFrame, seed: int) -> None:
    """Add ``district`` (``D01``…``D36``, nested in ``region``) and ``foreign_rate`` (each household
    member's chance of being born abroad) to the household table, from a stream of its own (the
    country's other draws are unchanged)."""
    rng = np.random.default_rng([seed, 17])
    half_r = (hh["row"].max() + 1) / 2
    half_c = (hh["col"].max() + 1) / 2
    top = hh["row"].to_numpy() >= half_r
    right = hh["col"].to_numpy() >= half_c
    local_r = np.where(top, hh["row"] - half_r, hh["row"]) / half_r  # 0..1 within the region
    local_c = np.where(right, hh["col"] - half_c, hh["col"]) / half_c
    block = np.minimum((local_r * BLOCKS).astype(int), BLOCKS - 1) * BLOCKS + np.minimum(
        (local_c * BLOCKS).astype(int), BLOCKS - 1
    )
    code = (hh["region"].to_numpy() - 1) * BLOCKS * BLOCKS + block + 1
    effect = np.exp(rng.normal(-(EFFECT_SD**2) / 2, EFFECT_SD, 4 * BLOCKS * BLOCKS))
    hh["district"] = np.char.add("D", np.char.zfill(code.astype(str), 2))
    base = hh["region"].map(REGION_RATE).to_numpy(float)
    hh["foreign_rate"] = np.clip(base * effect[code - 1], 0.0, 0.5)


def district_census(households: pd.DataFrame, persons: pd.DataFrame, seed: int) -> pd.DataFrame:
    """One row per district: region, households, persons (the census count, used to weight the
    benchmark) and ``census_foreign_share``, the foreign-born share an earlier census measured
    (the true chance with a log-normal measurement error: a covariate, not the truth)."""
    rng = np.random.default_rng([seed, 18])
    size = persons.groupby("hh_id").size()
    hh = households.assign(persons=size.reindex(households["hh_id"]).fillna(0).to_numpy())
    grouped = hh.groupby("district", sort=True)
    table = pd.DataFrame(
        {
            "region": grouped["region"].first(),
            "households": grouped.size(),
            "persons": grouped["persons"].sum().astype(int),
            "rate": grouped["foreign_rate"].mean(),
        }
    )
    noise = np.exp(rng.normal(0.0, CENSUS_ERROR_SD, len(table)))
    table["census_foreign_share"] = (table.pop("rate") * noise).round(5)
    return table.reset_index()


def district_small_area(
    folder: Path, data: Any, design_data: pd.DataFrame, country: Any, census: pd.DataFrame
) -> pd.DataFrame:
    """The demo's small-area step: Fay-Herriot (REML, arcsine scale, GVF-smoothed sampling
    variances, or ``deff/(4n)`` from the national design effect when a small sample leaves too few
    districts with a design variance for a GVF; benchmarked to the national direct estimate) estimates of the foreign-born share of every
    district, written to ``folder`` with the true district shares beside them."""
    from survmig.smallarea import small_area, write_small_area

    persons = country.persons.merge(country.households[["hh_id", "district"]], on="hh_id")
    truth = (persons["born_here"] == 0).groupby(persons["district"]).mean()
    design = {"ids": "ea", "strata": "stratum", "weights": "weight", "lonely_psu": "adjust"}
    def fit(variance: str) -> Any:
        return small_area(
            data,
            design,
            "foreign_born_share",
            "district",
            census,
            x=["census_foreign_share"],
            design_data=design_data,
            population="persons",
            variance=variance,
        )

    try:
        result = fit("gvf")
    except SurvmigError:  # too few districts with a design variance for the GVF (small samples)
        result = fit("deff")
    write_small_area(result, "district", folder, truth=truth)
    return result.table.assign(true_value=result.table["district"].map(truth).to_numpy())


def accuracy(table: pd.DataFrame) -> dict[str, float]:
    """Root mean squared error against the truth of the direct and model estimates (sampled
    districts; the direct one where it exists), of the synthetic estimates of unsampled districts,
    and the share of model intervals covering the truth."""
    s = table[table["sampled"]]
    u = table[~table["sampled"]]
    covered = (table["ci_low"] <= table["true_value"]) & (table["true_value"] <= table["ci_high"])
    return {
        "rmse_direct": float(np.sqrt(((s["direct"] - s["true_value"]) ** 2).mean())),
        "rmse_model": float(np.sqrt(((s["estimate"] - s["true_value"]) ** 2).mean())),
        "rmse_unsampled": float(np.sqrt(((u["estimate"] - u["true_value"]) ** 2).mean())),
        "coverage": float(covered.mean()),
        "districts": int(len(table)),
        "sampled": int(len(s)),
    }
