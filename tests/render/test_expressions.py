"""Filter and constraint expressions as sentences; anything complex is shown as written."""

from __future__ import annotations

import pytest
from markupsafe import Markup

from survmig.render.expressions import Writer, parse, references
from survmig.render.phrases import PHRASES

QUESTIONS = {"age": (1, "Age"), "works": (2, "Works?"), "uses": (3, "Uses")}
CHOICES = {("works", "1"): "Yes", ("works", "2"): "No", ("uses", "food"): "Food"}


def writer(lang: str = "en") -> Writer:
    def question(name: str) -> Markup | None:
        if name not in QUESTIONS:
            return None
        number, label = QUESTIONS[name]
        return Markup("Q{} [{}]").format(number, label)

    return Writer(
        PHRASES[lang],
        question,
        lambda name, code: CHOICES.get((name, code)),
        lambda name: f"Q{QUESTIONS[name][0]}" if name in QUESTIONS else None,
    )


def plain(markup: Markup) -> str:
    import lxml.html

    return lxml.html.fromstring(f"<p>{markup}</p>").text_content()


@pytest.mark.parametrize(
    ("expression", "sentence"),
    [
        ("${age} >= 15", "Q1 [Age] is 15 or more"),
        ("15 <= ${age}", "Q1 [Age] is 15 or more"),
        ("${age}<5", "Q1 [Age] is less than 5"),
        ("${age} > -1", "Q1 [Age] is more than -1"),
        ("${works} = '1'", "Q2 [Works?] is “Yes” (1)"),
        ("${works} = 1 or ${works} = 2", "Q2 [Works?] is “Yes” (1) or “No” (2)"),
        ("${works} != 1", "Q2 [Works?] is not “Yes” (1)"),
        ("not(${works} = 1)", "Q2 [Works?] is not “Yes” (1)"),
        ("${works} = ''", "Q2 [Works?] is not answered"),
        ("${works} != ''", "Q2 [Works?] is answered"),
        ("selected(${uses}, 'food')", "“Food” (food) is selected at Q3 [Uses]"),
        ("not(selected(${uses}, 'food'))", "“Food” (food) is not selected at Q3 [Uses]"),
        (". >= 0 and . <= 120", "the answer is between 0 and 120"),
        (". > ${age}", "the answer is more than Q1 [Age]"),
        (
            "${age} > 5 and (${works} = 1 or ${age} < 2)",
            "Q1 [Age] is more than 5 and (Q2 [Works?] is “Yes” (1) or Q1 [Age] is less than 2)",
        ),
        ("not(${age} > 5)", "it is not true that Q1 [Age] is more than 5"),
        ("${age} * 2 > 4 and ${works} = 1", "${age}Q1 * 2 > 4 and Q2 [Works?] is “Yes” (1)"),
        ("count-selected(${uses}) > 1", "count-selected(${uses}Q3) > 1"),
        ("/data/a = 1", "/data/a = 1"),
        (". >= ${age} - 1", "the answer is ${age}Q1 - 1 or more"),
        (". <= today()", "the answer is today's date or less"),
        ("${age} >", "${age}Q1 >"),
        ("${x} = 'a'", "${x} is “a”"),
    ],
)
def test_english_sentences(expression, sentence):
    assert plain(writer().sentence(expression)) == sentence


def test_french_and_arabic_sentences():
    assert plain(writer("fr").sentence("${age} >= 15 and selected(${uses}, 'food')")) == (
        "Q1 [Age] est 15 ou plus et « Food » (food) est coché à Q3 [Uses]"
    )
    assert plain(writer("ar").sentence("${age} < 15 or ${works} = 2")) == (
        "Q1 [Age] أقل من 15 أو Q2 [Works?] يساوي «No» (2)"
    )


def test_choice_labels_of_the_question_a_constraint_belongs_to():
    assert plain(writer().sentence(". != 1", current="works")) == "the answer is not “Yes” (1)"
    assert plain(writer().sentence(". != 1")) == "the answer is not 1"


def test_fallback_is_escaped_code():
    markup = writer().sentence("${age} * 2 > 4 or string-length(.) < 3")
    assert '<code class="expr">' in markup
    assert "&gt;" in markup and "&lt;" in markup and "<sub" in markup


def test_parse_and_references():
    assert parse("${a} = 1 and") is None
    assert parse("(${a} = 1)").kind == "cmp"
    assert references("${a} + ${b} > ${a}") == ["a", "b"]
