"""A small but complete XLSForm for the data-stage tests, built with openpyxl.

Household root with groups and a note; a person roster repeat (repeat_count) with a nested repeat;
an emigrant repeat whose relevance depends on a root answer; a remittance-sender repeat inside a
group; select_one (integer and text codes, with -8/-9), select_multiple, integer, decimal, date,
text, calculate, geopoint; concept/pii/module columns; labels in en/fr/ar.
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from survmig.data import FormMetadata, synthetic_dataset

EN, FR, AR = "label::English (en)", "label::Français (fr)", "label::العربية (ar)"
SURVEY_COLUMNS = [
    "type", "name", EN, FR, AR, "hint::English (en)", "relevant", "constraint",
    "constraint_message::English (en)", "required", "repeat_count", "calculation", "concept", "pii", "module",
]  # fmt: skip

SURVEY = [
    {"type": "start", "name": "start"},
    {"type": "end", "name": "end"},
    {"type": "deviceid", "name": "deviceid"},
    {"type": "begin group", "name": "hh", EN: "Household", FR: "Ménage", AR: "الأسرة"},
    {
        "type": "select_one region",
        "name": "region",
        EN: "Region",
        FR: "Région",
        AR: "المنطقة",
        "required": "yes",
        "concept": "region",
        "module": "cover",
    },
    {
        "type": "integer",
        "name": "hh_size",
        EN: "How many members?",
        FR: "Combien de membres ?",
        AR: "كم عدد الأفراد؟",
        "constraint": ". >= 1 and . <= 20",
        "constraint_message::English (en)": "Between 1 and 20",
        "required": "yes",
        "concept": "household_size",
        "module": "roster",
    },
    {"type": "note", "name": "hh_note", EN: "Thank you"},
    {"type": "end group"},
    {
        "type": "begin repeat",
        "name": "person",
        EN: "Person",
        FR: "Personne",
        AR: "شخص",
        "repeat_count": "${hh_size}",
        "module": "roster",
    },
    {"type": "calculate", "name": "line_no", "calculation": "position(..)"},
    {
        "type": "text",
        "name": "pname",
        EN: "Name",
        FR: "Nom",
        AR: "الاسم",
        "pii": "yes",
        "concept": "person_name",
    },
    {
        "type": "select_one sex",
        "name": "sex",
        EN: "Sex",
        FR: "Sexe",
        AR: "الجنس",
        "required": "yes",
        "concept": "sex",
    },
    {
        "type": "integer",
        "name": "age",
        EN: "Age",
        FR: "Âge",
        AR: "العمر",
        "constraint": "(. >= 0 and . <= 110) or . = -8 or . = -9",
        "concept": "age",
    },
    {
        "type": "date",
        "name": "dob",
        EN: "Date of birth",
        FR: "Date de naissance",
        AR: "تاريخ الميلاد",
        "constraint": ". >= date('1900-01-01')",
        "pii": "yes",
    },
    {
        "type": "select_one country",
        "name": "birth_country",
        EN: "Country of birth",
        FR: "Pays de naissance",
        AR: "بلد الميلاد",
        "concept": "country_of_birth",
    },
    {"type": "begin group", "name": "work", EN: "Work", "relevant": "${age} >= 15"},
    {
        "type": "select_multiple activity",
        "name": "activities",
        EN: "Activities",
        FR: "Activités",
        AR: "الأنشطة",
        "constraint": "not(selected(., 'none') and count-selected(.) > 1)",
    },
    {
        "type": "decimal",
        "name": "earnings",
        EN: "Monthly earnings",
        FR: "Revenu mensuel",
        AR: "الدخل الشهري",
        "relevant": "selected(${activities}, 'job')",
        "constraint": ". >= 0 or . = -8 or . = -9",
        "concept": "earnings",
    },
    {"type": "end group"},
    {"type": "begin repeat", "name": "trip", EN: "Trip", "relevant": "${age} >= 15"},
    {"type": "select_one country", "name": "trip_country", EN: "Country visited"},
    {"type": "end repeat"},
    {"type": "end repeat"},
    {
        "type": "select_one yn",
        "name": "any_abroad",
        EN: "Anyone living abroad?",
        FR: "Quelqu'un à l'étranger ?",
        AR: "هل يعيش أحد في الخارج؟",
        "required": "yes",
        "concept": "household_has_emigrant",
    },
    {
        "type": "begin repeat",
        "name": "emigrant",
        EN: "Emigrant",
        "relevant": "${any_abroad} = 1",
        "module": "emigrants",
    },
    {
        "type": "select_one sex",
        "name": "em_sex",
        EN: "Sex of the emigrant",
        FR: "Sexe de l'émigré",
        AR: "جنس المهاجر",
        "concept": "sex",
    },
    {
        "type": "integer",
        "name": "em_year",
        EN: "Year of departure",
        FR: "Année de départ",
        AR: "سنة المغادرة",
        "constraint": "(. >= 1950 and . <= 2024) or . = -8",
    },
    {
        "type": "select_one country",
        "name": "em_country",
        EN: "Country of residence",
        FR: "Pays de résidence",
        AR: "بلد الإقامة",
        "concept": "emigrant_destination",
    },
    {"type": "end repeat"},
    {
        "type": "select_one yn",
        "name": "remit",
        EN: "Money received from abroad?",
        FR: "Argent reçu de l'étranger ?",
        AR: "هل تلقيتم أموالا من الخارج؟",
        "concept": "remittances_received_12m",
    },
    {"type": "begin group", "name": "remit_block", "relevant": "${remit} = 1"},
    {
        "type": "integer",
        "name": "n_senders",
        EN: "How many senders?",
        "constraint": ". >= 1 and . <= 5",
    },
    {
        "type": "begin repeat",
        "name": "sender",
        EN: "Sender",
        "repeat_count": "${n_senders}",
        "module": "remittances",
    },
    {"type": "text", "name": "sender_name", EN: "Sender's name", "pii": "yes"},
    {
        "type": "decimal",
        "name": "amount",
        EN: "Amount received",
        FR: "Montant reçu",
        AR: "المبلغ المستلم",
        "constraint": ". > 0 or . = -8 or . = -9",
        "concept": "remittance_amount",
    },
    {
        "type": "select_multiple use",
        "name": "uses",
        EN: "Uses of the money",
        FR: "Utilisations",
        AR: "الاستخدامات",
    },
    {"type": "end repeat"},
    {"type": "end group"},
    {"type": "geopoint", "name": "gps", EN: "Location", "pii": "yes"},
    {"type": "calculate", "name": "n_persons", "calculation": "${hh_size}"},
]

CHOICES = [
    ("region", "1", "North", "Nord", "الشمال"),
    ("region", "2", "South", "Sud", "الجنوب"),
    ("region", "3", "Capital", "Capitale", "العاصمة"),
    ("sex", "1", "Male", "Homme", "ذكر"),
    ("sex", "2", "Female", "Femme", "أنثى"),
    ("sex", "-9", "Refused", "Refus", "رفض"),
    ("yn", "1", "Yes", "Oui", "نعم"),
    ("yn", "2", "No", "Non", "لا"),
    ("yn", "-8", "Don't know", "Ne sait pas", "لا يعرف"),
    ("country", "MAR", "Morocco", "Maroc", "المغرب"),
    ("country", "FRA", "France", "France", "فرنسا"),
    ("country", "ESP", "Spain", "Espagne", "إسبانيا"),
    ("country", "-8", "Don't know", "Ne sait pas", "لا يعرف"),
    ("activity", "job", "Paid job", "Emploi salarié", "عمل مأجور"),
    ("activity", "study", "Study", "Études", "دراسة"),
    ("activity", "home", "Home duties", "Tâches ménagères", "أعمال منزلية"),
    ("activity", "none", "None", "Aucune", "لا شيء"),
    ("use", "food", "Food", "Nourriture", "غذاء"),
    ("use", "school", "Education", "Éducation", "تعليم"),
    ("use", "house", "Housing", "Logement", "سكن"),
]


def build_form(
    path: Path, *, survey=SURVEY, choices=CHOICES, version: str = "2024.1", form_id: str = "hh_test"
) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "survey"
    ws.append(SURVEY_COLUMNS)
    for row in survey:
        ws.append([row.get(c, "") for c in SURVEY_COLUMNS])
    cs = wb.create_sheet("choices")
    cs.append(["list_name", "name", EN, FR, AR])
    for row in choices:
        cs.append(list(row))
    st = wb.create_sheet("settings")
    st.append(["form_title", "form_id", "version", "default_language"])
    st.append(["Test household survey", form_id, version, "English (en)"])
    wb.save(path)
    return path


@pytest.fixture(scope="session")
def form_path(tmp_path_factory) -> Path:
    return build_form(tmp_path_factory.mktemp("form") / "hh_test.xlsx")


@pytest.fixture(scope="session")
def form(form_path) -> FormMetadata:
    return FormMetadata.from_xlsform(form_path)


@pytest.fixture(scope="session")
def small(form):
    """60 synthetic households (consistent with the form's skip logic and constraints)."""
    return synthetic_dataset(form, 60, seed=11, repeat_means={"person": 3})
