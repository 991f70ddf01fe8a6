"""Multiplicity and weight-share estimators: exact unbiasedness by full enumeration of SRS samples."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from survmig.errors import SurvmigError
from survmig.sampling import network as net

# 8 households; 6 emigrants abroad, each linked to the households of their parents/siblings.
LINKS = pd.DataFrame(
    {
        "household": [1, 2, 2, 3, 4, 5, 5, 6, 7, 8, 8],
        "person": ["a", "a", "b", "c", "c", "c", "d", "e", "f", "f", "b"],
    }
)
LINKS["multiplicity"] = LINKS.groupby("person")["household"].transform("size")
REMITS = {"a": 300.0, "b": 0.0, "c": 1200.0, "d": 50.0, "e": 700.0, "f": 90.0}
LINKS["y"] = LINKS["person"].map(REMITS)
TRUE_TOTAL = sum(REMITS.values())


def _estimates(n: int):
    out = []
    for chosen in itertools.combinations(range(1, 9), n):
        sample = pd.DataFrame({"household": chosen, "prob": n / 8})
        links = LINKS[LINKS["household"].isin(chosen)]
        res = net.multiplicity_total(links, sample, "y", population_size=8)
        out.append((res["total"], res["variance"]))
    return np.array(out)


@pytest.mark.parametrize("n", [2, 3, 5])
def test_multiplicity_is_unbiased_with_unbiased_variance(n):
    est = _estimates(n)
    assert est[:, 0].mean() == pytest.approx(TRUE_TOTAL)
    assert est[:, 1].mean() == pytest.approx(est[:, 0].var())


def test_sirken_is_weight_share_with_one_person_clusters():
    sample = pd.DataFrame({"household": [2, 5, 8], "prob": 3 / 8})
    links = LINKS[LINKS["household"].isin(sample["household"])]
    sirken = net.multiplicity_total(links, sample, "y")
    gwsm = net.weight_share_total(
        links.rename(
            columns={"household": "unit", "person": "cluster", "multiplicity": "links_total"}
        ),
        sample.rename(columns={"household": "unit"}),
        "y",
    )
    assert sirken["total"] == pytest.approx(gwsm["total"])
    # by hand: household 2 reports a (m=2) and b (m=2); 5 reports c (m=3) and d (m=1); 8: f (2), b (2)
    by_hand = (300 / 2 + 0 / 2 + 1200 / 3 + 50 / 1 + 90 / 2 + 0 / 2) * 8 / 3
    assert sirken["total"] == pytest.approx(by_hand)


def test_weight_share_cluster_weights():
    # clusters (families) of target units; L_i links into each cluster from the frame
    links = pd.DataFrame(
        {"unit": [1, 1, 2, 3], "cluster": ["A", "B", "B", "C"], "links_total": [2, 3, 3, 1]}
    )
    sample = pd.DataFrame({"unit": [1, 2, 3], "prob": [0.5, 0.25, 0.5]})
    w = net.weight_share(links, sample).set_index("cluster")["weight"]
    assert w["A"] == pytest.approx(2 / 2)
    assert w["B"] == pytest.approx((2 + 4) / 3)
    assert w["C"] == pytest.approx(2 / 1)


def test_gwsm_unbiased_by_enumeration():
    # frame units 1..6 linked to 3 clusters with totals; L_i counts all frame links into i
    links_all = pd.DataFrame(
        {"unit": [1, 2, 2, 3, 4, 5, 6, 6], "cluster": ["A", "A", "B", "B", "B", "C", "C", "A"]}
    )
    links_all["links_total"] = links_all.groupby("cluster")["unit"].transform("size")
    totals = {"A": 10.0, "B": 4.0, "C": 7.0}
    links_all["Y"] = links_all["cluster"].map(totals)
    est = []
    for chosen in itertools.combinations(range(1, 7), 3):
        sample = pd.DataFrame({"unit": chosen, "prob": 0.5})
        res = net.weight_share_total(
            links_all[links_all["unit"].isin(chosen)], sample, "Y", population_size=6
        )
        est.append((res["total"], res["variance"]))
    est = np.array(est)
    assert est[:, 0].mean() == pytest.approx(sum(totals.values()))
    assert est[:, 1].mean() == pytest.approx(est[:, 0].var())


def test_errors():
    sample = pd.DataFrame({"household": [2, 5], "prob": 0.25})
    links = LINKS[LINKS["household"].isin([2, 5])]
    with pytest.raises(SurvmigError) as err:
        net.multiplicity_total(links.drop(columns="multiplicity"), sample, "y")
    assert err.value.where == "multiplicity"
    with pytest.raises(SurvmigError, match="not in the sample"):
        net.multiplicity_total(LINKS, sample, "y")
    with pytest.raises(SurvmigError, match="probabilities"):
        net.multiplicity_total(links, sample.assign(prob=0.0), "y")
