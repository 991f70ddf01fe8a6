"""Answers to the form for every household of the synthetic country, consistent with its skip logic.

The form drives the generation: level by level (household, then each repeat) and question by
question in form order, a question is answered only where its relevance (and its groups' and its
repeat's) holds on the answers already given, as ODK Collect would ask it. Answers come from the
country's true values, found through the question's **concept** (so a country that renames a
question still gets the right answers); questions the country does not model get a plausible
answer of the right type inside the choice list and the constraint (the generic drawer of
:mod:`survmig.data.synthetic`). Repeats get exactly as many instances as their count question says.
A few numeric answers are don't know (-8) or refused (-9), where the form allows it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from survmig.arrays import positions_in_groups
from survmig.conventions import DONT_KNOW, REFUSED
from survmig.data import KEY, PARENT_KEY, ROOT_KEY, ROW_POS, Dataset, FormMetadata
from survmig.data.logic import form_context
from survmig.data.synthetic import (
    fill_level,
    flat_view,
    passes_constraint,
    random_hex,
    relevance_mask,
)
from survmig.data.xpath import evaluate, parse
from survmig.demo.country import Country

#: concept -> column of the country's table, per unit of the country
HOUSEHOLD = {
    "interview_start": "interview_start",
    "interview_end": "interview_end",
    "interview_date": "interview_date",
    "interview_year": "interview_year",
    "interview_month": "interview_month",
    "hh_size": "size",
    "hh_n_return_migrants": "hh_n_return_migrants",
    "hh_n_forced_migrants": "hh_n_forced_migrants",
    "hh_member_abroad": "hh_member_abroad",
    "hh_n_emigrants": "hh_n_emigrants",
    "hh_received_remittances_12m": "rem_received",
    "hh_n_remittance_senders": "rem_n_senders",
    "hh_sent_remittances_12m": "rem_sent",
}
PERSON = {
    "relationship_to_head": "relationship",
    "sex": "sex",
    "date_of_birth_known": "dob_known",
    "date_of_birth": "date_of_birth",
    "age_reported": "age",
    "age": "age",
    "activity_status": "activity",
    "return_migrant_screen": "returned",
    "forced_migrant_screen": "forced",
    "born_in_country": "born_here",
    "country_of_birth": "country_of_birth",
    "citizenship_status": "citizenship",
    "country_of_citizenship": "country_of_citizenship",
    "dual_citizenship": "dual",
    "ever_lived_abroad": "ever_abroad",
    "year_of_arrival": "year_of_arrival",
    "month_of_arrival": "month_of_arrival",
    "country_of_previous_residence": "prev_country",
    "residence_1y_ago": "res_1y",
    "residence_5y_ago": "res_5y",
    "intention_to_migrate_ever": "im_ever",
    "intention_to_migrate_12m": "im_12m",
    "intended_destination": "im_destination",
    "for_work_migration": "for_work",
    "ever_worked_abroad": "worked_abroad",
    "country_of_work_abroad": "work_country",
    "years_worked_abroad": "work_years",
    "year_back_from_work_abroad": "work_back_year",
    "moved_for_job_recent": "moved_for_job",
    "recruitment_changed_residence": "rc_changed",
    "recruitment_wage_worker": "wage_worker",
    "recruitment_destination": "rc_destination",
    "recruitment_year": "rc_year",
    "first_earnings_pay_period": "rc_pay_period",
    "first_month_earnings_currency": "rc_currency",
    "first_month_earnings": "rc_earnings",
}
#: one row per recruitment cost item of a worker (a repeat inside the person)
RECRUITMENT = {
    "recruitment_cost_paid": "paid",
    "recruitment_cost_currency": "currency",
    "recruitment_cost_amount": "amount",
    "recruitment_cost_deducted": "deducted",
    "recruitment_cost_reimbursed": "reimbursed",
}
EMIGRANT = {
    "sex": "sex",
    "relationship_to_head": "relationship",
    "age": "age",
    "year_of_departure": "dep_year",
    "month_of_departure": "dep_month",
    "age_at_departure": "age_departure",
    "country_of_residence": "country",
    "sends_remittances": "sends",
}
RETURNEE = {
    "roster_line": "line_in_roster",
    "country_of_last_residence_abroad": "country",
    "year_of_departure": "dep_year",
    "age_at_departure": "age_departure",
    "year_of_return": "ret_year",
    "month_of_return": "ret_month",
    "duration_abroad_months": "duration",
    "worked_abroad": "worked",
    "paid_recruitment_fees": "paid_recruiter",
    "recruitment_fees_currency": "currency",
    "recruitment_fees_amount": "recruiter_fee",
    "return_migrant_citizen": "citizen",
    "intention_to_stay_12m": "intend_stay",
    "returning_migrant": "returning",
}
SENDER = {
    "sender_emigrant_line": "emigrant_line",
    "sex": "sex",
    "country_of_residence": "country",
    "received_cash_12m": "cash",
    "received_in_kind_12m": "goods",
    "remittance_currency": "currency",
    "remittance_amount_12m": "amount",
    "remittance_channel": "channel",
}
#: concept -> share of don't know (-8) and refused (-9) answers, where the form accepts them
SPECIALS = {
    "remittance_amount_12m": (0.02, 0.01),
    "age_at_departure": (0.01, 0.0),
    "year_of_arrival": (0.01, 0.0),
}


def _unit_of(form: FormMetadata, level: str) -> str | None:
    """Which country table a repeat holds, from the concepts of its questions."""
    concepts = {v.concept for v in form.data_variables(level) if v.concept}
    if "recruitment_cost_paid" in concepts:
        return "recruitment"
    if "roster_line" in concepts:
        return "returnees"
    if "remittance_amount_12m" in concepts:
        return "senders"
    if "year_of_departure" in concepts and "country_of_residence" in concepts:
        return "emigrants"
    if "relationship_to_head" in concepts and "date_of_birth_known" in concepts:
        return "persons"
    return None


def _truth_tables(
    country: Country, currency: str
) -> dict[str, tuple[pd.DataFrame, dict[str, str]]]:
    ret = country.returnees.copy()
    ret["line_in_roster"] = ret["line"]
    ret["line"] = ret.groupby("hh_id").cumcount() + 1
    ret["currency"] = currency
    senders = country.senders.copy()
    senders["currency"] = currency
    return {
        "persons": (country.persons, PERSON),
        "emigrants": (country.emigrants, EMIGRANT),
        "returnees": (ret, RETURNEE),
        "senders": (senders, SENDER),
        "recruitment": (
            country.recruitment.rename(columns={"line": "person", "item": "line"}),
            RECRUITMENT,
        ),
    }


def _typed(form: FormMetadata, var, values: pd.Series) -> pd.Series:
    """Values typed exactly as an import of the export types them."""
    values = values.reset_index(drop=True)
    if var.type in ("select_one", "select_multiple") and form.is_string_coded(var):
        return values.astype("string")
    if var.type in ("select_one", "integer", "calculate"):
        return pd.to_numeric(values).round().astype("Int64")
    if var.type in ("decimal",):
        return pd.to_numeric(values).astype("Float64")
    if var.type in ("date", "today", "start", "end", "datetime"):
        return pd.Series(pd.to_datetime(values)).astype("datetime64[ms]")
    return values.astype("string")


def form_responses(
    form: FormMetadata, country: Country, *, seed: int = 1, currency: str = "MAD"
) -> tuple[Dataset, pd.Series]:
    """Every household's answers as a :class:`Dataset`, and the household id of each submission.

    Row ``i`` of the root table is household ``country.households.hh_id[i]``.
    """
    rng = np.random.default_rng(seed)
    hh = country.households
    truth = _truth_tables(country, currency)
    tables: dict[str, pd.DataFrame] = {}
    hh_of: dict[str, np.ndarray] = {}
    # each row's positions in the repeats from the root down (person line, then item number…)
    path_of: dict[str, list[np.ndarray]] = {}
    for level in form.levels.values():
        if level.parent is None:
            keys = pd.Series([f"uuid:{random_hex(rng)}" for _ in range(len(hh))], dtype="string")
            frame = pd.DataFrame({KEY: keys})
            parent_view = pd.DataFrame(index=frame.index)
            given = {c: hh[col].reset_index(drop=True) for c, col in HOUSEHOLD.items()}
            hh_of[level.name] = hh["hh_id"].to_numpy()
            path_of[level.name] = []
        else:
            parent = tables[level.parent]
            flat_parent = flat_view(tables, form, level.parent)
            counts = _count(form, level, flat_parent)
            idx = np.repeat(np.arange(len(parent)), counts)
            pos = positions_in_groups(counts)
            pkeys = parent[KEY].to_numpy(dtype=object)[idx]
            root = parent[ROOT_KEY].to_numpy(dtype=object)[idx] if ROOT_KEY in parent else pkeys
            frame = pd.DataFrame(
                {
                    KEY: pd.Series(pkeys + f"/{level.key_segment}[" + pos.astype(str) + "]"),
                    PARENT_KEY: pkeys,
                    ROOT_KEY: root,
                    ROW_POS: pd.array(pos, dtype="Int64"),
                }
            )
            parent_view = flat_parent.iloc[idx].reset_index(drop=True)
            ids = hh_of[level.parent][idx]
            hh_of[level.name] = ids
            path = [p[idx] for p in path_of[level.parent]] + [pos]
            path_of[level.name] = path
            unit = _unit_of(form, level.name)
            given = {}
            if unit is not None:
                table, concepts = truth[unit]
                cols = ["hh_id", *(["person"] if len(path) == 2 else []), "line"]
                at = pd.MultiIndex.from_arrays([table[c] for c in cols])
                row = at.get_indexer(pd.MultiIndex.from_arrays([ids, *path]))
                for concept, col in concepts.items():
                    vals = table[col].reset_index(drop=True)
                    taken = vals.iloc[np.where(row >= 0, row, 0)].reset_index(drop=True)
                    given[concept] = taken.where(pd.Series(row >= 0))
        _fill(form, level.name, frame, parent_view, given, rng)
        for col in (KEY, PARENT_KEY, ROOT_KEY):
            if col in frame.columns:
                frame[col] = frame[col].astype("string")
        tables[level.name] = frame
    root = form.root
    tables[root]["SubmissionDate"] = (
        pd.Series(hh["interview_end"].to_numpy()) + pd.Timedelta(hours=3)
    ).astype("datetime64[ms]")
    ds = Dataset(tables, form, source={"shape": "synthetic", "generator": "survmig demo"})
    return ds, pd.Series(hh_of[root], name="hh_id")


def _count(form: FormMetadata, level, flat_parent: pd.DataFrame) -> np.ndarray:
    """Instances of a repeat: its count expression (usually ``${question}``) where it is relevant."""
    n = len(flat_parent)
    if not level.repeat_count:
        return np.zeros(n, dtype=int)
    value = evaluate(parse(level.repeat_count), form_context(form, flat_parent, n)).as_num()
    counts = np.nan_to_num(np.asarray(value, float), nan=0.0).clip(0, 100).astype(int)
    for expr in level.relevant:
        mask = relevance_mask(form, expr, flat_parent, n)
        if mask is not None:
            counts = np.where(mask, counts, 0)
    return counts


def _fill(
    form: FormMetadata,
    level: str,
    frame: pd.DataFrame,
    parent_view: pd.DataFrame,
    given: dict[str, pd.Series],
    rng: np.random.Generator,
) -> None:
    """The generic synthetic filler, with the synthetic country's answers where a concept has them."""
    n = len(frame)

    def choose(var, view, drawn: pd.Series) -> pd.Series:
        if var.concept not in given or not n:
            return drawn
        values = _typed(form, var, given[var.concept])
        if len(drawn) == n:
            values = values.where(values.notna(), drawn.astype(values.dtype, errors="ignore"))
        return _specials(form, var, view, values, rng)

    fill_level(form, level, frame, parent_view, rng, 0.0, choose)


def _specials(form, var, view, values: pd.Series, rng: np.random.Generator) -> pd.Series:
    rates = SPECIALS.get(var.concept or "")
    if not rates or not pd.api.types.is_numeric_dtype(values.dtype):
        return values
    n = len(values)
    u = rng.random(n)
    out = values.copy()
    for code, lo, hi in ((DONT_KNOW, 0.0, rates[0]), (REFUSED, rates[0], rates[0] + rates[1])):
        allowed = passes_constraint(form, var, view, pd.Series(np.full(n, float(code))))
        pick = allowed & (u >= lo) & (u < hi) & values.notna().to_numpy()
        out = out.mask(pd.Series(pick, index=out.index), code)
    return out
