"""``survmig render``: a form as a printable questionnaire."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("render")
@click.argument("form", type=click.Path(path_type=Path))
@click.option(
    "--lang",
    "lang",
    metavar="CODE",
    help="Language code (en, fr, ar) or the form's language name; default: the form's default.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    required=True,
    help="The HTML file to write.",
)
def render(form: Path, lang: str | None, output: Path) -> None:
    """Write FORM (an XLSForm) as a printable questionnaire in one language (HTML).

    Questions are numbered, groups become sections, repeats say what they repeat for, filters
    (relevant) and constraints are written out in words that name the questions they refer to,
    and select questions list their answer codes. Arabic is laid out right to left. Open the
    file in a browser and print it, or save it as PDF.

    \b
    Example:
      survmig render form.xlsx --lang fr -o questionnaire_fr.html
      survmig render form.xlsx --lang ar -o questionnaire_ar.html
    """
    from survmig.render.html import write_html

    questionnaire = write_html(form, output, lang)
    click.echo(
        f"wrote {output} ({questionnaire.questions} questions, "
        f"{questionnaire.language or questionnaire.code}, {questionnaire.direction})"
    )
