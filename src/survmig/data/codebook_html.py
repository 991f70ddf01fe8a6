"""The HTML codebooks: one page per level and an index page linking them, in the form's language.

The fixed texts (headings, column names, "Answered", "Universe"…) come from the report's texts
(:mod:`survmig.report.i18n`, keys ``cb_*``) in the language of ``--lang`` when the report has it
(English otherwise); an Arabic codebook is right to left. Categories get frequency bars (CSS, so
they print and follow the page's direction), numeric questions a compact histogram of their valid
values (inline SVG, no picture files).
"""

from __future__ import annotations

import re
from typing import Any

import jinja2
import numpy as np
from markupsafe import Markup, escape

from survmig.report.i18n import Texts, languages

#: bins of a numeric question's histogram
HIST_BINS = 20

#: Right-to-left scripts (Hebrew, Arabic, Syriac, Thaana, N'Ko and their presentation forms).
_RTL = re.compile(r"[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")
#: What reads left to right inside such text: ${placeholders} and runs of Latin words or codes.
_LTR_RUN = re.compile(
    r"\$\{[^}]*\}|[A-Za-z0-9_.:/%+-]*[A-Za-z][A-Za-z0-9_.:/%+-]*"
    r"(?:\s+[A-Za-z0-9_.:/%+-]*[A-Za-z][A-Za-z0-9_.:/%+-]*)*"
)


def bidi(text: object) -> Markup:
    """HTML for a label: in right-to-left text, ``${…}`` and Latin runs are isolated in ``<bdi>``.

    Without isolation the browser's bidi algorithm reorders the braces and neighbouring words of
    ``${member_name}`` inside an Arabic sentence, so the placeholder shows scrambled.
    """
    text = "" if text is None else str(text)
    if not _RTL.search(text):
        return escape(text)
    out, pos = [], 0
    for m in _LTR_RUN.finditer(text):
        out += [str(escape(text[pos : m.start()])), f"<bdi>{escape(m.group())}</bdi>"]
        pos = m.end()
    out.append(str(escape(text[pos:])))
    return Markup("".join(out))


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.6g}"


def _num_or_blank(x: object) -> str:
    return "" if x is None else _num(float(x))


def texts_for(meta: Any, lang: str | None) -> Texts:
    """The fixed texts in the language of ``lang`` (a form language: ``ar``, ``العربية (ar)``),
    English when the report has no texts in it."""
    if lang is None:
        return Texts("en")
    key = meta.language_key(lang) if meta is not None else lang
    m = re.search(r"\(([A-Za-z-]+)\)\s*$", key)
    code = (m.group(1) if m else lang).split("-")[0].lower()
    return Texts(code if code in languages() else "en")


