"""A small synthetic migration survey built in the tests: a stratified two-stage cluster sample of
households with members, emigrants, remittance senders and recruitment-cost items.

Column names are deliberately not the concept ids (``q_born`` carries ``born_in_country``), and every
name can be changed through ``rename`` to check that indicators bind through concepts.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from survmig.data import KEY, PARENT_KEY, ROOT_KEY, ROW_POS, Choice, Dataset, FormMetadata
from survmig.data.form import Level, Variable

COUNTRIES = ["FRA", "ESP", "SEN", "SYR"]
CURRENCIES = ["MAD", "EUR", "USD"]
RATES = {"MAD": 1.0, "EUR": 10.8, "USD": 9.9}

#: level -> [(column, concept, type, list)]
SCHEMA: dict[str, list[tuple[str, str, str, str | None]]] = {
    "household": [
        ("today", "interview_date", "today", None),
        ("q_emig_any", "hh_member_abroad", "select_one", "yes_no"),
        ("q_rem", "hh_received_remittances_12m", "select_one", "yes_no"),
        ("q_uses", "remittance_use", "select_multiple", "uses"),
    ],
    "members": [
        ("q_sex", "sex", "select_one", "sex"),
        ("q_age", "age", "integer", None),
        ("q_born", "born_in_country", "select_one", "yes_no"),
        ("q_cob", "country_of_birth", "select_one", "countries"),
        ("q_cit", "citizenship_status", "select_one", "citizenship"),
        ("q_arrival", "year_of_arrival", "integer", None),
        ("q_act", "activity_status", "select_one", "activity"),
        ("q_ret", "return_migrant_screen", "select_one", "yes_no"),
        ("q_intent", "intention_to_migrate_12m", "select_one", "yes_no"),
        ("q_dest", "intended_destination", "select_one", "countries"),
        ("q_moved", "moved_for_job_recent", "select_one", "yes_no"),
        ("q_wage", "recruitment_wage_worker", "select_one", "yes_no"),
        ("q_period", "first_earnings_pay_period", "select_one", "period"),
        ("q_days", "first_earnings_days_worked", "integer", None),
        ("q_earn", "first_month_earnings", "decimal", None),
        ("q_earn_cur", "first_month_earnings_currency", "select_one", "currencies"),
        ("q_recr_year", "recruitment_year", "integer", None),
        ("q_recr_dest", "recruitment_destination", "select_one", "countries"),
        ("q_forced", "forced_migrant_screen", "select_one", "yes_no"),
        ("q_forwork", "for_work_migration", "select_one", "forwork"),
    ],
    "emigrants": [
        ("e_sex", "sex", "select_one", "sex"),
        ("e_age_dep", "age_at_departure", "integer", None),
        ("e_year_dep", "year_of_departure", "integer", None),
        ("e_country", "country_of_residence", "select_one", "countries"),
    ],
    "senders": [
        ("s_cash", "received_cash_12m", "select_one", "yes_no"),
        ("s_amount", "remittance_amount_12m", "decimal", None),
        ("s_cur", "remittance_currency", "select_one", "currencies"),
        ("s_channel", "remittance_channel", "select_one", "channel"),
    ],
    "costs": [
        ("c_item", "recruitment_cost_item", "select_one", "item"),
        ("c_paid", "recruitment_cost_paid", "select_one", "yes_no"),
        ("c_amount", "recruitment_cost_amount", "decimal", None),
        ("c_cur", "recruitment_cost_currency", "select_one", "currencies"),
        ("c_reimb", "recruitment_cost_reimbursed", "select_one", "yes_no"),
        ("c_refund", "recruitment_cost_refund_amount", "decimal", None),
    ],
}
PARENTS = {
    "members": "household",
    "emigrants": "household",
    "senders": "household",
    "costs": "members",
}
USES = ["1", "2", "3", "4"]


def _choices() -> dict[str, list[Choice]]:
    def lst(pairs: list[tuple[str, str]]) -> list[Choice]:
        return [Choice(code, {"English (en)": label}) for code, label in pairs]

    return {
        "yes_no": lst([("1", "Yes"), ("0", "No"), ("-8", "Don't know"), ("-9", "Refused")]),
        "sex": lst([("1", "Male"), ("2", "Female")]),
        "countries": lst([(c, f"Country {c}") for c in COUNTRIES]),
        "citizenship": lst(
            [("1", "By birth"), ("2", "Naturalised"), ("3", "Foreign"), ("4", "Stateless")]
        ),
        "activity": lst([(str(i), f"activity {i}") for i in range(1, 8)]),
        "currencies": lst([(c, c) for c in CURRENCIES]),
        "channel": lst([(str(i), f"channel {i}") for i in range(1, 7)]),
        "uses": lst([(u, f"use {u}") for u in USES]),
        "forwork": lst([("1", "job offer"), ("2", "to seek work"), ("3", "not for work")]),
        "period": lst([("1", "month"), ("2", "two weeks"), ("3", "week"), ("4", "day")]),
        "item": lst([(str(i), f"item {i}") for i in range(1, 4)]),
    }


def _metadata(rename: dict[str, str]) -> FormMetadata:
    levels = [Level("household", (), None, "", {"default": "household"}, ())]
    for lv, parent in PARENTS.items():
        path = (lv,) if parent == "household" else ("members", lv)
        levels.append(Level(lv, path, parent, "/".join(path), {"default": lv}, ()))
    variables = []
    for lv, cols in SCHEMA.items():
        for col, concept, typ, lst in cols:
            name = rename.get(col, col)
            variables.append(
                Variable(name=name, type=typ, level=lv, list_name=lst, concept=concept)
            )
            if typ == "select_multiple":
                for u in USES:
                    variables.append(
                        Variable(
                            name=f"{name}_{u}",
                            type="integer",
                            level=lv,
                            kind="option",
                            parent=name,
                            option=u,
                        )
                    )
    return FormMetadata(
        title="test survey",
        form_id="test_survey",
        version="1",
        default_language="English (en)",
        languages=["English (en)"],
        levels=levels,
        variables=variables,
        choices=_choices(),
    )


def _keys(parent_keys: np.ndarray, counts: np.ndarray, segment: str) -> dict[str, np.ndarray]:
    parent = np.repeat(parent_keys, counts)
    pos = (
        np.concatenate([np.arange(1, c + 1) for c in counts]) if counts.sum() else np.array([], int)
    )
    return {
        KEY: np.array(
            [f"{p}/{segment}[{i}]" for p, i in zip(parent, pos, strict=True)], dtype=object
        ),
        PARENT_KEY: parent,
        ROW_POS: pos,
    }


def build_survey(
    seed: int = 7,
    strata: int = 4,
    psus: int = 8,
    households: int = 10,
    rename: dict[str, str] | None = None,
) -> tuple[Dataset, dict[str, Any]]:
    """The survey as a :class:`Dataset` and the design spec (columns on the household table)."""
    rename = rename or {}
    rng = np.random.default_rng(seed)
    n_hh = strata * psus * households
    stratum = np.repeat(np.arange(1, strata + 1), psus * households)
    psu = np.repeat(np.arange(strata * psus), households)
    psu_effect = rng.uniform(0.3, 1.7, strata * psus)[psu]
    weight = (50.0 * stratum) * rng.uniform(0.8, 1.2, strata * psus)[psu]
    hh_key = np.array([f"uuid:{i:05d}" for i in range(n_hh)], dtype=object)
    today = pd.Timestamp("2024-11-01") + pd.to_timedelta(rng.integers(0, 120, n_hh), unit="D")
    emig_any = (rng.random(n_hh) < 0.3 * psu_effect).astype(int)
    emig_any[rng.random(n_hh) < 0.03] = -8
    rem = (rng.random(n_hh) < 0.35 * psu_effect).astype(int)
    rem[rng.random(n_hh) < 0.03] = -9
    uses = (rng.random((n_hh, len(USES))) < [0.7, 0.3, 0.2, 0.1]).astype(float)
    uses[rem != 1] = np.nan
    hh = pd.DataFrame(
        {
            KEY: hh_key,
            "stratum": stratum,
            "psu": psu,
            "wt": weight,
            "today": today,
            "q_emig_any": pd.array(emig_any, dtype="Int64"),
            "q_rem": pd.array(rem, dtype="Int64"),
            "q_uses": pd.array(
                [
                    " ".join(u for u, f in zip(USES, row, strict=True) if f == 1)
                    if r == 1
                    else None
                    for row, r in zip(uses, rem, strict=True)
                ],
                dtype="string",
            ),
        }
    )
    for j, u in enumerate(USES):
        hh[f"q_uses_{u}"] = pd.array(uses[:, j], dtype="Float64").astype("Int8")

    # members
    n_mem = 1 + rng.poisson(3, n_hh)
    mk = _keys(hh_key, n_mem, "members")
    m = len(mk[KEY])
    m_eff = np.repeat(psu_effect, n_mem)
    m_root = mk[PARENT_KEY]
    age = rng.integers(0, 85, m).astype(float)
    age[rng.random(m) < 0.02] = -8
    born = (rng.random(m) > 0.2 * m_eff).astype(float)
    born[rng.random(m) < 0.02] = -9
    foreign = born == 0
    cob = np.where(foreign, rng.choice(COUNTRIES, m), None)
    cit = np.where(born == 1, 1, rng.choice([2, 3, 4], m, p=[0.25, 0.65, 0.1])).astype(float)
    arrival = np.where(foreign | (born < 0), rng.integers(1990, 2025, m), np.nan)
    arrival[(~np.isnan(arrival)) & (rng.random(m) < 0.05)] = -8
    adult = age >= 15
    act = np.where(adult, rng.integers(1, 8, m), np.nan)
    ret = np.where(adult, (rng.random(m) < 0.12 * m_eff).astype(float), np.nan)
    asked = (age >= 15) & (age <= 59) & (ret == 0)
    intent = np.where(asked, (rng.random(m) < 0.2).astype(float), np.nan)
    intent[asked & (rng.random(m) < 0.03)] = -8
    dest = np.where(intent == 1, rng.choice(COUNTRIES, m), None)
    moved = np.where(adult, (rng.random(m) < np.where(ret == 1, 0.6, 0.05)).astype(float), np.nan)
    wage = np.where(moved == 1, (rng.random(m) < 0.85).astype(float), np.nan)
    worker = (moved == 1) & (wage == 1)
    period = np.where(worker, rng.integers(1, 5, m), np.nan)
    days = np.where(period == 4, rng.integers(15, 31, m), np.nan)
    earn = np.where(worker, rng.lognormal(8.0, 0.5, m).round(2), np.nan)
    earn = np.where(
        period == 4, (earn / 25).round(2), np.where(period == 3, (earn / 4).round(2), earn)
    )
    earn_cur = np.where(worker, rng.choice(CURRENCIES, m), None)
    recr_year = np.where(worker, rng.integers(2021, 2025, m), np.nan)
    recr_dest = np.where(worker, rng.choice(COUNTRIES, m), None)
    members = pd.DataFrame(
        {
            **mk,
            ROOT_KEY: m_root,
            "q_sex": pd.array(rng.integers(1, 3, m), dtype="Int64"),
            "q_age": pd.array(age, dtype="Float64").astype("Int64"),
            "q_born": pd.array(born, dtype="Float64").astype("Int64"),
            "q_cob": pd.array(cob, dtype="string"),
            "q_cit": pd.array(cit, dtype="Float64").astype("Int64"),
            "q_arrival": pd.array(arrival, dtype="Float64").astype("Int64"),
            "q_act": pd.array(act, dtype="Float64").astype("Int64"),
            "q_ret": pd.array(ret, dtype="Float64").astype("Int64"),
            "q_intent": pd.array(intent, dtype="Float64").astype("Int64"),
            "q_dest": pd.array(dest, dtype="string"),
            "q_moved": pd.array(moved, dtype="Float64").astype("Int64"),
            "q_wage": pd.array(wage, dtype="Float64").astype("Int64"),
            "q_period": pd.array(period, dtype="Float64").astype("Int64"),
            "q_days": pd.array(days, dtype="Float64").astype("Int64"),
            "q_earn": pd.array(earn, dtype="Float64"),
            "q_earn_cur": pd.array(earn_cur, dtype="string"),
            "q_recr_year": pd.array(recr_year, dtype="Float64").astype("Int64"),
            "q_recr_dest": pd.array(recr_dest, dtype="string"),
        }
    )

    # emigrants
    n_em = np.where(emig_any == 1, 1 + rng.poisson(0.6, n_hh), 0)
    ek = _keys(hh_key, n_em, "emigrants")
    e = len(ek[KEY])
    emigrants = pd.DataFrame(
        {
            **ek,
            ROOT_KEY: ek[PARENT_KEY],
            "e_sex": pd.array(rng.integers(1, 3, e), dtype="Int64"),
            "e_age_dep": pd.array(rng.integers(15, 55, e), dtype="Int64"),
            "e_year_dep": pd.array(rng.integers(2012, 2025, e), dtype="Int64"),
            "e_country": pd.array(rng.choice(COUNTRIES, e, p=[0.4, 0.3, 0.2, 0.1]), dtype="string"),
        }
    )

    # remittance senders
    n_s = np.where(rem == 1, 1 + rng.poisson(0.5, n_hh), 0)
    sk = _keys(hh_key, n_s, "senders")
    s = len(sk[KEY])
    cash = (rng.random(s) < 0.85).astype(float)
    amount = np.where(cash == 1, rng.lognormal(7.5, 0.8, s).round(2), np.nan)
    amount[(cash == 1) & (rng.random(s) < 0.03)] = -8
    senders = pd.DataFrame(
        {
            **sk,
            ROOT_KEY: sk[PARENT_KEY],
            "s_cash": pd.array(cash, dtype="Float64").astype("Int64"),
            "s_amount": pd.array(amount, dtype="Float64"),
            "s_cur": pd.array(np.where(cash == 1, rng.choice(CURRENCIES, s), None), dtype="string"),
            "s_channel": pd.array(
                np.where(cash == 1, rng.integers(1, 7, s), np.nan), dtype="Float64"
            ).astype("Int64"),
        }
    )

    # recruitment-cost items of workers
    n_c = np.where(worker, rng.integers(0, 4, m), 0)
    ck = _keys(mk[KEY], n_c, "costs")
    c = len(ck[KEY])
    paid = (rng.random(c) < 0.8).astype(float)
    amount_c = np.where(paid == 1, rng.lognormal(7.0, 0.7, c).round(2), np.nan)
    reimb = np.where(paid == 1, (rng.random(c) < 0.25).astype(float), np.nan)
    reimb[(paid == 1) & (rng.random(c) < 0.02)] = -8
    refund = np.where(reimb == 1, (amount_c * rng.uniform(0.1, 1.0, c)).round(2), np.nan)
    costs = pd.DataFrame(
        {
            **ck,
            ROOT_KEY: np.repeat(m_root, n_c),
            "c_item": pd.array(rng.integers(1, 4, c), dtype="Int64"),
            "c_paid": pd.array(paid, dtype="Float64").astype("Int64"),
            "c_amount": pd.array(amount_c, dtype="Float64"),
            "c_cur": pd.array(np.where(paid == 1, rng.choice(CURRENCIES, c), None), dtype="string"),
            "c_reimb": pd.array(reimb, dtype="Float64").astype("Int64"),
            "c_refund": pd.array(refund, dtype="Float64"),
        }
    )
    # drawn last so that the columns above do not depend on them
    members["q_forced"] = pd.array(
        np.where(adult, (rng.random(m) < 0.03).astype(float), np.nan), dtype="Float64"
    ).astype("Int64")
    asked_work = adult & ((born == 0) | np.isin(cit, [3, 4]))
    forwork = np.where(asked_work, rng.integers(1, 4, m), np.nan)
    forwork[asked_work & (rng.random(m) < 0.03)] = -9
    members["q_forwork"] = pd.array(forwork, dtype="Float64").astype("Int64")
    tables = {
        "household": hh,
        "members": members,
        "emigrants": emigrants,
        "senders": senders,
        "costs": costs,
    }
    renamed = {}
    for lv, df in tables.items():
        mapping = {col: rename[col] for col in df.columns if col in rename}
        for col in df.columns:
            for old, new in rename.items():
                if col.startswith(old + "_") and col[len(old) + 1 :] in USES:
                    mapping[col] = f"{new}_{col[len(old) + 1 :]}"
        renamed[lv] = df.rename(columns=mapping)
    design = {"ids": "psu", "strata": "stratum", "weights": "wt"}
    return Dataset(renamed, _metadata(rename)), design
