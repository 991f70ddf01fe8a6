"""The printable questionnaire: numbering, sections, repeats, filters in words (en/fr/ar), rtl, atomic output."""

from __future__ import annotations

from pathlib import Path

import lxml.html
import pytest

from survmig.formtest.sheets import write_xlsform
from survmig.render import build_questionnaire


def by_class(node, name: str) -> list:
    return node.xpath(f'.//*[contains(concat(" ", normalize-space(@class), " "), " {name} ")]')


def render(run_cli, form: Path, lang: str, out: Path):
    result = run_cli("render", form, "--lang", lang, "-o", out)
    assert result.exit_code == 0, result.stderr
    return lxml.html.parse(str(out)).getroot()


def questions(doc) -> dict[str, tuple[str, str]]:
    """variable name -> (number, filter sentence)"""
    out = {}
    for div in by_class(doc, "q"):
        filters = by_class(div, "filter")
        out[div.get("id")[2:]] = (
            by_class(div, "qnum")[0].text_content(),
            filters[0].text_content() if filters else "",
        )
    return out


FILTERS = {
    "en": {
        "abroad": "Ask if Q3 “How old is [Q2]?” is 15 or more.",
        "uses": "Ask if Q5 “Received money from abroad?” is “Yes” (1).",
        "uses_other": "Ask if “Other” (other) is selected at Q6 “What was it used for?” and "
        "Q5 “Received money from abroad?” is not “No” (2).",
        "amount": "Ask if Q5 “Received money from abroad?” is “Yes” (1) or count-selected(${uses}Q6) > 2.",
    },
    "fr": {
        "abroad": "Poser si Q3 « Quel âge a [Q2] ? » est 15 ou plus.",
        "uses": "Poser si Q5 « Reçu de l'argent de l'étranger ? » est « Oui » (1).",
        "uses_other": "Poser si « Autre » (other) est coché à Q6 « À quoi a-t-il servi ? » et "
        "Q5 « Reçu de l'argent de l'étranger ? » n'est pas « Non » (2).",
        "amount": "Poser si Q5 « Reçu de l'argent de l'étranger ? » est « Oui » (1) ou "
        "count-selected(${uses}Q6) > 2.",
    },
    "ar": {
        "abroad": "اسأل إذا كان س3 «كم عمر [س2]؟» يساوي 15 أو أكثر.",
        "uses": "اسأل إذا كان س5 «هل تلقيتم أموالًا من الخارج؟» يساوي «نعم» (1).",
        "uses_other": "اسأل إذا كان «أخرى» (other) مختارًا في س6 «فيمَ استُخدمت؟» "
        "وس5 «هل تلقيتم أموالًا من الخارج؟» لا يساوي «لا» (2).",
        "amount": "اسأل إذا كان س5 «هل تلقيتم أموالًا من الخارج؟» يساوي «نعم» (1) أو "
        "count-selected(${uses}س6) > 2.",
    },
}


@pytest.mark.parametrize("lang", ["en", "fr", "ar"])
def test_numbering_and_filters_in_words(run_cli, trilingual_form, tmp_path, lang):
    doc = render(run_cli, trilingual_form, lang, tmp_path / f"q_{lang}.html")
    found = questions(doc)
    prefix = "س" if lang == "ar" else "Q"
    names = ["hh_size", "name", "age", "abroad", "remit", "uses", "uses_other", "amount"]
    assert [found[n][0] for n in names] == [f"{prefix}{i}" for i in range(1, 9)]
    assert list(found) == names  # notes and calculations carry no number
    for name, sentence in FILTERS[lang].items():
        assert found[name][1] == sentence
    assert found["hh_size"][1] == "" and found["remit"][1] == ""


def test_direction_language_and_self_contained(run_cli, trilingual_form, tmp_path):
    ar = render(run_cli, trilingual_form, "ar", tmp_path / "ar.html")
    assert (ar.get("lang"), ar.get("dir")) == ("ar", "rtl")
    en = render(run_cli, trilingual_form, "en", tmp_path / "en.html")
    assert (en.get("lang"), en.get("dir")) == ("en", "ltr")
    text = (tmp_path / "ar.html").read_text(encoding="utf-8")
    assert "<style>" in text and "<link" not in text and "<script" not in text
    assert "http://" not in text and "https://" not in text
    assert ar.xpath("//title")[0].text == "Household and remittances"


