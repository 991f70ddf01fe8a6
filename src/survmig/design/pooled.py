"""Pooled files of many surveys: strata and PSUs nested within a survey column.

An international database of country-year surveys stacks independent samples whose stratum and
PSU codes restart in every survey. ``survey: country_year`` in ``design.yaml`` makes the
first-stage strata ``(survey, stratum)`` — or the survey itself when the design has no strata —
and the PSUs ``(survey, PSU)``; later stages are nested in their PSUs as always. Every survey then
contributes only its own strata, so ``--by country_year`` gives each survey's estimates and
standard errors, exactly as separate runs would, in one pass.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from survmig.design.columns import factorize, require_columns
from survmig.errors import SurvmigError, show


def _compound(a: pd.Series, b: pd.Series, what: str) -> pd.Categorical:
    """The interaction of two columns as a categorical labelled ``a/b`` (codes sorted by a, b)."""
    for col in (a, b):
        miss = col.isna().to_numpy()
        if miss.any():
            raise SurvmigError(
                f"{what} column {show(col.name)} has {int(miss.sum())} missing value(s), first at "
                f"row {int(np.flatnonzero(miss)[0]) + 1}",
                where=what,
                hint="every row needs its design variables; fix or remove those rows explicitly",
            )
    ac, al = factorize(a)
    bc, bl = factorize(b)
    key = ac * len(bl) + bc
    uniq, codes = np.unique(key, return_inverse=True)
    labels = [f"{show(al[k // len(bl)])}/{show(bl[k % len(bl)])}" for k in uniq]
    return pd.Categorical.from_codes(codes.astype(np.int64), categories=labels)


def nest_within_survey(
    data: pd.DataFrame,
    survey: str,
    ids: list[str],
    strata: list[str],
    lonely_psu: str = "fail",
) -> tuple[pd.DataFrame, list[str], list[str]]:
    """``(data, ids, strata)`` with the first-stage strata and PSUs made unique within ``survey``.

    The new columns are named ``survey/stratum`` and ``survey/psu`` and added to a shallow copy.
    """
    require_columns(data, [survey], "survey")
    if lonely_psu == "average":
        raise SurvmigError(
            "lonely_psu: average would average single-PSU strata over all surveys of the file",
            where="lonely_psu",
            hint="use remove, certainty or adjust with survey:, or estimate each survey apart",
        )
    new: dict[str, pd.Categorical] = {}
    s = data[survey]
    h_name = f"{survey}/{strata[0]}" if strata else survey
    if strata:
        require_columns(data, strata[:1], "strata")
        new[h_name] = _compound(s, data[strata[0]], "strata")
    ids = list(ids)
    if ids:
        require_columns(data, ids[:1], "ids")
        psu_name = f"{survey}/{ids[0]}"
        new[psu_name] = _compound(s, data[ids[0]], "ids")
        ids[0] = psu_name
    out = data.assign(**new) if new else data
    return out, ids, [h_name, *strata[1:]]
