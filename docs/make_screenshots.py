"""Screenshots for the docs: the report (en, ar), the questionnaire (fr), the workbook (en, ar) in
docs/publishing.md; the weighting report's histograms (docs/weighting.md); an Arabic codebook page
(docs/data.md).

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


def headless(profile: str, *args: str) -> None:
    """Run headless Chromium with a throwaway profile and no network side traffic."""
    subprocess.run(
        [
            chromium(), "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", f"--user-data-dir={profile}", *args,
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip


def shoot(page: Path, out: Path, width: int = 1100, height: int = 1400) -> None:
    """A PNG of ``page`` at the given window size."""
    with tempfile.TemporaryDirectory() as profile:
        headless(profile, "--hide-scrollbars", f"--screenshot={out}",
                 f"--window-size={width},{height}", page.resolve().as_uri())  # fmt: skip
    print("wrote", out)


def print_pdf(page: Path, out: Path) -> int:
    """Print ``page`` to PDF as a browser would (A4 from the page's @page rule); pages printed."""
    with tempfile.TemporaryDirectory() as profile:
        headless(profile, "--no-pdf-header-footer", f"--print-to-pdf={out}",
                 page.resolve().as_uri())  # fmt: skip
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
        part += text[
            text.index('<h2 id="methodology">') : text.index(
                "<h2>", text.index('<h2 id="methodology">')
            )
        ]
    else:
        start = text.index(f'<h2 id="{keep}">')
        part = text[start : text.index("</section>", start)]
    out.write_text(
        head + (cover.group(0) if cover else "") + part + "</body></html>", encoding="utf-8"
    )
    return out


def workbook_page(xlsx: Path, sheet: str, out: Path, rows: int = 40) -> Path:
    """An HTML picture of one sheet as Excel shows it: formatted numbers, fills, widths."""
    import html

    import openpyxl

    ws = openpyxl.load_workbook(xlsx)[sheet]
    cells = []
    for row in ws.iter_rows(min_row=1, max_row=min(ws.max_row, rows)):
        tds = []
        for c in row:
            v = c.value
            if isinstance(v, int | float):
                fmt = c.number_format
                if fmt.endswith("%"):
                    text = f"{v:.{fmt.count('0') - 1}%}"
                elif "." in fmt:
                    text = f"{v:,.{len(fmt.split('.')[1])}f}"
                else:
                    text = f"{v:,.0f}"
                align = "right"
            else:
                text, align = ("" if v is None else str(v)), "left"
            fill = c.fill.fgColor.rgb if c.fill and c.fill.fill_type == "solid" else None
            style = f"text-align:{align};" + (f"background:#{str(fill)[-6:]};" if fill else "")
            if c.font and c.font.bold:
                style += "font-weight:bold;"
            if c.hyperlink is not None:
                text = f'<u style="color:#1f4e79">{html.escape(text)}</u>'
            else:
                text = html.escape(text)
            tds.append(f'<td style="{style}">{text}</td>')
        cells.append("<tr>" + "".join(tds) + "</tr>")
    px = [(ws.column_dimensions[chr(65 + j)].width or 9) * 7 for j in range(min(ws.max_column, 12))]
    rtl = " dir='rtl'" if ws.sheet_view.rightToLeft else ""  # as Excel shows an Arabic sheet
    widths = "".join(f'<col style="width:{w}px">' for w in px)
    tabs = " ".join(
        f'<span class="tab{" on" if n == sheet else ""}">{html.escape(n)}</span>'
        for n in openpyxl.load_workbook(xlsx, read_only=True).sheetnames[:8]
    )
    out.write_text(
        "<!DOCTYPE html><meta charset=utf-8><style>body{font:12px Calibri,Carlito,sans-serif;margin:8px}"
        "table{border-collapse:collapse;table-layout:fixed}td{border:1px solid #d4d4d4;padding:1px 4px;"
        "white-space:nowrap;overflow:hidden;text-overflow:ellipsis;height:17px}"
        ".tab{display:inline-block;padding:2px 10px;border:1px solid #bbb;margin-top:6px;background:#eee}"
        ".tab.on{background:#fff;font-weight:bold}</style>"
        f"<table{rtl} style='width:{sum(px)}px'><colgroup>{widths}</colgroup>{''.join(cells)}</table>"
        f"<div{rtl}>{tabs}</div>",
        encoding="utf-8",
    )
    return out


def codebook_excerpt(page: Path, names: list[str], out: Path) -> Path:
    """A copy of a codebook page with its header and only the variables ``names``."""
    text = page.read_text(encoding="utf-8")
    head = text[: text.index("<nav>")]
    blocks = text.split('<div class="var" ')[1:]
    keep = [b for b in blocks if any(b.startswith(f'id="{n}">') for n in names)]
    body = "".join('<div class="var" ' + b.split("\n</div>\n\n")[0] + "\n</div>\n" for b in keep)
    out.write_text(head + body + "</body></html>", encoding="utf-8")
    return out


#: the demo's weighting with a trimming step, so the picture shows bounds
TRIM_STEP = "- step: trim\n  lower: 1\n  upper: 40\n"


def run(*args: str) -> None:
    print("$", " ".join(args))
    subprocess.run([sys.executable, "-m", "survmig.cli", *args], check=True)


def main(demo: Path) -> None:
    IMAGES.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="survmig-shots-"))
    # the report in English is the demo's; the Arabic one is written by `survmig estimate`
    en = demo / "report" / "report.html"
    dataset = work / "dataset"
    run(
        "data",
        "import",
        str(demo / "fieldwork" / "survmig_demo.zip"),
        "--form",
        str(demo / "questionnaire" / "survmig_demo.xlsx"),
        "-o",
        str(dataset),
    )
    ar = work / "report_ar"
    run(
        "estimate",
        str(dataset),
        "--design",
        str(demo / "inputs" / "design.yaml"),
        "--design-data",
        str(demo / "weights" / "households_weighted.csv"),
        "--indicators",
        "foreign_born_count,foreign_born_share,emigrants_count,emigrants_by_sex,"
        "households_with_emigrant_share,remittance_receiving_households_share,"
        "remittances_total_lcu,intention_to_migrate_share",
        "--rates",
        str(demo / "inputs" / "rates.csv"),
        "--report",
        str(ar),
        "--lang",
        "ar",
        "--agency",
        "المندوبية السامية للتخطيط",
        "--date",
        "2026-12-02",
        "-o",
        str(work / "estimates.csv"),
    )
    shoot(
        excerpt(en, "headline", work / "en_headline.html"),
        IMAGES / "report_en_headline.png",
        1100,
        1500,
    )
    shoot(
        excerpt(en, "emigrants_by_sex", work / "en_section.html"),
        IMAGES / "report_en_indicator.png",
        1100,
        1300,
    )
    shoot(
        excerpt(ar / "report.html", "headline", work / "ar_headline.html"),
        IMAGES / "report_ar_headline.png",
        1100,
        1100,
    )
    shoot(
        excerpt(ar / "report.html", "emigrants_by_sex", work / "ar_section.html"),
        IMAGES / "report_ar_indicator.png",
        1100,
        1000,
    )
    # the printable questionnaire in French, and its page count when printed to A4
    fr = work / "questionnaire_fr.html"
    run(
        "render",
        str(demo / "questionnaire" / "survmig_demo.xlsx"),
        "--lang",
        "fr",
        "--spec",
        str(demo / "questionnaire" / "household.yaml"),
        "-o",
        str(fr),
    )
    shoot(fr, IMAGES / "questionnaire_fr.png", 900, 1400)
    for lang in ("en", "fr", "ar"):
        page = work / f"questionnaire_{lang}.html"
        if lang != "fr":
            run(
                "render",
                str(demo / "questionnaire" / "survmig_demo.xlsx"),
                "--lang",
                lang,
                "--spec",
                str(demo / "questionnaire" / "household.yaml"),
                "-o",
                str(page),
            )
        print(f"questionnaire ({lang}): {print_pdf(page, work / f'q_{lang}.pdf')} A4 pages")
    # the workbook: the contents sheet and one indicator sheet
    xlsx = demo / "report" / "indicators.xlsx"
    shoot(
        workbook_page(xlsx, "Contents", work / "wb_contents.html"),
        IMAGES / "workbook_contents.png",
        1100,
        700,
    )
    shoot(
        workbook_page(xlsx, "emigrants_by_sex", work / "wb_sheet.html"),
        IMAGES / "workbook_indicator.png",
        1100,
        600,
    )
    # the Arabic workbook (right to left), from the Arabic report
    shoot(
        workbook_page(ar / "indicators.xlsx", "emigrants_by_sex", work / "wb_ar.html"),
        IMAGES / "workbook_ar_indicator.png",
        1100,
        600,
    )
    # the weighting report's histograms (the demo's steps and a trimming step)
    steps = work / "weighting.yaml"
    steps.write_text(
        (demo / "inputs" / "weighting.yaml").read_text(encoding="utf-8") + TRIM_STEP,
        encoding="utf-8",
    )
    shutil.copy(demo / "inputs" / "household_totals.csv", work / "household_totals.csv")
    weighted = work / "weighted.csv"
    run("weight", str(demo / "fieldwork" / "sample.csv"), "--design",
        str(demo / "inputs" / "design.yaml"), "--steps", str(steps), "-o", str(weighted))  # fmt: skip
    shutil.copy(work / "weighted.weighting.png", IMAGES / "weighting_histograms.png")
    print("wrote", IMAGES / "weighting_histograms.png")
    # an Arabic codebook page: frequency bars, a numeric histogram, right to left
    codebooks = work / "codebook_ar"
    run("data", "codebook", str(demo / "fieldwork" / "survmig_demo.zip"), "--form",
        str(demo / "questionnaire" / "survmig_demo.xlsx"), "--lang", "ar", "-o", str(codebooks))  # fmt: skip
    shoot(
        codebook_excerpt(
            codebooks / "codebook-members.html",
            ["sex", "marital_status", "age_reported"],
            work / "cb.html",
        ),
        IMAGES / "codebook_ar.png",
        900,
        1500,
    )
    shoot(codebooks / "index.html", IMAGES / "codebook_index_ar.png", 900, 520)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "demo-output"))
