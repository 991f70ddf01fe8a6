"""Benchmark: a raked design file at census scale — in memory, out of core on DuckDB, on Spark.

The data of ``bench/scale_bench.py`` (stratified cluster design, 1,000 persons per PSU) with three
raking margins (region 10 × sex 2 × age group 8 categories) and the design file ``survmig weight``
writes for it: ``calibration:`` with the weights before raking and the raking step (controls 10 %
above the sample's totals, so the factors are not 1). The raked weights in the file are made
from the weights before by the out-of-core engine's own cell-level rerun (one DuckDB pass and a
join); every engine then checks that the recorded raking reproduces them. The work: means and SEs
of 4 variables overall and by 20 domains, with the raking residuals. Each engine runs in a fresh
process; peak memory is the child's maximum resident set size (``/usr/bin/time -v``).

    .venv/bin/python bench/scale_calibrated_bench.py                   # 10 M persons
    .venv/bin/python bench/scale_calibrated_bench.py --persons 400000 --quick   # smaller samples leave strata with one PSU

Appends a section to bench/results/scale.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale_bench import (  # noqa: E402
    MEANS,
    ROOT,
    engine_options,
    max_rel_diff,
    measured,
    table_rows,
)

BASE = {"ids": "psu", "strata": "stratum", "weights": "weight", "nest": True}
ENGINES = ("memory", "duckdb", "spark")
MARGINS = ["region", "sex", "agegroup"]


def make_data(path: Path, design: Path, persons: int) -> float:
    """Persons by DuckDB SQL (weights before raking in ``w0``), the raking controls, and the
    raked weights ``weight``; the design file beside."""
    import duckdb
    import numpy as np
    import pandas as pd

    from survmig.estimation.sources import DuckDBBackend
    from survmig.weighting.designfile import calibration_spec, step_from_spec
    from survmig.weighting.pipeline import run_steps

    t0 = time.perf_counter()
    raw = path.with_name("raw.parquet")
    con = duckdb.connect(config={"threads": 2, "memory_limit": "3GB"})
    con.execute(
        f"""
        COPY (
          SELECT
            (i // 1000) % 100                                   AS stratum,
            i // 1000                                           AS psu,
            'd' || lpad(CAST(hash(i * 7 + 1) % 20 AS VARCHAR), 2, '0') AS domain,
            'r' || CAST(hash(i * 17 + 6) % 10 AS VARCHAR)      AS region,
            CAST(1 + hash(i * 19 + 7) % 2 AS INTEGER)          AS sex,
            CAST(hash(i * 23 + 8) % 8 AS INTEGER)              AS agegroup,
            50.0 + CAST(hash(i // 1000) % 1000 AS DOUBLE) / 10  AS w0,
            CAST(hash(i * 3 + 2) % 10000 AS DOUBLE) / 100       AS y1,
            CAST(hash(i * 5 + 3) % 10 = 0 AS DOUBLE)            AS y2,
            CAST(hash(i * 11 + 4) % 90 AS DOUBLE) + (i // 1000) % 7 AS y3,
            CAST(hash(i * 13 + 5) % 100000 AS DOUBLE) * ((i // 1000) % 3) AS y4
          FROM range({persons}) t(i)
        ) TO '{raw}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)
        """
    )
    margins = []
    for col, scale in zip(MARGINS, (1.1, 1.1, 1.1), strict=True):
        t = con.execute(f"SELECT {col} AS k, sum(w0) * {scale} AS t FROM '{raw}' GROUP BY 1").df()
        margins.append(
            {"by": [col], "totals": {str(k): float(v) for k, v in zip(t.k, t.t, strict=True)}}
        )
    step = {"step": "rake", "margins": margins, "epsilon": 1e-10, "maxit": 100}
    # the raked weights: the steps on the margin cells (what `survmig weight` computes row by row)
    b = DuckDBBackend(raw, connection=con)
    cells = b.query(
        f"SELECT {', '.join(MARGINS)}, sum(w0) AS wb FROM src GROUP BY {', '.join(MARGINS)}"
    )
    res = run_steps(
        cells[MARGINS], [step_from_spec(step, ValueError)], weights=cells["wb"].to_numpy()
    )
    factors = pd.DataFrame(cells[MARGINS]).assign(f=res.weights / cells["wb"].to_numpy())
    assert np.all(np.isfinite(factors["f"]))
    con.register("factors", factors)
    con.execute(
        f"COPY (SELECT s.*, s.w0 * f.f AS weight FROM '{raw}' s JOIN factors f USING "
        f"({', '.join(MARGINS)})) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)"
    )
    con.close()
    raw.unlink()
    spec = {**BASE, "calibration": calibration_spec(res.calibration_steps, "w0")}
    design.write_text(yaml.safe_dump(spec, sort_keys=False))
    return time.perf_counter() - t0


def child(engine: str, data: Path, design: Path, out: Path) -> None:
    import pandas as pd
    import pyarrow.parquet as pq

    from survmig.design import load_design
    from survmig.estimation import estimate
    from survmig.estimation.sql import estimate_sql

    kw = engine_options(engine)
    t0 = time.perf_counter()
    t_read = 0.0
    if engine == "memory":
        cols = [*BASE.values(), *MARGINS, "w0", "domain", *MEANS]
        cols = [c for c in dict.fromkeys(cols) if isinstance(c, str)]
        frame = pq.read_table(data, columns=cols).to_pandas(self_destruct=True, split_blocks=True)
        t_read = time.perf_counter() - t0
        t0 = time.perf_counter()
        d = load_design(design, frame)  # reruns the raking on the rows, checks the weights
        tables = [estimate(d, mean=MEANS), estimate(d, mean=MEANS, by="domain")]
    else:
        tables = [
            estimate_sql(data, design, engine=engine, mean=MEANS, **kw),
            estimate_sql(data, design, engine=engine, mean=MEANS, by="domain", **kw),
        ]
    seconds = time.perf_counter() - t0
    pd.concat(tables, ignore_index=True).to_csv(out, index=False)
    print(json.dumps({"seconds": seconds, "read": t_read}))


def run_child(engine: str, data: Path, design: Path, out: Path) -> dict:
    cmd = [
        sys.executable, __file__, "--child", engine, "--data", str(data), "--design", str(design),
        "--out", str(out),
    ]  # fmt: skip
    stdout, peak_gb, _ = measured(engine, cmd)
    return {"peak_gb": peak_gb, **json.loads(stdout.strip().splitlines()[-1])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--persons", type=int, default=10_000_000)
    ap.add_argument("--engines", default=",".join(ENGINES))
    ap.add_argument("--quick", action="store_true", help="do not write bench/results/scale.md")
    ap.add_argument("--note", default="", help="a line added under the table")
    ap.add_argument("--child")
    ap.add_argument("--data", type=Path)
    ap.add_argument("--design", type=Path)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.data, args.design, args.out)
        return
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    tmp = Path(tempfile.mkdtemp(prefix="survmig-scalecal-", dir=os.environ.get("SCALE_TMP")))
    try:
        data, design = tmp / "persons.parquet", tmp / "persons.design.yaml"
        t_gen = make_data(data, design, args.persons)
        size_gb = data.stat().st_size / 1024**3
        results = {}
        for engine in engines:
            results[engine] = run_child(engine, data, design, tmp / f"{engine}.csv")
            print(engine, results[engine], flush=True)
        agree = {
            e: max_rel_diff(tmp / f"{e}.csv", tmp / "memory.csv")
            for e in engines
            if e != "memory" and "memory" in engines
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # never leave large files behind
    lines = [
        f"## Raked design file, {args.persons:,} persons "
        f"({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})",
        "",
        "`bench/scale_calibrated_bench.py`: raking on 3 margins (region 10, sex 2, age group 8: "
        "160 margin cells) recorded in the design file; means of 4 variables overall and by 20 "
        f"domains with the raking residuals. Parquet {size_gb:.2f} GB made in {t_gen:.1f} s "
        f"(deleted afterwards). Machine: {platform.machine()}, {os.cpu_count()} cores shared "
        "with other engineers' jobs (timings are noisy; ratios are from one run).",
        "",
        "| engine | seconds | peak memory (GB) | ratio to in-memory in-process |",
        "|---|---|---|---|",
    ]
    names = {
        "memory": "in memory, in-process: raking rerun on the rows, two estimates "
        "(after a {read:.1f} s read of the needed columns)",
        "duckdb": "DuckDB, out of core (threads 2, memory_limit 3GB)",
        "spark": "Spark local[2] (JVM start not counted; memory: the Python driver only)",
    }
    lines += table_rows(results, names, agree, args.note)
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.quick:
        target = ROOT / "bench" / "results" / "scale.md"
        with target.open("a", encoding="utf-8") as fh:
            fh.write("\n" + text)


if __name__ == "__main__":
    main()
