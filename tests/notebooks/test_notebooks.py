"""Execute every notebook in notebooks/ in a fresh kernel of this environment; any error fails.

The kernel is a kernelspec written to a temporary directory that runs *this* Python
(``sys.executable``), found first through JUPYTER_PATH — so the test works on a fresh machine after
``pip install -e .[dev]`` whatever kernels the user has installed elsewhere.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
KERNEL = "survmig-test"


@pytest.fixture(scope="module")
def kernel(tmp_path_factory, monkeypatch_module):
    spec_dir = tmp_path_factory.mktemp("jupyter") / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "survmig (test)",
                "language": "python",
                # what ipykernel itself selects in Jupyter: figures become outputs (Agg here
                # would hide every figure, and an Agg inherited from a survmig command run
                # earlier in this process must not leak in)
                "env": {"MPLBACKEND": "module://matplotlib_inline.backend_inline"},
            }
        )
    )
    monkeypatch_module.setenv("JUPYTER_PATH", str(spec_dir.parent.parent))
    return KERNEL


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def test_there_are_notebooks():
    names = {p.name for p in NOTEBOOKS}
    assert {
        "01_rare_populations_screening.ipynb",
        "02_stratification_two_phase.ipynb",
        "03_adaptive_network_sampling.ipynb",
    } <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path, kernel, tmp_path):
    nb = nbformat.read(path, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "strip outputs"
    client = NotebookClient(
        nb, kernel_name=kernel, timeout=120, resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError on any error
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    # every cell that draws shows its figure (a library that switched matplotlib's backend would
    # leave these cells without an image)
    drawing = [c for c in nb.cells if c.cell_type == "code" and DRAWS.search(c.source)]
    assert drawing, f"{path.name}: no cell draws a figure"
    blank = [
        c.source.splitlines()[0]
        for c in drawing
        if not any("image/png" in o.get("data", {}) for o in c.get("outputs", []))
    ]
    assert not blank, f"{path.name}: cells that draw but show no figure: {blank}"


#: code that makes a figure: pyplot calls, pandas/survmig .plot…(), imshow
DRAWS = re.compile(r"\bplt\.(figure|subplots|plot|hist|bar|scatter)\(|\.plot(\.\w+)?\(|imshow\(")


def test_the_figure_check_finds_drawing_cells():
    assert DRAWS.search("fig, ax = plt.subplots(1, 2)") and DRAWS.search("sim.plot();")
    assert DRAWS.search("runs.plot.hist(bins=20)") and not DRAWS.search("print(result)")


def test_sampling_notebooks_are_current(tmp_path):
    """The committed sampling notebooks are exactly what the generator script writes."""
    sys.path.insert(0, str(ROOT / "notebooks"))
    try:
        import make_sampling_notebooks as gen
    finally:
        sys.path.pop(0)
    for fresh in gen.build(tmp_path):
        assert fresh.read_text() == (ROOT / "notebooks" / fresh.name).read_text(), fresh.name
