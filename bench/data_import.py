"""Benchmark: import and label an ODK Central export of 50,000 households, then write .sav.

Usage: .venv/bin/python bench/data_import.py [N_HOUSEHOLDS] [--form XLSX] [--repeat K]

Generates the export once (synthetic submissions for the standard household questionnaire in
xlsform/, ~5 persons and ~0.4 remittance senders per household), then times in separate processes
(so peak memory is each step's own):
  survmig  read_export (typing, labels, links, 0/1 option columns) + write_tables(sav)
  peer     the floor: pandas.read_csv of every CSV as text + pyreadstat.write_sav with no labels
K times each (default 3, alternating, with the load average before each run; the machine is shared),
and writes bench/results/data.md (the median and the fastest run), keeping the notes below the
``<!-- notes -->`` line of the previous file. "of which pyreadstat" is the time spent inside
pyreadstat.write_sav on survmig's final frames: the floor of the writer itself.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = Path(tempfile.gettempdir()) / "survmig-bench-data"

STEP = r"""
import json, resource, sys, time, zipfile, io
from pathlib import Path
kind, export, form, out = sys.argv[1:5]
t0 = time.perf_counter()
if kind == "survmig":
    from survmig.data import FormMetadata, read_export, write_tables
    meta = FormMetadata.from_xlsform(form)
    t1 = time.perf_counter()
    ds = read_export(export, meta)
    t2 = time.perf_counter()
    import pyreadstat
    inner = [0.0]
    plain_write_sav = pyreadstat.write_sav
    def timed_write_sav(*a, **k):
        s = time.perf_counter()
        plain_write_sav(*a, **k)
        inner[0] += time.perf_counter() - s
    pyreadstat.write_sav = timed_write_sav
    write_tables(ds, out, ("sav",))
    rows = {lv: len(ds.table(lv)) for lv in ds.levels}
else:
    import pandas as pd, pyreadstat
    t1 = time.perf_counter()
    with zipfile.ZipFile(export) as zf:
        frames = {n: pd.read_csv(io.BytesIO(zf.read(n)), dtype=str, keep_default_na=False) for n in zf.namelist()}
    t2 = time.perf_counter()
    Path(out).mkdir(parents=True, exist_ok=True)
    for n, df in frames.items():
        pyreadstat.write_sav(df.rename(columns=lambda c: "v" + "".join(ch if ch.isalnum() else "_" for ch in c)[:60]), str(Path(out) / (Path(n).stem + ".sav")))
    rows = {n: len(df) for n, df in frames.items()}
    inner = [None]
t3 = time.perf_counter()
print(json.dumps({"total": t3 - t0, "read": t2 - t1, "write": t3 - t2, "pyreadstat": inner[0], "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "rows": rows}))
"""


def main() -> None:
    args = sys.argv[1:]
    n = int(args[0]) if args and args[0].isdigit() else 50_000
    forms = sorted((ROOT / "xlsform").glob("*household*.xlsx"), key=lambda p: p.stat().st_size)
    form = Path(args[args.index("--form") + 1]) if "--form" in args else forms[-1]
    WORK.mkdir(parents=True, exist_ok=True)
    # a private copy: the form in the work tree may change while the benchmark runs
    shutil.copyfile(form, WORK / "form.xlsx")
    form_file = WORK / "form.xlsx"
    export = WORK / f"central_{n}.zip"
    from survmig.data import FormMetadata, synthetic_dataset, write_central_export

    meta = FormMetadata.from_xlsform(form_file)
    t = time.perf_counter()
    repeat_means = {
        lv: (5.0 if meta.levels[lv].parent == meta.root and i == 0 else 0.8)
        for i, lv in enumerate(meta.children(meta.root))
    }
    ds = synthetic_dataset(meta, n, seed=7, repeat_means=repeat_means)
    write_central_export(ds, meta, export)
    gen = time.perf_counter() - t
    sizes = {lv: len(ds.table(lv)) for lv in ds.levels}
    del ds
    repeat = int(args[args.index("--repeat") + 1]) if "--repeat" in args else 3
    runs: dict[str, list[dict]] = {"survmig": [], "peer": []}
    for _ in range(repeat):
        for kind in ("survmig", "peer"):
            out = WORK / f"out_{kind}"
            load = os.getloadavg()[0]
            proc = subprocess.run(
                [sys.executable, "-c", STEP, kind, str(export), str(form_file), str(out)],
                capture_output=True,
                text=True,
                check=True,
            )
            result = json.loads(proc.stdout.strip().splitlines()[-1])
            result["load"] = load
            runs[kind].append(result)

    def med(kind: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[kind])

    def best(kind: str, key: str) -> float:
        return min(r[key] for r in runs[kind])

    def cell(kind: str, key: str, unit: str = "s") -> str:
        return f"{med(kind, key):.1f} {unit} (fastest {best(kind, key):.1f})"

    loads = [r["load"] for k in runs for r in runs[k]]
    lines = [
        "# Benchmark: import and label an ODK Central export, write .sav",
        "",
        f"Script: `bench/data_import.py {n}`. Form: `{form.relative_to(ROOT)}` ({len(meta.variables)} columns incl. option columns). "
        f"Export: {export.stat().st_size / 1e6:.1f} MB zip, rows {sizes} (generated in {gen:.0f} s, not timed below).",
        "Machine: 2 cores, 24 GB, **shared with other engineers running their own work during the measurement** "
        f"(1-minute load average before the runs: {min(loads):.1f} to {max(loads):.1f}). {repeat} runs of each step, "
        "alternating, each in its own process (peak memory = that process's max RSS); median (fastest).",
        "",
        "| step | survmig (typed, labelled, linked) | peer floor (text only, no labels) | ratio (medians) |",
        "|---|---|---|---|",
        f"| read / import | {cell('survmig', 'read')} | {cell('peer', 'read')} | {med('survmig', 'read') / med('peer', 'read'):.2f} |",
        f"| write .sav | {cell('survmig', 'write')} | {cell('peer', 'write')} | {med('survmig', 'write') / med('peer', 'write'):.2f} |",
        f"| of which in pyreadstat.write_sav | {cell('survmig', 'pyreadstat')} | | |",
        f"| total (incl. start-up) | {cell('survmig', 'total')} | {cell('peer', 'total')} | {med('survmig', 'total') / med('peer', 'total'):.2f} |",
        f"| peak memory | {med('survmig', 'peak_mb'):.0f} MB | {med('peer', 'peak_mb'):.0f} MB | {med('survmig', 'peak_mb') / med('peer', 'peak_mb'):.2f} |",
        "",
        "Target: under 30 s and under 4 GB for survmig.",
        "The peer reads every CSV as text with pandas and writes unlabelled .sav files with pyreadstat: the floor any",
        "tool pays for parsing and writing; survmig adds typing, checks of keys and links, 0/1 option columns and labels.",
    ]
    results_file = ROOT / "bench" / "results" / "data.md"
    notes = ""
    if results_file.exists() and "<!-- notes -->" in (
        old := results_file.read_text(encoding="utf-8")
    ):
        notes = old[old.index("<!-- notes -->") :]
    results_file.write_text(
        "\n".join(lines) + "\n" + ("\n" + notes if notes else ""), encoding="utf-8"
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
