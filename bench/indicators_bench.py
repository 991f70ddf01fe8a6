"""Benchmark: every catalogue indicator on a synthetic survey, against R `survey` on the same estimates.

Usage: .venv/bin/python bench/indicators_bench.py [--strata 10 --psus 40 --households 25]
       [--out bench/results/indicators.md]

The survey is the test survey (tests/indicators/survey.py) at a larger size. Timed:
  survmig compute   survmig.indicators.compute(all): level matching, concept binding, expressions,
                    household-to-person joins, one estimate() call per indicator (with SEs, CIs, deff)
  survmig report    write_report: Excel, CSV, PNG charts and the HTML report
  R survey          the peer: svymean/svytotal/svyquantile on subset() designs for the hand-derived
                    per-row values of the same 20 estimates (derivation not timed, data already in R)
Ratios compare survmig's compute with R on the estimates both produce.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

R_SCRIPT = r"""
suppressPackageStartupMessages(library(survey))
args <- commandArgs(trailingOnly = TRUE)
spec <- read.csv(args[1], stringsAsFactors = FALSE)
data <- lapply(spec$file, read.csv)
t0 <- proc.time()[["elapsed"]]
for (i in seq_len(nrow(spec))) {
  d <- data[[i]]
  des <- svydesign(ids = ~psu, strata = ~stratum, weights = ~wt, data = d)
  sub <- subset(des, !is.na(v))
  s <- spec$stat[i]
  if (s == "mean") svymean(~v, sub)
  else if (s == "total") svytotal(~v, sub)
  else if (s == "dist") svymean(~factor(v), sub)
  else if (s == "median") svyquantile(~v, sub, 0.5, ci = TRUE)
}
cat(proc.time()[["elapsed"]] - t0, "\n")
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--strata", type=int, default=10)
    parser.add_argument("--psus", type=int, default=40)
    parser.add_argument("--households", type=int, default=25)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "indicators.md")
    args = parser.parse_args()

    from survmig.indicators import compute
    from survmig.report import write_report
    from tests.indicators.survey import RATES, build_survey
    from tests.indicators.test_values import hand_values

    ds, design = build_survey(strata=args.strata, psus=args.psus, households=args.households)
    sizes = ", ".join(f"{lv} {len(ds.table(lv)):,}" for lv in ds.levels)
    compute(ds, design, ["foreign_born_share"])  # warm imports
    start = time.perf_counter()
    res = compute(ds, design, "all", rates=RATES, parameters={"convert_to": "USD"})
    t_compute = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        write_report(res, Path(tmp) / "report")
        t_report = time.perf_counter() - start
        rows = []
        for i, (name, (frame, stat)) in enumerate(hand_values(ds).items()):
            if name.startswith("_"):
                continue
            path = Path(tmp) / f"{i}.csv"
            frame.to_csv(path, index=False)
            rows.append({"name": name, "file": str(path), "stat": stat})
        spec = Path(tmp) / "spec.csv"
        pd.DataFrame(rows).to_csv(spec, index=False)
        script = Path(tmp) / "bench.R"
        script.write_text(R_SCRIPT)
        out = subprocess.run(
            ["Rscript", str(script), str(spec)], check=True, capture_output=True, text=True
        )
        t_r = float(out.stdout.split()[-1])
    n_est = len(res.table)
    text = f"""# Indicators benchmark

Machine: {platform.machine()}, Python {platform.python_version()}; shared with other engineers
while it ran, so absolute times are noisy (ratios from the same run).

Survey: {sizes} rows ({args.strata} strata x {args.psus} PSUs x {args.households} households).

| step | seconds | what |
|---|---|---|
| survmig compute (all) | {t_compute:.2f} | {len(res.info)} indicators, {n_est} estimates with SE/CI/CV/deff |
| survmig report | {t_report:.2f} | Excel + CSV + {len(res.info)} PNG charts + HTML with inline SVG |
| R survey (peer) | {t_r:.2f} | {len(rows)} of the same estimates from pre-derived variables |

survmig compute for all {len(res.info)} indicators / R for {len(rows)} of them: {t_compute / t_r:.2f}x
the time (survmig also binds concepts, joins levels and derives every variable).
Run: `.venv/bin/python bench/indicators_bench.py`.
"""
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
