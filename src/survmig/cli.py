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
from survmig.fileio import guard_inputs

#: command name -> ("module:attribute", one-line help shown by ``survmig --help``), in workflow order
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": (
        "survmig.demo:demo",
        "Run the whole pipeline on a synthetic country: modules to estimates.",
    ),
    "modules": ("survmig.modules.commands:modules", "List and show the question modules."),
    "build": (
        "survmig.xlsform.commands:build",
        "Compile a questionnaire spec into a validated XLSForm.",
    ),
    "validate": (
        "survmig.xlsform.commands:validate",
        "Validate any XLSForm with pyxform and ODK Validate.",
    ),
    "test-form": (
        "survmig.formtest.commands:test_form",
        "Fill a form in the ODK engine following scripted scenarios.",
    ),
    "translations": (
        "survmig.translations.commands:translations",
        "Add a language: export every text to a sheet, import the translations.",
    ),
    "render": (
        "survmig.render.commands:render",
        "Render a form as a printable questionnaire (HTML).",
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
    "model": (
        "survmig.models.commands:model",
        "Design-based regression (linear, logistic, Poisson) with Wald tests.",
    ),
    "indicators": (
        "survmig.indicators.commands:indicators",
        "List and describe the migration indicators (ids for --indicators).",
    ),
    "small-area": (
        "survmig.smallarea.commands:small_area_command",
        "Small-area (Fay-Herriot) estimates of an indicator by area.",
    ),
    "sdmx": (
        "survmig.exchange.commands:sdmx_command",
        "Write an indicator table as SDMX-CSV and SDMX-ML (SDG codes).",
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
        "survmig.sampling.simulate_command:simulate",
        "Compare sample designs for a rare population by simulation.",
    ),
}

#: ``survmig --help`` sections, in the order of the work (a command in no section is listed last)
STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Start here", ("demo",)),
    (
        "1. Design the questionnaire",
        ("modules", "build", "validate", "test-form", "render", "translations"),
    ),
    ("2. Collected data", ("data",)),
    ("3. Weight", ("weight",)),
    ("4. Estimate and publish", ("estimate", "model", "indicators", "small-area", "sdmx")),
    (
        "5. Sampling (plan the next survey, teach)",
        ("sample-size", "allocate", "plan", "select", "simulate"),
    ),
)


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        staged = [name for _, names in STAGES for name in names if name in COMMANDS]
        return staged + [name for name in COMMANDS if name not in staged]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        target, _ = COMMANDS[cmd_name]
        module_name, attr = target.split(":")
        module = importlib.import_module(module_name)
        return getattr(module, attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        placed: set[str] = set()
        for title, names in STAGES:
            rows = [(name, COMMANDS[name][1]) for name in names if name in COMMANDS]
            placed.update(names)
            with formatter.section(title):
                formatter.write_dl(rows)
        rest = [(name, COMMANDS[name][1]) for name in COMMANDS if name not in placed]
        if rest:
            with formatter.section("More"):
                formatter.write_dl(rest)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="survmig")
def cli() -> None:
    """survmig: migration modules for household surveys, from questionnaire to estimates.

    \b
    Example:
      survmig demo demo-output     # the whole pipeline on a synthetic country
      survmig build xlsform/medhims_household.yaml -o form.xlsx
      survmig COMMAND --help       # every command's options, with an example
    """


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning user errors into one line and exit status 2."""
    # The command writes chart files and never shows a window: a non-interactive backend unless the
    # user chose one. (Set here, in the application, never in library modules.)
    os.environ.setdefault("MPLBACKEND", "Agg")
    try:
        # Without standalone mode click *returns* the status of ``ctx.exit(n)`` instead of exiting.
        with guard_inputs():  # no output may replace, contain or enter a file the command read
            status = cli.main(args=argv, prog_name="survmig", standalone_mode=False)
        if isinstance(status, int) and status != 0:
            sys.exit(status)
    except SurvmigError as err:
        click.echo(f"error: {err.format()}", err=True)
        sys.exit(getattr(err, "exit_code", 2))
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
