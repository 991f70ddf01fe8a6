"""The HTML codebooks: index page, frequency bars, numeric histograms, fixed texts in the language."""

from __future__ import annotations

import re

import numpy as np
import pytest

from survmig.data.codebook import write_codebooks
from survmig.data.codebook_html import HIST_BINS, codebook_html, index_html, texts_for
from survmig.report.i18n import Texts


def test_index_links_every_level_and_its_files(small, tmp_path):
    paths = write_codebooks(small, tmp_path / "cb")
    assert paths[0].name == "index.html"
    page = paths[0].read_text(encoding="utf-8")
    for level in small.levels:
        assert f'href="codebook-{level}.html"' in page and f'href="ddi-{level}.xml"' in page
        assert (tmp_path / "cb" / f"codebook-{level}.html").exists()
        rows, cols = small.table(level).shape
        assert f"<td>{rows}</td><td>{cols}</td>" in page
        level_page = (tmp_path / "cb" / f"codebook-{level}.html").read_text(encoding="utf-8")
        assert '<a href="index.html">' in level_page  # and back


def test_frequency_bars_follow_the_counts(small):
    page = codebook_html(small, "person")
    block = page[page.index('<div class="var" id="sex">') :]
    block = block[: block.index('<div class="var"', 10)]
    rows = re.findall(
        r'<td>(\d+)</td><td>[\d.]+</td><td class="bar"><span style="width:([\d.]+)%"', block
    )
    counts = [int(n) for n, _ in rows]
    widths = [float(w) for _, w in rows]
    assert len(rows) == block.count('class="bar"') >= 2
    np.testing.assert_allclose(widths, [100 * n / max(counts) for n in counts], atol=0.05)


def test_numeric_questions_get_a_histogram_of_their_valid_values(small):
    page = codebook_html(small, "person")
    block = page[page.index('<div class="var" id="age">') :]
    block = block[: block.index("</figure>")]
    heights = [float(h) for h in re.findall(r'height="([\d.]+)"><title>', block)]
    counts = [int(c) for c in re.findall(r": (\d+)</title>", block)]
    age = small.table("person")["age"]
    valid = age[~age.isin([-8, -9])].dropna()
    assert sum(counts) == len(valid) and len(counts) <= HIST_BINS
    assert max(heights) == pytest.approx(48)
    assert f"from {valid.min():g} to {valid.max():g}" in block


@pytest.mark.parametrize("lang", ["en", "fr", "ar"])
def test_fixed_texts_in_the_language(small, lang):
    tx = Texts(lang)
    assert texts_for(small.metadata, lang).lang == lang
    page = codebook_html(small, "person", lang=lang)
    assert f'<html lang="{lang}" dir="{tx.dir}">' in page
    for key in ("cb_code", "cb_label", "cb_frequency", "cb_valid", "cb_median", "cb_back"):
        assert tx.t(key) in page, key
    assert tx.t("cb_universe") in page
    index = index_html(small, lang)
    assert f'dir="{tx.dir}"' in index and tx.t("cb_codebooks") in index
    if lang != "en":  # none of the English fixed texts is left
        for key in ("cb_frequency", "cb_median", "cb_back"):
            assert Texts("en").t(key) not in page
    if lang == "ar":  # other languages' questions keep their own direction in a right-to-left page
        assert '<th>English (en)</th><td dir="ltr">' in page


def test_a_form_language_without_report_texts_falls_back_to_english(small):
    assert texts_for(small.metadata, None).lang == "en"
    assert texts_for(None, "de").lang == "en"


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        (
            "fr",
            "Chaque enregistrement du niveau person pour lequel age « Âge » est 15 ou plus et "
            "« Emploi salarié » (job) est coché à activities « Activités »",
        ),
        (
            "ar",
            "كل سجل من سجلات المستوى person يكون فيه age «العمر» يساوي 15 أو أكثر "
            "و«عمل مأجور» (job) مختارًا في activities «الأنشطة»",
        ),
    ],
)
def test_universe_in_the_language(small, lang, expected):
    from survmig.data.codebook import universe_text

    meta = small.metadata
    assert universe_text(meta, meta.variables["earnings"], "person", lang) == expected
    page = codebook_html(small, "person", lang=lang)
    assert "Every <bdi" not in page and '<bdi dir="ltr">' not in page.split("universe")[-1]
    assert Texts(lang).t("cb_not_in_list") != "(not in the choice list)"
