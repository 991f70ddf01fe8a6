"""Benchmark: estimation at census scale — in memory, out of core on DuckDB, on Spark (local).

The work (as ``bench/estimation_bench.py``): the means and SEs of 4 variables overall and by 20
domains, Taylor linearization, stratified cluster design (100 strata, 1,000 persons per PSU). The
data are made by DuckDB SQL straight to Parquet (never through pandas) in a temporary folder that is
deleted at the end. Every engine runs in a fresh process; its peak memory is the child's maximum
resident set size (``/usr/bin/time -v``), its time the wall clock of the estimation (the in-memory
engine in-process: after the read; the command line: end to end, read included).

    .venv/bin/python bench/scale_bench.py                      # 10 M persons, all engines
    .venv/bin/python bench/scale_bench.py --persons 100000000 --engines duckdb
    .venv/bin/python bench/scale_bench.py --persons 200000 --quick

Writes (appends a section to) bench/results/scale.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MEANS = ["y1", "y2", "y3", "y4"]
DESIGN = {"ids": "psu", "strata": "stratum", "weights": "weight", "nest": True}
ENGINES = ("memory", "cli", "duckdb", "spark")


def make_parquet(path: Path, persons: int) -> float:
    """Synthetic persons by DuckDB SQL (hash-based, reproducible), written to Parquet."""
    import duckdb

    t0 = time.perf_counter()
    con = duckdb.connect(config={"threads": 2, "memory_limit": "3GB"})
    con.execute(
        f"""
        COPY (
          SELECT
            (i // 1000) % 100                                   AS stratum,
            i // 1000                                           AS psu,
            'd' || lpad(CAST(hash(i * 7 + 1) % 20 AS VARCHAR), 2, '0') AS domain,
            50.0 + CAST(hash(i // 1000) % 1000 AS DOUBLE) / 10  AS weight,
            CAST(hash(i * 3 + 2) % 10000 AS DOUBLE) / 100       AS y1,
            CAST(hash(i * 5 + 3) % 10 = 0 AS DOUBLE)            AS y2,
            CAST(hash(i * 11 + 4) % 90 AS DOUBLE) + (i // 1000) % 7 AS y3,
            CAST(hash(i * 13 + 5) % 100000 AS DOUBLE) * ((i // 1000) % 3) AS y4
          FROM range({persons}) t(i)
        ) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)
        """
    )
    con.close()
    return time.perf_counter() - t0


# -- children (one engine per process) ----------------------------------------------------------


def engine_options(engine: str) -> dict:
    """``estimate_sql`` keywords for the engine: a DuckDB connection with 2 threads and 3 GB, or
    a started local Spark session (so the JVM start is not the reduction's time)."""
    import duckdb

    from survmig.estimation.sources import spark_session

    kw: dict = {}
    if engine == "duckdb":
        kw["connection"] = duckdb.connect(config={"threads": 2, "memory_limit": "3GB"})
    elif engine == "spark":
        spark_session(
            "local[2]",
            config={
                "spark.ui.enabled": "false",
                "spark.driver.memory": "2g",
                "spark.sql.shuffle.partitions": "4",
            },
        )
    return kw


def child(engine: str, data: Path, out: Path) -> None:
    import pandas as pd
    import pyarrow.parquet as pq

    from survmig.design import SurveyDesign
    from survmig.estimation import estimate
    from survmig.estimation.sql import estimate_sql

    kw = engine_options(engine)
    t0 = time.perf_counter()
    t_read = 0.0
    if engine == "memory":
        frame = pq.read_table(data).to_pandas(self_destruct=True, split_blocks=True)
        t_read = time.perf_counter() - t0
        t0 = time.perf_counter()
        design = SurveyDesign(frame, **DESIGN)
        tables = [estimate(design, mean=MEANS), estimate(design, mean=MEANS, by="domain")]
    else:
        tables = [
            estimate_sql(data, DESIGN, engine=engine, mean=MEANS, **kw),
            estimate_sql(data, DESIGN, engine=engine, mean=MEANS, by="domain", **kw),
        ]
    seconds = time.perf_counter() - t0
    pd.concat(tables, ignore_index=True).to_csv(out, index=False)
    print(json.dumps({"seconds": seconds, "read": t_read}))


def run_child(engine: str, data: Path, out: Path) -> dict:
    if engine == "cli":
        cmd = [
            sys.executable, "-m", "survmig", "estimate", str(data), "--engine", "memory",
            "--psu", "psu", "--strata", "stratum", "--weight", "weight", "--nest",
            "--mean", ",".join(MEANS), "-o", str(out),
        ]  # fmt: skip
    else:
        cmd = [sys.executable, __file__, "--child", engine, "--data", str(data), "--out", str(out)]
    stdout, peak_gb, wall = measured(engine, cmd)
    info = {"peak_gb": peak_gb, "wall": wall}
    if engine == "cli":
        info["seconds"] = wall
        info["read"] = float("nan")
    else:
        info.update(json.loads(stdout.strip().splitlines()[-1]))
    return info


def measured(engine: str, cmd: list[str]) -> tuple[str, float, float]:
    """Run ``cmd`` under ``/usr/bin/time -v``: its stdout, peak resident memory (GB), wall time."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    t0 = time.perf_counter()
    res = subprocess.run(
        ["/usr/bin/time", "-v", *cmd], capture_output=True, text=True, env=env, check=False
    )
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        raise SystemExit(f"{engine} failed:\n{res.stderr[-3000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", res.stderr).group(1))
    return res.stdout, rss / 1024**2, wall


def table_rows(
    results: dict, names: dict[str, str], agree: dict[str, float], note: str | None
) -> list[str]:
    """The engines' rows (seconds, peak memory, ratio to in-memory), the agreement and the note."""
    base = results.get("memory", {}).get("seconds")
    lines = []
    for engine, info in results.items():
        ratio = f"{info['seconds'] / base:.2f}×" if base else "–"
        label = names[engine].format(read=info.get("read", 0.0))
        lines.append(f"| {label} | {info['seconds']:.1f} | {info['peak_gb']:.2f} | {ratio} |")
    if agree:
        lines += ["", "Largest relative difference from the in-memory engine (estimate, SE, CI, deff): "
                  + ", ".join(f"{e} {v:.1e}" for e, v in agree.items()) + "."]  # fmt: skip
    if note:
        lines += ["", note]
    return lines


def cli_by(data: Path, out: Path) -> dict:
    """The command line's second request (by domain), end to end."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    cmd = [
        sys.executable, "-m", "survmig", "estimate", str(data), "--engine", "memory", "--psu", "psu",
        "--strata", "stratum", "--weight", "weight", "--nest", "--mean", ",".join(MEANS),
        "--by", "domain", "-o", str(out),
    ]  # fmt: skip
    t0 = time.perf_counter()
    res = subprocess.run(
        ["/usr/bin/time", "-v", *cmd], capture_output=True, text=True, env=env, check=False
    )
    if res.returncode != 0:
        raise SystemExit(f"cli failed:\n{res.stderr[-3000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", res.stderr).group(1))
    return {"seconds": time.perf_counter() - t0, "peak_gb": rss / 1024**2}


def max_rel_diff(a: Path, b: Path) -> float:
    import numpy as np
    import pandas as pd

    x, y = pd.read_csv(a), pd.read_csv(b)
    worst = 0.0
    for col in ("estimate", "se", "ci_low", "ci_high", "deff"):
        u, v = x[col].to_numpy(float), y[col].to_numpy(float)
        worst = max(worst, float(np.nanmax(np.abs(u - v) / np.abs(v))))
    return worst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--persons", type=int, default=10_000_000)
    ap.add_argument("--engines", default=",".join(ENGINES))
    ap.add_argument("--quick", action="store_true", help="do not write bench/results/scale.md")
    ap.add_argument(
        "--note", default="", help="a line added under the table (e.g. the machine's load)"
    )
    ap.add_argument("--child")
    ap.add_argument("--data", type=Path)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.data, args.out)
        return
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    tmp = Path(tempfile.mkdtemp(prefix="survmig-scale-", dir=os.environ.get("SCALE_TMP")))
    try:
        data = tmp / "persons.parquet"
        t_gen = make_parquet(data, args.persons)
        size_gb = data.stat().st_size / 1024**3
        results = {}
        for engine in engines:
            results[engine] = run_child(engine, data, tmp / f"{engine}.csv")
            print(engine, results[engine], flush=True)
        if "cli" in engines:  # the same two requests as the other engines: overall, then by
            by = cli_by(data, tmp / "cli_by.csv")
            results["cli"]["seconds"] += by["seconds"]
            results["cli"]["peak_gb"] = max(results["cli"]["peak_gb"], by["peak_gb"])
        agree = {
            e: max_rel_diff(tmp / f"{e}.csv", tmp / "memory.csv")
            for e in engines
            if e in ("duckdb", "spark") and "memory" in engines
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # never leave large files behind
    lines = [
        f"## {args.persons:,} persons ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})",
        "",
        f"Parquet {size_gb:.2f} GB written by DuckDB SQL in {t_gen:.1f} s (deleted afterwards). "
        f"Machine: {platform.machine()}, {os.cpu_count()} cores shared with other engineers' jobs "
        "(timings are noisy; ratios are from one run).",
        "",
        "| engine | seconds | peak memory (GB) | ratio to in-memory in-process |",
        "|---|---|---|---|",
    ]
    names = {
        "memory": "in memory, in-process (after a {read:.1f} s read)",
        "cli": "in memory, `survmig estimate` end to end (two commands: overall, --by domain; "
        "read, imports and process start included)",
        "duckdb": "DuckDB, out of core (threads 2, memory_limit 3GB)",
        "spark": "Spark local[2] (JVM start not counted; memory: the Python driver only)",
    }
    lines += table_rows(results, names, agree, args.note)
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.quick:
        target = ROOT / "bench" / "results" / "scale.md"
        head = "" if target.exists() else "# Scale benchmark (`bench/scale_bench.py`)\n\n"
        with target.open("a", encoding="utf-8") as fh:
            fh.write(head + text + "\n")


if __name__ == "__main__":
    main()
