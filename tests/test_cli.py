"""The top-level command: help, version, and how user errors and bugs are reported."""

from __future__ import annotations

import click
import pytest

from survmig import cli as cli_module
from survmig.errors import SurvmigError


def test_help_lists_every_command(run_cli):
    result = run_cli("--help")
    assert result.exit_code == 0
    for name in cli_module.COMMANDS:
        assert name in result.stdout


def test_version(run_cli):
    result = run_cli("--version")
    assert result.exit_code == 0
    assert "survmig" in result.stdout


def test_unknown_command_is_a_usage_error(run_cli):
    result = run_cli("no-such-command")
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr


def test_user_error_exits_2_with_one_line(run_cli, monkeypatch):
    @click.command()
    def boom() -> None:
        raise SurvmigError("column 'age' is missing", file="data.csv", hint="check the export")

    monkeypatch.setitem(cli_module.COMMANDS, "boom", ("tests_boom:boom", "test"))
    monkeypatch.setattr(cli_module.LazyGroup, "get_command", lambda self, ctx, name: boom)
    result = run_cli("boom")
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: data.csv: column 'age' is missing — check the export"


def test_internal_error_has_no_traceback(run_cli, monkeypatch):
    @click.command()
    def crash() -> None:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(cli_module.LazyGroup, "get_command", lambda self, ctx, name: crash)
    result = run_cli("crash")
    assert result.exit_code == 1
    assert "internal error: ZeroDivisionError" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("line", [3, None])
def test_error_format_names_the_place(line):
    err = SurvmigError("bad value", file="m.yaml", line=line, where="question 'age'")
    prefix = "m.yaml:3" if line else "m.yaml"
    assert err.format() == f"{prefix}: question 'age': bad value"


def test_a_command_status_reaches_the_shell(run_cli, monkeypatch):
    """``ctx.exit(1)`` (e.g. `data check` finding problems) must not turn into status 0."""

    @click.command()
    @click.pass_context
    def found_problems(ctx: click.Context) -> None:
        click.echo("2 problem(s)")
        ctx.exit(1)

    monkeypatch.setattr(cli_module.LazyGroup, "get_command", lambda self, ctx, name: found_problems)
    result = run_cli("check")
    assert result.exit_code == 1
    assert "2 problem(s)" in result.stdout
