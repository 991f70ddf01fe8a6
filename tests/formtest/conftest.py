"""Small XLSForms built in the tests, exercising what scenario files check."""

from __future__ import annotations

from pathlib import Path

import pytest

from survmig.formtest.sheets import write_xlsform

EN, FR = "English (en)", "Français (fr)"


def _row(type_: str, name: str, en: str = "", fr: str = "", **extra: str) -> dict[str, str]:
    row = {"type": type_, "name": name, f"label::{EN}": en, f"label::{FR}": fr or en}
    row.update(extra)
    return row


SURVEY = [
    _row(
        "integer",
        "hh_size",
        "Household size",
        "Taille du ménage",
        constraint=". >= 1 and . <= 30",
        **{
            f"constraint_message::{EN}": "Between 1 and 30 members",
            f"constraint_message::{FR}": "Entre 1 et 30",
        },
        required="yes",
    ),
    _row(
        "select_one yn",
        "any_abroad",
        "Anyone now abroad?",
        "Quelqu'un à l'étranger ?",
        required="yes",
    ),
    _row(
        "integer",
        "n_emig",
        "How many are abroad?",
        "Combien à l'étranger ?",
        relevant="${any_abroad} = 1",
        constraint=". >= 1 and . <= ${hh_size}",
        required="yes",
    ),
    _row(
        "begin_repeat",
        "emig",
        "Emigrant",
        "Émigré",
        repeat_count="${n_emig}",
        relevant="${any_abroad} = 1",
    ),
    _row("text", "ename", "Name", "Nom", required="yes"),
    _row(
        "integer",
        "eage",
        "Age at departure",
        "Âge au départ",
        constraint=". >= 15",
        **{
            f"constraint_message::{EN}": "Emigrants left at age 15 or older",
            f"constraint_message::{FR}": "15 ans ou plus",
        },
    ),
    _row("select_one yn", "sends", "Sends money?", "Envoie de l'argent ?"),
    _row("select_one chan", "channel", "Usual channel", "Canal habituel", relevant="${sends} = 1"),
    _row("calculate", "eage_grp", calculation="if(${eage} >= 60, 'old', 'young')"),
    _row("end_repeat", ""),
    _row("calculate", "n_senders", calculation="count(${emig}[sends = '1'])"),
    _row(
        "select_multiple uses",
        "rem_uses",
        "Uses of remittances",
        "Usages des transferts",
        relevant="${n_senders} > 0",
    ),
    _row(
        "text", "other_use", "Other use", "Autre usage", relevant="selected(${rem_uses}, 'other')"
    ),
    _row("begin_repeat", "visit", "Visit", "Visite"),
    _row("text", "place", "Place", "Lieu"),
    _row("end_repeat", ""),
    _row("note", "done", "Thank you", "Merci"),
]
CHOICES = [
    {"list_name": "yn", "name": "1", f"label::{EN}": "Yes", f"label::{FR}": "Oui"},
    {"list_name": "yn", "name": "2", f"label::{EN}": "No", f"label::{FR}": "Non"},
    {
        "list_name": "chan",
        "name": "wu",
        f"label::{EN}": "Western Union",
        f"label::{FR}": "Western Union",
    },
    {
        "list_name": "chan",
        "name": "mobile",
        f"label::{EN}": "Mobile phone",
        f"label::{FR}": "Téléphone mobile",
    },
    {"list_name": "uses", "name": "food", f"label::{EN}": "Food", f"label::{FR}": "Nourriture"},
    {
        "list_name": "uses",
        "name": "school",
        f"label::{EN}": "Education",
        f"label::{FR}": "Éducation",
    },
    {"list_name": "uses", "name": "other", f"label::{EN}": "Other", f"label::{FR}": "Autre"},
]


@pytest.fixture(scope="session")
def household_form(tmp_path_factory) -> Path:
    """A household form: constraint, required, relevance, counted and open repeats, calculations."""
    path = tmp_path_factory.mktemp("forms") / "household.xlsx"
    return write_xlsform(path, SURVEY, CHOICES, {"form_id": "household", "version": "1"})


@pytest.fixture
def scenario_file(tmp_path):
    """Write a scenario YAML text to a file and return its path."""

    def write(text: str, name: str = "scenarios.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write
