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
    "--spec",
    type=click.Path(path_type=Path),
    help="The questionnaire spec the form was built from: its title in the chosen language "
    "heads the print (an XLSForm carries one title only).",
)
@click.option("--title", help="Title printed on top (overrides the form's and the spec's).")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    required=True,
    help="The HTML file to write.",
)
def render(
    form: Path, lang: str | None, spec: Path | None, title: str | None, output: Path
) -> None:
    """Write FORM (an XLSForm) as a printable questionnaire in one language (HTML).

    Questions are numbered, groups become sections, repeats say what they repeat for, filters
    (relevant) and constraints are written out in words that name the questions they refer to,
    and select questions list their answer codes. Arabic is laid out right to left. Open the
    file in a browser and print it, or save it as PDF.

    \b
    Example:
      survmig render form.xlsx --lang fr -o questionnaire_fr.html
      survmig render form.xlsx --lang ar --spec questionnaire.yaml -o questionnaire_ar.html
    """
    from survmig.render.html import write_html

    titles = None
    if spec is not None:
        from survmig.questionnaire.spec import load_spec

        titles = load_spec(spec).title
    questionnaire = write_html(form, output, lang, title=title, titles=titles)
    from survmig.render.phrases import PHRASES

    base = questionnaire.code.split("-")[0].split("_")[0].lower()
    if base not in PHRASES:  # a language added with `survmig translations`: the form's texts only
        click.echo(
            f"warning: the printed questionnaire has no fixed phrases in {base!r} yet: the form's "
            "texts are in that language, the instructions around them (skip rules, 'select "
            "one', checks) in English; add the phrases to PHRASES in survmig/render/phrases.py",
            err=True,
        )
    click.echo(
        f"wrote {output} ({questionnaire.questions} questions, "
        f"{questionnaire.language or questionnaire.code}, {questionnaire.direction})"
    )
