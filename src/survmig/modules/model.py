"""The typed objects a module file becomes once loaded and checked."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

#: Text per language code, e.g. ``{"en": "Age", "fr": "Âge", "ar": "العمر"}``.
Text = dict[str, str]

#: ``${name}`` references in expressions and labels.
REFERENCE = re.compile(r"\$\{([^}]*)\}")
#: ``{{parameter}}`` placeholders filled in from module parameters and the questionnaire spec.
PLACEHOLDER = re.compile(r"\{\{\s*([^}]*?)\s*\}\}")

#: Question types a module may use (plus ``select_one LIST`` / ``select_multiple LIST``).
SIMPLE_TYPES = frozenset(
    {"text", "integer", "decimal", "date", "datetime", "time", "geopoint", "calculate", "note"}
)
SELECT_TYPES = frozenset({"select_one", "select_multiple"})
#: question type -> the concept value type it may carry (``calculate`` may carry any).
CONCEPT_TYPE_OF = {
    "text": "text",
    "integer": "integer",
    "decimal": "decimal",
    "date": "date",
    "datetime": "datetime",
    "time": "text",
    "geopoint": "geopoint",
    "select_one": "select_one",
    "select_multiple": "select_multiple",
}


@dataclasses.dataclass(frozen=True)
class Source:
    """A standard the module follows (``short`` for tables, ``citation`` in full)."""

    short: str
    citation: str
    url: str | None = None


@dataclasses.dataclass(frozen=True)
class Parameter:
    """A country-adjustable value, written ``{{name}}`` in the module's texts and expressions."""

    name: str
    type: str
    default: Any
    description: str
    min: float | None = None
    max: float | None = None
    values: tuple[Any, ...] | None = None


@dataclasses.dataclass(frozen=True)
class Choice:
    name: str
    label: Text
    line: int | None = None


@dataclasses.dataclass(frozen=True)
class ChoiceList:
    """An answer list. ``specials`` appends the standard don't-know / refused codes at the end."""

    name: str
    options: tuple[Choice, ...]
    specials: tuple[str, ...] = ()
    origin: str = "shared"  # a module id, "shared" (modules/choices.yaml) or "generated"
    file: Path | None = None
    line: int | None = None
    #: the country supplies the real options (e.g. its areas) with ``add_choices`` in the spec
    supplied_by_spec: bool = False


@dataclasses.dataclass
class Item:
    """A question, group or repeat of a module (``kind`` says which)."""

    kind: str  # "question" | "group" | "repeat"
    name: str
    type: str  # XLSForm type: "integer", "select_one sex", "group", "repeat", ...
    module: str
    file: Path | None = None
    line: int | None = None
    label: Text | None = None
    hint: Text | None = None
    relevant: str | None = None
    appearance: str | None = None
    universe: Text | None = None
    only_with: tuple[str, ...] = ()
    concept: str | None = None
    pii: bool = False
    required: bool | str = False
    required_message: Text | None = None
    constraint: str | None = None
    constraint_message: Text | None = None
    calculation: str | None = None
    default: str | None = None
    choice_filter: str | None = None
    parameters: str | None = None
    specials: tuple[str, ...] = ()
    read_only: bool = False
    level: str | None = None  # repeats only: the unit of observation of their rows
    repeat_count: str | None = None
    children: list[Item] = dataclasses.field(default_factory=list)
    field_lines: dict[str, int] = dataclasses.field(default_factory=dict, repr=False)

    @property
    def base_type(self) -> str:
        """``select_one`` for ``select_one sex``; the type itself otherwise."""
        return self.type.split()[0]

    @property
    def list_name(self) -> str | None:
        """The choice list of a select question (``None`` for other types and selects from a repeat)."""
        parts = self.type.split()
        if parts[0] in SELECT_TYPES and len(parts) == 2 and not parts[1].startswith("${"):
            return parts[1]
        return None

    def line_of(self, field: str) -> int | None:
        """The line of one field of this item in its module file."""
        return self.field_lines.get(field, self.line)

    def walk(self) -> Iterator[Item]:
        """This item and everything inside it, in document order."""
        yield self
        for child in self.children:
            yield from child.walk()

    def texts(self) -> Iterator[tuple[str, Text]]:
        """(field, text) pairs of the translatable fields that are set."""
        for field in ("label", "hint", "required_message", "constraint_message", "universe"):
            value = getattr(self, field)
            if value:
                yield field, value

    def expressions(self) -> Iterator[tuple[str, str]]:
        """(field, expression) pairs of the XPath fields that are set."""
        for field in ("relevant", "constraint", "calculation", "choice_filter", "repeat_count"):
            value = getattr(self, field)
            if value:
                yield field, value
        if isinstance(self.required, str):
            yield "required", self.required
        if self.default is not None:
            yield "default", self.default


@dataclasses.dataclass
class Module:
    """One question module: a reusable block of a questionnaire, adapted by specs, never edited."""

    id: str
    title: Text
    version: str
    sources: tuple[Source, ...]
    level: str
    universe: Text
    items: list[Item]
    file: Path | None = None
    description: Text | None = None
    depends_on: tuple[str, ...] = ()
    expects: tuple[str, ...] = ()
    parameters: dict[str, Parameter] = dataclasses.field(default_factory=dict)
    choices: dict[str, ChoiceList] = dataclasses.field(default_factory=dict)

    def walk(self) -> Iterator[Item]:
        """Every item of the module in document order."""
        for item in self.items:
            yield from item.walk()

    def questions(self) -> list[Item]:
        """The questions (not groups or repeats), in document order."""
        return [item for item in self.walk() if item.kind == "question"]

    def item(self, name: str) -> Item | None:
        return next((item for item in self.walk() if item.name == name), None)

    def languages(self) -> list[str]:
        """Languages in which every text of the module is given."""
        texts = [self.title, self.universe]
        texts += [text for item in self.walk() for _, text in item.texts()]
        texts += [c.label for cl in self.choices.values() for c in cl.options]
        common = set.intersection(*(set(t) for t in texts)) if texts else set()
        return sorted(common, key=_language_order)


@dataclasses.dataclass(frozen=True)
class Concept:
    """A stable meaning that variables carry, so indicators survive renamed variables."""

    id: str
    levels: tuple[str, ...]
    type: str
    definition: str
    unit: str | None = None
    standard: str | None = None


def _language_order(code: str) -> tuple[int, str]:
    from survmig.conventions import LANGUAGES

    order = list(LANGUAGES)
    return (order.index(code) if code in order else len(order), code)
