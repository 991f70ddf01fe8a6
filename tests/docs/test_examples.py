"""Every ```bash block of the README and of every docs/**/*.md page runs, top to bottom, as written.

Each page runs in its own folder that holds what a reader has after the README's first command:
``demo-output/`` (one demo run, shared by every page: it is copied) and the repository's
``xlsform/`` and ``modules/`` (copied, so examples that write there leave the checkout alone). The
blocks of a page run in order in that folder, each in ``bash -euo pipefail`` with this checkout's
``survmig`` first on the PATH, so a page may use what its earlier blocks wrote. A block preceded by
the line ``<!-- norun -->`` is skipped (an install, a cluster URL); see docs/README.md.
"""

from __future__ import annotations

import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
NORUN = "<!-- norun -->"
#: a small country keeps the shared demo run short; the files have the same names and shapes
DEMO_ARGS = ("--households", "400", "--population", "6000")  # the default seed
FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})(.*)$")


def blocks(text: str) -> list[tuple[int, str, str, bool]]:
    """(line of the opening fence, info string, body, skipped) for every fenced block."""
    out = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, info = m.group(2), m.group(3).strip()
        start = i
        body = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i])
            i += 1
        previous = next((ln.strip() for ln in reversed(lines[:start]) if ln.strip()), "")
        out.append((start + 1, info, "\n".join(body) + "\n", previous == NORUN))
        i += 1
    return out


def test_block_parser():
    text = "a\n```bash\necho 1\n```\n\n<!-- norun -->\n```bash\nsudo x\n```\n```\nplain\n```\n"
    assert blocks(text) == [
        (2, "bash", "echo 1\n", False),
        (7, "bash", "sudo x\n", True),
        (10, "", "plain\n", False),
    ]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_block_says_its_language(page):
    """A block without a language is not run by this test: shell must be tagged ```bash."""
    untagged = [line for line, info, _, _ in blocks(page.read_text(encoding="utf-8")) if not info]
    assert not untagged, f"{page.relative_to(ROOT)}: untagged code blocks at lines {untagged}"


@pytest.fixture(scope="session")
def demo_output(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("docs-demo")
    run = subprocess.run(
        [sys.executable, "-m", "survmig", "demo", "demo-output", *DEMO_ARGS],
        cwd=base,
        env=_env(),
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return base / "demo-output"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in [str(ROOT / "src"), env.get("PYTHONPATH", "")] if p
    )
    env["MPLBACKEND"] = "Agg"
    env["COLUMNS"] = "120"
    return env


def runnable_blocks(page: Path) -> list[tuple[int, str]]:
    """(line, body) of the page's bash blocks that are not marked norun."""
    return [
        (line, body)
        for line, info, body, skipped in blocks(page.read_text(encoding="utf-8"))
        if info.split()[:1] == ["bash"] and not skipped
    ]


RUNNABLE = [page for page in PAGES if runnable_blocks(page)]


def test_pages_with_examples_are_found():
    assert ROOT / "README.md" in RUNNABLE and len(RUNNABLE) >= 10


def run_page(page: Path, demo_output: Path, folder: Path) -> str | None:
    """Run a page's blocks in order in its own folder; the first failure's report, or None."""
    shutil.copytree(demo_output, folder / "demo-output")
    for name in ("xlsform", "modules"):
        shutil.copytree(ROOT / name, folder / name)
    rel = page.relative_to(ROOT)
    for line, body in runnable_blocks(page):
        start = time.perf_counter()
        run = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", body],
            cwd=folder,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=900,
        )
        print(f"{rel}:{line}: {time.perf_counter() - start:.1f} s")  # shown with -s / -rP
        if run.returncode != 0:
            return (
                f"{rel}, block at line {line} exited with {run.returncode}:\n{body}\n"
                f"--- stderr ---\n{run.stderr[-2000:]}\n--- stdout ---\n{run.stdout[-1000:]}"
            )
    return None


@pytest.fixture(scope="session")
def page_results(demo_output, tmp_path_factory) -> dict[Path, str | None]:
    """Every page run once, two at a time (the pages are independent and each block is one
    process, so the machine's cores are used); each parametrized test reads its page's result."""
    base = tmp_path_factory.mktemp("docs-pages")
    folders = {page: base / f"page{i}" for i, page in enumerate(RUNNABLE)}
    for folder in folders.values():
        folder.mkdir()
    workers = max(1, min(2, os.cpu_count() or 1))
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {
            page: pool.submit(run_page, page, demo_output, folders[page]) for page in RUNNABLE
        }
        return {page: future.result() for page, future in futures.items()}


@pytest.mark.parametrize("page", RUNNABLE, ids=lambda p: str(p.relative_to(ROOT)))
def test_page_examples_run(page, page_results):
    failure = page_results[page]
    assert failure is None, failure
