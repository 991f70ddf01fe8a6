"""JSON Schemas of the module library files, and the translation of schema errors into ``file:line``.

The schemas are strict (``additionalProperties: false`` everywhere) so that a misspelt field is an
error, not a silently ignored one. Checks a schema cannot express (valid names, registered concepts,
defined choice lists, references between questions) are done by the loader in ``library.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema

from survmig.errors import SurvmigError
from survmig.modules.yamlio import LDict, line_at

#: A name usable as an XLSForm / XML / Stata / SPSS variable name (checked again, with a clear
#: message, by :func:`survmig.modules.library.check_name`).
NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_]*$"
LANG_PATTERN = r"^[a-z]{2,3}$"

TEXT: dict[str, Any] = {
    "type": "object",
    "description": "Text per language: {en: ..., fr: ..., ar: ...}",
    "propertyNames": {"pattern": LANG_PATTERN},
    "additionalProperties": {"type": "string", "minLength": 1},
    "minProperties": 1,
}
EXPR: dict[str, Any] = {"type": "string", "minLength": 1}
SPECIALS: dict[str, Any] = {
    "type": "array",
    "items": {"enum": ["dont_know", "refused"]},
    "uniqueItems": True,
}
NAME: dict[str, Any] = {"type": "string", "pattern": NAME_PATTERN}
NAME_LIST: dict[str, Any] = {"type": "array", "items": NAME, "uniqueItems": True}

CHOICE: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "label"],
    "properties": {
        "name": {"type": ["integer", "string"]},
        "label": TEXT,
    },
}
CHOICE_LIST: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["options"],
    "properties": {
        "options": {"type": "array", "items": CHOICE, "minItems": 1},
        "specials": SPECIALS,
        "supplied_by_spec": {"type": "boolean"},
    },
}
CHOICE_LISTS: dict[str, Any] = {
    "type": "object",
    "propertyNames": {"pattern": NAME_PATTERN},
    "additionalProperties": CHOICE_LIST,
}

_COMMON_ITEM = {
    "name": NAME,
    "type": {"type": "string", "minLength": 1},
    "label": TEXT,
    "hint": TEXT,
    "relevant": EXPR,
    "appearance": {"type": "string", "minLength": 1},
    "universe": TEXT,
    "only_with": NAME_LIST,
}
QUESTION: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "type"],
    "properties": {
        **_COMMON_ITEM,
        "concept": NAME,
        "pii": {"type": "boolean"},
        "required": {"type": ["boolean", "string"]},
        "required_message": TEXT,
        "constraint": EXPR,
        "constraint_message": TEXT,
        "calculation": EXPR,
        "default": {"type": ["string", "integer", "number"]},
        "choice_filter": EXPR,
        "parameters": {"type": "string", "minLength": 1},
        "specials": SPECIALS,
        "read_only": {"type": "boolean"},
    },
}
GROUP: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "type", "questions"],
    "properties": {**_COMMON_ITEM, "questions": {"$ref": "#/$defs/items"}},
}
REPEAT: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "type", "label", "level", "questions"],
    "properties": {
        **_COMMON_ITEM,
        "level": NAME,
        "repeat_count": EXPR,
        "questions": {"$ref": "#/$defs/items"},
    },
}
ITEM: dict[str, Any] = {
    "type": "object",
    "required": ["name", "type"],
    "properties": {"type": {"type": "string"}},
    "if": {"properties": {"type": {"const": "group"}}},
    "then": GROUP,
    "else": {
        "if": {"properties": {"type": {"const": "repeat"}}},
        "then": REPEAT,
        "else": QUESTION,
    },
}
PARAMETER: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["type", "default", "description"],
    "properties": {
        "type": {"enum": ["integer", "decimal", "string", "boolean"]},
        "default": {"type": ["integer", "number", "string", "boolean"]},
        "min": {"type": "number"},
        "max": {"type": "number"},
        "values": {"type": "array", "minItems": 1, "uniqueItems": True},
        "description": {"type": "string", "minLength": 1},
    },
}
SOURCE: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["short", "citation"],
    "properties": {
        "short": {"type": "string", "minLength": 1},
        "citation": {"type": "string", "minLength": 1},
        "url": {"type": "string", "minLength": 1},
    },
}

MODULE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "survmig question module",
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "title", "version", "sources", "level", "universe", "questions"],
    "properties": {
        "id": NAME,
        "title": TEXT,
        "version": {"type": "string", "minLength": 1},
        "description": TEXT,
        "sources": {"type": "array", "items": SOURCE, "minItems": 1},
        "level": NAME,
        "universe": TEXT,
        "depends_on": NAME_LIST,
        "expects": NAME_LIST,
        "parameters": {
            "type": "object",
            "propertyNames": {"pattern": NAME_PATTERN},
            "additionalProperties": PARAMETER,
        },
        "choices": CHOICE_LISTS,
        "questions": {"$ref": "#/$defs/items"},
    },
    "$defs": {"items": {"type": "array", "items": ITEM, "minItems": 1}},
}

SHARED_CHOICES_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "survmig shared choice lists",
    "type": "object",
    "additionalProperties": False,
    "required": ["choices"],
    "properties": {"choices": CHOICE_LISTS},
}

CONCEPT_TYPES = (
    "select_one",
    "select_multiple",
    "integer",
    "decimal",
    "text",
    "date",
    "datetime",
    "geopoint",
)
CONCEPTS_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "survmig concept registry",
    "type": "object",
    "additionalProperties": False,
    "required": ["levels", "concepts"],
    "properties": {
        "levels": {
            "type": "object",
            "propertyNames": {"pattern": NAME_PATTERN},
            "additionalProperties": {"type": "string", "minLength": 1},
        },
        "concepts": {
            "type": "object",
            "propertyNames": {"pattern": NAME_PATTERN},
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "required": ["levels", "type", "definition"],
                "properties": {
                    "levels": {
                        "type": "array",
                        "items": NAME,
                        "minItems": 1,
                        "uniqueItems": True,
                    },
                    "type": {"enum": list(CONCEPT_TYPES)},
                    "definition": {"type": "string", "minLength": 1},
                    "unit": {"type": "string", "minLength": 1},
                    "standard": {"type": "string", "minLength": 1},
                },
            },
        },
    },
}

_PATTERN_WORDS = {
    NAME_PATTERN: "a name: a letter, then letters, digits or '_'",
    LANG_PATTERN: "a language code such as en, fr, ar",
}


def _describe(error: jsonschema.ValidationError) -> tuple[list[Any], str]:
    """A readable message and the path of the offending value for one schema error."""
    path = list(error.absolute_path)
    field = ".".join(str(p) for p in path) or "(top level)"
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        extra = sorted((str(k) for k in error.instance if k not in allowed), key=str)
        if extra:
            key = next(k for k in error.instance if str(k) == extra[0])
            where = f"{field}.{extra[0]}" if path else extra[0]
            return [*path, key], (
                f"{where}: unknown field {extra[0]!r}; allowed here: {', '.join(sorted(allowed))}"
            )
    if error.validator == "required":
        return path, f"{field}: {error.message}"
    if error.validator == "pattern":
        words = _PATTERN_WORDS.get(error.validator_value, f"matching {error.validator_value}")
        return path, f"{field}: {error.instance!r} is not {words}"
    if error.validator == "propertyNames":
        words = _PATTERN_WORDS.get(error.validator_value.get("pattern", ""), "a valid key")
        bad = error.instance if not isinstance(error.instance, dict) else None
        sub = error.context[0].instance if error.context else bad
        return path, f"{field}: key {sub!r} is not {words}"
    return path, f"{field}: {error.message}"


def validate_document(document: Any, schema: dict[str, Any], file: str | Path, what: str) -> None:
    """Validate a loaded YAML document; raise the first (deepest) error at its line."""
    if not isinstance(document, LDict):
        raise SurvmigError(f"a {what} file must be a YAML mapping", file=file, line=1)
    validator = jsonschema.Draft202012Validator(schema)
    errors = list(validator.iter_errors(document))
    if not errors:
        return
    error = jsonschema.exceptions.best_match(errors)
    path, message = _describe(error)
    raise SurvmigError(f"invalid {what}: {message}", file=file, line=line_at(document, path))
