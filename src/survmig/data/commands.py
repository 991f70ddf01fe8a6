"""``survmig data``: import, check, export and document collected data."""

from __future__ import annotations

from pathlib import Path

import click

from survmig.errors import SurvmigError
from survmig.fileio import check_output_dir, check_output_file


def _load(
    export: str,
    form: str | None,
    level: str | None,
    keep_going: bool,
    encoding: str,
    root_level: str,
    platform: str = "auto",
    timezone: str | None = None,
):
    from survmig.data.readers import read_export
    from survmig.fileio import note_input

    for source in (export, form):
        if source is not None:
            note_input(source)
    return read_export(
        export,
        form,
        level=level,
        strict=not keep_going,
        encoding=encoding,
        root_level=root_level,
        platform=platform,
        timezone=timezone,
    )


def _platform_options(func):
    from survmig.data.readers import PLATFORMS

    func = click.option(
        "--timezone",
        default=None,
        help="Time zone of the devices, for date-times exported without their UTC offset "
        "(KoboToolbox XLSX, SurveyCTO): an IANA name (Africa/Lagos) or an offset (+01:00). "
        "Default: detected from Kobo's _submission_time where possible, otherwise a warning.",
    )(func)
    return click.option(
        "--platform",
        type=click.Choice(PLATFORMS),
        default="auto",
        show_default=True,
        help="Where the export comes from; auto detects it from the file (the summary says what was found).",
    )(func)


def _inputs(*paths: str | None) -> list[str]:
    return [p for p in paths if p is not None]


def _input_options(func):
    func = click.option(
        "--root-level",
        default="household",
        show_default=True,
        help="Name of the table with one row per submission.",
    )(func)
    func = click.option(
        "--encoding", default="utf-8", show_default=True, help="Text encoding of CSV files."
    )(func)
    func = click.option(
        "--keep-going",
        is_flag=True,
        help="Import exports that do not match the form (other columns, broken links, duplicate ids) and report the problems.",
    )(func)
    func = click.option(
        "--level",
        default=None,
        help="Level held by a single .csv/.parquet/.sav/.dta file (default: the root).",
    )(func)
    func = click.option(
        "--form",
        "form",
        type=click.Path(dir_okay=False),
        default=None,
        help="The compiled XLSForm (.xlsx).",
    )(func)
    return click.argument("export", type=click.Path())(func)


@click.group("data")
def data() -> None:
    """Import, check, export and document collected data.

    \b
    Example:
      survmig data import submissions.csv.zip --form form.xlsx -o data/
      survmig data check data/ -o problems.csv
      survmig data export data/ --format sav,dta --lang fr -o out/
      survmig data codebook data/ -o codebook/
    """


@data.command("import")
@_input_options
@_platform_options
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(file_okay=False),
    help="Dataset directory to write.",
)
def import_(
    export, form, level, keep_going, encoding, root_level, platform, timezone, output
) -> None:
    """Read an export with its form into a typed, linked dataset (Parquet + metadata).

    EXPORT is an ODK Central .zip (also the full export with media and client audit), a
    KoboToolbox .xlsx or ;-separated .csv (any header style, XML values or labels), a SurveyCTO
    wide .csv or long .zip, a .csv, .parquet, .sav or .dta table, or a directory of
    <level>.<ext> files. The summary says what was detected.

    \b
    Example:
      survmig data import submissions.csv.zip --form form.xlsx -o data/
      survmig data import kobo.xlsx --form form.xlsx -o data/ --timezone Africa/Lagos
      survmig data import survey_WIDE.csv --form form.xlsx --platform surveycto -o data/
    """
    if form is None:
        raise SurvmigError(
            "--form is required to import an export", hint="give the compiled XLSForm (.xlsx)"
        )
    check_output_dir(output, _inputs(export, form))
    ds = _load(export, form, level, keep_going, encoding, root_level, platform, timezone)
    ds.write(output)
    for key, value in (ds.source.get("detected") or {}).items():
        click.echo(f"{key}: {value}")
    for warning in ds.source.get("warnings") or []:
        click.echo(f"warning: {warning}", err=True)
    sizes = ", ".join(f"{lv}: {len(ds.table(lv))} rows" for lv in ds.levels)
    if ds.audit is not None:
        sizes += f", client audit: {len(ds.audit)} events"
    click.echo(f"imported {sizes} -> {output}")
    if ds.notes:
        click.echo(
            f"{len(ds.notes)} problem(s) found while importing; run `survmig data check {output}` for the list"
        )


