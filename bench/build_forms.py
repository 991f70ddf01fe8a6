"""Time building and validating the largest standard questionnaire under xlsform/.

Stages timed (median of N runs, seconds):
  load      read and check the module library (cold: the cache is cleared each run)
  compose   spec -> Questionnaire (all whole-form checks)
  compile   Questionnaire -> deterministic .xlsx bytes (openpyxl)
  pyxform   pyxform's own XLSForm -> XForm conversion of the same bytes (the peer: what every
            ODK/Kobo server does on upload)
  odk       pyxform conversion + ODK Validate (JavaRosa jar under Java; dominated by JVM start)

Ratios compare survmig's compile step with pyxform's conversion of the same form, run in the same
process. Run:  .venv/bin/python bench/build_forms.py [-n 5] [--out bench/results/build_forms.md]
"""

from __future__ import annotations

import argparse
import io
import platform
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(fn, n: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(n):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=5, help="runs per stage (median reported)")
    parser.add_argument("--odk-runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "build_forms.md")
    args = parser.parse_args()

    from pyxform.xls2xform import convert

    from survmig.modules import library as lib
    from survmig.questionnaire import compose, load_spec
    from survmig.xlsform import compile_questionnaire

    specs = sorted((ROOT / "xlsform").glob("*.yaml"))
    library = lib.load_library()
    sizes = {}
    for spec in specs:
        try:
            sizes[spec] = len(compose(load_spec(spec), library).variables())
        except Exception as err:  # a spec of another engineer may be mid-way; skip it
            print(f"skipping {spec.name}: {err}")
    spec = max(sizes, key=sizes.get)

    def load():
        lib._load_library_cached.cache_clear()
        return lib.load_library()

    t_load, library = timed(load, args.n)
    t_compose, q = timed(lambda: compose(load_spec(spec), library), args.n)
    t_compile, data = timed(lambda: compile_questionnaire(q), args.n)
    t_pyxform, _ = timed(lambda: convert(xlsform=io.BytesIO(data), file_type=".xlsx"), args.n)
    t_odk, _ = timed(
        lambda: convert(xlsform=io.BytesIO(data), file_type=".xlsx", validate=True), args.odk_runs
    )
    rows = [
        ("load module library", t_load),
        ("compose spec", t_compose),
        ("compile to .xlsx", t_compile),
        ("pyxform conversion (peer)", t_pyxform),
        ("pyxform + ODK Validate", t_odk),
    ]
    total_build = t_load + t_compose + t_compile
    lines = [
        "# build_forms benchmark",
        "",
        f"Largest example: `{spec.relative_to(ROOT)}` — {sizes[spec]} variables, "
        f"{len(q.choices)} choice lists, {sum(len(c.options) for c in q.choices.values())} choices, "
        f"{len(q.languages)} languages; .xlsx {len(data) / 1024:.0f} KiB.",
        "",
        f"Machine: {platform.machine()}, Python {platform.python_version()}, "
        f"{platform.system()}; 2 cores shared with other engineers working at the same time, so "
        "timings are indicative. Median of "
        f"{args.n} runs ({args.odk_runs} for ODK Validate).",
        "",
        "| stage | seconds |",
        "|---|---|",
        *(f"| {name} | {secs:.3f} |" for name, secs in rows),
        f"| **survmig build without validation** (load + compose + compile) | **{total_build:.3f}** |",
        "",
        "Ratios (same process, same form):",
        "",
        f"- compile / pyxform conversion: {t_compile / t_pyxform:.2f}",
        f"- whole survmig build without validation / pyxform conversion: "
        f"{total_build / t_pyxform:.2f}",
        f"- ODK Validate share of a validated build: "
        f"{(t_odk - t_pyxform) / (total_build + t_odk):.0%} (Java start and JavaRosa parse)",
        "",
    ]
    text = "\n".join(lines)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
