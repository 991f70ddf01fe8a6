"""The questionnaire spec: which modules, in which order, adapted to which country.

A spec never edits a module; it chooses languages, the country and currency, parameter values, and per
module drops questions, overrides texts and adds answer choices. ``load_spec`` reads and checks the
file (errors name its line); ``survmig.questionnaire.compose`` turns it into a ``Questionnaire``.
"""

from __future__ import annotations

import dataclasses
import functools
import gettext
import re
from pathlib import Path
from typing import Any

import pycountry

from survmig.conventions import LANGUAGES
from survmig.errors import SurvmigError
from survmig.modules.choices import country_code_for
from survmig.modules.library import check_name, suggest
from survmig.modules.schema import LANG_PATTERN, NAME, NAME_LIST, SPECIALS, TEXT, validate_document
from survmig.modules.yamlio import LDict, load_yaml

#: ODK metadata a spec may add at the top of the form: name -> concept.
METADATA = {
    "start": "interview_start",
    "end": "interview_end",
    "today": "interview_date",
    "deviceid": "device_id",
}
#: Fields of a question whose texts a spec may override.
OVERRIDABLE_TEXTS = ("label", "hint", "constraint_message", "required_message")

_CODE_LIST = {"type": "array", "items": {"type": "string"}, "uniqueItems": True}
_LIST_OPTIONS = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"first": _CODE_LIST, "only": _CODE_LIST, "specials": SPECIALS},
}
_CHOICE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "label"],
    "properties": {"name": {"type": ["integer", "string"]}, "label": TEXT},
}
_MODULE_ENTRY = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "id": NAME,
        "file": {"type": "string", "minLength": 1},
        "parameters": {"type": "object"},
        "drop": NAME_LIST,
        "override": {
            "type": "object",
            "propertyNames": {"pattern": NAME["pattern"]},
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "minProperties": 1,
                "properties": {
                    **{field: TEXT for field in OVERRIDABLE_TEXTS},
                    "required": {"type": ["boolean", "string"]},
                    "appearance": {"type": "string", "minLength": 1},
                },
            },
        },
        "add_choices": {
            "type": "object",
            "propertyNames": {"pattern": NAME["pattern"]},
            "additionalProperties": {"type": "array", "items": _CHOICE, "minItems": 1},
        },
    },
}
SPEC_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "survmig questionnaire spec",
    "type": "object",
    "additionalProperties": False,
    "required": ["form_id", "title", "version", "languages", "country", "modules"],
    "properties": {
        "form_id": NAME,
        "title": TEXT,
        "version": {"type": ["string", "integer"]},
        "languages": {
            "type": "array",
            "items": {"type": "string", "pattern": LANG_PATTERN},
            "minItems": 1,
            "uniqueItems": True,
        },
        "default_language": {"type": "string", "pattern": LANG_PATTERN},
        "country": {"type": "string"},
        "currency": {"type": "string"},
        "survey_year": {"type": "integer", "minimum": 1900, "maximum": 2200},
        "level": NAME,
        "metadata": {"type": "array", "items": {"enum": list(METADATA)}, "uniqueItems": True},
        "countries": _LIST_OPTIONS,
        "currencies": _LIST_OPTIONS,
        "parameters": {"type": "object"},
        "concepts": {"type": "string", "minLength": 1},
        "translations": {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "uniqueItems": True,
        },
        "modules": {"type": "array", "items": _MODULE_ENTRY, "minItems": 1},
    },
}


@dataclasses.dataclass
class ModuleEntry:
    """One module of a spec with its adaptations; ``line`` points into the spec file."""

    id: str | None
    file: Path | None
    line: int
    parameters: dict[str, Any]
    drop: tuple[str, ...]
    override: dict[str, dict[str, Any]]
    add_choices: dict[str, list[dict[str, Any]]]
    raw: LDict


@dataclasses.dataclass
class ListOptions:
    """How a generated list (countries, currencies) is ordered and restricted."""

    first: tuple[str, ...] = ()
    only: tuple[str, ...] | None = None
    specials: tuple[str, ...] = ("dont_know",)


@dataclasses.dataclass
class Spec:
    """A checked questionnaire spec (not yet composed)."""

    form_id: str
    title: dict[str, str]
    version: str
    languages: list[str]
    default_language: str
    country: str
    currency: str | None
    survey_year: int | None
    level: str
    metadata: tuple[str, ...]
    countries: ListOptions
    currencies: ListOptions
    parameters: dict[str, Any]
    modules: list[ModuleEntry]
    file: Path
    raw: LDict
    #: a country's own concepts (concepts.yaml format), relative to the spec: ``concepts: file.yaml``
    concepts_file: Path | None = None
    #: translation files (``survmig translations import``), relative to the spec, later ones win
    translation_files: tuple[Path, ...] = ()


def language_label(code: str) -> str:
    """The XLSForm language name for ``code``, in that language as the form's users read it:
    ``Français (fr)``, ``Português (pt)`` (ISO 639 names and their translations from pycountry;
    the English name when pycountry has none in the language itself, e.g. ``Kabuverdianu (kea)``)."""
    if code in LANGUAGES:
        return LANGUAGES[code]
    return _language_label(code)


