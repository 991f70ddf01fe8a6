"""The report's languages: fixed texts, indicator texts, and numbers written as readers expect them.

Fixed texts live in ``texts.yaml`` (one entry per key, a line per language); the catalogue's
indicator titles, definitions, universes and reference periods are translated in
``catalogue_texts.yaml``, keyed by the English text, so a catalogue edit shows up as a missing
translation (a test checks) instead of a silently stale one.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping
from importlib import resources
from typing import Any

import yaml

from survmig.errors import SurvmigError

#: decimals by unit when no rule applies (shares are written as percentages)
_DECIMALS = {"share": 1, "persons": 0, "households": 0, "local currency": 0}


@functools.cache
def _load(name: str) -> dict[str, Any]:
    text = resources.files("survmig.report").joinpath(name).read_text(encoding="utf-8")
    return yaml.safe_load(text) or {}


def languages() -> dict[str, dict[str, str]]:
    """Language code -> name, direction (ltr/rtl), decimal and thousands separators."""
    return _load("texts.yaml")["languages"]


def check_language(lang: str) -> str:
    """``lang`` if the report can be written in it, else a SurvmigError naming the choices."""
    if lang not in languages():
        raise SurvmigError(
            f"the report has no texts in language {lang!r}",
            where="--lang",
            hint=f"use one of {', '.join(languages())} (or add it to survmig/report/texts.yaml)",
        )
    return lang


class Texts:
    """Everything language-dependent in one object: ``t(key, **values)``, ``indicator(text)``,
    ``number(value, decimals)``, ``percent(share, decimals)``."""

    def __init__(self, lang: str = "en") -> None:
        self.lang = check_language(lang)
        spec = languages()[lang]
        self.name = spec["name"]
        self.dir = spec["dir"]
        self.decimal = spec["decimal"]
        self.thousands = spec["thousands"]
        self._texts = _load("texts.yaml")["texts"]
        self._catalogue = _load("catalogue_texts.yaml") if lang != "en" else {}

    def t(self, key: str, **values: Any) -> str:
        entry = self._texts.get(key)
        if entry is None:
            return key
        text = entry.get(self.lang) or entry["en"]
        return text.format(**values) if values else text

    def indicator(self, text: str | None, parameters: Mapping[str, Any] | None = None) -> str:
        """A catalogue text in this language, with `parameter` names replaced by their values."""
        if not text:
            return ""
        out = text
        if self.lang != "en":
            entry = self._catalogue.get(text.strip())
            if entry and entry.get(self.lang):
                out = entry[self.lang]
        return substitute(out, parameters or {})

    def flag(self, flag: str) -> str:
        from survmig.report.suppression import FLAG_COMPLEMENTARY
        from survmig.report.tables import (
            FLAG_CAUTION,
            FLAG_NO_VARIATION,
            FLAG_RECOVERABLE,
            FLAG_SUPPRESSED,
        )

        if not flag:
            return ""
        suffix = ""
        if flag.endswith(FLAG_RECOVERABLE):
            flag, suffix = flag[: -len(FLAG_RECOVERABLE)], self.t("flag_recoverable")
        key = {
            FLAG_CAUTION: "flag_caution",
            FLAG_SUPPRESSED: "flag_suppressed",
            FLAG_NO_VARIATION: "flag_no_variation",
            FLAG_COMPLEMENTARY: "flag_complementary",
        }.get(flag)
        return (self.t(key) if key else flag) + suffix

    def number(self, value: Any, decimals: int = 0) -> str:
        """Thousands separators and a fixed number of decimals; never ``-0`` nor ``inf``."""
        if value is None:
            return ""
        v = float(value)
        if not math.isfinite(v):
            return ""
        text = f"{v:,.{decimals}f}"
        if re.fullmatch(r"-[0.,]*", text):  # -0, -0.0: a rounded zero has no sign
            text = text[1:]
        return text.replace(",", "\x00").replace(".", self.decimal).replace("\x00", self.thousands)

    def percent(self, share: Any, decimals: int = 1) -> str:
        if share is None or not math.isfinite(float(share)):
            return ""
        return self.number(float(share) * 100, decimals)


def substitute(text: str, parameters: Mapping[str, Any]) -> str:
    """Replace `name` (in backticks) by the parameter's value; unknown names lose the backticks."""

    def repl(m: re.Match[str]) -> str:
        value = parameters.get(m.group(1))
        return m.group(1) if value is None else str(value)

    return re.sub(r"`([A-Za-z_][A-Za-z0-9_]*)`", repl, text)


def decimals_for(unit: str, statistic: str, value: float | None = None) -> int:
    """Sensible decimals: percentages 1, counts and money 0, small ratios and means 2."""
    if unit in _DECIMALS:
        return _DECIMALS[unit]
    if "currency" in unit:
        return 0
    if value is not None and math.isfinite(value) and abs(value) >= 1000:
        return 0
    return 2