def histogram_svg(values: np.ndarray, tx: Texts) -> Markup:
    """A compact histogram of the valid values of a numeric question (inline SVG)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size < 2 or values.min() == values.max():
        return Markup("")
    counts, edges = np.histogram(values, bins=HIST_BINS)
    w, h = 240, 48
    top = counts.max()
    bar = w / HIST_BINS
    rects = "".join(
        f'<rect x="{i * bar:.1f}" y="{h - h * c / top:.1f}" width="{bar - 1:.1f}" '
        f'height="{h * c / top:.1f}"><title>{_num(edges[i])} – {_num(edges[i + 1])}: {c}</title>'
        "</rect>"
        for i, c in enumerate(counts)
        if c
    )
    caption = tx.t("cb_distribution", bins=HIST_BINS, lo=_num(edges[0]), hi=_num(edges[-1]))
    return Markup(
        f'<figure class="hist"><svg viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
        f'aria-label="{escape(caption)}">{rects}</svg><figcaption dir="{tx.dir}">{escape(caption)}</figcaption>'
        "</figure>"
    )


_ENV = jinja2.Environment(autoescape=True)
_ENV.filters["bidi"] = bidi
_ENV.filters["num"] = _num_or_blank

_STYLE = """<style>
body{font-family:system-ui,"Noto Sans","Noto Naskh Arabic",sans-serif;margin:2em;max-width:70em;color:#222}
table{border-collapse:collapse;margin:.4em 0}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:start;vertical-align:top}
.var{border-top:2px solid #345;margin-top:1.5em;padding-top:.5em}.name{font-family:monospace;font-size:1.1em;font-weight:bold}
.meta{color:#555}.pii{color:#a00;font-weight:bold}.missing{color:#777;font-style:italic}[dir=rtl]{text-align:right}
nav a{margin-inline-end:.6em;font-family:monospace}bdi.vname,.universe .code{font-family:monospace}
td.bar{width:12em;vertical-align:middle}td.bar span{display:block;height:.8em;background:#4a6fa5}
tr.missing td.bar span{background:#bbb}
figure.hist{margin:.3em 0;direction:ltr;display:inline-block}figure.hist svg{display:block;border-bottom:1px solid #999}
figure.hist rect{fill:#4a6fa5}figure.hist figcaption{font-size:.8em;color:#555;direction:inherit}
@media print{.var{break-inside:avoid-page}}
</style>"""

_HTML = _ENV.from_string(
    """<!DOCTYPE html>
<html lang="{{ t.lang }}" dir="{{ t.dir }}"><head><meta charset="utf-8"><title>{{ title }} — {{ level }}</title>
"""
    + _STYLE
    + """</head><body>
<p><a href="index.html">← {{ t.t("cb_back") }}</a></p>
<h1>{{ title }}</h1>
<p class="meta">{{ t.t("cb_summary", form=form_id, version=(t.t("cb_version", version=version) if version else ""), level=level, rows=rows, n=variables|length, languages=languages|join(", ")) }}</p>
<nav>{% for v in variables %}<a href="#{{ v.name }}">{{ v.name }}</a>{% endfor %}</nav>
{% for v in variables %}
<div class="var" id="{{ v.name }}">
<div><span class="name">{{ v.name }}</span> — <bdi>{{ v.label|bidi }}</bdi> <span class="meta">({{ v.type }}{% if v.concept %}; {{ t.t("cb_concept") }} <code>{{ v.concept }}</code>{% endif %}{% if v.module %}; {{ t.t("cb_module") }} {{ v.module }}{% endif %})</span>
{% if v.pii %}<span class="pii">{{ t.t("cb_pii") }}</span>{% endif %}</div>
{% if v.questions %}<table>{% for l, q in v.questions.items() %}<tr><th>{{ l }}</th><td{% if "(ar)" in l %} dir="rtl"{% elif t.dir == "rtl" %} dir="ltr"{% endif %}>{{ q|bidi }}{% if v.hints.get(l) %}<br><span class="meta">{{ v.hints[l]|bidi }}</span>{% endif %}</td></tr>{% endfor %}</table>{% endif %}
{% if v.universe %}<p class="universe"><b>{{ t.t("cb_universe") }}</b> {{ v.universe }}{% if v.relevant %} <span class="meta">(<code dir="ltr">{{ v.relevant }}</code>)</span>{% endif %}</p>{% endif %}
{% if v.constraint %}<p class="meta">{{ t.t("cb_constraint") }} <code dir="ltr">{{ v.constraint }}</code></p>{% endif %}
<p class="meta">{{ t.t("cb_answered", answered=v.answered, empty=v.missing) }}</p>
{% if v.categories %}{% set top = v.categories|map(attribute="n")|max %}<table><tr><th>{{ t.t("cb_code") }}</th><th>{{ t.t("cb_label") }}</th><th>{{ t.t("cb_frequency") }}</th><th>%</th><th></th></tr>
{% for c in v.categories %}<tr{% if c.missing %} class="missing"{% endif %}><td>{% if t.dir == "rtl" %}<bdi dir="ltr">{{ c.code }}</bdi>{% else %}{{ c.code }}{% endif %}</td><td><bdi>{{ c.label|bidi }}</bdi>{% if c.missing %} {{ t.t("cb_missing_estimation") }}{% endif %}</td><td>{{ c.n }}</td><td>{{ "%.1f"|format(100 * c.n / (rows or 1)) }}</td><td class="bar"><span style="width:{{ "%.1f"|format(100 * c.n / (top or 1)) }}%"></span></td></tr>{% endfor %}
</table>{% endif %}
{% if v.summary %}<table><tr><th>{{ t.t("cb_valid") }}</th><th>{{ t.t("cb_min") }}</th><th>{{ t.t("cb_max") }}</th><th>{{ t.t("cb_mean") }}</th><th>{{ t.t("cb_median") }}</th><th>{{ t.t("cb_dont_know") }}</th><th>{{ t.t("cb_refused") }}</th></tr>
<tr><td>{{ v.summary.n }}</td><td>{{ v.summary.get("min")|num }}</td><td>{{ v.summary.get("max")|num }}</td><td>{{ "%.3g"|format(v.summary.mean) if v.summary.get("mean") is not none else "" }}</td><td>{{ v.summary.get("median")|num }}</td><td>{{ v.summary.specials[-8] }}</td><td>{{ v.summary.specials[-9] }}</td></tr></table>
{{ v.histogram }}{% endif %}
</div>
{% endfor %}
</body></html>
"""
)

_INDEX = _ENV.from_string(
    """<!DOCTYPE html>
<html lang="{{ t.lang }}" dir="{{ t.dir }}"><head><meta charset="utf-8"><title>{{ title }} — {{ t.t("cb_codebooks") }}</title>
"""
    + _STYLE
    + """</head><body>
<h1>{{ title }}</h1>
<h2>{{ t.t("cb_codebooks") }}</h2>
<p class="meta">{{ t.t("cb_index_intro") }}</p>
<table><tr><th>{{ t.t("cb_level") }}</th><th>{{ t.t("cb_records") }}</th><th>{{ t.t("cb_variables") }}</th><th>{{ t.t("cb_ddi") }}</th></tr>
{% for lv in levels %}<tr><td><a href="codebook-{{ lv.name }}.html">{{ lv.name }}</a></td><td>{{ lv.rows }}</td><td>{{ lv.variables }}</td><td><a href="ddi-{{ lv.name }}.xml">ddi-{{ lv.name }}.xml</a></td></tr>
{% endfor %}</table>
</body></html>
"""
)


def codebook_html(ds: Any, level: str, lang: str | None = None) -> str:
    """The HTML codebook of one level (fixed texts in ``lang``'s language when the report has it)."""
    from survmig.data.codebook import describe_level

    meta = ds.metadata
    tx = texts_for(meta, lang)
    variables = describe_level(ds, level, lang)
    table = ds.table(level)
    for v in variables:
        s = v.get("summary")
        if s and s.get("n"):
            values = table[v["name"]].astype("Float64")
            valid = values[~values.isin(list(s["specials"]))].dropna().to_numpy(dtype=float)
            v["histogram"] = histogram_svg(valid, tx)
    return _HTML.render(
        t=tx,
        title=meta.title,
        form_id=meta.form_id,
        version=meta.version,
        level=level,
        rows=len(table),
        languages=meta.languages,
        variables=variables,
    )


def index_html(ds: Any, lang: str | None = None) -> str:
    """The index page: every level with its records, variables and links to its two files."""
    meta = ds.metadata
    levels = [
        {"name": lv, "rows": len(ds.table(lv)), "variables": len(ds.table(lv).columns)}
        for lv in ds.levels
    ]
    return _INDEX.render(t=texts_for(meta, lang), title=meta.title, levels=levels)
