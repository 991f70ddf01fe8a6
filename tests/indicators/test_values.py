"""Indicator values on a small synthetic survey against values computed independently.

Point estimates: plain numpy/pandas weighted formulas on the raw columns. Standard errors: R `survey`
4.1 (tests/reference/indicators_se.R) on the per-row values derived here by hand, with the same
stratified cluster design; survmig must agree to 1e-8 relative.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from survmig.data import KEY, PARENT_KEY
from survmig.indicators import compute

from .survey import RATES, build_survey

REFERENCE = Path(__file__).resolve().parents[1] / "reference" / "indicators_se.R"
REL = 1e-8


@pytest.fixture(scope="module")
def survey():
    ds, design = build_survey()
    results = compute(ds, design, "all", rates=RATES, parameters={"convert_to": "USD"})
    return ds, design, results


def _hh(ds):
    return ds.table("household").set_index(KEY)


def _with_hh(ds, level):
    """Rows of a household child level with the household's design columns and interview year."""
    t = ds.table(level).copy()
    hh = _hh(ds)
    for col in ("stratum", "psu", "wt"):
        t[col] = hh.loc[t[PARENT_KEY], col].to_numpy()
    t["year"] = hh.loc[t[PARENT_KEY], "today"].dt.year.to_numpy()
    return t


def _num(s):
    """Raw numeric column with -8/-9 as NaN (the documented recoding)."""
    x = (
        pd.to_numeric(s, errors="coerce")
        .astype(float)
        .to_numpy(dtype=float, na_value=np.nan)
        .copy()
    )
    x[np.isin(x, [-8, -9])] = np.nan
    return x


def _wmean(v, w):
    ok = ~np.isnan(v)
    return np.sum(w[ok] * v[ok]) / np.sum(w[ok])


def _wtotal(v, w):
    ok = ~np.isnan(v)
    return np.sum(w[ok] * v[ok])


def _est(results, iid, category=None):
    rows = results.table[results.table["indicator"] == iid]
    if category is not None:
        rows = rows[rows["category"] == category]
    assert len(rows) == 1, rows
    return rows.iloc[0]


# ------------------------------------------------------------------------------------------------
# the hand-derived per-row values (NaN outside the universe or when missing)
# ------------------------------------------------------------------------------------------------


