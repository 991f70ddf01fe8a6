"""``survmig translations export | import | check``: add a language without editing the modules."""

from __future__ import annotations

from pathlib import Path

import click

from survmig.errors import SurvmigError


@click.group("translations")
def translations() -> None:
    """Translate a questionnaire into another language through a spreadsheet.

    \b
    Example:
      survmig translations export spec.yaml --lang pt -o pt.xlsx   # a column to fill
      survmig translations import pt.xlsx -o translations/pt.yaml  # checked, as a YAML file
      survmig translations check spec.yaml                          # every missing text
    Then list the file in the spec (translations: [translations/pt.yaml]) and add pt to languages.
    """


@translations.command("export")
@click.argument("spec", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
    help="The sheet to write (.xlsx).",
)  # fmt: skip
@click.option(
    "--lang", "languages", multiple=True, metavar="CODE",
    help="A language to add (ISO 639-1, e.g. pt; repeat for several): an empty column to fill.",
)  # fmt: skip
def export(spec: Path, output: Path, languages: tuple[str, ...]) -> None:
    """Write every text of a questionnaire to a sheet, one column per language.

    Rows: the form title, every label, hint, constraint and required message, every answer
    label (module, shared and generated lists, the special answers), the country and currency
    names; each with its key and where it is written. Yellow cells are to fill (empty, earlier
    translations, pycountry names you may correct); grey ones come from the modules or the spec.

    \b
    Example:
      survmig translations export xlsform/example_household.yaml --lang pt -o pt.xlsx
    """
    from survmig.translations.sheet import export_sheet

    if output.suffix.lower() != ".xlsx":
        raise SurvmigError("the output must be an .xlsx file", file=output)
    result = export_sheet(spec, output, list(languages))
    todo = ", ".join(f"{n} in {lang}" for lang, n in result.to_fill.items()) or "none"
    click.echo(
        f"wrote {output}: {result.rows} texts in {', '.join(result.languages)}; to translate: {todo}"
    )
    for problem in result.problems:
        click.echo(f"warning: {problem.format()}", err=True)


@translations.command("import")
@click.argument("sheet", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
    help="The translation file to write (.yaml), e.g. translations/pt.yaml beside the spec.",
)  # fmt: skip
@click.option(
    "--lang", "languages", multiple=True, metavar="CODE",
    help="Import only this language's column (repeatable; default: every language filled).",
)  # fmt: skip
@click.option(
    "--spec", "spec", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Also check that the spec's source texts did not change since the export.",
)  # fmt: skip
def import_(spec: Path | None, sheet: Path, output: Path, languages: tuple[str, ...]) -> None:
    """Check a filled sheet and write its translations as a YAML file the spec lists.

    Refused, with one line per problem and nothing written: a changed grey cell, a row added,
    deleted or duplicated, a column renamed or moved, a translation that drops or adds a
    {{parameter}} or ${question}, and (with --spec) a source text that changed since the export.
    Empty yellow cells are listed as still missing.

    \b
    Example:
      survmig translations import pt.xlsx -o xlsform/translations/pt.yaml
    """
    from survmig.translations.sheet import import_sheet

    if output.suffix.lower() not in (".yaml", ".yml"):
        raise SurvmigError("the output must be a .yaml file", file=output)
    result = import_sheet(sheet, output, languages=list(languages), spec_path=spec)
    click.echo(
        f"wrote {output}: {result.texts} translated texts ({', '.join(result.languages)}); "
        f"list it under 'translations:' in the spec"
    )
    for lang, keys in result.missing.items():
        shown = ", ".join(keys[:5]) + (f" (+{len(keys) - 5} more)" if len(keys) > 5 else "")
        click.echo(f"still missing in {lang}: {len(keys)} text(s): {shown}")


@translations.command("check")
@click.argument("spec", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--lang", "languages", multiple=True, metavar="CODE",
    help="Also check a language the spec does not list yet.",
)  # fmt: skip
def check(spec: Path, languages: tuple[str, ...]) -> None:
    """List every text missing or stale in the spec's languages (all of them); exit 2 if any.

    \b
    Example:
      survmig translations check xlsform/example_household.yaml --lang pt
    """
    from survmig.translations.sheet import collect

    loaded, translator = collect(spec, list(languages))
    problems = translator.check()
    if not problems:
        click.echo(
            f"{spec}: every text is in {', '.join(loaded.languages)} "
            f"({len(translator.units)} texts)"
        )
        return
    for problem in problems:
        click.echo(problem.format())
    raise SurvmigError(f"{len(problems)} text(s) cannot be used", file=spec)
