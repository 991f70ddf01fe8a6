"""Synthetic clustered migration survey for the estimation benchmarks.

``make_survey(n_psu=10_000, n_strata=100, hh_per_psu=22, seed=1)`` gives about 1.1 million persons:
100 strata, 10,000 PSUs (enumeration areas), households of 1–8 persons, a rare migrant indicator
clustered by PSU (EA prevalence drawn from a beta distribution, ~4 % overall), a household remittance
indicator and amount (0 for non-receivers), age, sex and a 20-level province for domains.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def make_survey(
    n_psu: int = 10_000, n_strata: int = 100, hh_per_psu: int = 28, seed: int = 1
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    psu = np.arange(n_psu)
    psu_stratum = psu % n_strata
    psu_rate = rng.beta(0.3, 7.0, n_psu)  # clustered rare migration, mean ~4 %
    psu_weight = rng.uniform(80, 400, n_psu)
    n_hh = n_psu * hh_per_psu
    hh_psu = np.repeat(psu, hh_per_psu)
    size = rng.choice(np.arange(1, 9), n_hh, p=[0.12, 0.16, 0.18, 0.17, 0.14, 0.11, 0.07, 0.05])
    remit = rng.random(n_hh) < np.minimum(0.9, 0.02 + 2.5 * psu_rate[hh_psu])
    amount = np.where(remit, np.round(rng.lognormal(6.5, 0.9, n_hh), 2), 0.0)
    person_hh = np.repeat(np.arange(n_hh), size)
    p_psu = hh_psu[person_hh]
    n = person_hh.size
    return pd.DataFrame(
        {
            "stratum": psu_stratum[p_psu],
            "psu": p_psu,
            "hh": person_hh,
            "weight": psu_weight[p_psu] * rng.uniform(0.9, 1.1, n_hh)[person_hh],
            "province": (psu_stratum[p_psu] // (n_strata // 20)).astype(np.int64),
            "sex": rng.integers(1, 3, n),
            "age": rng.integers(0, 90, n).astype(float),
            "migrant": (rng.random(n) < psu_rate[p_psu]).astype(float),
            "remit": remit[person_hh].astype(float),
            "amount": amount[person_hh],
        }
    )


MEANS = ["migrant", "remit", "amount", "age"]
DOMAIN = "province"
