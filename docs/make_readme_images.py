"""Make the pictures of the README's three recipes, into docs/images/ (rerun after a change).

    python docs/make_readme_images.py                  # runs a small demo in a temporary folder
    python docs/make_readme_images.py --demo demo-output   # or reuse a demo folder

Each picture is what the recipe's commands produce, made by the same commands:

- ``questionnaire.png``: `survmig render` of the example questionnaire (French), in headless Chromium;
- ``report.png``: one indicator of the demo's ``report/report.html``, in headless Chromium;
- ``sample_size.png``: `survmig sample-size … --plot`;
- ``simulate.png``: `survmig simulate … --plot`;
- ``take.png`` and ``allocation.png`` (docs/sampling.md): `sample-size` and `allocate` with `--plot`.

Needs Chromium (``chromium`` on the PATH) for the two page screenshots.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "images"


def survmig(*args: str | Path, cwd: Path) -> None:
    """Run the command as a user would (this checkout's package, this Python)."""
    subprocess.run([sys.executable, "-m", "survmig", *map(str, args)], cwd=cwd, check=True)


def excerpt(page: Path, anchor: str, out: Path) -> Path:
    """The page's head and the part of its body from the element ``id=anchor`` to the next
    heading of the same level (one indicator of the report); the whole page if not found."""
    html = page.read_text(encoding="utf-8")
    start = html.find(f'id="{anchor}"')
    head_end = html.find("</head>")
    if start < 0 or head_end < 0:
        return page
    start = html.rfind("<", 0, start)
    tag = html[start + 1 : start + 3]
    end = html.find(f"<{tag}", start + 3)
    body = html[start : end if end > 0 else len(html)]
    out.write_text(html[:head_end] + "</head><body>" + body + "</body></html>", encoding="utf-8")
    return out


def screenshot(page: Path, out: Path, width: int = 1100, height: int = 900) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("chromium not found: install it (apt-get install chromium) for the screenshots")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                chromium, "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--hide-scrollbars",
                f"--user-data-dir={profile}", f"--screenshot={out}",
                f"--window-size={width},{height}", page.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
        )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", type=Path, help="an existing `survmig demo` folder to reuse")
    args = parser.parse_args()
    IMAGES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        demo = args.demo.resolve() if args.demo else work / "demo-output"
        if args.demo is None:
            survmig("demo", demo, "--households", "600", "--seed", "7", cwd=work)
        # recipe 1: design a form
        form = work / "form.xlsx"
        survmig("build", ROOT / "xlsform" / "example_household.yaml", "-o", form, cwd=work)
        survmig("render", form, "--lang", "fr", "-o", work / "questionnaire_fr.html", cwd=work)
        screenshot(work / "questionnaire_fr.html", IMAGES / "questionnaire.png")
        # recipe 2: analyse a survey
        one = excerpt(
            demo / "report" / "report.html",
            "households_with_emigrant_share",
            demo / "report" / "_readme_excerpt.html",
        )
        screenshot(one, IMAGES / "report.png", height=800)
        if one.name == "_readme_excerpt.html":
            one.unlink()
        # recipe 3: teach sampling
        survmig(
            "sample-size", "--proportion", "0.3", "--margin", "0.05", "--cluster-size", "20",
            "--icc", "0.1", "--plot", IMAGES / "sample_size.png", cwd=work,
        )  # fmt: skip
        survmig(
            "sample-size", "--psu-cost", "400", "--unit-cost", "20", "--icc", "0.05",
            "--plot", IMAGES / "take.png", cwd=work,
        )  # fmt: skip
        survmig(
            "allocate", demo / "inputs" / "strata.csv", "--method", "rare", "--n", "30",
            "--screen-cost", "2", "--interview-cost", "20", "--plot", IMAGES / "allocation.png",
            cwd=work,
        )  # fmt: skip
        survmig(
            "simulate", "--households", "200000", "--reps", "200",
            "--plot", IMAGES / "simulate.png", cwd=work,
        )  # fmt: skip
    print(f"wrote {', '.join(sorted(p.name for p in IMAGES.glob('*.png')))} in {IMAGES}")


if __name__ == "__main__":
    main()
