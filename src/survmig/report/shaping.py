"""Arabic (and Hebrew) text in raster charts: shaped and in visual order, as matplotlib cannot.

In SVG the text stays text (``svg.fonttype: none``) and the browser shapes and orders it, so the
HTML report and its printed PDF need nothing. A PNG is pixels. matplotlib built with libraqm
(the wheels from 3.11 on: ``matplotlib.ft2font.__libraqm_version__``) shapes and orders Arabic
itself; shaping it again would reverse it a second time, so then nothing is done. An older or
stripped matplotlib draws a string glyph by glyph, left to right, each letter in its isolated
form: there the texts are shaped (``arabic-reshaper``) and put in visual order (``python-bidi``)
just for the drawing, then given back, so the same figure can still be written as SVG with its
logical text. Without those packages a warning says the PNG's Arabic is not joined.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

import matplotlib.ft2font
import matplotlib.text
import matplotlib.ticker

from survmig.errors import SurvmigWarning

#: matplotlib lays out complex scripts itself (built with libraqm)
NATIVE = bool(getattr(matplotlib.ft2font, "__libraqm_version__", ""))

#: letters of right-to-left scripts (Hebrew, Arabic, Syriac, Thaana, N'Ko, presentation forms)
_RTL = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")


def needs_shaping(text: str) -> bool:
    """Whether ``text`` has letters of a right-to-left script."""
    return bool(text) and _RTL.search(text) is not None


def visual(text: str) -> str:
    """``text`` as a left-to-right renderer must draw it: letters joined, runs in display order
    (line by line). Text without right-to-left letters comes back unchanged."""
    if not needs_shaping(text):
        return text
    import arabic_reshaper
    from bidi import get_display

    reshaper = arabic_reshaper.ArabicReshaper({"delete_harakat": False})
    return "\n".join(get_display(reshaper.reshape(line)) for line in text.split("\n"))


class _Shaped(matplotlib.ticker.Formatter):
    """A tick formatter that shapes what another one writes (tick labels are made at draw time)."""

    def __init__(self, inner: matplotlib.ticker.Formatter) -> None:
        self.inner = inner

    def __call__(self, x: float, pos: int | None = None) -> str:
        return visual(self.inner(x, pos))

    def format_ticks(self, values: Any) -> list[str]:
        return [visual(s) for s in self.inner.format_ticks(values)]

    def set_locs(self, locs: Any) -> None:
        self.inner.set_locs(locs)

    def get_offset(self) -> str:
        return visual(self.inner.get_offset())


@contextlib.contextmanager
def shaped(fig: Any) -> Iterator[None]:
    """Inside the block, every text of ``fig`` (titles, labels, notes, tick labels) is shaped for a
    raster drawing by a matplotlib that cannot lay them out; afterwards the logical texts are back."""
    if NATIVE:
        yield
        return
    fig.canvas.draw()  # tick labels exist only once drawn
    texts = [t for t in fig.findobj(matplotlib.text.Text) if needs_shaping(t.get_text())]
    if not texts:
        yield
        return
    try:
        import arabic_reshaper  # noqa: F401
        import bidi  # noqa: F401
    except ImportError:
        import warnings

        warnings.warn(
            "this matplotlib has no libraqm: the Arabic text of PNG charts is drawn unjoined; "
            "install matplotlib>=3.11 or arabic-reshaper and python-bidi (the SVG charts and "
            "the HTML report are right either way)",
            SurvmigWarning,
            stacklevel=3,
        )
        yield
        return
    saved = [(t, t.get_text()) for t in texts]
    formatters = []
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            formatters.append((axis, axis.get_major_formatter(), axis.get_minor_formatter()))
    try:
        for t, text in saved:
            t.set_text(visual(text))
        for axis, major, minor in formatters:
            axis.set_major_formatter(_Shaped(major))
            axis.set_minor_formatter(_Shaped(minor))
        yield
    finally:
        for t, text in saved:
            t.set_text(text)
        for axis, major, minor in formatters:
            axis.set_major_formatter(major)
            axis.set_minor_formatter(minor)
