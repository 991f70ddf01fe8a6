"""`survmig --help` in workflow order, and help text for every option of every command."""

from __future__ import annotations

import click
import pytest

from survmig.cli import COMMANDS, STAGES, cli


def _walk(command: click.Command, path: str):
    """Every command under ``command`` (groups included) with its full name."""
    yield path, command
    if isinstance(command, click.Group):
        ctx = click.Context(command)
        for name in command.list_commands(ctx):
            yield from _walk(command.get_command(ctx, name), f"{path} {name}")


def _all_commands():
    ctx = click.Context(cli)
    for name in COMMANDS:
        yield from _walk(cli.get_command(ctx, name), f"survmig {name}")


def test_every_option_of_every_command_has_help():
    missing = [
        f"{path} {'/'.join(param.opts)}"
        for path, command in _all_commands()
        for param in command.params
        if isinstance(param, click.Option) and not (param.help or "").strip()
    ]
    assert not missing, "options without help text:\n" + "\n".join(missing)


def test_every_command_has_help_and_a_one_line_description():
    for path, command in _all_commands():
        assert (command.help or "").strip(), f"{path} has no help"
    for name, (_, line) in COMMANDS.items():
        assert line and "\n" not in line and len(line) <= 100, name


def test_walk_finds_every_command_and_subcommand():
    paths = {path for path, _ in _all_commands()}
    assert {"survmig simulate", "survmig data import", "survmig modules list"} <= paths


def test_help_lists_commands_in_workflow_order(run_cli):
    res = run_cli("--help")
    assert res.exit_code == 0
    out = res.stdout
    order = ["demo", "build", "data", "weight", "estimate", "sample-size", "simulate"]
    positions = [out.index(f"\n  {name} ") for name in order]
    assert positions == sorted(positions), out
    titles = [title for title, _ in STAGES]
    assert [out.index(t) for t in titles] == sorted(out.index(t) for t in titles)
    # each stage's commands are known commands, each listed once
    staged = [name for _, names in STAGES for name in names]
    assert len(staged) == len(set(staged)) and set(staged) <= set(COMMANDS)


@pytest.mark.parametrize("name", list(COMMANDS))
def test_each_command_help_runs(run_cli, name):
    res = run_cli(name, "--help")
    assert res.exit_code == 0 and "Usage:" in res.stdout
