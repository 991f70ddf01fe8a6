"""The questionnaire as one self-contained HTML file (jinja2 template, inline CSS)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jinja2

from survmig.fileio import atomic_path
from survmig.render.questionnaire import Questionnaire, build_questionnaire

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("survmig.render", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=False,
    lstrip_blocks=False,
    keep_trailing_newline=True,
)


def render_html(questionnaire: Questionnaire) -> str:
    """The HTML text of a laid-out questionnaire."""
    template = _ENV.get_template("questionnaire.html.j2")
    return template.render(q=questionnaire, p=questionnaire.phrases)


def write_html(
    form: str | Path,
    output: str | Path,
    lang: str | None = None,
    *,
    title: str | None = None,
    titles: dict[str, str] | None = None,
) -> Questionnaire:
    """Render ``form`` in ``lang`` to ``output`` (written whole or not at all). ``titles``: the
    spec's title by language code (the print's language picks one); ``title`` overrides both."""
    questionnaire = build_questionnaire(form, lang)
    base = questionnaire.code.split("-")[0].split("_")[0].lower()
    chosen = title or (titles or {}).get(base)
    if chosen:
        questionnaire = dataclasses.replace(questionnaire, title=chosen, title_code=base)
    text = render_html(questionnaire)
    with atomic_path(output) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return questionnaire
