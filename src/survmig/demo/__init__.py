"""``survmig demo``: the whole pipeline on a synthetic country, from modules to a report.

The heavy work is in :mod:`survmig.demo.run` (imported when the command runs):
:func:`~survmig.demo.run.run_demo` returns a :class:`~survmig.demo.run.DemoResult`;
:mod:`survmig.demo.country` draws the country, :mod:`survmig.demo.responses` answers the form,
:mod:`survmig.demo.fieldwork` selects the sample.
"""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["demo"]


@click.command("demo")
@click.argument("directory", default="survmig-demo", type=click.Path(path_type=Path))
@click.option(
    "--households",
    default=1200,
    show_default=True,
    type=click.IntRange(min=1),
    help="Households to select for interview (phase-2 sample size aimed at).",
)
@click.option(
    "--population",
    default=None,
    type=click.IntRange(min=1),
    help="Households in the synthetic country (default: 10 × --households, at least 6,000).",
)
@click.option("--seed", default=2025, show_default=True, help="Seed: same seed, same numbers.")
@click.option(
    "--no-validate",
    is_flag=True,
    help="Skip ODK Validate (Java) when building the questionnaire; pyxform still converts it.",
)
@click.option(
    "--platform",
    type=click.Choice(["odk-central", "kobo", "surveycto"]),
    default="odk-central",
    show_default=True,
    help="Shape of the fieldwork export: ODK Central zip, KoboToolbox XLSX or SurveyCTO wide CSV.",
)
def demo(
    directory: Path,
    households: int,
    population: int | None,
    seed: int,
    no_validate: bool,
    platform: str,
) -> None:
    """Run the whole pipeline on a synthetic country and write the results to DIRECTORY.

    Builds the MED-HIMS household questionnaire from the bundled modules, draws a country with
    clustered migration, selects EAs by PPS with a listing, a screener and subsampling by migrant
    class, answers the form for the sampled households (ODK Central export), imports and checks
    the data, weights it (base, nonresponse, calibration to census totals), estimates every
    computable indicator nationally, by region and by sex, and writes an HTML report, a workbook,
    CSV and charts. The true values are known, so it also reports how many 95 % intervals cover
    them. DIRECTORY (default survmig-demo) is written all at once; an earlier demo there is replaced.

    \b
    Examples:
      survmig demo                         # into ./survmig-demo
      survmig demo out --households 600 --seed 7
      survmig demo out-kobo --platform kobo   # the fieldwork as a KoboToolbox export
    """
    from survmig.demo.cli import run_cli

    run_cli(
        directory,
        households=households,
        population=population,
        seed=seed,
        validate=not no_validate,
        platform=platform,
    )
