"""Compose a questionnaire from a spec: pick modules, adapt them, place them, check the whole form.

Checks that need the whole questionnaire live here, each naming the module and question (and the
file and line) to fix: unknown modules and missing dependencies, parameters, drops and overrides that
name nothing, duplicate names across modules, two variables for one concept at one level, references
to missing, dropped or later questions, calculation cycles, texts missing in a requested language (all of them at once, with their keys: see
:mod:`survmig.translations.overlay`, which also applies a spec's translation files).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from survmig.errors import SurvmigError
from survmig.modules.choices import country_name, currency_name
from survmig.modules.library import (
    BUILTIN_PARAMETERS,
    SPECIAL_CODE_OF,
    SPECIALS_LIST,
    Library,
    check_name,
    check_parameter_value,
    load_library,
    suggest,
)
from survmig.modules.model import PLACEHOLDER, REFERENCE, Item, Module
from survmig.questionnaire.choices import compose_choices
from survmig.questionnaire.model import Questionnaire
from survmig.questionnaire.spec import (
    METADATA,
    OVERRIDABLE_TEXTS,
    ModuleEntry,
    Spec,
    load_spec,
)
from survmig.translations.overlay import (
    FIELD_KINDS,
    MissingTexts,
    Translator,
    load_overlay,
)


def _where(item: Item) -> str:
    return f"module {item.module}, question {item.name}"


class _Filler:
    """Fills ``{{parameter}}`` placeholders for one module, per language for texts."""

    def __init__(
        self, spec: Spec, module: Module, values: dict[str, Any], translator: Translator
    ) -> None:
        self.spec, self.module, self.values = spec, module, values
        self.translator = translator

    def _value(self, name: str, lang: str | None, item: Item | None, field: str) -> str:
        def missing(what: str) -> SurvmigError:
            return SurvmigError(
                f"{field} uses {{{{{name}}}}}, but {what}",
                file=self.module.file,
                line=item.line_of(field) if item else None,
                where=_where(item) if item else f"module {self.module.id}",
                hint=f"set it in the spec {self.spec.file}",
            )

        if name in self.values:
            value = self.values[name]
            if isinstance(value, bool):
                return "true()" if value else "false()"
            return str(value)
        spec = self.spec
        if name == "survey_year":
            if spec.survey_year is None:
                raise missing("the spec sets no survey_year")
            return str(spec.survey_year)
        if name == "country":
            return spec.country
        if name in ("currency", "currency_name") and spec.currency is None:
            raise missing("the spec sets no currency")
        if name == "currency":
            return str(spec.currency)
        kind = "country" if name == "country_name" else "currency"
        lookup = country_name if kind == "country" else currency_name
        code = spec.country if kind == "country" else str(spec.currency)
        text = self.translator.name(kind, code, lang or spec.default_language, lookup)
        # None: reported once, as the missing text of the key name/KIND/CODE
        return f"{{{{{name}}}}}" if text is None else text

    def fill(self, value: str, lang: str | None, item: Item | None, field: str) -> str:
        if "{{" not in value:
            return value
        return PLACEHOLDER.sub(lambda m: self._value(m.group(1), lang, item, field), value)

    def text(self, text: dict[str, str] | None, item: Item | None, field: str):
        if text is None:
            return None
        return {lang: self.fill(value, lang, item, field) for lang, value in text.items()}


def _parameter_values(spec: Spec, modules: list[tuple[ModuleEntry, Module]]) -> dict[str, dict]:
    declared = {name for _, module in modules for name in module.parameters}
    raw = spec.raw.get("parameters", {})
    for name in spec.parameters:
        if name not in declared:
            raise SurvmigError(
                f"parameter {name!r} is not declared by any module of this questionnaire",
                file=spec.file,
                line=raw.line_of(name),
                hint=suggest(name, declared | set(BUILTIN_PARAMETERS)),
            )
    out = {}
    for entry, module in modules:
        values = {name: p.default for name, p in module.parameters.items()}
        given_raw = entry.raw.get("parameters", {})
        for name, value in spec.parameters.items():
            if name in module.parameters:
                values[name] = check_parameter_value(
                    module.parameters[name], value, file=spec.file, line=raw.line_of(name)
                )
        for name, value in entry.parameters.items():
            if name not in module.parameters:
                raise SurvmigError(
                    f"module {module.id} has no parameter {name!r}",
                    file=spec.file,
                    line=given_raw.line_of(name),
                    hint=suggest(name, module.parameters)
                    or f"its parameters: {', '.join(module.parameters) or 'none'}",
                )
            values[name] = check_parameter_value(
                module.parameters[name], value, file=spec.file, line=given_raw.line_of(name)
            )
        out[module.id] = values
    return out


def _special_labels(library: Library, translator: Translator) -> dict[str, dict[str, str]]:
    specials = library.shared_choices[SPECIALS_LIST]
    out = {}
    for c in specials.options:
        key = f"list/{SPECIALS_LIST}/{c.name}"
        kind = "special answer (lists and numeric hints)"
        line = c.line or specials.line
        out[c.name] = translator.text(key, kind, c.label, file=specials.file, line=line) or {}
    return out


def _numeric_specials(item: Item, labels: dict[str, dict[str, str]]) -> Item:
    """Accept -8/-9 in a numeric question: widen the constraint and say so in the hint."""
    codes = [str(SPECIAL_CODE_OF[s]) for s in item.specials]
    accept = " or ".join(f". = {code}" for code in codes)
    constraint = f"({item.constraint}) or {accept}" if item.constraint else None
    hint = dict(item.hint or {})
    languages = set(item.label or {}) | set(hint)
    for lang in languages:
        if not all(lang in labels[code] for code in codes):
            continue
        note = "; ".join(f"{code} = {labels[code][lang]}" for code in codes)
        hint[lang] = f"{hint[lang]} ({note})" if lang in hint else f"({note})"
    return dataclasses.replace(item, constraint=constraint, hint=hint or None)


def _resolve(
    items: list[Item],
    *,
    entry: ModuleEntry,
    filler: _Filler,
    present: set[str],
    dropped: dict[str, str],
    special_labels: dict[str, dict[str, str]],
    translator: Translator,
    spec: Spec,
) -> list[Item]:
    out = []
    for item in items:
        if item.name in entry.drop:
            for inner in item.walk():
                dropped[inner.name] = item.module
            continue
        if any(dep not in present for dep in item.only_with):
            for inner in item.walk():
                dropped[inner.name] = item.module
            continue
        children = _resolve(
            item.children,
            entry=entry,
            filler=filler,
            present=present,
            dropped=dropped,
            special_labels=special_labels,
            translator=translator,
            spec=spec,
        )
        if item.kind != "question" and not children:
            dropped[item.name] = item.module
            continue
        new = dataclasses.replace(item, children=children)
        override = entry.override.get(item.name, {})
        raw_override = entry.raw.get("override", {}).get(item.name, {})
        for field in OVERRIDABLE_TEXTS:
            given = dict(override[field]) if field in override else None
            file, line = item.file, item.line_of(field)
            if given is not None and spec.default_language in given:
                file, line = spec.file, raw_override.line_of(field)
            text = translator.text(
                f"{item.module}/{item.name}/{field}",
                FIELD_KINDS[field] if item.kind == "question" else f"{item.kind} {field}",
                getattr(new, field),
                override=given,
                file=file,
                line=line,
            )
            new = dataclasses.replace(new, **{field: text})
        for field in ("required", "appearance"):
            if field in override:
                new = dataclasses.replace(new, **{field: override[field]})
        changes: dict[str, Any] = {}
        for field in ("label", "hint", "required_message", "constraint_message", "universe"):
            changes[field] = filler.text(getattr(new, field), new, field)
        for field in ("relevant", "constraint", "calculation", "choice_filter", "repeat_count"):
            value = getattr(new, field)
            changes[field] = filler.fill(value, None, new, field) if value else value
        if isinstance(new.required, str):
            changes["required"] = filler.fill(new.required, None, new, "required")
        if new.default is not None:
            changes["default"] = filler.fill(new.default, None, new, "default")
        new = dataclasses.replace(new, **changes)
        if new.specials and new.kind == "question":
            new = _numeric_specials(new, special_labels)
        out.append(new)
    return out


def _check_entry_names(entry: ModuleEntry, module: Module, spec: Spec) -> None:
    names = {item.name for item in module.walk()}
    for field, given in (("drop", entry.drop), ("override", tuple(entry.override))):
        raw = entry.raw.get(field)
        for name in given:
            if name not in names:
                line = raw.line_of(name) if field == "override" else raw.line
                raise SurvmigError(
                    f"{field}: module {module.id} has no question {name!r}",
                    file=spec.file,
                    line=line,
                    hint=suggest(name, names),
                )
    for name in entry.override:
        if name in entry.drop:
            raise SurvmigError(
                f"override: question {name!r} is also dropped",
                file=spec.file,
                line=entry.raw["override"].line_of(name),
            )


def _metadata(spec: Spec) -> list[Item]:
    return [
        Item(kind="question", name=name, type=name, module="questionnaire", concept=concept)
        for name, concept in METADATA.items()
        if name in spec.metadata
    ]


def _check_unique_names(body: list[Item]) -> None:
    seen: dict[str, Item] = {}
    for item in (i for top in body for i in top.walk()):
        check_name(item.name, what="name", file=item.file, line=item.line_of("name"))
        if item.name in seen:
            first = seen[item.name]
            raise SurvmigError(
                f"name {item.name!r} is used by both module {first.module} "
                f"(question {first.name}) and module {item.module}",
                file=item.file,
                line=item.line_of("name"),
                where=_where(item),
                hint="names must be unique in a form: drop one of them in the spec",
            )
        seen[item.name] = item


def _references(item: Item) -> list[tuple[str, str]]:
    """(field, referenced name) pairs of one item."""
    fields = [*item.expressions(), ("type", item.type)]
    fields += [(f, v) for f, t in item.texts() for v in t.values()]
    return [(field, ref) for field, value in fields for ref in REFERENCE.findall(value)]


def _check_cycles(q: Questionnaire) -> None:
    calcs = {
        item.name: item
        for item, _ in q.walk()
        if item.kind == "question" and item.base_type == "calculate"
    }
    graph = {
        name: [ref for field, ref in _references(item) if field == "calculation" and ref in calcs]
        for name, item in calcs.items()
    }
    state: dict[str, int] = {}

    def visit(name: str, stack: list[str]) -> None:
        state[name] = 1
        for nxt in graph[name]:
            if state.get(nxt) == 1:
                cycle = [*stack[stack.index(nxt) :], nxt]
                item = calcs[name]
                raise SurvmigError(
                    "calculation cycle: " + " -> ".join(cycle),
                    file=item.file,
                    line=item.line_of("calculation"),
                    where=_where(item),
                    hint="a calculation cannot depend, directly or not, on itself",
                )
            if state.get(nxt) is None:
                visit(nxt, [*stack, nxt])
        state[name] = 2

    for name in calcs:
        if name not in state:
            visit(name, [name])


def _check_references(q: Questionnaire, dropped: dict[str, str]) -> None:
    order: dict[str, int] = {}
    ancestors: dict[str, set[str]] = {}
    for index, (item, parents) in enumerate(q.walk()):
        order[item.name] = index
        ancestors[item.name] = {p.name for p in parents}
    for item, _ in q.walk():
        for field, ref in _references(item):
            if ref not in order:
                reason = (
                    f"which the spec drops (module {dropped[ref]})"
                    if ref in dropped
                    else "which no module of this questionnaire defines"
                )
                raise SurvmigError(
                    f"{field} refers to ${{{ref}}}, {reason}",
                    file=item.file,
                    line=item.line_of(field),
                    where=_where(item),
                    hint=suggest(ref, order)
                    if ref not in dropped
                    else f"drop {item.name} too, or keep {ref}",
                )
            if ref == item.name and field in ("constraint", "relevant", "required"):
                continue
            if ref in ancestors[item.name]:
                continue
            if order[ref] >= order[item.name]:
                raise SurvmigError(
                    f"{field} refers to ${{{ref}}}, which is not asked yet at this point "
                    "of the form",
                    file=item.file,
                    line=item.line_of(field),
                    where=_where(item),
                    hint=f"move {item.name} after {ref}, or put the modules in another order",
                )


def _check_concepts(q: Questionnaire) -> None:
    seen: dict[tuple[str, str], Any] = {}
    for var in q.variables():
        if not var.concept:
            continue
        key = (var.concept, var.level)
        if key in seen:
            first = seen[key]
            raise SurvmigError(
                f"concept {var.concept!r} at level {var.level!r} is carried by both "
                f"{first.name} (module {first.module}) and {var.name} (module {var.module})",
                where=f"module {var.module}, question {var.name}",
                hint="a form has one variable per concept and level: drop one in the spec",
            )
        seen[key] = var


def compose(spec: Spec, library: Library | None = None) -> Questionnaire:
    """Build the questionnaire a spec describes, checking the whole form.

    Texts missing (or stale) in a requested language raise one :class:`MissingTexts` that lists
    every one of them.
    """
    q, translator = compose_texts(spec, library)
    problems = translator.check()
    if problems:
        raise MissingTexts(problems, spec=spec.file, languages=spec.languages)
    return q


def _translator(spec: Spec) -> Translator:
    for index, path in enumerate(spec.translation_files):
        if not path.is_file():
            raise SurvmigError(
                f"translations: file {path} not found",
                file=spec.file,
                line=spec.raw["translations"].line_of(index),
                hint="paths are relative to the spec; write it with survmig translations import",
            )
    overlay = load_overlay(spec.translation_files, spec.default_language)
    for lang, path in overlay.languages.items():
        if lang not in spec.languages:
            raise SurvmigError(
                f"translations: {path.name} gives language {lang!r}, which is not one of the "
                f"spec's languages {spec.languages}",
                file=spec.file,
                line=spec.raw.line_of("translations"),
                hint=f"add {lang} to languages (or remove the file from translations)",
            )
    return Translator(overlay, spec.languages, spec.default_language)


def compose_texts(spec: Spec, library: Library | None = None) -> tuple[Questionnaire, Translator]:
    """Compose without the language check: the questionnaire and every text by key (with the
    problems :meth:`Translator.check` finds). ``survmig translations export`` starts here."""
    translator = _translator(spec)
    library = library or load_library()
    if spec.concepts_file is not None:
        library = library.with_concepts(spec.concepts_file)
    if spec.level not in library.concepts.levels:
        raise SurvmigError(
            f"level {spec.level!r} is not declared in concepts.yaml",
            file=spec.file,
            line=spec.raw.line_of("level"),
            hint=suggest(spec.level, library.concepts.levels),
        )
    modules: list[tuple[ModuleEntry, Module]] = []
    for entry in spec.modules:
        if entry.file is not None:
            if not entry.file.exists():
                raise SurvmigError(
                    f"module file {entry.file} not found",
                    file=spec.file,
                    line=entry.raw.line_of("file"),
                )
            module = library.add_module(entry.file)
        else:
            module = library.module(entry.id or "", file=spec.file, line=entry.raw.line_of("id"))
        ids = [m.id for _, m in modules]
        if module.id in ids:
            raise SurvmigError(
                f"module {module.id} is listed twice", file=spec.file, line=entry.line
            )
        for dep in module.depends_on:
            if dep not in ids:
                raise SurvmigError(
                    f"module {module.id} depends on {dep}, which is not listed before it",
                    file=spec.file,
                    line=entry.line,
                    hint=f"add '- id: {dep}' before {module.id}",
                )
        _check_entry_names(entry, module, spec)
        modules.append((entry, module))
    values = _parameter_values(spec, modules)
    present = {m.id for _, m in modules}
    title = (
        translator.text(
            "title",
            "form title",
            spec.title,
            file=spec.file,
            line=spec.raw.line_of("title"),
            base_origin="spec",
        )
        or {}
    )
    special_labels = _special_labels(library, translator)
    fillers = {m.id: _Filler(spec, m, values[m.id], translator) for _, m in modules}
    fillers["shared"] = _Filler(spec, next(iter(m for _, m in modules)), {}, translator)
    dropped: dict[str, str] = {}
    body: list[Item] = _metadata(spec)
    repeats_by_level: dict[str, Item] = {}
    for entry, module in modules:
        items = _resolve(
            module.items,
            entry=entry,
            filler=fillers[module.id],
            present=present,
            dropped=dropped,
            special_labels=special_labels,
            translator=translator,
            spec=spec,
        )
        if module.level == spec.level:
            body.extend(items)
        else:
            host = repeats_by_level.get(module.level)
            if host is None:
                raise SurvmigError(
                    f"module {module.id} is at level {module.level!r}, but no earlier module "
                    f"of the spec has a repeat of that level",
                    file=spec.file,
                    line=entry.line,
                    hint="list the module that creates it (e.g. household_roster) first",
                )
            host.children.extend(items)
        for top in items:
            for item in top.walk():
                if item.kind == "repeat" and item.level:
                    if item.level in repeats_by_level:
                        other = repeats_by_level[item.level]
                        raise SurvmigError(
                            f"repeats {other.name} (module {other.module}) and {item.name} "
                            f"both hold level {item.level!r}",
                            file=item.file,
                            line=item.line_of("level"),
                            where=_where(item),
                        )
                    repeats_by_level[item.level] = item
    _check_unique_names(body)
    choices = compose_choices(spec, library, modules, body, fillers, special_labels, translator)
    q = Questionnaire(
        form_id=spec.form_id,
        title=title,
        version=spec.version,
        languages=list(spec.languages),
        default_language=spec.default_language,
        country=spec.country,
        currency=spec.currency,
        survey_year=spec.survey_year,
        level=spec.level,
        items=body,
        choices=choices,
        parameters=values,
        module_ids=[m.id for _, m in modules],
        source=spec.file,
    )
    _check_cycles(q)
    _check_references(q, dropped)
    _check_concepts(q)
    return q, translator


def load_questionnaire(spec_path: str | Path, library: Library | None = None) -> Questionnaire:
    """Read a spec and compose it: the one call most users need."""
    return compose(load_spec(spec_path), library)
