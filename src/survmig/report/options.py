"""Command-line options of the publication report, shared by every command that writes one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from survmig.report.i18n import check_language, languages
from survmig.report.suppression import SECONDARY
from survmig.report.tables import Thresholds

_DEFAULTS = Thresholds()
#: option name -> keyword of the collected options
NAMES = (
    "report_lang",
    "report_title",
    "report_agency",
    "report_date",
    "cv_caution",
    "cv_suppress",
    "min_n",
    "secondary",
)


def report_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Add --lang, --title, --agency, --date, --cv-caution, --cv-suppress, --min-n, --secondary."""
    opts = [
        click.option(
            "--lang",
            "report_lang",
            type=click.Choice(list(languages())),
            default="en",
            show_default=True,
            help="Language of the report (texts, indicator titles; category labels from the form).",
        ),
        click.option("--title", "report_title", help="Report title (default: in the language)."),
        click.option("--agency", "report_agency", help="Publishing agency, on the report's cover."),
        click.option("--date", "report_date", help="Publication date as printed, e.g. 2026-12-02."),
        click.option(
            "--cv-caution",
            type=float,
            default=_DEFAULTS.cv_caution,
            show_default=True,
            help="CV (a fraction) above which an estimate is marked 'use with caution'.",
        ),
        click.option(
            "--cv-suppress",
            type=float,
            default=_DEFAULTS.cv_suppress,
            show_default=True,
            help="CV above which an estimate is suppressed (blanked in every column).",
        ),
        click.option(
            "--min-n",
            type=int,
            default=_DEFAULTS.min_n,
            show_default=True,
            help="Fewest cases for a published estimate.",
        ),
        click.option(
            "--secondary",
            type=click.Choice(SECONDARY),
            default=_DEFAULTS.secondary,
            show_default=True,
            help="A suppressed cell that a total minus the published cells gives back: "
            "suppress a complementary cell, or only flag it.",
        ),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


def collect(values: dict[str, Any]) -> dict[str, Any]:
    """The options as ``write_report`` keywords plus ``thresholds`` (pops them from ``values``)."""
    got = {k: values.pop(k) for k in NAMES if k in values}
    return {
        "thresholds": Thresholds(
            cv_caution=got.get("cv_caution", _DEFAULTS.cv_caution),
            cv_suppress=got.get("cv_suppress", _DEFAULTS.cv_suppress),
            min_n=got.get("min_n", _DEFAULTS.min_n),
            secondary=got.get("secondary", _DEFAULTS.secondary),
        ),
        "lang": check_language(got.get("report_lang") or "en"),
        "title": got.get("report_title"),
        "agency": got.get("report_agency"),
        "date": got.get("report_date"),
    }
