"""The input of tests/reference/indicators_compare.R: one row per member of the test survey with
the household key, the place of birth (the compared groups) and the per-member values of three
indicators (NaN outside the universe or when missing), computed by hand as in test_values."""

from __future__ import annotations

import numpy as np
import pandas as pd

from survmig.data import PARENT_KEY

from .test_values import _num, _with_hh, hand_values

VALUES = {
    "fc": "foreign_citizens_share",
    "intent": "intention_to_migrate_share",
    "forced": "forced_migrants_count",
}


def member_frame(ds) -> pd.DataFrame:
    m = _with_hh(ds, "members")
    values = hand_values(ds)
    out = pd.DataFrame(
        {
            "hh": m[PARENT_KEY].to_numpy(),
            "stratum": m["stratum"].to_numpy(),
            "psu": m["psu"].to_numpy(),
            "wt": m["wt"].to_numpy(dtype=float),
            "born": _num(m["q_born"]),
        }
    )
    for col, iid in VALUES.items():
        out[col] = values[iid][0]["v"].to_numpy(dtype=float)
    out.loc[np.isnan(out["born"]), "born"] = np.nan
    return out