def hand_values(ds) -> dict[str, tuple[pd.DataFrame, str]]:
    """name -> (frame with stratum, psu, wt and the value column `v`, statistic)."""
    out: dict[str, tuple[pd.DataFrame, str]] = {}
    m = _with_hh(ds, "members")
    born, age, cit = _num(m["q_born"]), _num(m["q_age"]), _num(m["q_cit"])
    arrival, act, ret = _num(m["q_arrival"]), _num(m["q_act"]), _num(m["q_ret"])

    def frame(base, v):
        f = base[["stratum", "psu", "wt"]].copy()
        f["v"] = v
        return f

    fb = np.where(np.isnan(born), np.nan, (born == 0).astype(float))
    out["foreign_born_share"] = (frame(m, fb), "mean")
    out["foreign_born_count"] = (frame(m, fb), "total")
    out["foreign_citizens_share"] = (frame(m, np.isin(cit, [3, 4]).astype(float)), "mean")
    # recent: born abroad AND arrived <= 5 years before the interview year (Kleene logic)
    recent_known = ~np.isnan(arrival)
    is_recent = recent_known & (m["year"].to_numpy() - arrival <= 5)
    not_recent = recent_known & ~is_recent
    v = np.full(len(m), np.nan)
    v[(born == 1) | not_recent] = 0.0
    v[(born == 0) & is_recent] = 1.0
    out["recent_immigrants_share"] = (frame(m, v), "mean")
    # return migrants among 15+
    v = np.where(age >= 15, ret, np.nan)
    v = np.where(np.isnan(v), np.nan, (v == 1).astype(float))
    out["return_migrants_share_15plus"] = (frame(m, v), "mean")
    # intention among 15-59 asked (the raw answer present, -8 included)
    intent_raw = pd.to_numeric(m["q_intent"]).astype(float).to_numpy()
    uni = (age >= 15) & (age <= 59) & ~np.isnan(intent_raw)
    v = np.where(uni, (intent_raw == 1).astype(float), np.nan)
    v[uni & np.isin(intent_raw, [-8, -9])] = np.nan
    out["intention_to_migrate_share"] = (frame(m, v), "mean")
    # migrant workers among the labour force (roster activity: 1 employed, 2 unemployed)
    uni = (age >= 15) & np.isin(act, [1, 2])
    out["migrant_workers_share"] = (
        frame(m, np.where(uni, np.isin(cit, [3, 4]).astype(float), np.nan)),
        "mean",
    )
    forced = _num(m["q_forced"])
    out["forced_migrants_count"] = (
        frame(m, np.where(np.isnan(forced), np.nan, (forced == 1).astype(float))),
        "total",
    )
    # for-work migrants among those asked (-9 included in the universe, missing in the value)
    fw_raw = pd.to_numeric(m["q_forwork"]).astype(float).to_numpy()
    fw = _num(m["q_forwork"])
    v = np.full(len(m), np.nan)
    v[(fw == 3) | not_recent] = 0.0
    v[np.isin(fw, [1, 2]) & is_recent] = 1.0
    out["for_work_migrants_recent"] = (frame(m, np.where(np.isnan(fw_raw), np.nan, v)), "total")
    # SDG 10.7.1: per-worker cost / first month's earnings, both in local currency
    c = ds.table("costs")
    paid, reimb = _num(c["c_paid"]), _num(c["c_reimb"])
    refund = np.where(
        reimb == 1, c["c_refund"].astype(float).to_numpy(dtype=float, na_value=np.nan), 0.0
    )
    refund[np.isnan(reimb) & (paid == 1)] = np.nan
    rate_c = c["c_cur"].map(RATES).astype(float).to_numpy()
    cost_item = np.where(paid == 1, (c["c_amount"].astype(float).to_numpy() - refund) * rate_c, 0.0)
    cost_item[np.isnan(paid)] = np.nan
    items = pd.DataFrame({"k": c[PARENT_KEY].to_numpy(), "x": cost_item})
    cost = items.groupby("k")["x"].sum(min_count=1)
    unknown = items.assign(na=np.isnan(cost_item)).groupby("k")["na"].any()
    cost[unknown.reindex(cost.index).to_numpy()] = np.nan
    worker_cost = cost.reindex(m[KEY]).to_numpy(dtype=float, na_value=np.nan).copy()
    worker_cost[~m[KEY].isin(cost.index).to_numpy()] = 0.0  # no cost items: nothing paid
    period, days = _num(m["q_period"]), _num(m["q_days"])
    factor = np.select([period == 4, period == 3, period == 2], [days, 52 / 12, 26 / 12], 1.0)
    earn = (
        m["q_earn"].astype(float).to_numpy()
        * factor
        * m["q_earn_cur"].map(RATES).astype(float).to_numpy()
    )
    uni = (_num(m["q_moved"]) == 1) & (_num(m["q_wage"]) == 1) & (m["q_earn"].astype(float) > 0)
    uni = uni.to_numpy() if hasattr(uni, "to_numpy") else uni
    out["sdg_10_7_1"] = (frame(m, np.where(uni, worker_cost / earn, np.nan)), "mean")
    out["_sdg_cost"] = (frame(m, np.where(uni, worker_cost, np.nan)), "-")
    out["_sdg_earn"] = (frame(m, np.where(uni, earn, np.nan)), "-")
    out["_sdg_sex"] = (frame(m, _num(m["q_sex"])), "-")

    # households
    h = ds.table("household").copy()
    emig, rem = _num(h["q_emig_any"]), _num(h["q_rem"])
    out["households_with_emigrant_share"] = (
        frame(h, np.where(np.isnan(emig), np.nan, (emig == 1).astype(float))),
        "mean",
    )
    out["remittance_receiving_households_share"] = (
        frame(h, np.where(np.isnan(rem), np.nan, (rem == 1).astype(float))),
        "mean",
    )
    s = ds.table("senders")
    cash = _num(s["s_cash"])
    amount = np.where(
        cash == 1,
        _num(s["s_amount"]) * s["s_cur"].map(RATES).astype(float).to_numpy(),
        0.0,
    )
    per_hh = pd.DataFrame({"k": s[PARENT_KEY].to_numpy(), "a": amount})
    sums = per_hh.groupby("k")["a"].agg(
        lambda a: a.sum(min_count=len(a)) if a.notna().all() else np.nan
    )
    tot = sums.reindex(h[KEY]).fillna(0.0).to_numpy()
    tot = np.where(
        sums.reindex(h[KEY]).isna().to_numpy() & h[KEY].isin(sums.index).to_numpy(), np.nan, tot
    )
    tot = np.where(rem == 1, tot, np.nan)
    out["remittances_mean_received"] = (frame(h, tot), "mean")
    out["remittances_total_lcu"] = (frame(h, tot), "total")
    out["remittances_median_received"] = (frame(h, tot), "median")
    uses = h["q_uses_3"].astype(float).to_numpy()
    out["remittance_use_shares:3"] = (frame(h, np.where(rem == 1, uses, np.nan)), "mean")
    # senders' channels among cash senders
    st = _with_hh(ds, "senders")
    ch = np.where(cash == 1, _num(st["s_channel"]), np.nan)
    out["remittance_channel_shares"] = (frame(st, ch), "dist")
    # emigrants
    e = _with_hh(ds, "emigrants")
    out["emigrants_count"] = (frame(e, np.ones(len(e))), "total")
    out["emigrants_by_destination:FRA"] = (
        frame(e, np.where(e["e_country"] == "FRA", 1.0, np.nan)),
        "total",
    )
    return out


