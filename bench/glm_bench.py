"""Benchmark: a design-based logistic model (survmig svyglm) against R survey svyglm and svy, in one run.

The data: a stratified cluster sample (strata, PSUs, weights) with a 0/1 outcome and four numeric
predictors (two continuous, two region dummies), the same model in every package:
``y ~ x1 + x2 + r2 + r3``, linearization variance over PSUs within strata. Reported: seconds per
fit (best of ``--repeat``), the speed ratio to survmig, and the largest relative difference of the
SEs from R's. Default 200,000 rows (short); ``--rows 1000000`` is the issue's size.

Run:  .venv/bin/python bench/glm_bench.py [--rows 1000000] [--repeat 3] [--out bench/results/glm.md]
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
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

    def work():
        d = SurveyDesign(df, ids="psu", strata="stratum", weights="weight", nest=True)
        return svyglm(d, "y ~ " + " + ".join(TERMS), family_name="binomial")

    t, res = best_of(work, repeat)
    return t, res.table["se"].to_numpy()


def run_svy(df: pd.DataFrame, repeat: int) -> tuple[float, np.ndarray | None]:
    import polars as pl
    import svy

    pdf = pl.from_pandas(df)

    def work():
        s = svy.Sample(pdf, svy.Design(stratum="stratum", psu="psu", wgt="weight"))
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help="also write a Markdown table here")
    args = parser.parse_args()
    df = make_data(args.rows)
    lines = [
        f"logistic svyglm, {args.rows:,} rows, {df['psu'].nunique()} PSUs, 20 strata ({platform.machine()})",
        "",
    ]
    t_ours, se_ours = run_survmig(df, args.repeat)
    results = {"survmig": (t_ours, se_ours)}
    with tempfile.TemporaryDirectory() as tmp:
        csv, script, out = Path(tmp) / "d.csv", Path(tmp) / "glm.R", Path(tmp) / "r.json"
        df.to_csv(csv, index=False)
        script.write_text(R_SCRIPT)
        subprocess.run(["Rscript", str(script), str(csv), str(args.repeat), str(out)], check=True)
        r = json.loads(out.read_text())
        results["R survey svyglm"] = (
            float(r["seconds"][0] if isinstance(r["seconds"], list) else r["seconds"]),
            np.asarray(r["se"]),
        )
    try:
        results["svy"] = run_svy(df, args.repeat)
    except Exception as exc:  # noqa: BLE001 - a peer that fails is reported, not fatal
        lines.append(f"svy failed: {type(exc).__name__}: {exc}")
    se_r = results["R survey svyglm"][1]
    lines += [
        "| package | seconds | ratio to survmig | max rel. SE difference vs R |",
        "|---|---|---|---|",
    ]
    for name, (t, se) in results.items():
        diff = "" if se is None or len(se) != len(se_r) else f"{np.max(np.abs(se / se_r - 1)):.1e}"
        lines.append(f"| {name} | {t:.3f} | {t / t_ours:.1f}× | {diff} |")
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
