"""Benchmark: a design-based logistic model (survmig svyglm) against R survey svyglm and svy, in one run.

The data: a stratified cluster sample (strata, PSUs, weights) with a 0/1 outcome and four numeric
predictors (two continuous, two region dummies), the same model in every package:
``y ~ x1 + x2 + r2 + r3``, linearization variance over PSUs within strata. Each package runs in its
own fresh process (under ``/usr/bin/time``, for its peak resident memory) on the same data; reported:
seconds per fit (best of ``--repeat``; the model fit alone in every package, the design object
built once before the timing), the ratio to survmig, peak memory and the largest relative difference of the SEs
from R's, with the load average of the (shared) machine. Default 200,000 rows (short);
``--rows 1000000`` is the issue's size.

Run:  .venv/bin/python bench/glm_bench.py [--rows 1000000] [--repeat 3] [--out bench/results/glm.md]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
TERMS = ["x1", "x2", "r2", "r3"]

R_SCRIPT = r"""
suppressMessages({library(survey); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
df <- read.csv(args[1])
repeat_n <- as.integer(args[2])
d <- svydesign(id = ~psu, strata = ~stratum, weights = ~weight, data = df, nest = TRUE)
best <- Inf
for (i in seq_len(repeat_n)) {
  t <- system.time(m <- svyglm(y ~ x1 + x2 + r2 + r3, d, family = quasibinomial()))[["elapsed"]]
  best <- min(best, t)
}
write_json(list(seconds = best, se = unname(SE(m)), coef = unname(coef(m))), args[3], digits = NA)
"""


def make_data(rows: int, seed: int = 13) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n_psu = max(rows // 50, 40)
    psu = rng.integers(0, n_psu, rows)
    stratum = psu % 20
    region = rng.integers(0, 3, rows)
    x1 = rng.normal(size=rows) + 0.3 * (psu % 7)
    x2 = rng.gamma(2.0, 1.0, rows)
    eta = (
        -1.0
        + 0.5 * x1
        - 0.3 * x2
        + 0.4 * (region == 1)
        - 0.2 * (region == 2)
        + rng.normal(0, 0.3, n_psu)[psu]
    )
    y = (rng.random(rows) < 1 / (1 + np.exp(-eta))).astype(float)
    return pd.DataFrame(
        {
            "stratum": stratum,
            "psu": psu,
            "weight": rng.uniform(50, 150, rows),
            "y": y,
            "x1": x1,
            "x2": x2,
            "r2": (region == 1).astype(float),
            "r3": (region == 2).astype(float),
        }
    )


def best_of(fn, repeat: int):
    best, out = np.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def run_survmig(df: pd.DataFrame, repeat: int) -> tuple[float, np.ndarray]:
    from survmig.design import SurveyDesign
    from survmig.models import svyglm

    d = SurveyDesign(df, ids="psu", strata="stratum", weights="weight", nest=True)

    def work():  # the model alone, as R's timing (the design is built once, outside)
        return svyglm(d, "y ~ " + " + ".join(TERMS), family_name="binomial")

    t, res = best_of(work, repeat)
    return t, res.table["se"].to_numpy()


def run_svy(df: pd.DataFrame, repeat: int) -> tuple[float, np.ndarray | None]:
    import polars as pl
    import svy

    pdf = pl.from_pandas(df)

    s = svy.Sample(pdf, svy.Design(stratum="stratum", psu="psu", wgt="weight"))

    def work():
        return s.glm.fit(y="y", x=TERMS, family="binomial")

    t, fit = best_of(work, repeat)
    try:
        coefs = fit.coefs if hasattr(fit, "coefs") else fit.coef
        frame = coefs.to_polars() if hasattr(coefs, "to_polars") else pl.DataFrame(coefs)
        col = next(c for c in frame.columns if c.lower() in ("se", "std_err", "stderr"))
        se = frame[col].to_numpy()
    except Exception:  # svy's result layout varies between versions: report the time only
        se = None
    return t, se


def worker(tool: str, data: Path, repeat: int, out: Path) -> None:
    """One package in this (fresh) process: load the data, fit ``repeat`` times, write JSON."""
    df = pd.read_parquet(data)
    t, se = (run_survmig if tool == "survmig" else run_svy)(df, repeat)
    out.write_text(json.dumps({"seconds": t, "se": None if se is None else list(map(float, se))}))


def measured(cmd: list[str], tmp: Path, name: str) -> tuple[dict, float]:
    """Run ``cmd`` under ``/usr/bin/time``; its JSON result and peak resident memory (MB)."""
    rss = tmp / f"{name}.rss"
    subprocess.run(["/usr/bin/time", "-f", "%M", "-o", str(rss), *cmd], check=True)
    kb = float(rss.read_text().strip().splitlines()[-1])
    return json.loads((tmp / f"{name}.json").read_text()), kb / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help="also write a Markdown table here")
    parser.add_argument("--worker", choices=["survmig", "svy"], help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.data, args.repeat, args.result)
        return
    df = make_data(args.rows)
    load_before = os.getloadavg()
    results: dict[str, tuple[float, np.ndarray | None, float]] = {}
    failed = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        parquet, csv, script = tmp / "d.parquet", tmp / "d.csv", tmp / "glm.R"
        df.to_parquet(parquet)
        df.to_csv(csv, index=False)
        script.write_text(R_SCRIPT)
        me = [sys.executable, str(Path(__file__).resolve()), "--data", str(parquet)]
        for tool in ("survmig", "svy"):
            try:
                res, mb = measured(
                    [*me, "--worker", tool, "--repeat", str(args.repeat),
                     "--result", str(tmp / f"{tool}.json")], tmp, tool,
                )  # fmt: skip
            except subprocess.CalledProcessError as exc:  # a peer that fails is reported
                failed.append(f"{tool} failed (exit {exc.returncode})")
                continue
            se = None if res["se"] is None else np.asarray(res["se"])
            results[tool] = (float(res["seconds"]), se, mb)
        r, mb = measured(
            ["Rscript", str(script), str(csv), str(args.repeat), str(tmp / "R.json")], tmp, "R"
        )
        seconds = r["seconds"][0] if isinstance(r["seconds"], list) else r["seconds"]
        results["R survey svyglm"] = (float(seconds), np.asarray(r["se"]), mb)
    load_after = os.getloadavg()
    t_ours = results["survmig"][0]
    se_r = results["R survey svyglm"][1]
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Design-based logistic regression benchmark",
        "",
        f"Run {when} on {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; load average (1, 5, 15 min) "
        f"{', '.join(f'{x:.2f}' for x in load_before)} before and "
        f"{', '.join(f'{x:.2f}' for x in load_after)} after (the machine is shared).",
        "",
        f"`y ~ x1 + x2 + r2 + r3`, quasibinomial/binomial logit, {args.rows:,} rows, "
        f"{df['psu'].nunique():,} PSUs in 20 strata, linearization; best of {args.repeat}. "
        "Each package in its own process; peak memory is that process's maximum resident set "
        "(interpreter and data included). Times are the model fit alone (`svyglm`, `glm.fit`); "
        "each package's design object is built once before the timing.",
        "",
        "| package | seconds | time / survmig | peak memory (MB) | max rel. SE difference vs R |",
        "|---|---|---|---|---|",
    ]
    for name, (t, se, mb) in results.items():
        diff = "" if se is None or len(se) != len(se_r) else f"{np.max(np.abs(se / se_r - 1)):.1e}"
        lines.append(f"| {name} | {t:.3f} | {t / t_ours:.1f}× | {mb:,.0f} | {diff} |")
    lines += [f"\n{msg}" for msg in failed]
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
