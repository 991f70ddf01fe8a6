"""Shared test helpers."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from survmig.cli import main

ROOT = Path(__file__).resolve().parents[1]


@dataclasses.dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def run_cli(capsys):
    """Run ``survmig ARGS`` in-process through the real entry point (error handling included)."""

    def run(*args: str) -> CliResult:
        code = 0
        try:
            main([str(a) for a in args])
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        out, err = capsys.readouterr()
        return CliResult(code, out, err)

    return run


@pytest.fixture
def project_root() -> Path:
    return ROOT
