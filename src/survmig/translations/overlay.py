"""Translation files, the texts of a questionnaire by key, and the problems that block a build.

Every translatable text of a composed questionnaire is a :class:`TextUnit` with a stable key:

- ``title`` (the spec's title);
- ``MODULE/QUESTION/FIELD`` for a label, hint, constraint or required message of a question, group
  or repeat (the texts as written, ``{{parameter}}`` placeholders unfilled);
- ``list/LIST/CODE`` for an answer label (module and shared lists, the spec's ``add_choices``, the
  generated ``countries`` and ``currencies``); the special answers are ``list/special_codes/-8`` …
  once for the whole form (they label every list that offers them and the note added to the hint
  of a numeric question that accepts them);
- ``name/country/CODE`` and ``name/currency/CODE``: the names that fill ``{{country_name}}`` and
  ``{{currency_name}}``.

A translation file (``translations: [pt.yaml]`` in the spec, paths relative to the spec)::

    survmig_translations: 1
    source_language: en
    languages: [pt]
    texts:
      census_core/cc_country_birth/label:
        en: In which country was ${member_name} born?   # the text translated (checked)
        pt: Em que país nasceu ${member_name}?

Precedence, per key and language: the module's text (or pycountry's name), then the translation
files in the order the spec lists them (a later file wins), then the spec's ``override``, which
always has the last word. An entry is used only while its source-language text equals the current
one (after ``override``); otherwise it is *stale*: reported, not used.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml

from survmig.errors import SurvmigError
from survmig.fileio import atomic_path
from survmig.modules.model import PLACEHOLDER, REFERENCE
from survmig.modules.schema import LANG_PATTERN, validate_document
from survmig.modules.yamlio import load_yaml

FORMAT = 1
#: how many problems a build error shows before "+N more"
SHOWN_PROBLEMS = 10
#: item field -> the kind of text shown in the sheet
FIELD_KINDS = {
    "label": "label",
    "hint": "hint",
    "constraint_message": "constraint message",
    "required_message": "required message",
}

OVERLAY_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "survmig translation file",
    "type": "object",
    "additionalProperties": False,
    "required": ["survmig_translations", "source_language", "languages", "texts"],
    "properties": {
        "survmig_translations": {"const": FORMAT},
        "source_language": {"type": "string", "pattern": LANG_PATTERN},
        "languages": {
            "type": "array",
            "items": {"type": "string", "pattern": LANG_PATTERN},
            "minItems": 1,
            "uniqueItems": True,
        },
        "texts": {
            "type": "object",
            "propertyNames": {"pattern": r"^\S+$"},
            "additionalProperties": {
                "type": "object",
                "propertyNames": {"pattern": LANG_PATTERN},
                "additionalProperties": {"type": "string"},
                "minProperties": 2,
            },
        },
    },
}


@dataclasses.dataclass(frozen=True)
class OverlayEntry:
    """One translated text of a translation file: the source it translates and the translations."""

    source: str
    texts: dict[str, str]
    file: Path
    line: int


@dataclasses.dataclass
class Overlay:
    """The translation files of a spec, in precedence order (later files win)."""

    source_language: str
    entries: dict[str, list[OverlayEntry]] = dataclasses.field(default_factory=dict)
    languages: dict[str, Path] = dataclasses.field(default_factory=dict)  # language -> first file

    def entry_count(self) -> int:
        return sum(len(e) for e in self.entries.values())


def load_overlay(paths: Iterable[Path], source_language: str) -> Overlay:
    """Read translation files (schema-checked; a translation may not name its source language)."""
    overlay = Overlay(source_language)
    for path in paths:
        doc = load_yaml(path)
        validate_document(doc, OVERLAY_SCHEMA, path, "translation file")
        if doc["source_language"] != source_language:
            raise SurvmigError(
                f"the file translates from {doc['source_language']!r}, but the spec's "
                f"default_language is {source_language!r}",
                file=path,
                line=doc.line_of("source_language"),
                hint="export the sheet again from this spec and import it",
            )
        declared = list(doc["languages"])
        if source_language in declared:
            raise SurvmigError(
                f"languages lists the source language {source_language!r}",
                file=path,
                line=doc.line_of("languages"),
            )
        for lang in declared:
            overlay.languages.setdefault(lang, path)
        texts = doc["texts"]
        for key, raw in texts.items():
            line = texts.line_of(key)
            if source_language not in raw:
                raise SurvmigError(
                    f"{key}: no {source_language!r} text (the source the translation was made from)",
                    file=path,
                    line=line,
                )
            extra = [lang for lang in raw if lang != source_language and lang not in declared]
            if extra:
                raise SurvmigError(
                    f"{key}: language {extra[0]!r} is not in the file's languages {declared}",
                    file=path,
                    line=line,
                )
            translated = {lang: text for lang, text in raw.items() if lang != source_language}
            entry = OverlayEntry(str(raw[source_language]), translated, path, line)
            overlay.entries.setdefault(str(key), []).append(entry)
    return overlay


def write_overlay(
    path: Path,
    texts: dict[str, dict[str, str]],
    *,
    source_language: str,
    languages: list[str],
    origin: str,
) -> None:
    """Write a translation file atomically: ``texts`` maps key -> {source language: …, lang: …}."""
    body = {
        "survmig_translations": FORMAT,
        "source_language": source_language,
        "languages": list(languages),
        "texts": texts,
    }
    header = (
        f"# Translations ({', '.join(languages)}) written by survmig translations import from "
        f"{origin} on {dt.date.today().isoformat()}.\n"
        "# List this file under 'translations:' in the questionnaire spec. Each entry keeps the\n"
        f"# {source_language!r} text it translates: when that text changes, the build reports the\n"
        "# translation as stale instead of using it (export the sheet again to update it).\n"
    )
    text = header + yaml.safe_dump(
        body, allow_unicode=True, sort_keys=False, width=100, default_flow_style=False
    )
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


@dataclasses.dataclass
class TextUnit:
    """One translatable text of a questionnaire, as compose resolved it."""

    key: str
    kind: str
    text: dict[str, str]  # language -> final text (a template: placeholders not filled)
    file: Path | None
    line: int | None
    #: language -> where its text comes from: "module", "spec" (override, add_choices, title),
    #: "generated" (pycountry), "translation" (a translation file)
    origin: dict[str, str]
    #: language -> (the source text it was made from, the stale translation)
    stale: dict[str, tuple[str, str]] = dataclasses.field(default_factory=dict)

    @property
    def where(self) -> str:
        if self.file is None:
            return "pycountry"
        return f"{self.file}:{self.line}" if self.line else str(self.file)


@dataclasses.dataclass(frozen=True)
class Problem:
    """A text the build cannot use: missing in a language, stale, or a bad translation entry."""

    key: str
    language: str | None
    message: str
    file: Path | None = None
    line: int | None = None

    def format(self) -> str:
        location = f"{self.file}:{self.line}" if self.file and self.line else str(self.file or "")
        return ": ".join(p for p in (location, self.key, self.message) if p)


class MissingTexts(SurvmigError):
    """Texts missing (or stale) in requested languages: every one of them, not the first."""

    def __init__(self, problems: list[Problem], *, spec: Path, languages: list[str]) -> None:
        self.problems = problems
        by_lang: dict[str, int] = {}
        for p in problems:
            by_lang[p.language or "?"] = by_lang.get(p.language or "?", 0) + 1
        counts = ", ".join(f"{lang}: {n}" for lang, n in by_lang.items())
        shown = "".join(f"\n  {p.format()}" for p in problems[:SHOWN_PROBLEMS])
        rest = len(problems) - SHOWN_PROBLEMS
        missing = [lang for lang in by_lang if lang in languages]
        lang_opt = "".join(f" --lang {lang}" for lang in missing[:1])
        more = (
            f"\n  (+{rest} more: 'survmig translations check {spec}' lists them all)"
            if rest > 0
            else ""
        )
        todo = (
            f"\n  translate them in a sheet: survmig translations export {spec}{lang_opt} "
            "-o sheet.xlsx, then survmig translations import (see docs/design.md, "
            "'Adding a language')"
        )
        super().__init__(
            f"{len(problems)} text(s) cannot be used ({counts}):{shown}{more}{todo}", file=spec
        )


def placeholders(text: str) -> set[str]:
    """The ``{{parameter}}`` and ``${name}`` a text uses (a translation must keep the same)."""
    return {f"{{{{{m}}}}}" for m in PLACEHOLDER.findall(text)} | {
        f"${{{m}}}" for m in REFERENCE.findall(text)
    }


class Translator:
    """Resolves every text of one compose run by key, applying the overlay and collecting problems."""

    def __init__(self, overlay: Overlay, languages: list[str], source_language: str) -> None:
        self.overlay = overlay
        self.languages = list(languages)
        self.source_language = source_language
        self.units: dict[str, TextUnit] = {}
        self.problems: list[Problem] = []
        self._used: set[str] = set()

    def text(
        self,
        key: str,
        kind: str,
        base: dict[str, str] | None,
        *,
        file: Path | None,
        line: int | None,
        override: dict[str, str] | None = None,
        base_origin: str = "module",
    ) -> dict[str, str] | None:
        """The final text of ``key``: base, then the translation files, then the override."""
        if not base and not override:
            return None
        if key in self.units:  # one text seen twice (a name filled in several texts): one unit
            return self.units[key].text
        base, override = dict(base or {}), dict(override or {})
        current = {**base, **override}
        source = current.get(self.source_language)
        translated: dict[str, str] = {}
        stale: dict[str, tuple[str, str]] = {}
        for entry in self.overlay.entries.get(key, []):
            self._used.add(key)
            if entry.source != source:
                stale.update({lang: (entry.source, t) for lang, t in entry.texts.items()})
                continue
            for lang, value in entry.texts.items():
                extra = placeholders(value) - placeholders(source or "")
                if extra:
                    self.problems.append(
                        Problem(
                            key,
                            lang,
                            f"the {lang} translation uses {', '.join(sorted(extra))}, which the "
                            f"{self.source_language} text does not",
                            entry.file,
                            entry.line,
                        )
                    )
                    continue
                translated[lang] = value
                stale.pop(lang, None)
        origin = {lang: base_origin for lang in base}
        origin.update({lang: "translation" for lang in translated})
        origin.update({lang: "spec" for lang in override})
        final = {**base, **translated, **override}
        for lang in list(stale):
            if lang in final:
                del stale[lang]
        self.units[key] = TextUnit(key, kind, final, file, line, origin, stale)
        return final

    def name(
        self, kind: str, code: str, lang: str, lookup: Callable[[str, str], str | None]
    ) -> str | None:
        """A country or currency name filling ``{{country_name}}`` / ``{{currency_name}}``."""
        key = f"name/{kind}/{code}"
        if key not in self.units:
            names = {lg: lookup(code, lg) for lg in self.languages}
            self.text(
                key,
                f"{kind} name (fills {{{{{kind}_name}}}})",
                {lg: n for lg, n in names.items() if n is not None},
                file=None,
                line=None,
                base_origin="generated",
            )
        unit = self.units.get(key)
        if unit is not None and lang in unit.text:
            return unit.text[lang]
        return lookup(code, lang) if lang not in self.languages else None

    def check(self) -> list[Problem]:
        """Every problem: stale and missing texts, bad entries, translations of unknown keys."""
        return self.text_problems() + self.entry_problems()

    def text_problems(self) -> list[Problem]:
        """Texts missing in a language of the form (or whose translation is stale)."""
        problems = []
        for unit in self.units.values():
            for lang in self.languages:
                if lang in unit.text:
                    continue
                if lang in unit.stale:
                    old, _ = unit.stale[lang]
                    problems.append(
                        Problem(
                            unit.key,
                            lang,
                            f"stale {lang} translation: the {self.source_language} text changed "
                            f"since it was translated (was {_short(old)!r})",
                            unit.file,
                            unit.line,
                        )
                    )
                else:
                    problems.append(
                        Problem(
                            unit.key, lang, f"no {lang} text ({unit.kind})", unit.file, unit.line
                        )
                    )
        return problems

    def entry_problems(self) -> list[Problem]:
        """Entries of the translation files that cannot be used (other than stale ones)."""
        problems = list(self.problems)
        for key, entries in self.overlay.entries.items():
            if key not in self._used:
                problems.append(
                    Problem(
                        key,
                        next(iter(entries[0].texts), None),
                        "a translation of a text this questionnaire does not have "
                        "(dropped or renamed?): remove it or export and import again",
                        entries[0].file,
                        entries[0].line,
                    )
                )
        return problems


def _short(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
