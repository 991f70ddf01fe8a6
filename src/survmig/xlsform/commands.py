"""``survmig build`` and ``survmig validate``."""

from __future__ import annotations

from pathlib import Path

import click

from survmig.errors import SurvmigError


@click.command("build")
@click.argument("spec", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The XLSForm to write (default: SPEC with the .xlsx suffix).",
)
@click.option(
    "--validate/--no-validate",
    default=True,
    show_default=True,
    help="Check the form with pyxform and ODK Validate (needs Java) before writing it.",
)
def build(spec: Path, output: Path | None, validate: bool) -> None:
    """Compile a questionnaire spec into an XLSForm (survey, choices, settings).

    The form is written only if pyxform converts it with no error and no warning and ODK Validate
    accepts it.

    \b
    Example:
      survmig build xlsform/example_household.yaml -o form.xlsx
      survmig build my_spec.yaml --no-validate
    """
    from survmig.xlsform.build import build as build_form

    output = output or spec.with_suffix(".xlsx")
    if output.suffix.lower() != ".xlsx":
        raise SurvmigError("the output must be an .xlsx file", file=output)
    result = build_form(spec, output, validate=validate)
    variables = result.questionnaire.variables()
    checked = "validated by pyxform and ODK Validate" if validate else "not validated"
    click.echo(
        f"wrote {output}: {len(variables)} variables, {len(result.questionnaire.choices)} "
        f"choice lists, languages {', '.join(result.questionnaire.languages)} ({checked})"
    )


@click.command("validate")
@click.argument("form", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--odk/--no-odk",
    default=True,
    show_default=True,
    help="Also run ODK Validate (JavaRosa; needs Java).",
)
def validate(form: Path, odk: bool) -> None:
    """Validate any XLSForm with pyxform and ODK Validate; list problems by sheet and row.

    Exits with status 0 when there is no error and no warning, 2 otherwise.

    \b
    Example:
      survmig validate form.xlsx
      survmig validate form.xlsx --no-odk
    """
    from survmig.xlsform.validate import validate_xlsform

    report = validate_xlsform(form, odk=odk)
    if report.ok:
        tools = "pyxform and ODK Validate" if report.odk_validate_ran else "pyxform"
        click.echo(f"{form}: OK ({tools}: no errors, no warnings)")
        return
    for problem in report.problems:
        click.echo(f"{form}: {problem.format()}")
    raise SurvmigError(
        f"{len(report.errors)} error(s) and {len(report.warnings)} warning(s)", file=form
    )
