"""Codebooks: HTML for people and DDI Codebook 2.5 XML for archives, one file per level, and an
index page linking them (the HTML pages are made by :mod:`survmig.data.codebook_html`).

Each variable shows its name, type, concept, PII flag, question text in every language of the form,
the universe (its relevance, in words where the expression allows), the codes with their labels and
frequencies (special codes -8/-9 flagged as missing), and counts of answered / not answered rows.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
from lxml import etree
from markupsafe import Markup, escape

from survmig.conventions import SPECIAL_CODES
from survmig.data.codebook_html import bidi, texts_for
from survmig.data.dataset import Dataset
from survmig.data.form import KEY_COLUMNS, PLATFORM_COLUMNS, FormMetadata, Variable
from survmig.data.labelled import KEY_LABELS
from survmig.data.public import expression_refs, identifying
from survmig.fileio import atomic_dir
from survmig.render.expressions import Writer
from survmig.render.expressions import parse as parse_expression
from survmig.render.phrases import phrases_for
from survmig.report.i18n import Texts

DDI_NS = "ddi:codebook:2_5"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
SPECIAL_VALUES = {str(c) for c in SPECIAL_CODES}


_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")


def published_view(ds: Dataset) -> Dataset:
    """The dataset as its files hold it, and nothing more, for documenting.

    A form question the files do not have (dropped for public use, or missing from the export and
    filled as empty by ``--keep-going``) is left out entirely: no name, label, question text or
    DDI entry of a removed identifying variable may reach the codebook of the published files.
    """
    missing = {(p.level, p.column) for p in ds.notes if p.check == "missing-column"}
    meta = ds.metadata
    tables = {}
    for level in ds.levels:
        df = ds.table(level)
        # an identifying column with no value at all was not published (read back from the
        # public files with --keep-going): say nothing about it
        empty = df.columns[df.isna().all().to_numpy()]
        missing |= {
            (level, c) for c in empty if c in meta.variables and identifying(meta.variables[c])
        }
        tables[level] = df.drop(columns=[c for c in df.columns if (level, c) in missing])
    present = {c for df in tables.values() for c in df.columns}
    if present >= set(meta.variables) and not missing:
        return ds
    kept = FormMetadata(
        title=meta.title,
        form_id=meta.form_id,
        version=meta.version,
        default_language=meta.default_language,
        languages=meta.languages,
        levels=list(meta.levels.values()),
        variables=[v for v in meta.variables.values() if v.name in present],
        choices=dict(meta.choices),
        source=meta.source,
        silent=meta.silent,
    )
    notes = [p for p in ds.notes if (p.level, p.column) not in missing]
    return Dataset(tables, kept, source=ds.source, notes=notes)


def _published_expression(meta: FormMetadata, expr: str | None, tx: Texts) -> str | None:
    """``expr`` as written, unless it names a question the files do not hold (then a mention)."""
    if expr and expression_refs(expr) - set(meta.variables):
        return tx.t("cb_refers_not_published")
    return expr


def _writer(meta: FormMetadata, lang: str | None, tx: Texts) -> Writer:
    """The printed questionnaire's sentence writer, naming questions as a codebook does:
    the variable name and its label (``age “Age”``), in the language of the fixed texts."""
    phrases = phrases_for(tx.lang)
    quote = Markup(escape(phrases["quote"]))
    hidden = Markup(escape(tx.t("cb_not_published")))

    def question(name: str) -> Markup:
        v = meta.variables.get(name)
        if v is None:  # not in the files (e.g. removed for public use): never its name
            return hidden
        ident = Markup('<bdi class="vname">{}</bdi>').format(name)
        label = meta.label(v, lang)
        if not label:
            return ident
        return Markup("{} {}").format(
            ident, quote.format(Markup("<bdi>{}</bdi>").format(bidi(label)))
        )

    def choice(name: str, code: str) -> Markup | None:
        v = meta.variables.get(name)
        if v is None or not v.has_choices:
            return None
        ch = meta.choice(v.list_name, code)
        return (
            None if ch is None else Markup("<bdi>{}</bdi>").format(bidi(meta.text(ch.labels, lang)))
        )

    return Writer(
        phrases, question, choice, shown=lambda name: None if name in meta.variables else hidden
    )


def universe_markup(
    meta: FormMetadata, var: Variable | None, level: str, lang: str | None = None
) -> Markup:
    """Who was asked, in words in the codebook's language: the level, then every relevance
    condition (written as the printed questionnaire writes its filters)."""
    tx = texts_for(meta, lang)
    lv = meta.levels[level]
    kind = "cb_universe_records" if lv.parent is not None else "cb_universe_submissions"
    conditions = [*lv.relevant, *(var.relevance() if var is not None else ())]
    name = Markup('<bdi class="vname">{}</bdi>').format(level)
    if not conditions:
        return Markup(escape(tx.t(kind))).format(level=name)
    writer = _writer(meta, lang, tx)
    parts = []
    for condition in conditions:
        part = writer.sentence(condition)
        parsed = parse_expression(condition)
        if len(conditions) > 1 and parsed is not None and parsed.kind == "or":
            part = Markup("({})").format(part)
        parts.append(part)
    words = Markup(escape(writer.phrases["and"])).join(parts)
    return Markup(escape(tx.t(kind + "_where"))).format(level=name, c=words)


def universe_text(
    meta: FormMetadata, var: Variable | None, level: str, lang: str | None = None
) -> str:
    """:func:`universe_markup` as plain text (for the DDI files)."""
    return _plain(universe_markup(meta, var, level, lang))


def _plain(markup: Markup) -> str:
    return markup.striptags()


def _frequencies(
    meta: FormMetadata, var: Variable, series: pd.Series, lang: str | None, tx: Texts
) -> list[dict]:
    """Codes with labels and counts (choice-list order, then codes found outside the list)."""
    rows: list[dict] = []
    if var.type == "select_multiple":
        counts = series.dropna().astype(str).str.split().explode().value_counts()
    else:
        values = series.dropna()
        if pd.api.types.is_numeric_dtype(values.dtype):
            values = values.map(_num)  # 1.0 -> "1", the code as the form writes it
        counts = values.astype(str).value_counts()
    seen = set()
    for code, label in meta.value_labels(var, lang).items():
        rows.append(
            {
                "code": code,
                "label": label,
                "n": int(counts.get(code, 0)),
                "missing": code in SPECIAL_VALUES,
            }
        )
        seen.add(code)
    for code, n in counts.items():
        if code not in seen:
            rows.append(
                {"code": code, "label": tx.t("cb_not_in_list"), "n": int(n), "missing": False}
            )
    return rows


def _numeric_summary(series: pd.Series) -> dict | None:
    if not pd.api.types.is_numeric_dtype(series.dtype):
        return None
    values = series.astype("Float64")
    specials = {int(c): int((values == c).sum()) for c in SPECIAL_CODES}
    valid = values[~values.isin(list(SPECIAL_CODES))].dropna().astype(float)
    if valid.empty:
        return {"n": 0, "specials": specials}
    return {
        "n": int(len(valid)),
        "min": float(valid.min()),
        "max": float(valid.max()),
        "mean": float(valid.mean()),
        "median": float(valid.median()),
        "stdev": float(valid.std()) if len(valid) > 1 else 0.0,
        "specials": specials,
    }


def describe_level(ds: Dataset, level: str, lang: str | None = None) -> list[dict]:
    """Everything the codebooks show about each column of ``level``."""
    meta = ds.metadata
    tx = texts_for(meta, lang)
    df = ds.table(level)
    out = []
    for col in df.columns:
        var = meta.variables.get(col)
        series = df[col]
        entry: dict = {
            "name": col,
            "type": var.type
            if var
            else (
                "key" if col in KEY_COLUMNS else "platform" if col in PLATFORM_COLUMNS else "text"
            ),
            "label": meta.label(var, lang)
            if var
            else KEY_LABELS.get(col, PLATFORM_COLUMNS.get(col, (col,))[0]),
            "questions": {
                lang_: _PLACEHOLDER.sub(
                    lambda m: m.group(0) if m.group(1) in meta.variables else "${…}", text
                )
                for lang_, text in (var.labels.items() if var else [])
                if text
            },
            "hints": dict(var.hints) if var else {},
            "concept": var.concept if var else None,
            "pii": bool(var.pii) if var else False,
            "module": var.module if var else None,
            "universe": universe_markup(meta, var, level, lang)
            if var and var.kind == "question"
            else Markup(""),
            "relevant": " and ".join(
                _published_expression(meta, e, tx) or "" for e in var.relevance()
            )
            if var
            else "",
            "constraint": _published_expression(meta, var.constraint, tx) if var else None,
            "answered": int(series.notna().sum()),
            "missing": int(series.isna().sum()),
            "categories": _frequencies(meta, var, series, lang, tx)
            if var and var.has_choices
            else [],
            "summary": _numeric_summary(series)
            if var and var.kind == "question" and not var.has_choices
            else None,
            "numeric": pd.api.types.is_numeric_dtype(series.dtype),
        }
        if var is not None and var.kind == "option":
            entry["categories"] = [
                {"code": str(k), "label": v, "n": int((series == k).sum()), "missing": False}
                for k, v in {0: tx.t("cb_not_selected"), 1: tx.t("cb_selected")}.items()
            ]
        out.append(entry)
    return out


def _lang_attr(language: str) -> str | None:
    m = re.search(r"\(([A-Za-z-]+)\)\s*$", language)
    return m.group(1) if m else None


def codebook_ddi(ds: Dataset, level: str, lang: str | None = None) -> bytes:
    """DDI Codebook 2.5 for one level (elements in the order the 2.5 schema requires)."""
    meta = ds.metadata
    tx = texts_for(meta, lang)
    xml_lang = {XML_LANG: tx.lang}
    nsmap = {None: DDI_NS}
    root = etree.Element(
        f"{{{DDI_NS}}}codeBook",
        nsmap=nsmap,
        version="2.5",
        ID=f"CB_{_xml_id(meta.form_id)}_{_xml_id(level)}",
    )

    def sub(
        parent: etree._Element, tag: str, text: str | None = None, **attrs: str
    ) -> etree._Element:
        el = etree.SubElement(
            parent, f"{{{DDI_NS}}}{tag}", **{k: v for k, v in attrs.items() if v is not None}
        )
        if text is not None:
            el.text = text
        return el

    stdy = sub(root, "stdyDscr")
    citation = sub(stdy, "citation")
    titl = sub(citation, "titlStmt")
    sub(titl, "titl", f"{meta.title} — {level}")
    sub(titl, "IDNo", f"{meta.form_id}{'-' + meta.version if meta.version else ''}")
    if meta.version:
        ver = sub(citation, "verStmt")
        sub(ver, "version", meta.version)
    info = sub(stdy, "stdyInfo")
    summary = sub(info, "sumDscr")
    sub(summary, "anlyUnit", level)
    sub(summary, "universe", universe_text(meta, None, level, lang), **xml_lang)

    df = ds.table(level)
    file_id = f"F_{_xml_id(level)}"
    fdscr = sub(root, "fileDscr", ID=file_id)
    ftxt = sub(fdscr, "fileTxt")
    sub(ftxt, "fileName", f"{level}")
    per = "cb_file_submissions" if meta.levels[level].parent is None else "cb_file_records"
    sub(ftxt, "fileCont", tx.t(per, level=level), **xml_lang)
    dims = sub(ftxt, "dimensns")
    sub(dims, "caseQnty", str(len(df)))
    sub(dims, "varQnty", str(len(df.columns)))

    data = sub(root, "dataDscr")
    for i, v in enumerate(describe_level(ds, level, lang), start=1):
        var = meta.variables.get(v["name"])
        attrs = {
            "ID": f"V{i}",
            "name": v["name"],
            "files": file_id,
            "intrvl": "contin" if v["summary"] else "discrete",
        }
        el = sub(data, "var", **attrs)
        sub(el, "labl", v["label"] or v["name"], level="variable")
        for language, text in v["questions"].items():
            qstn = sub(
                el,
                "qstn",
                **({XML_LANG: _lang_attr(language)} if _lang_attr(language) else {}),
            )
            sub(qstn, "qstnLit", text)
            if v["hints"].get(language):
                sub(qstn, "ivuInstr", v["hints"][language])
        if v["universe"]:
            sub(el, "universe", _plain(v["universe"]), clusion="I", **xml_lang)
        s = v["summary"]
        sub(el, "sumStat", str(v["answered"]), type="vald")
        sub(el, "sumStat", str(v["missing"]), type="invd")
        if s and s.get("n"):
            for key, ddi_type in (
                ("mean", "mean"),
                ("median", "medn"),
                ("min", "min"),
                ("max", "max"),
                ("stdev", "stdev"),
            ):
                sub(el, "sumStat", _num(s[key]), type=ddi_type)
        if var is not None and var.pii:
            sub(el, "txt", tx.t("cb_pii_ddi"), **xml_lang)
        for cat in v["categories"]:
            c = sub(
                el,
                "catgry",
                missing="Y" if cat["missing"] else None,
                missType="special code" if cat["missing"] else None,
            )
            sub(c, "catValu", str(cat["code"]))
            sub(c, "labl", cat["label"], level="category")
            sub(c, "catStat", str(cat["n"]), type="freq")
        if v["concept"]:
            sub(el, "concept", v["concept"])
        sub(
            el,
            "varFormat",
            type="numeric" if v["numeric"] else "character",
            schema="other",
            otherSchema="survmig",
        )
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.6g}"


def _xml_id(text: str) -> str:
    clean = re.sub(r"[^A-Za-z0-9_.-]", "_", text)
    return clean if re.match(r"[A-Za-z_]", clean) else f"_{clean}"


def write_codebooks(ds: Dataset, directory: str | Path, lang: str | None = None) -> list[Path]:
    """``index.html``, and ``codebook-<level>.html`` and ``ddi-<level>.xml`` for every level
    (all or nothing)."""
    directory = Path(directory)
    with atomic_dir(directory) as tmp:
        names = write_codebook_files(ds, tmp, lang)
    return [directory / name for name in names]


def write_codebook_files(ds: Dataset, folder: Path, lang: str | None = None) -> list[str]:
    """Write the codebooks of :func:`published_view` into ``folder`` (one being written); the
    file names written."""
    from survmig.data.codebook_html import codebook_html, index_html

    ds = published_view(ds)
    (folder / "index.html").write_text(index_html(ds, lang), encoding="utf-8")
    names = ["index.html"]
    for level in ds.levels:
        (folder / f"codebook-{level}.html").write_text(
            codebook_html(ds, level, lang), encoding="utf-8"
        )
        (folder / f"ddi-{level}.xml").write_bytes(codebook_ddi(ds, level, lang))
        names += [f"codebook-{level}.html", f"ddi-{level}.xml"]
    return names


def codebook_html(ds: Dataset, level: str, lang: str | None = None) -> str:
    """The HTML codebook of one level (see :func:`survmig.data.codebook_html.codebook_html`)."""
    from survmig.data.codebook_html import codebook_html as render

    return render(ds, level, lang)
