"""One self-contained HTML report (tables and inline SVG charts) and the whole publication set."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pandas as pd

from survmig.fileio import atomic_dir, atomic_path
from survmig.indicators import IndicatorResults
from survmig.report.charts import svg_text
from survmig.report.tables import (
    FLAG_SUPPRESSED,
    Thresholds,
    _notes,
    publication_table,
    write_csv,
    write_excel,
    write_json,
)

_TEMPLATE = jinja2.Template(
    """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{{ title }}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:60em;color:#222;line-height:1.4}
h1{font-size:1.6em} h2{font-size:1.2em;border-bottom:1px solid #ccc;padding-top:1em}
table{border-collapse:collapse;font-size:.85em;margin:.6em 0}
td,th{border:1px solid #ddd;padding:.2em .5em;text-align:right}
th{background:#f2f4f7} td.l,th.l{text-align:left}
table.notes td{text-align:left;border:none;padding:.1em .6em .1em 0;vertical-align:top}
table.notes td:first-child{font-weight:600;white-space:nowrap}
tr.suppressed td{color:#999} tr.caution td{background:#fff6e5}
.toc li{margin:.1em 0} svg{max-width:100%;height:auto}
</style></head><body>
<h1>{{ title }}</h1>
<p>{{ n_computed }} indicator(s) estimated with design-based standard errors and {{ level }} confidence
intervals{% if by %}, by {{ by }}{% endif %}. Flags: CV above {{ caution }} — <em>use with caution</em>;
CV above {{ suppress }} or fewer than {{ min_n }} cases — <em>suppressed</em> (the estimate is blanked,
the flag stays).</p>
<ul class="toc">{% for s in sections %}<li><a href="#{{ s.id }}">{{ s.title }}</a></li>{% endfor %}
{% if not_computable %}<li><a href="#not-computable">Not computable ({{ not_computable|length }})</a></li>{% endif %}</ul>
{% for s in sections %}
<h2 id="{{ s.id }}">{{ s.title }}</h2>
<table class="notes">{% for k, v in s.notes %}<tr><td>{{ k }}</td><td>{{ v }}</td></tr>{% endfor %}</table>
{{ s.chart }}
{{ s.table }}
{% endfor %}
{% if not_computable %}<h2 id="not-computable">Not computable</h2>
<table><tr><th class="l">indicator</th><th class="l">reason</th></tr>
{% for k, v in not_computable.items() %}<tr><td class="l">{{ k }}</td><td class="l">{{ v }}</td></tr>{% endfor %}</table>{% endif %}
</body></html>
""",
    autoescape=True,
)


def _fmt(value: Any, col: str) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if col == "cv":
        return f"{float(value):.1%}"
    if col == "n":
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        v = float(value)
        return f"{v:,.4f}" if abs(v) < 10 else f"{v:,.0f}" if abs(v) >= 1000 else f"{v:,.2f}"
    return str(value)


def _html_table(rows: pd.DataFrame, by: list[str]) -> str:
    cols = [
        c
        for c in ["category_label", *by, "estimate", "se", "ci_low", "ci_high", "cv", "n", "flag"]
        if c in rows.columns and (c == "flag" or not rows[c].isna().all())
    ]
    head = "".join(
        f'<th class="{"l" if c in ("category_label", "flag", *by) else ""}">'
        f"{html.escape('category' if c == 'category_label' else c)}</th>"
        for c in cols
    )
    body = []
    for _, row in rows.iterrows():
        cls = (
            "suppressed"
            if str(row["flag"]).startswith(FLAG_SUPPRESSED)
            else ("caution" if row["flag"] else "")
        )
        cells = "".join(
            f'<td class="{"l" if c in ("category_label", "flag", *by) else ""}">'
            f"{html.escape(_fmt(row[c], c))}</td>"
            for c in cols
        )
        body.append(f'<tr class="{cls}">{cells}</tr>')
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def render_html(
    results: IndicatorResults,
    thresholds: Thresholds | None = None,
    title: str = "Migration indicators",
    chart_dir: Path | None = None,
    chart_formats: tuple[str, ...] = (),
) -> str:
    """The report as one HTML string: notes, an inline SVG chart and a table per indicator.

    With ``chart_dir``, each chart is also saved there in ``chart_formats`` (drawn once).
    """
    th = thresholds or Thresholds()
    table = publication_table(results, th)
    sections = []
    for iid, info in results.info.items():
        rows = table[table["indicator"] == iid]
        sections.append(
            {
                "id": iid,
                "title": info.title,
                "notes": _notes(results, iid),
                "chart": jinja2.utils.markupsafe.Markup(
                    svg_text(
                        results,
                        iid,
                        th,
                        tuple(chart_dir / f"{iid}{ext}" for ext in chart_formats)
                        if chart_dir is not None
                        else (),
                    )
                ),
                "table": jinja2.utils.markupsafe.Markup(_html_table(rows, results.by)),
            }
        )
    return _TEMPLATE.render(
        title=title,
        n_computed=len(results.info),
        level=f"{results.level:.0%}",
        by=", ".join(results.by),
        caution=f"{th.cv_caution:.1%}",
        suppress=f"{th.cv_suppress:.1%}",
        min_n=th.min_n,
        sections=sections,
        not_computable=results.not_computable,
    )


def write_html(
    results: IndicatorResults,
    path: str | Path,
    thresholds: Thresholds | None = None,
    title: str = "Migration indicators",
) -> Path:
    """Write the self-contained HTML report atomically."""
    path = Path(path)
    text = render_html(results, thresholds, title)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def write_report(
    results: IndicatorResults,
    directory: str | Path,
    thresholds: Thresholds | None = None,
    *,
    title: str = "Migration indicators",
    charts: tuple[str, ...] = (".png",),
) -> dict[str, Path]:
    """Write ``indicators.xlsx``, ``indicators.csv``, ``charts/<id>.png|.svg`` and ``report.html``
    into ``directory`` (all or nothing: the directory is replaced only when everything is written).
    Returns the final paths."""
    directory = Path(directory)
    with atomic_dir(directory) as tmp:
        write_excel(results, tmp / "indicators.xlsx", thresholds)
        write_csv(results, tmp / "indicators.csv", thresholds)
        write_json(results, tmp / "indicators.json", thresholds)
        (tmp / "charts").mkdir()
        text = render_html(results, thresholds, title, tmp / "charts", charts)
        (tmp / "report.html").write_text(text, encoding="utf-8")
    out = {
        "excel": directory / "indicators.xlsx",
        "csv": directory / "indicators.csv",
        "json": directory / "indicators.json",
        "html": directory / "report.html",
        "charts": directory / "charts",
    }
    return out
