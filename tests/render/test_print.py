"""The printed questionnaire: long code lists once in an annex, the spec's title per language, and
the demo form in at most 30 A4 pages in each language (printed by headless Chromium)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from survmig.render.html import write_html
from survmig.render.questionnaire import LONG_LIST, build_questionnaire

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo_form(tmp_path_factory) -> Path:
    from survmig.demo.run import spec_path
    from survmig.xlsform.build import build

    out = tmp_path_factory.mktemp("form") / "survmig_demo.xlsx"
    build(spec_path(), out, validate=False)
    return out


def test_long_code_lists_print_once_in_the_annex(demo_form):
    q = build_questionnaire(demo_form, "en")
    assert q.annex, "the demo form has country lists"
    countries = [lst for lst in q.annex if len(lst.choices) > 200]
    assert countries and len(countries[0].questions) >= 10  # one list, many questions
    letters = [lst.letter for lst in q.annex]
    assert letters[:2] == ["A", "B"][: len(letters[:2])]

    def walk(items):
        for it in items:
            yield it
            yield from walk(it.children)

    for item in walk(q.items):
        assert len(item.choices) <= LONG_LIST
    notes = [re.sub("<[^>]+>", "", str(it.choice_note)) for it in walk(q.items) if it.choice_note]
    assert any(f"list {countries[0].letter} in the annex" in n for n in notes)


def test_the_title_comes_from_the_spec_in_each_language(demo_form, tmp_path):
    from survmig.demo.run import spec_path
    from survmig.questionnaire.spec import load_spec

    titles = load_spec(spec_path()).title
    for lang in ("fr", "ar"):
        q = write_html(demo_form, tmp_path / f"{lang}.html", lang, titles=titles)
        assert q.title == titles[lang]
        assert f">{titles[lang]}</h1>" in (tmp_path / f"{lang}.html").read_text(encoding="utf-8")


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    pytest.fail("headless Chromium is needed (bash .ci/setup installs it)")


@pytest.mark.parametrize("lang", ["en", "fr", "ar"])
def test_the_demo_form_prints_in_at_most_30_a4_pages(demo_form, tmp_path, lang):
    page = tmp_path / f"q_{lang}.html"
    write_html(demo_form, page, lang)
    pdf = tmp_path / f"q_{lang}.pdf"
    subprocess.run(
        [
            _chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf.read_bytes()))
    assert 5 <= pages <= 30, pages
