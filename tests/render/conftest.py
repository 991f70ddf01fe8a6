"""A small three-language form for the printable questionnaire."""

from __future__ import annotations

from pathlib import Path

import pytest

from survmig.conventions import LANGUAGES
from survmig.formtest.sheets import write_xlsform


def tr(column: str, en: str, fr: str, ar: str) -> dict[str, str]:
    return {
        f"{column}::{LANGUAGES['en']}": en,
        f"{column}::{LANGUAGES['fr']}": fr,
        f"{column}::{LANGUAGES['ar']}": ar,
    }


SURVEY = [
    {
        "type": "begin_group",
        "name": "roster",
        **tr("label", "Household roster", "Liste des membres", "قائمة أفراد الأسرة"),
    },
    {
        "type": "integer",
        "name": "hh_size",
        **tr(
            "label",
            "How many people live here?",
            "Combien de personnes vivent ici ?",
            "كم عدد الأشخاص الذين يعيشون هنا؟",
        ),
        **tr("hint", "Count babies too", "Comptez aussi les bébés", "احسب الرضع أيضًا"),
        "required": "yes",
        "constraint": ". >= 1 and . <= 30",
        **tr("constraint_message", "Between 1 and 30", "Entre 1 et 30", "بين 1 و30"),
    },
    {
        "type": "begin_repeat",
        "name": "member",
        **tr("label", "Household members", "Membres du ménage", "أفراد الأسرة"),
        "repeat_count": "${hh_size}",
    },
    {"type": "text", "name": "name", **tr("label", "Name", "Nom", "الاسم"), "required": "yes"},
    {
        "type": "integer",
        "name": "age",
        **tr("label", "How old is ${name}?", "Quel âge a ${name} ?", "كم عمر ${name}؟"),
    },
    {
        "type": "select_one yn",
        "name": "abroad",
        **tr(
            "label", "Ever lived abroad?", "A déjà vécu à l'étranger ?", "هل سبق أن عاش في الخارج؟"
        ),
        "relevant": "${age} >= 15",
    },
    {"type": "end_repeat", "name": ""},
    {"type": "end_group", "name": ""},
    {
        "type": "select_one yn",
        "name": "remit",
        **tr(
            "label",
            "Received money from abroad?",
            "Reçu de l'argent de l'étranger ?",
            "هل تلقيتم أموالًا من الخارج؟",
        ),
    },
    {
        "type": "select_multiple uses",
        "name": "uses",
        **tr("label", "What was it used for?", "À quoi a-t-il servi ?", "فيمَ استُخدمت؟"),
        "relevant": "${remit} = 1",
    },
    {
        "type": "text",
        "name": "uses_other",
        **tr("label", "Other use", "Autre usage", "استخدام آخر"),
        "relevant": "selected(${uses}, 'other') and ${remit} != 2",
    },
    {
        "type": "decimal",
        "name": "amount",
        **tr("label", "Amount received", "Montant reçu", "المبلغ المستلم"),
        "relevant": "${remit} = 1 or count-selected(${uses}) > 2",
    },
    {"type": "calculate", "name": "big", "calculation": "if(${amount} > 1000, 1, 0)"},
    {
        "type": "note",
        "name": "thanks",
        **tr("label", "Thank the respondent.", "Remerciez l'enquêté.", "اشكر المستجيب."),
    },
]

CHOICES = [
    {"list_name": "yn", "name": "1", **tr("label", "Yes", "Oui", "نعم")},
    {"list_name": "yn", "name": "2", **tr("label", "No", "Non", "لا")},
    {"list_name": "uses", "name": "food", **tr("label", "Food", "Nourriture", "الغذاء")},
    {"list_name": "uses", "name": "school", **tr("label", "Education", "Éducation", "التعليم")},
    {"list_name": "uses", "name": "other", **tr("label", "Other", "Autre", "أخرى")},
    {"list_name": "uses", "name": "-8", **tr("label", "Don't know", "Ne sait pas", "لا يعرف")},
]


@pytest.fixture(scope="session")
def trilingual_form(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("render") / "household.xlsx"
    return write_xlsform(
        path,
        SURVEY,
        CHOICES,
        {
            "form_id": "hh_remit",
            "form_title": "Household and remittances",
            "version": "2024.1",
            "default_language": LANGUAGES["en"],
        },
    )
