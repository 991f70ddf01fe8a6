"""Cross-check with svy (samplics' successor) where the two overlap: Taylor means, totals and
proportions by domain in a stratified cluster design."""

from __future__ import annotations

import numpy as np
import polars as pl
import svy

from survmig.design import SurveyDesign
from survmig.estimation import estimate


def test_agrees_with_svy(rfix) -> None:
    mig = rfix.dataset("mig")
    mig = mig.assign(
        psu=mig["stratum"].astype(int).astype(str) + "_" + mig["ea"].astype(int).astype(str)
    )
    cols = ["stratum", "psu", "w", "migrant", "sex", "region", "hhsize"]
    sample = svy.Sample(
        pl.from_pandas(mig[cols]), svy.Design(stratum="stratum", psu="psu", wgt="w")
    )
    ours = estimate(
        SurveyDesign(mig, ids="psu", strata="stratum", weights="w"),
        mean="migrant",
        total="hhsize",
        prop="sex",
        by="region",
    )
    theirs = {
        "mean": sample.estimation.mean("migrant", by="region").to_polars().to_pandas(),
        "total": sample.estimation.total("hhsize", by="region").to_polars().to_pandas(),
        "prop": sample.estimation.prop("sex", by="region").to_polars().to_pandas(),
    }
    compared = 0
    for stat, frame in theirs.items():
        mine = ours[ours["statistic"] == stat]
        if stat == "prop":
            frame = frame.rename(columns={"sex": "category"})
            merged = mine.merge(frame, on=["region", "category"])
        else:
            merged = mine.merge(frame, on="region")
        assert len(merged) == len(mine) > 0
        np.testing.assert_allclose(merged["estimate"], merged["est"], rtol=1e-10)
        np.testing.assert_allclose(merged["se_x"], merged["se_y"], rtol=1e-8)  # ours _x, svy _y
        compared += len(merged)
    assert compared == 16