@data.command("check")
@_input_options
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write every problem to this CSV.",
)
@click.option("--show", default=20, show_default=True, help="How many problems to print.")
@click.option(
    "--spreadsheet-safe",
    is_flag=True,
    help="CSV for spreadsheets: text starting with = + - @ gets a leading ' (OWASP), so an answer "
    "cannot run as a formula in Excel/LibreOffice (values are then no longer exact).",
)
def check(
    export, form, level, keep_going, encoding, root_level, output, show, spreadsheet_safe
) -> None:
    """Check data against its form; exit status 1 when problems are found.

    Reports columns not in the form, values outside the choice lists or constraints, answers where the
    skip logic says the question was not asked, required answers missing, repeat rows without a parent
    or against repeat_count, duplicate instance ids. Expressions the checker cannot evaluate are listed
    as not checked. today() is the date the check runs (printed).

    \b
    Example:
      survmig data check submissions.csv.zip --form form.xlsx -o problems.csv
      survmig data check data/
    """
    from survmig.data.checks import check_dataset

    if output:
        check_output_file(output, _inputs(export, form))
    ds = _load(export, form, level, True, encoding, root_level)
    report = check_dataset(ds)
    if output:
        report.write(output, spreadsheet_safe=spreadsheet_safe)
    summary = report.summary()
    click.echo(f"checked {', '.join(f'{lv}: {n} rows' for lv, n in report.rows.items())}")
    click.echo(f"today() evaluated as {report.today} (the date of this check)")
    if report.ok:
        click.echo("no problems found")
    else:
        click.echo(f"{len(report.problems)} problem(s):")
        click.echo(summary.to_string(index=False))
        click.echo(report.to_frame().head(show).to_string(index=False))
    if report.not_checked:
        click.echo(
            f"{len(report.not_checked)} check(s) not made (expression outside the supported subset):"
        )
        click.echo(report.not_checked_frame().to_string(index=False))
    if output:
        click.echo(f"report written to {output}")
    if not report.ok:
        raise click.exceptions.Exit(1)


@data.command("export")
@_input_options
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(file_okay=False),
    help="Directory for the files.",
)
@click.option(
    "--format",
    "formats",
    default="sav,dta",
    show_default=True,
    help="Comma-separated: sav, dta, csv, parquet.",
)
@click.option(
    "--lang", default=None, help="Language of the labels (en, fr, ar, or a form language name)."
)
@click.option(
    "--public-use",
    "public",
    type=click.Path(dir_okay=False),
    default=None,
    help="YAML configuration of a public-use file.",
)
@click.option(
    "--dta-special",
    type=click.Choice(["extended", "labelled"]),
    default="extended",
    show_default=True,
    help="-8/-9 in Stata as .a/.b or as labelled values.",
)
def export(
    export,
    form,
    level,
    keep_going,
    encoding,
    root_level,
    output,
    formats,
    lang,
    public,
    dta_special,
) -> None:
    """Write labelled SPSS/Stata files (and CSV, Parquet), one per level.

    \b
    Example:
      survmig data export data/ --format sav,dta --lang fr -o out/
      survmig data export data/ --public-use public.yaml --format sav,csv -o public/
    """
    from survmig.data.labelled import NOT_WRITTEN, check_formats, write_tables
    from survmig.data.public import load_config, public_use

    fmts = tuple(f.strip().lower() for f in formats.split(",") if f.strip())
    check_formats(fmts)
    check_output_dir(output, _inputs(export, form, public))
    config = load_config(public) if public is not None else None
    ds = _load(export, form, level, keep_going, encoding, root_level)
    if config is not None:
        ds, log = public_use(ds, config)
        for line in log:
            click.echo(f"public use: {line}")
    notes = write_tables(
        ds, output, fmts, lang=lang, dta_special=dta_special, codebook=config is not None
    )
    click.echo(f"wrote {', '.join(f'{lv}.{f}' for lv in ds.levels for f in fmts)} -> {output}")
    if config is not None:
        click.echo(
            "public use: index.html, codebook-<level>.html and ddi-<level>.xml describe exactly "
            "the published files (nothing removed is named)"
        )
    lost = sum(n.note.startswith(NOT_WRITTEN) for n in notes)
    if lost:
        click.echo(
            f"warning: {lost} value(s) could not be written as typed and are missing in the files "
            f"(e.g. {next(n.note for n in notes if n.note.startswith(NOT_WRITTEN))[len(NOT_WRITTEN) + 1 :]}); "
            f"each is listed in {Path(output) / 'export_notes.csv'}",
            err=True,
        )
    if notes:
        click.echo(
            f"{len(notes)} note(s) on names, labels, codes and values in "
            f"{Path(output) / 'export_notes.csv'}; values are written exactly as stored "
            "(no spreadsheet escaping)"
        )


@data.command("codebook")
@_input_options
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(file_okay=False),
    help="Directory for the codebooks.",
)
@click.option(
    "--lang",
    default=None,
    help="Language of variable and value labels (question texts show every language).",
)
def codebook(export, form, level, keep_going, encoding, root_level, output, lang) -> None:
    """Write an HTML codebook and a DDI Codebook 2.5 XML file per level.

    \b
    Example:
      survmig data codebook data/ -o codebook/
    """
    from survmig.data.codebook import write_codebooks

    check_output_dir(output, _inputs(export, form))
    ds = _load(export, form, level, keep_going, encoding, root_level)
    paths = write_codebooks(ds, output, lang)
    click.echo("wrote " + ", ".join(p.name for p in paths) + f" -> {output}")
