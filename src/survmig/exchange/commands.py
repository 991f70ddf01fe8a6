"""``survmig sdmx``: a published indicator table as SDMX-CSV and SDMX-ML, over
:func:`survmig.exchange.sdmx.write_sdmx`."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("sdmx")
@click.argument("table", type=click.Path(path_type=Path))
@click.option(
    "--ref-area", required=True, help="REF_AREA: the country's UN M49 numeric code (504 = Morocco)."
)
@click.option("--time-period", required=True, help="TIME_PERIOD of the observations, e.g. 2025.")
@click.option("--name", default="SURVMIG_MIGRATION", show_default=True, help="Dataflow id.")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path),
    help="Output folder (data.csv, data.xml, structure.xml, mapping.csv).",
)
def sdmx_command(table: Path, ref_area: str, time_period: str, name: str, output: Path) -> None:
    """Write an indicator table (the indicators.csv of a report) as SDMX-CSV and SDMX-ML.

    Codes of the SDG global data structure where they exist (SERIES, REF_AREA, SEX, AGE,
    UNIT_MEASURE, OBS_STATUS, LOWER_BOUND/UPPER_BOUND); the mapping is in docs/sdmx.md. Suppressed
    estimates are written without value, SE or bounds.

    \b
    Example:
      survmig sdmx report/indicators.csv --ref-area 504 --time-period 2025 -o sdmx/
    """
    from survmig.exchange.sdmx import write_sdmx
    from survmig.tableio import read_table

    files = write_sdmx(
        read_table(table), output, ref_area=ref_area, time_period=time_period, name=name
    )
    click.echo(f"wrote {', '.join(str(p) for p in files.values())}")
