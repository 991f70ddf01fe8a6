"""One self-contained HTML report (tables and inline SVG charts) and the whole publication set."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pandas as pd
from markupsafe import Markup

from survmig.fileio import atomic_dir, atomic_path
from survmig.indicators import IndicatorResults
from survmig.report.charts import svg_text
from survmig.report.comparison import render_comparison, write_comparison_csv
from survmig.report.i18n import Texts, decimals_for
from survmig.report.methodology import Methodology, step_names
from survmig.report.tables import (
    FLAG_RECOVERABLE,
    FLAG_SUPPRESSED,
    Thresholds,
    publication_table,
    suppress,
    write_csv,
    write_json,
)
from survmig.report.workbook import write_excel

_TEMPLATE = jinja2.Template(
    """<!DOCTYPE html>
<html lang="{{ lang }}" dir="{{ dir }}"><head><meta charset="utf-8">
<title>{{ title }}</title>
<style>
@page{size:A4;margin:16mm 14mm 18mm 14mm}
body{font-family:"Noto Sans","Noto Naskh Arabic",system-ui,"Segoe UI",sans-serif;margin:2em auto;max-width:60em;color:#222;line-height:1.45}
header.cover{border-bottom:3px solid #1f3b63;margin-bottom:1.2em}
header.cover h1{font-size:1.7em;margin:.2em 0;color:#1f3b63}
header.cover p{margin:.1em 0;color:#555}
h2{font-size:1.25em;border-bottom:1px solid #ccc;padding-top:.6em;color:#1f3b63}
h3{font-size:1em;margin:.8em 0 .3em}
table{border-collapse:collapse;font-size:.85em;margin:.6em 0}
td,th{border:1px solid #ddd;padding:.2em .5em;text-align:end;font-variant-numeric:tabular-nums}
th{background:#f2f4f7;font-weight:600} td.l,th.l{text-align:start}
table.notes td{text-align:start;border:none;padding:.1em .6em .1em 0;vertical-align:top}
table.notes td:first-child{font-weight:600;white-space:nowrap}
tr.suppressed td{color:#888} tr.caution td{background:#fff6e5}
td.num{white-space:nowrap}
.toc{columns:2} .toc li{margin:.1em 0} svg{max-width:100%;height:auto}
figure{margin:.6em 0;direction:ltr;text-align:center}
figure svg text{unicode-bidi:plaintext}
.note{font-size:.85em;color:#444}
.warn{border-inline-start:4px solid #c0392b;background:#fdf0ee;padding:.4em .8em}
section.indicator{break-before:page;page-break-before:always}
section.annex{break-before:page;page-break-before:always}
table,figure,svg{break-inside:avoid;page-break-inside:avoid}
tr{break-inside:avoid;page-break-inside:avoid}
h2,h3{break-after:avoid;page-break-after:avoid}
@media print{body{margin:0;max-width:none;font-size:10pt}}
</style></head><body>
<header class="cover">
<h1>{{ title }}</h1>
{% if agency %}<p>{{ t('published_by') }}: {{ agency }}</p>{% endif %}
{% if date %}<p>{{ t('date') }}: {{ date }}</p>{% endif %}
</header>
<h2 id="headline">{{ t('headline') }}</h2>
{{ headline }}
{% if recoverable %}<p class="warn">{{ recoverable }}</p>{% endif %}
<h2 id="methodology">{{ t('methodology') }}</h2>
<table class="notes">{% for k, v in methodology %}<tr><td>{{ k }}</td><td>{{ v }}</td></tr>{% endfor %}</table>
<h2>{{ t('contents') }}</h2>
<ul class="toc">{% for s in sections %}<li><a href="#{{ s.id }}">{{ s.title }}</a></li>{% endfor %}
{% if comparison %}<li><a href="#comparison">{{ comparison_title }}</a></li>{% endif %}
{% if not_computable %}<li><a href="#not-computable">{{ t('not_computable') }} ({{ not_computable|length }})</a></li>{% endif %}
<li><a href="#annex">{{ t('annex') }}</a></li></ul>
{% for s in sections %}
<section class="indicator">
<h2 id="{{ s.id }}">{{ s.title }}</h2>
<table class="notes">{% for k, v in s.notes %}<tr><td>{{ k }}</td><td>{{ v }}</td></tr>{% endfor %}</table>
<figure>{{ s.chart }}</figure>
{{ s.table }}
</section>
{% endfor %}
{% if comparison %}<section class="indicator">{{ comparison }}</section>{% endif %}
<section class="annex">
{% if not_computable %}<h2 id="not-computable">{{ t('not_computable') }}</h2>
<table><tr><th class="l">{{ t('indicator') }}</th><th class="l">{{ t('reason') }}</th></tr>
{% for k, v in not_computable %}<tr><td class="l">{{ k }}</td><td class="l">{{ v }}</td></tr>{% endfor %}</table>{% endif %}
<h2 id="annex">{{ t('annex') }}</h2>
<p class="note">{{ t('annex_intro') }}</p>
<table><tr><th class="l">{{ t('indicator') }}</th><th class="l">{{ t('identifier') }}</th><th class="l">{{ t('statistic') }}</th><th class="l">{{ t('concepts') }}</th><th class="l">{{ t('parameters') }}</th></tr>
{% for a in annex %}<tr><td class="l">{{ a.title }}</td><td class="l"><code>{{ a.id }}</code></td><td class="l">{{ a.statistic }}</td><td class="l">{{ a.concepts }}</td><td class="l">{{ a.parameters }}</td></tr>{% endfor %}</table>
</section>
</body></html>
""",
    autoescape=True,
)


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, float | np.floating) and not np.isfinite(value))


def cell_text(value: Any, col: str, unit: str, statistic: str, tx: Texts) -> str:
    """A published number as readers expect it: shares in percent, counts with thousands
    separators, decimals by the statistic; CV in percent; blanks stay blank."""
    if _is_blank(value):
        return ""
    v = float(value)
    if col == "cv":
        return tx.percent(abs(v), 1)
    if col == "n":
        return tx.number(v, 0)
    if unit == "share":
        return tx.percent(v, 1)
    return tx.number(v, decimals_for(unit, statistic, v))


def _unit_suffix(unit: str, tx: Texts) -> str:
    return (
        "%" if unit == "share" else (tx.t(f"unit_{unit}") if f"unit_{unit}" in tx._texts else unit)
    )


def domain_text(row: pd.Series, by: list[str], labels: dict[str, dict[str, str]], tx: Texts) -> str:
    """ "Region: North · Sex: Female", or "National"."""
    parts = []
    for b in by:
        v = row.get(b)
        if v is None or v != v:
            continue
        parts.append(f"{tx.t(b)}: {labels.get(b, {}).get(str(v), v)}")
    return " · ".join(parts) or tx.t("national")


def _html_table(
    rows: pd.DataFrame, results: IndicatorResults, unit: str, statistic: str, tx: Texts
) -> str:
    has_cat = "category_label" in rows and rows["category_label"].notna().any()
    level = tx.percent(results.level, 0) + " %"
    head = [f'<th class="l">{html.escape(tx.t("domain"))}</th>']
    if has_cat:
        head.append(f'<th class="l">{html.escape(tx.t("category"))}</th>')
    head += [
        f"<th>{html.escape(tx.t('estimate'))}"
        + (f" ({html.escape(_unit_suffix(unit, tx))})" if unit == "share" else "")
        + "</th>",
        f"<th>{html.escape(tx.t('se'))}</th>",
        f"<th>{html.escape(tx.t('ci', level=level))}</th>",
        f"<th>{html.escape(tx.t('cv'))}</th>",
        f"<th>{html.escape(tx.t('n'))}</th>",
        f'<th class="l">{html.escape(tx.t("flag"))}</th>',
    ]
    body = []
    for _, row in rows.iterrows():
        flag = str(row["flag"] or "")
        cls = "suppressed" if flag.startswith(FLAG_SUPPRESSED) else ("caution" if flag else "")

        def num(col: str, row: pd.Series = row) -> str:
            return cell_text(row.get(col), col, unit, statistic, tx)

        lo, hi = num("ci_low"), num("ci_high")
        cells = [
            f'<td class="l">{html.escape(domain_text(row, results.by, results.labels, tx))}</td>'
        ]
        if has_cat:
            label = row.get("category_label")
            cells.append(
                f'<td class="l">{html.escape("" if _is_blank(label) else str(label))}</td>'
            )
        cells += [
            f'<td class="num">{html.escape(num("estimate"))}</td>',
            f'<td class="num">{html.escape(num("se"))}</td>',
            f'<td class="num">{html.escape(f"{lo} – {hi}" if lo or hi else "")}</td>',
            f'<td class="num">{html.escape(num("cv"))}</td>',
            f'<td class="num">{html.escape(num("n"))}</td>',
            f'<td class="l">{html.escape(tx.flag(flag))}</td>',
        ]
        body.append(f'<tr class="{cls}">{"".join(cells)}</tr>')
    return f"<table><tr>{''.join(head)}</tr>{''.join(body)}</table>"


def _headline(table: pd.DataFrame, results: IndicatorResults, tx: Texts) -> str:
    """National figures of the indicators that have one number (no categories)."""
    present = [b for b in results.by if b in table.columns]
    national = table[table[present].isna().all(axis=1)] if present else table
    national = national[national["category"].isna()]
    level = tx.percent(results.level, 0) + " %"
    head = (
        f'<tr><th class="l">{html.escape(tx.t("indicator"))}</th>'
        f'<th>{html.escape(tx.t("estimate"))}</th><th class="l">{html.escape(tx.t("unit"))}</th>'
        f"<th>{html.escape(tx.t('ci', level=level))}</th><th>{html.escape(tx.t('cv'))}</th>"
        f'<th class="l">{html.escape(tx.t("flag"))}</th></tr>'
    )
    body = []
    for _, row in national.iterrows():
        info = results.info[row["indicator"]]
        if info.statistic == "quantile" and len(national[national["indicator"] == info.id]) > 1:
            continue

        def num(col: str, row: pd.Series = row, info: Any = info) -> str:
            return cell_text(row.get(col), col, info.unit, info.statistic, tx)

        lo, hi = num("ci_low"), num("ci_high")
        unit = _unit_suffix(tx.indicator(info.unit, info.parameters), tx)
        body.append(
            f'<tr><td class="l"><a href="#{html.escape(info.id)}">'
            f"{html.escape(tx.indicator(info.title, info.parameters))}</a></td>"
            f'<td class="num">{html.escape(num("estimate"))}</td><td class="l">{html.escape(unit)}</td>'
            f'<td class="num">{html.escape(f"{lo} – {hi}" if lo or hi else "")}</td>'
            f'<td class="num">{html.escape(num("cv"))}</td>'
            f'<td class="l">{html.escape(tx.flag(str(row["flag"] or "")))}</td></tr>'
        )
    return f"<table>{head}{''.join(body)}</table>"


def _notes_text(results: IndicatorResults, iid: str, tx: Texts) -> list[tuple[str, str]]:
    info = results.info[iid]
    p = info.parameters
    rows = [
        (tx.t("definition"), tx.indicator(info.definition, p)),
        (tx.t("standard"), info.standard),
        (tx.t("universe"), tx.indicator(info.universe, p)),
        (tx.t("reference_period"), tx.indicator(info.reference_period, p)),
        (
            tx.t("missing"),
            tx.t(
                "missing_text",
                values=tx.number(info.n_value_missing),
                unknown=tx.number(info.n_universe_unknown),
            ),
        ),
    ]
    if info.note:
        rows.append((tx.t("note"), tx.indicator(info.note, p)))
    return rows


def _methodology(
    m: Methodology | None, results: IndicatorResults, th: Thresholds, tx: Texts
) -> list[tuple[str, str]]:
    level = tx.percent(results.level, 0) + " %"
    rows: list[tuple[str, str]] = []
    if m is not None:
        if m.households is not None:
            rows.append(
                (
                    tx.t("sample"),
                    tx.t(
                        "sample_text",
                        strata=tx.number(m.strata or 1),
                        psus=tx.number(m.psus or m.households),
                        households=tx.number(m.households),
                        persons=tx.t("persons_text", n=tx.number(m.persons)) if m.persons else "",
                        response=tx.t("response_text", rate=tx.percent(m.response_rate) + " %")
                        if m.response_rate is not None
                        else "",
                    ),
                )
            )
        if m.population is not None:
            rows.append((tx.t("population"), tx.t("population_text", n=tx.number(m.population))))
        if m.weighting:
            rows.append((tx.t("weighting"), " → ".join(step_names(m, tx))))
        kind = m.variance
        how = str((results.variance or {}).get("variance", ""))
        if how:  # what the estimation itself used (a design file's calibration, replicates)
            kind = (
                "replicate"
                if how.startswith("replicate")
                else ("calibrated" if "calibration" in how else "linearization")
            )
        key = {"replicate": "var_replicate", "calibrated": "var_calibrated"}.get(
            kind, "var_linearization"
        )
        text = tx.t(
            key,
            df=tx.number(m.df) if m.df is not None else "?",
            method=m.replicate_method or "",
            replicates=tx.number(m.replicates or 0),
        )
        if m.variance == "twophase" or how.startswith("two-phase"):
            text = tx.t("var_twophase") + " " + text
        note = (results.variance or {}).get("weights_note")
        if note and tx.lang == "en":  # the estimation's own warning about the weights
            text = text + " " + note
        rows.append((tx.t("variance"), text + " " + tx.t("confidence", level=level)))
    else:
        rows.append((tx.t("variance"), tx.t("confidence", level=level)))
    rows.append((tx.t("thresholds"), _rules(th, tx)))
    return rows


def _rules(th: Thresholds, tx: Texts) -> str:
    return tx.t(
        "rules",
        caution=tx.percent(th.cv_caution) + " %",
        suppress=tx.percent(th.cv_suppress) + " %",
        min_n=tx.number(th.min_n),
    )


def render_html(
    results: IndicatorResults,
    thresholds: Thresholds | None = None,
    title: str | None = None,
    chart_dir: Path | None = None,
    chart_formats: tuple[str, ...] = (),
    *,
    lang: str = "en",
    agency: str | None = None,
    date: str | None = None,
    methodology: Methodology | None = None,
) -> str:
    """The report as one HTML string: a headline table, the methodology, then for every indicator
    its notes, an inline SVG chart and a table, and an annex with ids and data bindings.

    With ``chart_dir``, each chart is also saved there in ``chart_formats`` (drawn once).
    """
    th = thresholds or Thresholds()
    tx = Texts(lang)
    raw = suppress(results.table, results.by, th)
    table = publication_table(results, th)
    sections = []
    annex = []
    for iid, info in results.info.items():
        rows = raw[raw["indicator"] == iid]
        name = tx.indicator(info.title, info.parameters)
        sections.append(
            {
                "id": iid,
                "title": name,
                "notes": _notes_text(results, iid, tx),
                "chart": Markup(
                    svg_text(
                        results,
                        iid,
                        th,
                        tuple(chart_dir / f"{iid}{ext}" for ext in chart_formats)
                        if chart_dir is not None
                        else (),
                        texts=tx,
                        published=raw,
                    )
                ),
                "table": Markup(_html_table(rows, results, info.unit, info.statistic, tx)),
            }
        )
        annex.append(
            {
                "title": name,
                "id": iid,
                "statistic": tx.t(f"stat_{info.statistic}"),
                "concepts": ", ".join(f"{k} = {v}" for k, v in info.concepts.items()),
                "parameters": ", ".join(f"{k} = {v}" for k, v in info.parameters.items()),
            }
        )
    recoverable = table["flag"].fillna("").str.endswith(FLAG_RECOVERABLE)
    return _TEMPLATE.render(
        t=tx.t,
        lang=lang,
        dir=tx.dir,
        title=title or tx.t("title"),
        agency=agency,
        date=date,
        headline=Markup(_headline(raw, results, tx)),
        rules=_rules(th, tx),
        recoverable=(
            f"{int(recoverable.sum())} × {tx.flag(FLAG_SUPPRESSED + FLAG_RECOVERABLE)}"
            if recoverable.any()
            else ""
        ),
        methodology=_methodology(methodology, results, th, tx),
        sections=sections,
        not_computable=list(results.not_computable.items()),
        annex=annex,
        comparison=Markup(render_comparison(results, raw, th, tx)),
        comparison_title=_comparison_title(results, tx),
    )


def _comparison_title(results: IndicatorResults, tx: Texts) -> str:
    cmp = getattr(results, "comparison", None)
    if cmp is None:
        return ""
    return tx.t("comparison_title", var=tx.t(cmp.variable))


def write_html(
    results: IndicatorResults,
    path: str | Path,
    thresholds: Thresholds | None = None,
    title: str | None = None,
    **options: Any,
) -> Path:
    """Write the self-contained HTML report atomically (``options``: ``lang``, ``agency``,
    ``date``, ``methodology`` as in :func:`render_html`)."""
    path = Path(path)
    text = render_html(results, thresholds, title, **options)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def write_report(
    results: IndicatorResults,
    directory: str | Path,
    thresholds: Thresholds | None = None,
    *,
    title: str | None = None,
    charts: tuple[str, ...] = (".png",),
    lang: str = "en",
    agency: str | None = None,
    date: str | None = None,
    methodology: Methodology | None = None,
) -> dict[str, Path]:
    """Write ``indicators.xlsx``, ``indicators.csv``, ``indicators.json``, ``charts/<id>.png|.svg``,
    ``comparison.csv`` (with ``results.comparison``) and ``report.html`` into ``directory`` (all or nothing: the directory is replaced only when
    everything is written). ``lang`` (en, fr, ar) is the language of the report's texts; category
    labels come from the results (``compute(..., language=)``). Returns the final paths."""
    Texts(lang)  # an unknown language fails before anything is written
    directory = Path(directory)
    with atomic_dir(directory) as tmp:
        write_excel(results, tmp / "indicators.xlsx", thresholds, title=title, lang=lang)
        write_csv(results, tmp / "indicators.csv", thresholds)
        write_json(results, tmp / "indicators.json", thresholds)
        compared = write_comparison_csv(
            results, suppress(results.table, results.by, thresholds), tmp / "comparison.csv",
            thresholds,
        )  # fmt: skip
        (tmp / "charts").mkdir()
        text = render_html(
            results,
            thresholds,
            title,
            tmp / "charts",
            charts,
            lang=lang,
            agency=agency,
            date=date,
            methodology=methodology,
        )
        (tmp / "report.html").write_text(text, encoding="utf-8")
    return {
        "excel": directory / "indicators.xlsx",
        "csv": directory / "indicators.csv",
        "json": directory / "indicators.json",
        "html": directory / "report.html",
        "charts": directory / "charts",
        **({"comparison": directory / "comparison.csv"} if compared else {}),
    }