def test_sections_repeats_choices_and_rules(run_cli, trilingual_form, tmp_path):
    doc = render(run_cli, trilingual_form, "en", tmp_path / "en.html")
    titles = [h.text_content() for h in by_class(doc, "section-title")]
    assert titles == ["Household roster", "Household members"]
    # the repeat is nested in the roster section and says what drives it
    repeat = doc.xpath('//section[@id="s-roster"]//section[@id="s-member"]')[0]
    assert "repeat" in repeat.get("class")
    assert by_class(repeat, "repeat-banner")[0].text_content() == (
        "↻ The section “Household members” is repeated as many times as the answer to "
        "Q1 “How many people live here?”."
    )
    member_questions = [d.get("id") for d in by_class(repeat, "q")]
    assert member_questions == ["q-name", "q-age", "q-abroad"]
    uses = doc.xpath('//div[@id="q-uses"]')[0]
    rows = [[td.text_content() for td in tr.xpath("td")] for tr in uses.xpath(".//tr")]
    assert rows == [
        ["☐", "food", "Food"],
        ["☐", "school", "Education"],
        ["☐", "other", "Other"],
        ["☐", "-8", "Don't know"],
    ]
    assert by_class(uses, "tag")[0].text_content() == "All that apply"
    remit_rows = doc.xpath('//div[@id="q-remit"]//tr/td[1]/text()')
    assert remit_rows == ["○", "○"]
    size = doc.xpath('//div[@id="q-hh_size"]')[0]
    rules = [p.text_content() for p in size.xpath('.//div[@class="rules"]/p')]
    assert rules == [
        "Accepted answers: the answer is between 1 and 30.",
        "If rejected, the interviewer reads: “Between 1 and 30”",
    ]
    assert "Required" in by_class(size, "req")[0].text_content()
    assert by_class(size, "hint")[0].text_content() == "Hint Count babies too"
    calc = doc.xpath('//div[@id="c-big"]')[0].text_content()
    assert "if(${amount}Q8 > 1000, 1, 0)" in calc
    assert by_class(doc, "note")[0].text_content().split() == [
        "Note",
        "Thank",
        "the",
        "respondent.",
        "thanks",
    ]


def test_french_and_arabic_rules_and_banners(run_cli, trilingual_form, tmp_path):
    fr = render(run_cli, trilingual_form, "fr", tmp_path / "fr.html")
    rules = [p.text_content() for p in fr.xpath('//div[@id="q-hh_size"]//div[@class="rules"]/p')]
    assert rules == [
        "Réponses acceptées : la réponse est entre 1 et 30.",
        "En cas de refus, l'enquêteur lit : « Entre 1 et 30 »",
    ]
    # the generated sentence agrees with the section title in every language (issue 12: not
    # "For each Household members" / "Pour chaque Membres du ménage")
    assert (
        by_class(fr, "repeat-banner")[0]
        .text_content()
        .startswith(
            "↻ La section « Membres du ménage » est répétée autant de fois que la réponse à Q1 "
        )
    )
    ar = render(run_cli, trilingual_form, "ar", tmp_path / "ar.html")
    assert by_class(ar, "repeat-banner")[0].text_content() == (
        "↻ يتكرر القسم «أفراد الأسرة» بعدد المرات المذكور في الإجابة على س1 «كم عدد الأشخاص الذين يعيشون هنا؟»."
    )


def test_missing_translation_is_shown_and_marked(run_cli, tmp_path):
    form = write_xlsform(
        tmp_path / "f.xlsx",
        [
            {
                "type": "integer",
                "name": "age",
                "label::English (en)": "Age",
                "label::Français (fr)": "Âge",
            },
            {
                "type": "text",
                "name": "job",
                "label::English (en)": "Job",
                "label::Français (fr)": "",
            },
        ],
    )
    doc = render(run_cli, form, "fr", tmp_path / "fr.html")
    marked = by_class(doc, "untranslated")
    assert [(m.text_content(), m.get("lang")) for m in marked] == [("Job", "en")]


def test_unknown_language_and_bad_form_are_errors(run_cli, trilingual_form, tmp_path):
    result = run_cli("render", trilingual_form, "--lang", "de", "-o", tmp_path / "x.html")
    assert result.exit_code == 2
    assert "the form has no language 'de'" in result.stderr
    assert "English (en), Français (fr), العربية (ar)" in result.stderr
    assert not (tmp_path / "x.html").exists()


