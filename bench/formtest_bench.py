"""Time form scenario runs in ODK's engine: one Node process for all scenarios vs one per scenario.

Peers, in the same run on the same form and scenarios:
  batched     survmig's design: every scenario of the run in ONE Node process
  per-process one Node process per scenario (what a naive runner does)
  odk-validate  pyxform conversion + ODK Validate (JavaRosa under Java) of the same form, for scale:
              the other engine check every form goes through

Also reported: the share of a batched run spent converting the XLSForm with pyxform.
Run:  .venv/bin/python bench/formtest_bench.py [-n 3] [--scenarios 20] [--form FORM.xlsx SCEN.yaml]
      [--out bench/results/formtest.md]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from pathlib import Path

from survmig.formtest import run_scenario_files, xform_from_file
from survmig.formtest.sheets import write_xlsform

SURVEY = [
    {
        "type": "integer",
        "name": "hh_size",
        "label": "Size",
        "constraint": ". >= 1 and . <= 30",
        "required": "yes",
    },
    {"type": "select_one yn", "name": "abroad", "label": "Anyone abroad?", "required": "yes"},
    {"type": "integer", "name": "n", "label": "How many?", "relevant": "${abroad} = 1"},
    {"type": "begin_repeat", "name": "emig", "label": "Emigrant", "repeat_count": "${n}"},
    {"type": "text", "name": "ename", "label": "Name", "required": "yes"},
    {"type": "integer", "name": "eage", "label": "Age", "constraint": ". >= 15"},
    {"type": "select_one yn", "name": "sends", "label": "Sends money?"},
    {"type": "end_repeat", "name": ""},
    {"type": "calculate", "name": "senders", "calculation": "count(${emig}[sends = '1'])"},
]
CHOICES = [
    {"list_name": "yn", "name": "1", "label": "Yes"},
    {"list_name": "yn", "name": "2", "label": "No"},
]
SCENARIO = """
  - name: household {i}
    steps:
      - answer: {{hh_size: 5, abroad: 1, n: 3}}
        count: {{emig: 3}}
      - answer:
          emig[1]: {{ename: A, eage: 20, sends: 1}}
          emig[2]: {{ename: B, eage: 30, sends: 1}}
          emig[3]: {{ename: C, eage: 12, sends: 2}}
        values: {{senders: 2}}
        rejected: {{"emig[3]/eage": constraint}}
      - answer: {{"emig[3]/eage": 16}}
        submission: {{complete: true}}
"""


def median_time(fn, n: int) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=3, help="repetitions (median reported)")
    parser.add_argument("--scenarios", type=int, default=20)
    parser.add_argument("--form", nargs=2, metavar=("FORM", "SCENARIOS"))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.form:
            form, scenario_path = Path(args.form[0]), Path(args.form[1])
        else:
            form = write_xlsform(tmp / "bench.xlsx", SURVEY, CHOICES)
            scenario_path = tmp / "all.yaml"
            scenario_path.write_text(
                "scenarios:" + "".join(SCENARIO.format(i=i) for i in range(args.scenarios))
            )
        from survmig.formtest.scenarios import load_scenarios
        from survmig.formtest.xform import read_xform

        model = read_xform(xform_from_file(form))
        names = [s.name for s in load_scenarios(scenario_path, model).scenarios]

        def batched() -> None:
            report = run_scenario_files([(form, scenario_path)])[0]
            assert report.ok, report.lines()

        def per_process() -> None:
            for name in names:
                report = run_scenario_files([(form, scenario_path)], only=[name])[0]
                assert report.ok, report.lines()

        def convert() -> None:
            xform_from_file(form)

        def odk_validate() -> None:
            from pyxform.xls2xform import convert as pyxform_convert

            pyxform_convert(xlsform=str(form), validate=True)

        t_batched = median_time(batched, args.n)
        t_single = median_time(per_process, args.n)
        t_convert = median_time(convert, args.n)
        t_validate = median_time(odk_validate, args.n)

    rows = [
        ("batched (one Node process)", t_batched, 1.0),
        ("one Node process per scenario", t_single, t_single / t_batched),
        ("pyxform conversion alone", t_convert, t_convert / t_batched),
        ("pyxform + ODK Validate (Java)", t_validate, t_validate / t_batched),
    ]
    lines = [
        "# Form scenario runs in ODK's engine",
        "",
        f"Form: {'the bench form (9 rows, a counted repeat)' if not args.form else args.form[0]}; "
        f"{len(names)} scenarios of 3 steps each; median of {args.n} runs; "
        f"{platform.machine()}, Python {platform.python_version()}.",
        "The machine (2 cores) was shared with other engineers' jobs while this ran: absolute times "
        "are noisy, the ratios within one run are what to read.",
        "",
        "| run | seconds | ratio to batched |",
        "|---|---:|---:|",
        *[f"| {name} | {seconds:.2f} | {ratio:.2f} |" for name, seconds, ratio in rows],
        "",
        f"Per scenario, batched: {t_batched / len(names) * 1000:.0f} ms; "
        f"one process each: {t_single / len(names) * 1000:.0f} ms.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
