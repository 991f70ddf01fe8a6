"""A reader tries to recover every suppressed estimate from what is published (CSV, XLSX, JSON, HTML).

The attacker is written independently of :mod:`survmig.report.suppression`: it uses every numeric
column of the published row (and the usual algebra between them: CI midpoint, SE / CV, the weighted
count of a total, deff with SE and n for a share), then every additive relation a reader knows —
a national figure minus its published regions, one minus the other shares of a distribution, a
published total minus the other categories. The test fails if any suppressed value comes back.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import openpyxl
import pandas as pd
import pytest

from survmig.indicators import compute
from survmig.report import Thresholds, is_suppressed, publication_table, write_report
from survmig.report.suppression import FLAG_COMPLEMENTARY
from tests.indicators.survey import RATES, build_survey

IDS = [
    "foreign_born_count",
    "foreign_born_share",
    "foreign_born_by_country_of_birth",
    "emigrants_count",
    "emigrants_by_destination",
    "remittance_use_shares",
    "intended_destination_shares",
    "remittances_mean_received",
]
#: strict enough that the small survey has suppressed cells everywhere
STRICT = Thresholds(cv_caution=0.1, cv_suppress=0.2, min_n=25)


def merged(ds, design) -> object:
    """National and by-stratum results in one set (what the demo and margins publish)."""
    national = compute(ds, design, IDS, rates=RATES)
    by = compute(ds, design, IDS, by=["stratum"], rates=RATES)
    t1 = national.table.assign(stratum=None)
    t2 = by.table[by.table["indicator"].isin([i for i, info in by.info.items() if info.by])]
    table = pd.concat([t1, t2[t1.columns]], ignore_index=True)
    return dataclasses.replace(by, table=table, by=["stratum"])


@pytest.fixture(scope="module")
def results():
    ds, design = build_survey(seed=11, strata=4, psus=6, households=12)
    return merged(ds, design)


def _close(a, b) -> np.ndarray:
    a = np.asarray(a, dtype=float)
    return np.isfinite(a) & np.isclose(a, b, rtol=1e-6, atol=1e-9)


def row_attacks(pub: pd.DataFrame) -> dict[str, pd.Series]:
    """Candidate values for each row from its own published columns."""
    num = {c: pd.to_numeric(pub[c], errors="coerce") for c in pub.columns}
    out = {c: v for c, v in num.items() if v.notna().any()}
    if "ci_low" in out and "ci_high" in out:
        out["ci midpoint"] = (num["ci_low"] + num["ci_high"]) / 2
    if "se" in out and "cv" in out:
        out["se / cv"] = num["se"] / num["cv"]
    if {"se", "deff", "n"} <= set(out):  # deff = se² / (p(1-p)/n) → p(1-p)
        pq = num["se"] ** 2 * num["n"] / num["deff"]
        out["p from deff"] = (1 - np.sqrt(np.clip(1 - 4 * pq, 0, None))) / 2
        out["1-p from deff"] = 1 - out["p from deff"]
    return out


def relation_attacks(pub: pd.DataFrame) -> pd.Series:
    """Values recovered through additive relations (index: the recovered row)."""
    got: dict[int, list[float]] = {}
    est = pd.to_numeric(pub["estimate"], errors="coerce")
    wn = pd.to_numeric(pub["weighted_n"], errors="coerce")
    for (_iid, stat, _cat), rows in pub.groupby(
        ["indicator", "statistic", pub["category"].fillna("")], dropna=False
    ):
        if stat not in ("total", "mean", "proportion"):
            continue
        nat = rows[rows["stratum"].isna()]
        kids = rows[rows["stratum"].notna()]
        if len(nat) != 1 or kids.empty:
            continue
        missing = kids.index[est[kids.index].isna()]
        if len(missing) == 1 and np.isfinite(est[nat.index[0]]):
            known = kids.index.difference(missing)
            if stat == "total":
                got.setdefault(missing[0], []).append(est[nat.index[0]] - est[known].sum())
            else:
                w = wn[nat.index[0]] - wn[known].sum()
                mass = est[nat.index[0]] * wn[nat.index[0]] - (est[known] * wn[known]).sum()
                got.setdefault(missing[0], []).append(mass / w)
    dom = pub["stratum"].astype(object).where(pub["stratum"].notna(), "national")
    for (_iid, stat, _d), rows in pub[pub["category"].notna()].groupby(
        ["indicator", "statistic", dom[pub["category"].notna()]]
    ):
        missing = rows.index[est[rows.index].isna()]
        if len(missing) != 1:
            continue
        known = rows.index.difference(missing)
        if stat == "proportion":
            got.setdefault(missing[0], []).append(1 - est[known].sum())
        elif stat == "total":  # any published total of the same domain may be the sum
            same = pub[(dom == _d) & pub["category"].isna() & (pub["statistic"] == "total")]
            for value in est[same.index].dropna():
                got.setdefault(missing[0], []).append(value - est[known].sum())
    return pd.Series(got, dtype=object)


def recovered(truth: pd.DataFrame, pub: pd.DataFrame) -> list[str]:
    """Descriptions of every suppressed value the attacks give back."""
    sup = is_suppressed(pub["flag"])
    true = pd.to_numeric(truth["estimate"], errors="coerce").to_numpy(dtype=float)
    leaks = []
    for name, values in row_attacks(pub).items():
        hit = sup & _close(values.to_numpy(dtype=float), true)
        leaks += [f"row {i}: column {name}" for i in np.nonzero(hit)[0]]
    for i, values in relation_attacks(pub).items():
        if sup[i] and _close(np.asarray(values, dtype=float), true[i]).any():
            leaks.append(f"row {i}: additive relation")
    return leaks


def test_the_attacker_finds_leaks_when_only_the_estimate_is_blanked(results):
    """The attack is real: blanking the estimate alone (the old behaviour) leaks through weighted_n,
    the CI, SE/CV and the totals."""
    raw = results.table
    from survmig.report import flag_reliability

    naive = flag_reliability(raw, STRICT)
    sup = is_suppressed(naive["flag"])
    assert sup.sum() >= 10
    naive.loc[sup, "estimate"] = np.nan
    leaks = recovered(raw, naive)
    assert any("weighted_n" in s for s in leaks)
    assert any("ci midpoint" in s for s in leaks)
    assert any("additive" in s for s in leaks)


def test_no_suppressed_value_is_recoverable_from_the_publication_table(results):
    pub = publication_table(results, STRICT)
    assert is_suppressed(pub["flag"]).sum() >= 10
    assert (pub["flag"] == FLAG_COMPLEMENTARY).any()  # secondary suppression was needed
    assert recovered(results.table, pub) == []


def test_flag_mode_says_which_cells_a_reader_could_recover(results):
    pub = publication_table(results, dataclasses.replace(STRICT, secondary="flag"))
    leaks = recovered(results.table, pub)
    assert leaks and all("additive" in s for s in leaks)  # only through relations, never a column
    flagged = pub["flag"].str.contains("recoverable")
    rows = {int(s.split()[1].rstrip(":")) for s in leaks}
    assert rows <= set(np.nonzero(flagged.to_numpy())[0])


def test_no_published_file_gives_a_suppressed_value_back(results, tmp_path):
    files = write_report(results, tmp_path / "report", STRICT)
    truth = results.table
    pub = publication_table(results, STRICT)
    sup = is_suppressed(pub["flag"])
    # CSV and JSON: the same rows; every suppressed row has no number at all
    csv = pd.read_csv(files["csv"])
    assert recovered(truth, csv) == []
    records = json.loads(files["json"].read_text(encoding="utf-8"))["estimates"]
    js = pd.DataFrame(records)
    assert recovered(truth, js) == []
    # XLSX and HTML: no suppressed value appears as a number anywhere in the files
    secret = pd.to_numeric(truth.loc[sup, "estimate"], errors="coerce").dropna().to_numpy()
    wb = openpyxl.load_workbook(files["excel"])
    numbers = np.array(
        [
            c
            for ws in wb.worksheets
            for r in ws.iter_rows(values_only=True)
            for c in r
            if isinstance(c, int | float)
        ],
        dtype=float,
    )
    for v in secret:
        if abs(v) > 1e-6 and v not in (0.0, 1.0):
            assert not np.isclose(numbers, v, rtol=1e-9).any(), v
    html = files["html"].read_text(encoding="utf-8")
    for v in secret:
        for text in (f"{v:,.0f}", f"{v:.1%}", f"{v * 100:.1f}"):
            if abs(v) >= 1000 and len(text) > 4:
                assert text not in html, text
