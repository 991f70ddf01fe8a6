"""The Questionnaire: the spine of the pipeline (variables, levels, labels, codes, concepts)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from survmig.modules.model import ChoiceList, Item, Text


@dataclasses.dataclass(frozen=True)
class Variable:
    """One variable of the compiled form, as data readers, codebooks and indicators need it."""

    name: str
    type: str  # XLSForm type, e.g. "integer", "select_one sex", "calculate"
    level: str  # unit of observation: "household", "person", "emigrant", ...
    path: tuple[str, ...]  # enclosing groups and repeats, outermost first
    repeat: str | None  # innermost enclosing repeat (None at the form's top level)
    module: str
    concept: str | None
    pii: bool
    label: Text
    hint: Text
    choices: ChoiceList | None  # final list (special codes appended as options)
    relevant: str | None  # this question's own condition
    relevance: tuple[str, ...]  # every condition that must hold, outermost first
    constraint: str | None
    calculation: str | None
    required: bool | str
    special_codes: tuple[int, ...]  # -8 / -9 codes a numeric question accepts

    @property
    def base_type(self) -> str:
        return self.type.split()[0]

    @property
    def xpath(self) -> str:
        """The path below the form root, e.g. ``members/age``."""
        return "/".join((*self.path, self.name))


@dataclasses.dataclass
class Questionnaire:
    """A composed questionnaire: resolved items (texts final, parameters filled) and answer lists."""

    form_id: str
    title: Text
    version: str
    languages: list[str]
    default_language: str
    country: str | None
    currency: str | None
    survey_year: int | None
    level: str
    items: list[Item]
    choices: dict[str, ChoiceList]
    parameters: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    module_ids: list[str] = dataclasses.field(default_factory=list)
    source: Path | None = None

    def walk(self) -> Iterator[tuple[Item, tuple[Item, ...]]]:
        """Every item in document order with its enclosing groups/repeats (outermost first)."""

        def visit(items: list[Item], parents: tuple[Item, ...]) -> Iterator:
            for item in items:
                yield item, parents
                yield from visit(item.children, (*parents, item))

        yield from visit(self.items, ())

    def variables(self) -> list[Variable]:
        """Every data-holding question (notes excluded), in document order."""
        out = []
        for item, parents in self.walk():
            if item.kind != "question" or item.base_type == "note":
                continue
            repeats = [p for p in parents if p.kind == "repeat"]
            relevance = tuple(x.relevant for x in (*parents, item) if x.relevant)
            codes = tuple(sorted(_special_code(s) for s in item.specials))
            out.append(
                Variable(
                    name=item.name,
                    type=item.type,
                    level=repeats[-1].level if repeats else self.level,
                    path=tuple(p.name for p in parents),
                    repeat=repeats[-1].name if repeats else None,
                    module=item.module,
                    concept=item.concept,
                    pii=item.pii,
                    label=item.label or {},
                    hint=item.hint or {},
                    choices=self.choices.get(item.list_name) if item.list_name else None,
                    relevant=item.relevant,
                    relevance=relevance,
                    constraint=item.constraint,
                    calculation=item.calculation,
                    required=item.required,
                    special_codes=codes,
                )
            )
        return out

    def variable(self, name: str) -> Variable | None:
        return next((v for v in self.variables() if v.name == name), None)

    def by_concept(self, concept: str, level: str | None = None) -> list[Variable]:
        """Variables carrying ``concept`` (at ``level`` when given)."""
        return [
            v
            for v in self.variables()
            if v.concept == concept and (level is None or v.level == level)
        ]

    def levels(self) -> dict[str, str | None]:
        """level -> the repeat holding its rows (``None`` for the form's own level)."""
        out: dict[str, str | None] = {self.level: None}
        for item, _ in self.walk():
            if item.kind == "repeat" and item.level:
                out.setdefault(item.level, item.name)
        return out


def _special_code(name: str) -> int:
    from survmig.modules.library import SPECIAL_CODE_OF

    return SPECIAL_CODE_OF[name]