@functools.cache
def _language_label(code: str) -> str:
    language = pycountry.languages.get(**{"alpha_2" if len(code) == 2 else "alpha_3": code})
    if language is None:
        raise KeyError(code)
    name = language.name
    catalogue = Path(pycountry.LOCALES_DIR) / code / "LC_MESSAGES" / "iso639-3.mo"
    if catalogue.exists():
        own = gettext.translation("iso639-3", pycountry.LOCALES_DIR, languages=[code])
        name = own.gettext(language.name)
    name = re.sub(r"\s*\([^()]*\)$", "", name)  # "Swahili (macrolanguage)" -> "Swahili"
    return f"{name[:1].upper()}{name[1:]} ({code})"


def _check_codes(
    codes: list[str], kind: str, db: Any, *, file: Path, line: int | None, field: str
) -> tuple[str, ...]:
    out = []
    for code in codes:
        if db.get(alpha_3=str(code).upper()) is None or str(code) != str(code).upper():
            known = [r.alpha_3 for r in db]
            named = country_code_for(str(code)) if db is pycountry.countries else None
            hint = (
                f"{code!r} names a country: write its code {named} ({db.get(alpha_3=named).name})"
                if named
                else suggest(str(code).upper(), known) or "use upper-case alpha-3 codes"
            )
            raise SurvmigError(
                f"{field}: {code!r} is not an ISO {kind} alpha-3 code",
                file=file,
                line=line,
                hint=hint,
            )
        out.append(str(code))
    return tuple(out)


def _list_options(doc: LDict, key: str, kind: str, db: Any, file: Path) -> ListOptions:
    raw = doc.get(key)
    if raw is None:
        return ListOptions()
    first = _check_codes(
        list(raw.get("first", [])),
        kind,
        db,
        file=file,
        line=raw.line_of("first"),
        field=f"{key}.first",
    )
    only = None
    if "only" in raw:
        only = _check_codes(
            list(raw["only"]), kind, db, file=file, line=raw.line_of("only"), field=f"{key}.only"
        )
    return ListOptions(first, only, tuple(raw.get("specials", ("dont_know",))))


def load_spec(path: str | Path) -> Spec:
    """Read and check a questionnaire spec (schema, languages, country and currency codes)."""
    path = Path(path)
    doc = load_yaml(path)
    validate_document(doc, SPEC_SCHEMA, path, "questionnaire spec")
    check_name(doc["form_id"], what="form_id", file=path, line=doc.line_of("form_id"))
    languages = list(doc["languages"])
    for index, code in enumerate(languages):
        try:
            language_label(code)
        except KeyError:
            raise SurvmigError(
                f"unknown language code {code!r}",
                file=path,
                line=doc["languages"].line_of(index),
                hint="use ISO 639-1 codes such as en, fr, ar",
            ) from None
    default = doc.get("default_language", languages[0])
    if default not in languages:
        raise SurvmigError(
            f"default_language {default!r} is not one of the languages {languages}",
            file=path,
            line=doc.line_of("default_language"),
        )
    (country,) = _check_codes(
        [doc["country"]],
        "3166-1",
        pycountry.countries,
        file=path,
        line=doc.line_of("country"),
        field="country",
    )
    currency = None
    if "currency" in doc:
        (currency,) = _check_codes(
            [doc["currency"]],
            "4217",
            pycountry.currencies,
            file=path,
            line=doc.line_of("currency"),
            field="currency",
        )
    entries = []
    for index, raw in enumerate(doc["modules"]):
        line = doc["modules"].line_of(index)
        if ("id" in raw) == ("file" in raw):
            raise SurvmigError(
                "each module entry needs exactly one of 'id' (a library module) or 'file' "
                "(a module file of your own, relative to the spec)",
                file=path,
                line=line,
            )
        entries.append(
            ModuleEntry(
                id=raw.get("id"),
                file=(path.parent / raw["file"]) if "file" in raw else None,
                line=line,
                parameters=dict(raw.get("parameters", {})),
                drop=tuple(raw.get("drop", ())),
                override={k: dict(v) for k, v in raw.get("override", {}).items()},
                add_choices={k: list(v) for k, v in raw.get("add_choices", {}).items()},
                raw=raw,
            )
        )
    return Spec(
        form_id=doc["form_id"],
        title=dict(doc["title"]),
        version=str(doc["version"]),
        languages=languages,
        default_language=default,
        country=country,
        currency=currency,
        survey_year=doc.get("survey_year"),
        level=doc.get("level", "household"),
        metadata=tuple(doc.get("metadata", ("start", "end"))),
        countries=_list_options(doc, "countries", "3166-1", pycountry.countries, path),
        currencies=_list_options(doc, "currencies", "4217", pycountry.currencies, path),
        parameters=dict(doc.get("parameters", {})),
        modules=entries,
        file=path,
        raw=doc,
        concepts_file=(path.parent / doc["concepts"]) if "concepts" in doc else None,
        translation_files=tuple(path.parent / f for f in doc.get("translations", ())),
    )
