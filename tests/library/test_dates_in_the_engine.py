"""Dates in ODK Web Forms' engine, counted from the day the test runs (issue 12).

The scenario files under xlsform/scenarios/ hold fixed dates; what depends on *today* is played
here with dates made from today's date: the age from a date of birth in completed years (exact on
every birthday, no 365.25-day years), year windows that run up to the current year (not to the
survey year), and the usual-residence overlap check of the emigrant roster.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from survmig.formtest import run_scenario_files

ROOT = Path(__file__).resolve().parents[2]
FORM = ROOT / "xlsform" / "medhims_household.xlsx"


def years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year without it
        return day.replace(year=day.year - years, day=28)


def months_before(day: dt.date, months: int) -> tuple[int, int]:
    index = day.year * 12 + day.month - 1 - months
    return index // 12, index % 12 + 1


def play(tmp_path: Path, scenarios: list[dict]) -> list[str]:
    path = tmp_path / "dates.yaml"
    path.write_text(
        yaml.safe_dump(
            {"language": "en", "scenarios": scenarios}, allow_unicode=True, sort_keys=False
        ),
        encoding="utf-8",
    )
    (report,) = run_scenario_files([(FORM, path)])
    return [line for line in report.lines() if not report.ok]


@pytest.fixture(scope="module")
def today() -> dt.date:
    return dt.date.today()


def test_age_from_the_date_of_birth_is_exact_on_birthdays_and_the_day_before(tmp_path, today):
    """Thirty members born on today's date 1 to 30 years ago are exactly 1 to 30; born tomorrow's
    date, one year less. int(days / 365.25) is a year short on some of these birthdays."""
    members, values = {}, {}
    for k in range(1, 31):
        born = years_before(today, k)
        tomorrow = years_before(today + dt.timedelta(days=1), k)
        day, expected = (born, k) if k % 2 else (tomorrow, k - 1)
        if day > today:  # the day after a birthday "tomorrow" of a newborn cannot be in the future
            continue
        members[f"members[{len(members) + 1}]"] = {
            "member_name": f"P{k}",
            "relationship": 1 if not members else 3,
            "sex": 1,
            "dob_known": 1,
            "date_of_birth": day.isoformat(),
        }
        values[f"members[{len(members)}]/age"] = expected
    steps = [{"answer": {"hh_size": len(members), **members}, "values": values}]
    failed = play(tmp_path, [{"name": "age from date of birth", "steps": steps}])
    assert not failed, "\n".join(failed)


def test_year_windows_run_to_the_current_year_and_the_overlap_is_checked(tmp_path, today):
    this_year = today.year
    recent_year, recent_month = months_before(today, 2)
    old_year, old_month = months_before(today, 12)
    member = {
        "member_name": "Karima",
        "relationship": 1,
        "sex": 2,
        "dob_known": 0,
        "age_reported": 40,
        "marital_status": 2,
        "education": 3,
        "activity": 1,
        "returned_migrant": 1,
        "forced_to_leave": 0,
        "cc_born_here": 1,
        "cc_citizenship": 1,
        "cc_dual": 0,
        "cc_ever_abroad": 1,
        "cc_arrival_year": this_year,
    }
    emigrant = {"em_name": "Anas", "em_sex": 1, "em_relationship": 3, "em_age": 25}
    steps = [
        {
            "answer": {
                "hh_size": 1,
                "members[1]": member,
                "hh_emigrant_any": 1,
                "hh_n_emigrants": 1,
                "emigrant_roster[1]": {**emigrant, "em_dep_year": this_year + 1},
                "return_roster[1]": {"ret_member": 1, "ret_dep_year": this_year - 2},
            },
            "accepted": ["members[1]/cc_arrival_year", "return_roster[1]/ret_dep_year"],
            "rejected": {"emigrant_roster[1]/em_dep_year": "constraint"},
            "comment": "an arrival this year is accepted, a departure next year is not",
        },
        {
            "answer": {"return_roster[1]/ret_year": this_year},
            "accepted": ["return_roster[1]/ret_year"],
            "comment": "a return this year is accepted whatever the survey_year of the spec",
        },
        {
            "answer": {
                "emigrant_roster[1]/em_dep_year": recent_year,
                "emigrant_roster[1]/em_dep_month": recent_month,
            },
            "rejected": {
                "emigrant_roster[1]/em_dep_month": {
                    "condition": "constraint",
                    "message": "still a usual member of the household",
                }
            },
            "comment": "left two months ago: a usual member (6-month rule), not an emigrant",
        },
        {
            "answer": {
                "emigrant_roster[1]/em_dep_year": old_year,
                "emigrant_roster[1]/em_dep_month": old_month,
            },
            "accepted": ["emigrant_roster[1]/em_dep_year", "emigrant_roster[1]/em_dep_month"],
        },
    ]
    failed = play(tmp_path, [{"name": "windows and overlap", "steps": steps}])
    assert not failed, "\n".join(failed)
