"""``survmig test-form``: fill a form in ODK's engine following scripted scenarios."""

from __future__ import annotations

import json
from pathlib import Path

import click

from survmig.errors import SurvmigError
from survmig.fileio import atomic_path


@click.command("test-form")
@click.argument("form", required=False, type=click.Path(path_type=Path))
@click.argument("scenarios", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--install-engine",
    is_flag=True,
    help="Install the pinned ODK engine and jsdom with npm ci (local, never global) and exit.",
)
@click.option("--only", multiple=True, metavar="NAME", help="Run only this scenario (repeatable).")
@click.option(
    "--report",
    type=click.Path(path_type=Path),
    help="Also write the results as JSON to this file.",
)
@click.option(
    "--timeout",
    type=float,
    default=600,
    show_default=True,
    help="Seconds the engine may take for the whole run.",
)
def test_form(
    form: Path | None,
    scenarios: tuple[Path, ...],
    install_engine: bool,
    only: tuple[str, ...],
    report: Path | None,
    timeout: float,
) -> None:
    """Fill FORM (an XLSForm, or an XForm .xml) in ODK Web Forms' engine following SCENARIOS.

    Each scenario gives answers by question name (member[2]/age inside repeats) and checks which
    questions are shown or hidden, which answers are rejected, calculated values, repeat counts and
    the submission. All scenario files run in one engine process. Exit status 2 when a scenario
    fails or the engine reports an error; the failing question is named.

    \b
    Example:
      survmig test-form --install-engine          # once, after installing survmig
      survmig test-form form.xlsx scenarios.yaml
      survmig test-form form.xlsx a.yaml b.yaml --only "household without migrants"
    """
    from survmig.formtest.engine import install_engine as install
    from survmig.formtest.runner import run_scenario_files

    if install_engine:
        home = install(echo=click.echo)
        click.echo(f"ODK engine ready in {home}")
        return
    if form is None or not scenarios:
        raise SurvmigError(
            "give a form and at least one scenario file",
            hint="survmig test-form FORM.xlsx SCENARIOS.yaml (or --install-engine)",
        )
    reports = run_scenario_files(
        [(form, path) for path in scenarios], only=list(only) or None, timeout=timeout
    )
    for run in reports:
        for line in run.lines():
            click.echo(line)
    if report is not None:
        with atomic_path(report) as tmp:
            tmp.write_text(
                json.dumps([r.to_dict() for r in reports], indent=2, ensure_ascii=False) + "\n",
                encoding="utf-8",
            )
    failed = [r for r in reports if not r.ok]
    if failed:
        raise failed[0].error()
