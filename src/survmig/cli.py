"""The ``survmig`` command: a thin layer over the Python API.

Each pipeline stage owns its commands in ``survmig/<stage>/commands.py``; they are imported only when
used, so ``survmig --help`` stays fast and a stage's heavy imports never slow another. User errors
(:class:`~survmig.errors.SurvmigError`) print one line and exit with status 2.
"""

from __future__ import annotations

import importlib
import os
import sys

import click

from survmig import __version__
from survmig.errors import SurvmigError

#: command name -> ("module:attribute", one-line help shown by ``survmig --help``)
COMMANDS: dict[str, tuple[str, str]] = {
    "build": (
        "survmig.xlsform.commands:build",
        "Compile a questionnaire spec into a validated XLSForm.",
    ),
    "validate": (
        "survmig.xlsform.commands:validate",
        "Validate any XLSForm with pyxform and ODK Validate.",
    ),
    "modules": ("survmig.modules.commands:modules", "List and show the question modules."),
    "render": (
        "survmig.render.commands:render",
        "Render a form as a printable questionnaire (HTML).",
    ),
    "test-form": (
        "survmig.formtest.commands:test_form",
        "Fill a form in the ODK engine following scripted scenarios.",
    ),
    "data": ("survmig.data.commands:data", "Import, check, export and document collected data."),
    "weight": (
        "survmig.weighting.commands:weight",
        "Run a weighting pipeline (base, nonresponse, calibration, trimming).",
    ),
    "estimate": (
        "survmig.estimation.commands:estimate",
        "Design-based estimates with standard errors.",
    ),
    "indicators": (
        "survmig.indicators.commands:indicators",
        "List and describe the migration indicators (ids for --indicators).",
    ),
    "sample-size": (
        "survmig.sampling.commands:sample_size",
        "Sample size for a proportion or mean, rare groups included.",
    ),
    "allocate": ("survmig.sampling.commands:allocate", "Allocate a sample across strata."),
    "plan": (
        "survmig.sampling.plan_commands:plan",
        "Plan a design: cluster optima, variance components, domain and power sizes, joint π.",
    ),
    "select": (
        "survmig.sampling.commands:select",
        "Select a sample from a frame, with inclusion probabilities.",
    ),
    "simulate": (
        "survmig.sampling.commands:simulate",
        "Compare sample designs for a rare population by simulation.",
    ),
    "demo": (
        "survmig.demo:demo",
        "Run the whole pipeline on a synthetic country: modules to estimates.",
    ),
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        target, _ = COMMANDS[cmd_name]
        module_name, attr = target.split(":")
        module = importlib.import_module(module_name)
        return getattr(module, attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="survmig")
def cli() -> None:
    """survmig: migration modules for household surveys, from questionnaire to estimates.

    \b
    Example:
      survmig demo out/            # the whole pipeline on a synthetic country
      survmig build xlsform/medhims_household.yaml -o form.xlsx
    """


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning user errors into one line and exit status 2."""
    try:
        # Without standalone mode click *returns* the status of ``ctx.exit(n)`` instead of exiting.
        status = cli.main(args=argv, prog_name="survmig", standalone_mode=False)
        if isinstance(status, int) and status != 0:
            sys.exit(status)
    except SurvmigError as err:
        click.echo(f"error: {err.format()}", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    except click.exceptions.Exit as err:
        sys.exit(err.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as err:  # an internal bug: say so plainly, keep the traceback behind a switch
        if os.environ.get("SURVMIG_DEBUG"):
            raise
        click.echo(
            f"internal error: {type(err).__name__}: {err}\n"
            "This is a bug in survmig; rerun with SURVMIG_DEBUG=1 for the traceback and report it.",
            err=True,
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
