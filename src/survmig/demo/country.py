"""A synthetic country for the demo: households, persons, emigrants, return migrants and remittances.

The households, enumeration areas (EAs), census-prevalence strata and migrant classes come from
:func:`survmig.sampling.population.synthetic_population` (clustered migration on a grid of EAs);
this module adds what a household questionnaire asks about: regions (quadrants of the EA grid),
the persons of each household (sex, age, country of birth, citizenship, activity, return and
intention to migrate), the former members now abroad (destination, departure, remittances), the
return migrants' histories and the remittance senders. Everything is drawn with array operations
from one seed, so the same seed gives the same country.

The tables hold *true* values keyed by the concepts of ``modules/concepts.yaml``; the response
generator (:mod:`survmig.demo.responses`) turns them into answers to the form.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from survmig.arrays import positions_in_groups
from survmig.demo.districts import assign_districts
from survmig.sampling.population import synthetic_population

#: region code -> name (quadrants of the EA grid)
REGIONS = {1: "North", 2: "East", 3: "West", 4: "South"}
#: destinations of emigrants and their shares (ISO 3166 alpha-3, in the form's country list)
DESTINATIONS = {
    "FRA": 0.26,
    "ESP": 0.20,
    "ITA": 0.14,
    "BEL": 0.07,
    "NLD": 0.06,
    "DEU": 0.06,
    "SAU": 0.06,
    "ARE": 0.05,
    "QAT": 0.03,
    "USA": 0.03,
    "CAN": 0.04,
}
#: countries of birth of the foreign-born and their shares
ORIGINS = {"DZA": 0.2, "SEN": 0.2, "FRA": 0.15, "ESP": 0.1, "SYR": 0.15, "CIV": 0.1, "SDN": 0.1}
#: remittance channels (codes of the rem_channel list) and their shares
CHANNELS = {"1": 0.3, "2": 0.1, "5": 0.25, "6": 0.1, "10": 0.05, "11": 0.05, "12": 0.1, "16": 0.05}
#: age groups of the census totals used for calibration
AGE_GROUPS = ((0, 14), (15, 39), (40, 200))


@dataclasses.dataclass
class Country:
    """The synthetic country: one table per unit, with the truth the survey tries to estimate."""

    households: pd.DataFrame  # hh_id, ea, stratum, region, migrant_class, … and household answers
    persons: pd.DataFrame  # hh_id, line, sex, age, … (one row per usual member)
    emigrants: pd.DataFrame  # hh_id, line, sex, age, year_of_departure, destination, …
    returnees: pd.DataFrame  # hh_id, line (roster line), country, years, …
    senders: pd.DataFrame  # hh_id, line, country, amount, channel, …
    recruitment: pd.DataFrame  # hh_id, line (roster line of the worker), item, paid, amount, …
    survey_year: int

    def census_totals(self) -> pd.DataFrame:
        """The synthetic census: households by region, persons by region × sex × age group and by
        sex × age group (columns ``cell``, ``total``)."""
        p = self.persons.merge(self.households[["hh_id", "region"]], on="hh_id")
        parts = []
        for region in (p["region"], None):
            cells = calibration_cells(region, p["sex"], p["age"])
            parts.append(cells.value_counts().sort_index().rename("total").rename_axis("cell"))
        hh = self.households["region"].map(REGIONS).value_counts().sort_index()
        hh.index = "households_" + hh.index
        return pd.concat([hh.rename_axis("cell").rename("total"), *parts]).reset_index()


def calibration_cells(region: pd.Series | None, sex: pd.Series, age: pd.Series) -> pd.Series:
    """Cell names ``persons_<region>_<sex>_<age group>`` of the census totals
    (``persons_<sex>_<age group>`` without a region)."""
    edges = [lo for lo, _ in AGE_GROUPS[1:]]
    group = np.searchsorted(edges, np.asarray(age, float), side="right")
    labels = np.array([f"{lo}_{hi}" if hi < 200 else f"{lo}plus" for lo, hi in AGE_GROUPS])
    sex_label = np.where(np.asarray(sex).astype(str) == "1", "male", "female")
    names = "persons_"
    if region is not None:
        reg = np.asarray(region).astype(int)
        names = names + np.array([REGIONS[r] for r in sorted(REGIONS)], dtype=object)[reg - 1] + "_"
    return pd.Series(names + sex_label + "_" + labels[group], index=sex.index)


def _choice(rng: np.random.Generator, table: dict[str, float], n: int) -> np.ndarray:
    keys = np.array(list(table), dtype=object)
    p = np.array(list(table.values()), dtype=float)
    return keys[rng.choice(len(keys), size=n, p=p / p.sum())]


def synthetic_country(
    n_households: int = 40_000,
    *,
    seed: int = 1,
    prevalence: float = 0.14,
    mean_ea_size: float = 40.0,
    survey_year: int = 2025,
) -> Country:
    """Draw the country: ``n_households`` households with clustered emigration and return migration."""
    rng = np.random.default_rng(seed)
    hh = synthetic_population(
        n_households,
        n_strata=3,
        prevalence=prevalence,
        mean_ea_size=mean_ea_size,
        return_share=0.35,
        remittance_rates=(0.65, 0.2, 0.04),
        seed=int(rng.integers(2**31)),
    )
    half_r = (hh["row"].max() + 1) / 2
    half_c = (hh["col"].max() + 1) / 2
    hh["region"] = 1 + (hh["row"] >= half_r).astype(int) * 2 + (hh["col"] >= half_c).astype(int)
    assign_districts(hh, seed)
    n = len(hh)
    klass = hh["migrant_class"].astype(str).to_numpy()
    emig_hh = klass == "current_emigrant"
    ret_hh = klass == "return_migrant"
    # interview date and times (the screener visit comes first; interviews in March-April)
    day = pd.Timestamp(f"{survey_year}-03-01") + pd.to_timedelta(rng.integers(0, 60, n), unit="D")
    hh["interview_date"] = day.to_numpy()
    hh["interview_year"], hh["interview_month"] = day.year.to_numpy(), day.month.to_numpy()
    start = day + pd.to_timedelta(8 * 3600 + rng.integers(0, 10 * 3600, n), unit="s")
    hh["interview_start"] = start.to_numpy()
    hh["interview_end"] = (start + pd.to_timedelta(rng.integers(30, 90, n), unit="m")).to_numpy()

    persons = _persons(rng, hh, survey_year)
    # return migrants: in return-migrant households one adult member (the head when possible)
    adult = persons["age"].to_numpy() >= 18
    cand = persons[adult & np.isin(persons["hh_id"], hh["hh_id"][ret_hh])]
    first = cand.sample(frac=1.0, random_state=int(rng.integers(2**31))).sort_values("line")
    first = first.drop_duplicates("hh_id")
    persons["returned"] = 0
    persons.loc[first.index, "returned"] = 1
    persons["returned"] = persons["returned"].where(persons["age"] >= 15)
    _birth_and_citizenship(rng, persons, hh, survey_year)
    returnees = _returnees(rng, persons, survey_year)
    recruitment = _recruitment(rng, persons, returnees, survey_year)
    _arrival(rng, persons, returnees, survey_year)
    _intentions(rng, persons, hh)
    _labour(rng, persons, returnees)
    emigrants = _emigrants(rng, hh[emig_hh], survey_year)
    senders = _senders(rng, hh)

    hh["hh_member_abroad"] = emig_hh.astype(int)
    hh["hh_n_emigrants"] = (
        emigrants.groupby("hh_id").size().reindex(hh["hh_id"]).fillna(0).astype(int).to_numpy()
    )
    hh["hh_n_return_migrants"] = (
        persons.groupby("hh_id")["returned"].sum().reindex(hh["hh_id"]).fillna(0).to_numpy()
    ).astype(int)
    hh["hh_n_forced_migrants"] = (
        # the form's count repeats the screen's age floor (15)
        persons["forced"]
        .where(persons["age"] >= 15, 0)
        .groupby(persons["hh_id"])
        .sum()
        .reindex(hh["hh_id"])
        .fillna(0)
        .to_numpy()
    ).astype(int)
    # a sender who is a former member abroad is linked to that emigrant's line (0: someone else);
    # only an emigrant reported as sending money or goods can be linked (a form constraint)
    sends = emigrants.set_index(["hh_id", "line"])["sends"]
    linked = pd.MultiIndex.from_arrays([senders["hh_id"], senders["line"]])
    link_ok = sends.reindex(linked).fillna(0).to_numpy() == 1
    senders["emigrant_line"] = np.where(link_ok, senders["line"], 0)
    hh["rem_received"] = hh["remittances"].astype(int)
    hh["rem_n_senders"] = (
        senders.groupby("hh_id").size().reindex(hh["hh_id"]).fillna(0).astype(int).to_numpy()
    )
    hh["rem_sent"] = (rng.random(n) < 0.03).astype(int)
    return Country(hh, persons, emigrants, returnees, senders, recruitment, survey_year)


def _persons(rng: np.random.Generator, hh: pd.DataFrame, year: int) -> pd.DataFrame:
    size = hh["size"].to_numpy().clip(1, 30)
    hh["size"] = size
    idx = np.repeat(np.arange(len(hh)), size)
    line = positions_in_groups(size)
    m = len(idx)
    head_age = (25 + rng.gamma(4.0, 6.0, len(hh))).clip(18, 95).astype(int)
    head_male = rng.random(len(hh)) < 0.8
    rel = np.where(line == 1, 1, np.where(line == 2, 2, 3))
    other = rng.random(m) < 0.1
    rel = np.where((line > 1) & other, 5, rel)
    ha = head_age[idx]
    age = np.select(
        [rel == 1, rel == 2, rel == 3],
        [
            ha,
            (ha - rng.integers(0, 10, m)).clip(18, None),
            rng.integers(0, 1 + (ha - 18).clip(1, 35)),
        ],
        default=rng.integers(0, 86, m),
    )
    male = np.where(
        rel == 1, head_male[idx], np.where(rel == 2, ~head_male[idx], rng.random(m) < 0.5)
    )
    day = pd.DatetimeIndex(hh["interview_date"].to_numpy()[idx])
    dob_known = rng.random(m) < 0.6
    # a birth date giving exactly `age` completed years (365.25-day years, as the form computes)
    offset_days = np.floor((age + rng.uniform(0.05, 0.95, m)) * 365.25).astype(int)
    dob = (day - pd.to_timedelta(offset_days, unit="D")).normalize()
    act = np.full(m, np.nan)
    u = rng.random(m)
    working = age >= 15
    act = np.where(working & (age < 25) & (u < 0.45), 3, act)
    act = np.where(working & np.isnan(act) & (age >= 62) & (u < 0.6), 5, act)
    act = np.where(working & np.isnan(act), np.where(u < 0.55, 1, np.where(u < 0.65, 2, 4)), act)
    return pd.DataFrame(
        {
            "hh_id": hh["hh_id"].to_numpy()[idx],
            "line": line,
            "relationship": rel,
            "sex": np.where(male, 1, 2),
            "age": age.astype(int),
            "dob_known": dob_known.astype(int),
            "date_of_birth": dob.to_numpy(),
            "activity": act,
        }
    )


def _birth_and_citizenship(
    rng: np.random.Generator, p: pd.DataFrame, hh: pd.DataFrame, year: int
) -> None:
    m = len(p)
    # immigrants concentrate in the North region (the big cities) and in some districts
    rate = hh.set_index("hh_id")["foreign_rate"].reindex(p["hh_id"]).to_numpy()
    foreign = (rng.random(m) < rate) & (p["returned"].fillna(0).to_numpy() == 0)
    p["born_here"] = np.where(foreign, 0, 1)
    p["country_of_birth"] = np.where(foreign, _choice(rng, ORIGINS, m), None)
    u = rng.random(m)
    cit = np.where(
        foreign, np.where(u < 0.7, 3, np.where(u < 0.95, 2, 4)), np.where(u < 0.99, 1, 2)
    )
    p["citizenship"] = cit
    p["country_of_citizenship"] = np.where(cit == 3, p["country_of_birth"], None)
    p["dual"] = np.where(np.isin(cit, [1, 2]), (rng.random(m) < 0.04).astype(int), np.nan)
    forced_origin = np.isin(p["country_of_birth"].astype(str), ["SYR", "SDN"])
    p["forced"] = (foreign & forced_origin & (rng.random(m) < 0.6)).astype(int)
    p["ever_abroad"] = np.where(
        foreign, np.nan, np.where(p["returned"].fillna(0) == 1, 1, (rng.random(m) < 0.01) * 1)
    )


def _returnees(rng: np.random.Generator, p: pd.DataFrame, year: int) -> pd.DataFrame:
    r = p[p["returned"] == 1]
    k = len(r)
    age = r["age"].to_numpy()
    years_back = np.minimum(rng.poisson(3.0, k), (age - 18).clip(0, None))
    ret_year = year - years_back
    duration = 6 + np.round(rng.gamma(1.5, 16.0, k)).astype(int)
    max_months = ((age - years_back) * 12).clip(6, None)
    duration = np.minimum(duration, max_months)
    dep_year = ret_year - duration // 12
    citizen = np.isin(r["citizenship"].to_numpy(), [1, 2])
    intend_stay = rng.random(k) < 0.8
    return pd.DataFrame(
        {
            "hh_id": r["hh_id"].to_numpy(),
            "line": r["line"].to_numpy(),
            "age": age,
            "country": _choice(rng, DESTINATIONS, k),
            "dep_year": dep_year,
            "age_departure": (age - (year - dep_year)).clip(0, None),
            "ret_year": ret_year,
            "ret_month": rng.integers(1, 13, k),
            "duration": duration,
            "worked": (rng.random(k) < 0.75).astype(int),
            "paid_recruiter": (rng.random(k) < 0.3).astype(int),
            "recruiter_fee": np.round(np.exp(rng.normal(np.log(12_000), 0.7, k)), -2),
            "citizen": citizen.astype(int),
            "intend_stay": intend_stay.astype(int),
            # UN 1998 Rev.1 returning migrant (the form's default definition), back in the window
            "returning": (citizen & intend_stay & (ret_year >= year - 5)).astype(int),
        }
    )


#: recruitment cost items (the module's six items): chance of paying and median cost in dirham
COST_ITEMS = {
    1: (0.45, 15_000),
    2: (0.9, 3_000),
    3: (0.6, 800),
    4: (0.2, 1_500),
    5: (0.85, 4_000),
    6: (0.1, 1_000),
}


def _recruitment(
    rng: np.random.Generator, p: pd.DataFrame, ret: pd.DataFrame, year: int, years: int = 3
) -> pd.DataFrame:
    """SDG 10.7.1: returnees who left for a job in the last ``years`` years, their costs and first
    monthly earnings (on the persons table) and one row per cost item."""
    m = len(p)
    target = ret[(ret["worked"] == 1) & (ret["dep_year"] >= year - years)]
    key = pd.MultiIndex.from_arrays([p["hh_id"], p["line"]])
    at = pd.MultiIndex.from_arrays([target["hh_id"], target["line"]]).get_indexer(key)
    moved = at >= 0
    p["moved_for_job"] = np.where(p["age"] >= 15, moved.astype(int), np.nan)
    # a returnee who went for a job stayed abroad 6 months or more: changed usual residence
    p["rc_changed"] = np.where(moved, 1, np.nan)
    wage = moved & (rng.random(m) < 0.85)
    p["wage_worker"] = np.where(moved, wage.astype(int), np.nan)
    pick = np.where(at >= 0, at, 0)
    p["rc_destination"] = np.where(wage, target["country"].to_numpy()[pick], None)
    p["rc_year"] = np.where(wage, target["dep_year"].to_numpy()[pick], np.nan)
    p["rc_pay_period"] = np.where(wage, 1, np.nan)
    p["rc_currency"] = np.where(wage, "MAD", None)
    earnings = np.round(np.exp(rng.normal(np.log(9_000), 0.5, m)), -1)
    p["rc_earnings"] = np.where(wage, earnings, np.nan)
    workers = p[wage]
    n_items = len(COST_ITEMS)
    k = len(workers) * n_items
    item = np.tile(np.arange(1, n_items + 1), len(workers))
    chance = np.array([c for c, _ in COST_ITEMS.values()])[item - 1]
    median = np.array([v for _, v in COST_ITEMS.values()], float)[item - 1]
    paid = rng.random(k) < chance
    reimbursed = paid & (rng.random(k) < 0.1)
    return pd.DataFrame(
        {
            "hh_id": np.repeat(workers["hh_id"].to_numpy(), n_items),
            "line": np.repeat(workers["line"].to_numpy(), n_items),
            "item": item,
            "paid": paid.astype(int),
            "currency": np.where(paid, "MAD", None),
            "amount": np.where(
                paid, np.round(np.exp(rng.normal(np.log(median), 0.6, k)), -1), np.nan
            ),
            "deducted": np.where(paid, (rng.random(k) < 0.2).astype(int), np.nan),
            "reimbursed": np.where(paid, reimbursed.astype(int), np.nan),
        }
    )


def _arrival(rng: np.random.Generator, p: pd.DataFrame, ret: pd.DataFrame, year: int) -> None:
    m = len(p)
    age = p["age"].to_numpy()
    arrival = year - np.floor(rng.random(m) * (age + 1)).astype(int)
    back = ret.set_index(["hh_id", "line"])["ret_year"]
    key = pd.MultiIndex.from_arrays([p["hh_id"], p["line"]])
    ret_year = back.reindex(key).to_numpy()
    arrival = np.where(np.isfinite(ret_year), ret_year, arrival)
    moved = (p["born_here"] == 0) | (p["ever_abroad"] == 1)
    p["year_of_arrival"] = np.where(moved, arrival, np.nan)
    p["month_of_arrival"] = np.where(moved, rng.integers(1, 13, m), np.nan)
    p["prev_country"] = np.where(
        p["born_here"] == 0, p["country_of_birth"], _choice(rng, DESTINATIONS, m)
    )
    since = year - p["year_of_arrival"].to_numpy()
    u = rng.random(m)
    for col, span, min_age in (("res_1y", 1, 1), ("res_5y", 5, 5)):
        abroad = moved.to_numpy() & (since < span)
        place = np.where(abroad, 3, np.where(u < 0.06 * span**0.5, 2, 1))
        p[col] = np.where(age >= min_age, place, np.nan)


def _labour(rng: np.random.Generator, p: pd.DataFrame, ret: pd.DataFrame) -> None:
    """ILO labour migration: why immigrants came (work or not) and work abroad of returnees."""
    m = len(p)
    adult = p["age"].to_numpy() >= 15
    immigrant = (p["born_here"] == 0).to_numpy() | np.isin(p["citizenship"], [3, 4])
    why = np.array([1, 2, 3])[rng.choice(3, size=m, p=[0.3, 0.2, 0.5])]
    p["for_work"] = np.where(adult & immigrant, why, np.nan)
    key = pd.MultiIndex.from_arrays([p["hh_id"], p["line"]])
    worked = ret[ret["worked"] == 1]
    at = pd.MultiIndex.from_arrays([worked["hh_id"], worked["line"]]).get_indexer(key)
    pick = np.where(at >= 0, at, 0)
    p["worked_abroad"] = np.where(adult, (at >= 0).astype(int), np.nan)
    p["work_country"] = np.where(at >= 0, worked["country"].to_numpy()[pick], None)
    years = np.round(np.maximum(worked["duration"].to_numpy() / 12, 0.5), 1)
    p["work_years"] = np.where(at >= 0, years[pick] if len(years) else np.nan, np.nan)
    p["work_back_year"] = np.where(
        at >= 0, worked["ret_year"].to_numpy()[pick] if len(worked) else np.nan, np.nan
    )


def _intentions(rng: np.random.Generator, p: pd.DataFrame, hh: pd.DataFrame) -> None:
    m = len(p)
    migrant_hh = hh.set_index("hh_id")["is_migrant"].reindex(p["hh_id"]).to_numpy()
    asked = (p["returned"] == 0).to_numpy() & (p["age"].to_numpy() <= 59)
    ever = rng.random(m) < np.where(migrant_hh, 0.4, 0.18)
    p["im_ever"] = np.where(asked, ever.astype(int), np.nan)
    p["im_12m"] = np.where(asked & ever, (rng.random(m) < 0.45).astype(int), np.nan)
    p["im_destination"] = np.where(asked & ever, _choice(rng, DESTINATIONS, m), None)


def _emigrants(rng: np.random.Generator, hh: pd.DataFrame, year: int) -> pd.DataFrame:
    count = np.minimum(1 + rng.poisson(0.4, len(hh)), 30)
    idx = np.repeat(np.arange(len(hh)), count)
    k = len(idx)
    # left 7 months to 5 years before the interview: within the window, and away for longer than
    # the usual-residence rule (6 months), so no longer a member of the household
    month_now = hh["interview_month"].to_numpy()[idx]
    when = year * 12 + month_now - 1 - rng.integers(7, 60 + month_now)
    dep_year, dep_month = when // 12, when % 12 + 1
    age_dep = rng.integers(15, 46, k)
    return pd.DataFrame(
        {
            "hh_id": hh["hh_id"].to_numpy()[idx],
            "line": positions_in_groups(count),
            "sex": np.where(rng.random(k) < 0.68, 1, 2),
            "relationship": np.where(rng.random(k) < 0.8, 3, 4),
            "dep_year": dep_year,
            "dep_month": dep_month,
            "age_departure": age_dep,
            "age": age_dep + (year - dep_year),
            "country": _choice(rng, DESTINATIONS, k),
            "sends": (rng.random(k) < 0.6).astype(int),
        }
    )


def _senders(rng: np.random.Generator, hh: pd.DataFrame) -> pd.DataFrame:
    rec = hh[hh["remittances"].to_numpy()]
    count = np.minimum(1 + rng.poisson(0.3, len(rec)), 10)
    idx = np.repeat(np.arange(len(rec)), count)
    k = len(idx)
    cash = rng.random(k) < 0.92
    goods = rng.random(k) < 0.2
    cash = cash | ~goods  # a sender sent money or goods
    return pd.DataFrame(
        {
            "hh_id": rec["hh_id"].to_numpy()[idx],
            "line": positions_in_groups(count),
            "sex": np.where(rng.random(k) < 0.7, 1, 2),
            "country": _choice(rng, DESTINATIONS, k),
            "cash": cash.astype(int),
            "goods": goods.astype(int),
            "amount": np.where(
                cash, np.round(np.exp(rng.normal(np.log(15_000), 0.8, k)), -2), np.nan
            ),
            "channel": np.where(cash, _choice(rng, CHANNELS, k), None),
        }
    )
