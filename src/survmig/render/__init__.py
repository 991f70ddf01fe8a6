"""Printable questionnaires: any XLSForm as a reviewer or trainer reads it, in one language.

``survmig render FORM.xlsx --lang fr -o questionnaire.html`` writes one self-contained HTML file
(inline CSS, print-friendly, right-to-left for Arabic) with numbered questions, section headings,
repeats, filters written out in words, answer codes, constraints with their messages, and hints.
"""

from __future__ import annotations

from survmig.render.html import render_html, write_html
from survmig.render.questionnaire import Questionnaire, build_questionnaire

__all__ = ["Questionnaire", "build_questionnaire", "render_html", "write_html"]