def test_output_is_atomic(run_cli, trilingual_form, tmp_path):
    out = tmp_path / "q.html"
    out.write_text("previous version")
    broken = write_xlsform(
        tmp_path / "broken.xlsx", [{"type": "begin_group", "name": "g", "label": "G"}]
    )
    result = run_cli("render", broken, "-o", out)
    assert result.exit_code == 2
    assert "pyxform cannot read the form" in result.stderr
    assert out.read_text() == "previous version"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.xlsx", "q.html"]
    result = run_cli("render", trilingual_form, "-o", out)
    assert result.exit_code == 0
    assert "8 questions, English (en), ltr" in result.stdout
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_default_language_and_one_language_forms(tmp_path):
    form = write_xlsform(
        tmp_path / "plain.xlsx",
        [
            {"type": "select_one yn", "name": "q1", "label": "Works?"},
            {"type": "integer", "name": "q2", "label": "Hours", "relevant": "${q1} = 'y'"},
        ],
        [
            {"list_name": "yn", "name": "y", "label": "Yes"},
            {"list_name": "yn", "name": "n", "label": "No"},
        ],
    )
    questionnaire = build_questionnaire(form)
    assert (questionnaire.language, questionnaire.code, questionnaire.direction) == (
        "",
        "en",
        "ltr",
    )
    second = questionnaire.items[1]
    assert (second.number, str(second.filter)) == (
        2,
        'Ask if <span class="qref">Q1</span> “Works?” is “Yes” <span class="code">(y)</span>.',
    )


def test_untranslated_title_is_marked_with_its_own_language(run_cli, trilingual_form, tmp_path):
    """XLSForm settings hold one form_title (the default language's): in an Arabic page it must
    carry its own lang and dir="auto" so the bidi algorithm lays English text out left to right."""
    ar = render(run_cli, trilingual_form, "ar", tmp_path / "ar.html")
    h1 = ar.xpath("//h1")[0]
    assert h1.text_content().strip() == "Household and remittances"
    assert (h1.get("lang"), h1.get("dir")) == ("en", "auto")
    en = render(run_cli, trilingual_form, "en", tmp_path / "en.html")
    assert en.xpath("//h1")[0].get("lang") is None  # same language as the page: nothing to mark


def test_a_guarded_repeat_count_says_its_question_and_condition(run_cli, tmp_path):
    """``repeat_count: if(screen = 1, n, 0)`` becomes a hidden calculation in pyxform; the sentence
    names the count question and the screen, not the hidden name."""
    form = Path(__file__).resolve().parents[2] / "xlsform" / "medhims_household.xlsx"
    doc = render(run_cli, form, "en", tmp_path / "en.html")
    banners = [b.text_content() for b in by_class(doc, "repeat-banner")]
    emigrants = next(b for b in banners if "Former household members now living abroad" in b)
    assert "emigrant_roster_count" not in emigrants
    assert "How many such people are there?" in emigrants and ", when Q" in emigrants
    assert "is “Yes” (1)" in emigrants


def test_a_language_without_print_phrases_is_named_on_stderr(run_cli, tmp_path):
    """A form language added with `survmig translations` (pt) prints its own texts; the fixed
    phrases around them fall back to English, and the command says so instead of staying silent."""
    from tests.render.conftest import CHOICES, LANGUAGES, SURVEY, write_xlsform

    def to_pt(row: dict) -> dict:
        return {k.replace(LANGUAGES["fr"], "Português (pt)"): v for k, v in row.items()}

    form = write_xlsform(
        tmp_path / "pt.xlsx",
        [to_pt(r) for r in SURVEY],
        [to_pt(r) for r in CHOICES],
        {"form_id": "hh_pt", "form_title": "Household", "default_language": LANGUAGES["en"]},
    )
    result = run_cli("render", form, "--lang", "pt", "-o", tmp_path / "q_pt.html")
    assert result.exit_code == 0, result.stderr
    assert "no fixed phrases in 'pt'" in result.stderr and "phrases.py" in result.stderr
    result = run_cli("render", form, "--lang", "en", "-o", tmp_path / "q_en.html")
    assert result.exit_code == 0 and "phrases" not in result.stderr
