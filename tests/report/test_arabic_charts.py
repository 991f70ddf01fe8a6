"""Arabic in the report's charts: text kept as text in the SVG (the browser shapes it), joined and
right to left in the PNG (drawn as the letters' contextual forms in visual order)."""

from __future__ import annotations

import re
import sys

import matplotlib.image
import matplotlib.pyplot as plt
import numpy as np
import pytest

from survmig.errors import SurvmigWarning
from survmig.indicators import compute
from survmig.report import shaping, write_html
from survmig.report.charts import save_figure
from survmig.report.i18n import Texts
from tests.indicators.survey import RATES, build_survey

#: "ذكر" (male) as a left-to-right renderer must draw it: final reh, initial kaf, isolated thal
MALE = "ذكر"
MALE_VISUAL = "\ufeae\ufedb\ufeab"


def _png(text: str, path) -> np.ndarray:
    fig = plt.figure(figsize=(2, 0.6), dpi=100)
    fig.text(0.1, 0.3, text, fontsize=20)
    save_figure(fig, path)
    return matplotlib.image.imread(path)


def _forced_ltr(visual: str) -> str:
    # a renderer that orders text itself must be told this run is already in display order
    return f"\u202d{visual}\u202c" if shaping.NATIVE else visual


def test_png_draws_arabic_joined_and_right_to_left(tmp_path):
    got = _png(MALE, tmp_path / "a.png")
    want = _png(_forced_ltr(MALE_VISUAL), tmp_path / "b.png")
    assert (got < 0.5).sum() > 50  # something was drawn
    assert np.array_equal(got, want)
    # and the check can fail: the letters backwards, or unjoined, are other pictures
    backwards = _png(_forced_ltr(MALE_VISUAL[::-1]), tmp_path / "c.png")
    isolated = _png(_forced_ltr("\ufead\ufed9\ufeab"), tmp_path / "d.png")
    assert not np.array_equal(got, backwards)
    assert not np.array_equal(got, isolated)


def test_without_libraqm_the_text_is_shaped_for_the_drawing_and_given_back(monkeypatch):
    """An older matplotlib: shaped and reordered while drawn (or a warning when the shaping
    packages are missing); the figure keeps its logical text for the SVG."""
    monkeypatch.setattr(shaping, "NATIVE", False)
    monkeypatch.setitem(sys.modules, "arabic_reshaper", None)  # not installed
    fig = plt.figure()
    label = fig.text(0.1, 0.5, MALE)
    with pytest.warns(SurvmigWarning, match="libraqm"), shaping.shaped(fig):
        pass
    assert label.get_text() == MALE
    plt.close(fig)


def test_needs_shaping_only_for_right_to_left_letters():
    assert shaping.needs_shaping(MALE) and shaping.needs_shaping("12 %: ذكر")
    assert not shaping.needs_shaping("Male 12 %") and not shaping.needs_shaping("")
    assert shaping.visual("Male 12 %") == "Male 12 %"


@pytest.fixture(scope="module")
def results():
    ds, design = build_survey()
    return compute(ds, design, ["foreign_born_share", "emigrants_by_sex"], rates=RATES)


def test_report_charts_carry_arabic_as_text(results, tmp_path):
    page = write_html(results, tmp_path / "r.html", lang="ar").read_text(encoding="utf-8")
    svgs = re.findall(r"<svg.*?</svg>", page, re.S)
    assert svgs
    texts = [t for svg in svgs for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]
    tx = Texts("ar")
    # the panel headings and the legend are in Arabic, in logical order, as text
    assert tx.t("national") in texts
    assert any(tx.t("flag_suppressed") in t for t in texts)
    assert all("DejaVuSans-" not in svg for svg in svgs)  # no glyph outlines instead of text
    # each chart text takes its direction from its first letter ("95 %" ends an Arabic line)
    assert "figure svg text{unicode-bidi:plaintext}" in page


def test_without_libraqm_the_texts_and_tick_labels_are_shaped_while_drawn(monkeypatch):
    """The fallback's plumbing, with stand-ins for arabic-reshaper and python-bidi: every text
    and every tick label goes through them for the drawing, and comes back afterwards."""
    import types

    reshaper = types.ModuleType("arabic_reshaper")

    class ArabicReshaper:
        def __init__(self, configuration=None):
            pass

        def reshape(self, text):
            return f"<{text}>"

    reshaper.ArabicReshaper = ArabicReshaper
    bidi = types.ModuleType("bidi")
    bidi.get_display = lambda text: text[::-1]
    monkeypatch.setitem(sys.modules, "arabic_reshaper", reshaper)
    monkeypatch.setitem(sys.modules, "bidi", bidi)
    monkeypatch.setattr(shaping, "NATIVE", False)
    fig, ax = plt.subplots()
    ax.set_yticks([0, 1])
    ax.set_yticklabels([MALE, "Male"])
    ax.set_title(MALE)
    with shaping.shaped(fig):
        fig.canvas.draw()
        assert ax.get_title() == f">{MALE[::-1]}<"
        assert [t.get_text() for t in ax.get_yticklabels()] == [f">{MALE[::-1]}<", "Male"]
    fig.canvas.draw()
    assert ax.get_title() == MALE
    assert [t.get_text() for t in ax.get_yticklabels()] == [MALE, "Male"]
    plt.close(fig)
