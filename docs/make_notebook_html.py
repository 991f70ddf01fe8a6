"""Render every notebook of notebooks/ to HTML with its outputs, into docs/notebooks/ (rerun after a
change to a notebook).

    python docs/make_notebook_html.py

Each notebook is executed in a fresh kernel of this Python (as the test suite does) and exported by
nbconvert with its figures embedded, so a reader can see the notebooks without installing anything.
Needs the ``notebooks`` (or ``dev``) extra: nbclient, nbconvert, ipykernel.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbconvert import HTMLExporter

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "notebooks"
KERNEL = "survmig-docs"


def _kernel(folder: Path) -> None:
    """A kernelspec that runs this Python, found first through JUPYTER_PATH."""
    spec = folder / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": argv,
                "display_name": "survmig",
                "language": "python",
                "env": {"MPLBACKEND": "module://matplotlib_inline.backend_inline"},
            }
        )
    )
    os.environ["JUPYTER_PATH"] = str(folder)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    exporter = HTMLExporter()  # images are embedded as data URIs: one self-contained file
    with tempfile.TemporaryDirectory() as tmp:
        _kernel(Path(tmp) / "jupyter")
        for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
            nb = nbformat.read(path, as_version=4)
            work = Path(tmp) / path.stem
            work.mkdir()
            NotebookClient(
                nb, kernel_name=KERNEL, timeout=300, resources={"metadata": {"path": str(work)}}
            ).execute()
            body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": path.stem}})
            target = OUT / f"{path.stem}.html"
            partial = target.with_suffix(".html.tmp")
            partial.write_text(body, encoding="utf-8")
            partial.replace(target)
            print(f"wrote {target.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