# ------------------------------------------------------------------------------------------------
# point estimates with plain weighted formulas
# ------------------------------------------------------------------------------------------------


def test_point_estimates_match_weighted_formulas(survey):
    ds, _, results = survey
    for name, (f, stat) in hand_values(ds).items():
        if stat not in ("mean", "total") or name.startswith("_"):
            continue
        iid, _, cat = name.partition(":")
        w, v = f["wt"].to_numpy(), f["v"].to_numpy(dtype=float)
        expected = _wmean(v, w) if stat == "mean" else _wtotal(v, w)
        got = _est(results, iid, cat or None)
        assert got["estimate"] == pytest.approx(expected, rel=REL), name
        assert got["n"] == int((~np.isnan(v)).sum()), name


def test_foreign_born_by_country_adds_up_to_the_count(survey):
    _, _, results = survey
    by_cob = results.for_indicator("foreign_born_by_country_of_birth")
    assert set(by_cob["category"]) == {"ESP", "FRA", "SEN", "SYR"}
    assert by_cob["category_label"].str.startswith("Country ").all()
    total = _est(results, "foreign_born_count")["estimate"]
    assert by_cob["estimate"].sum() == pytest.approx(total, rel=REL)


def test_sdg_10_7_1_is_the_mean_of_per_worker_ratios_not_a_ratio_of_means(survey):
    ds, _, results = survey
    vals = hand_values(ds)
    f = vals["sdg_10_7_1"][0]
    w, ratio = f["wt"].to_numpy(), f["v"].to_numpy()
    cost, earn = vals["_sdg_cost"][0]["v"].to_numpy(), vals["_sdg_earn"][0]["v"].to_numpy()
    per_worker = _wmean(ratio, w)
    ratio_of_means = _wtotal(cost, w) / _wtotal(earn, w)
    got = _est(results, "sdg_10_7_1")["estimate"]
    assert got == pytest.approx(per_worker, rel=REL)
    assert abs(per_worker - ratio_of_means) / per_worker > 0.05  # the two definitions differ here
    sex = vals["_sdg_sex"][0]["v"].to_numpy()
    for code in (1, 2):
        expected = _wmean(np.where(sex == code, ratio, np.nan), w)
        assert _est(results, "sdg_10_7_1_by_sex", str(code))["estimate"] == pytest.approx(
            expected, rel=REL
        )


def test_converted_total_is_the_local_total_over_the_rate(survey):
    _, _, results = survey
    lcu = _est(results, "remittances_total_lcu")
    usd = _est(results, "remittances_total_converted")
    assert usd["estimate"] == pytest.approx(lcu["estimate"] / RATES["USD"], rel=REL)
    assert usd["se"] == pytest.approx(lcu["se"] / RATES["USD"], rel=REL)


def test_missing_answers_are_counted_not_hidden(survey):
    ds, _, results = survey
    info = results.info["foreign_born_share"]
    born = pd.to_numeric(ds.table("members")["q_born"])
    assert info.n_value_missing == int(born.isin([-8, -9]).sum()) > 0
    assert info.concepts["born_in_country"] == "members.q_born"
    hh = results.info["remittances_mean_received"]
    assert hh.n_value_missing > 0  # a "don't know" amount makes the household total unknown


# ------------------------------------------------------------------------------------------------
# standard errors against R survey
# ------------------------------------------------------------------------------------------------


def test_estimates_and_standard_errors_match_r_survey(survey, tmp_path):
    rscript = shutil.which("Rscript")
    assert rscript, "Rscript is required for the R reference values (apt-get install r-cran-survey)"
    ds, _, results = survey
    rows = []
    checks = {}
    for name, (f, stat) in hand_values(ds).items():
        if name.startswith("_"):
            continue
        path = tmp_path / f"{len(rows)}.csv"
        f.to_csv(path, index=False)
        rows.append({"name": name, "file": str(path), "var": "v", "stat": stat})
        checks[name] = stat
    spec = tmp_path / "spec.csv"
    pd.DataFrame(rows).to_csv(spec, index=False)
    out = tmp_path / "r.json"
    subprocess.run([rscript, str(REFERENCE), str(spec), str(out)], check=True, timeout=300)
    ref = json.loads(out.read_text())
    compared = 0
    for name, stat in checks.items():
        iid, _, cat = name.partition(":")
        r = ref[name]
        if stat == "dist":
            got = results.for_indicator(iid).set_index("category")
            for label, est, se in zip(r["names"], r["estimate"], r["se"], strict=True):
                code = label[1:]  # R names the levels v1, v2, …
                assert got.loc[code, "estimate"] == pytest.approx(est, rel=REL), (name, code)
                assert got.loc[code, "se"] == pytest.approx(se, rel=REL), (name, code)
                compared += 1
            continue
        got = _est(results, iid, cat or None)
        assert got["estimate"] == pytest.approx(r["estimate"][0], rel=REL), name
        assert got["se"] == pytest.approx(r["se"][0], rel=REL), name
        compared += 1
    assert compared >= 18
