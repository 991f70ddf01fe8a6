"""Find, load and check the module library: modules, shared choice lists and the concept registry.

Every check names the file and line of the problem. Checks that need the whole questionnaire (a
reference to a question asked later, duplicate names across modules, calculation cycles) are done
when a questionnaire is composed (``survmig.questionnaire``).
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import re
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

from survmig.conventions import MAX_NAME_LENGTH, SPECIAL_CODES
from survmig.errors import SurvmigError
from survmig.modules.choices import GENERATED_LISTS
from survmig.modules.model import (
    CONCEPT_TYPE_OF,
    PLACEHOLDER,
    REFERENCE,
    SELECT_TYPES,
    SIMPLE_TYPES,
    Choice,
    ChoiceList,
    Concept,
    Item,
    Module,
    Parameter,
    Source,
)
from survmig.modules.schema import (
    CONCEPTS_SCHEMA,
    MODULE_SCHEMA,
    SHARED_CHOICES_SCHEMA,
    validate_document,
)
from survmig.modules.yamlio import LDict, LList, load_yaml

CONCEPTS_FILE = "concepts.yaml"
SHARED_CHOICES_FILE = "choices.yaml"
#: The shared list that carries the labels of the special codes (see ``survmig.conventions``).
SPECIALS_LIST = "special_codes"
#: special name ("dont_know") -> code (-8)
SPECIAL_CODE_OF = {name: code for code, (name, _) in SPECIAL_CODES.items()}

#: Parameters every module may use without declaring them; their values come from the spec.
BUILTIN_PARAMETERS = {
    "survey_year": "the year of the survey (spec: survey_year)",
    "country": "the survey country, ISO 3166-1 alpha-3 (spec: country)",
    "country_name": "the survey country's name in the label's language",
    "currency": "the local currency, ISO 4217 (spec: currency)",
    "currency_name": "the local currency's name in the label's language",
}

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_SELECT_FROM_REPEAT = re.compile(r"^\$\{([A-Za-z][A-Za-z0-9_]*)\}$")


def modules_dir() -> Path:
    """The folder holding the module library.

    Installed wheels carry it as ``survmig/_modules``; an editable install (a source checkout) reads
    the repository's ``modules/`` folder. Every stage finds modules through this one function.
    """
    packaged = resources.files("survmig") / "_modules"
    if packaged.is_dir():
        return Path(str(packaged))
    source = Path(__file__).resolve().parents[3] / "modules"
    if source.is_dir():
        return source
    raise SurvmigError(
        "the module library is missing (neither survmig/_modules nor the repository's modules/)",
        hint="reinstall survmig",
    )


def check_name(name: Any, *, what: str, file: Path | None, line: int | None) -> str:
    """A valid XLSForm/XML/Stata name of at most 32 characters, or a clear error."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise SurvmigError(
            f"{what} {name!r} is not a valid name",
            file=file,
            line=line,
            hint="start with a letter; use only letters, digits and '_'",
        )
    if len(name) > MAX_NAME_LENGTH:
        raise SurvmigError(
            f"{what} {name!r} is {len(name)} characters long (at most {MAX_NAME_LENGTH})",
            file=file,
            line=line,
            hint="shorten it",
        )
    if name.lower().startswith("xml"):
        raise SurvmigError(
            f"{what} {name!r} is not a valid XML name (names may not start with 'xml')",
            file=file,
            line=line,
        )
    return name


def suggest(name: str, known: Iterable[str]) -> str | None:
    """A hint naming the closest known name, if any is close."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f"did you mean {close[0]!r}?" if close else None


# --------------------------------------------------------------------------- concepts


@dataclasses.dataclass(frozen=True)
class ConceptRegistry:
    """The levels (units of observation) and concepts that variables may be tagged with."""

    levels: dict[str, str]
    concepts: dict[str, Concept]
    file: Path | None = None

    def get(self, concept_id: str) -> Concept | None:
        return self.concepts.get(concept_id)


def load_concepts(path: str | Path | None = None) -> ConceptRegistry:
    """Load ``concepts.yaml`` (the library's registry unless ``path`` is given)."""
    path = Path(path) if path else modules_dir() / CONCEPTS_FILE
    doc = load_yaml(path)
    validate_document(doc, CONCEPTS_SCHEMA, path, "concept registry")
    levels = {str(k): str(v) for k, v in doc["levels"].items()}
    return ConceptRegistry(levels, _concepts(doc, levels, path), path)


def extend_concepts(base: ConceptRegistry, path: str | Path) -> ConceptRegistry:
    """``base`` plus a country's own concepts (and levels) from ``path``, in the format of
    ``concepts.yaml`` (``levels:`` optional). National questions get their own concepts without
    editing the installed library; an id the library already has is an error (use the library's
    concept, which the indicators know, or choose another id)."""
    path = Path(path)
    if not path.is_file():
        raise SurvmigError("concepts file not found", file=path, hint="a path relative to the spec")
    doc = load_yaml(path)
    schema = dict(CONCEPTS_SCHEMA, required=["concepts"])
    validate_document(doc, schema, path, "concept registry")
    extra = doc.get("levels") or {}
    levels = dict(base.levels) | {str(k): str(v) for k, v in extra.items() if k not in base.levels}
    concepts = _concepts(doc, levels, path)
    for cid in concepts:
        if cid in base.concepts:
            raise SurvmigError(
                f"concept {cid!r} is already registered in {base.file}",
                file=path,
                line=doc["concepts"].line_of(cid),
                hint="tag the question with the library's concept, or give yours another id",
            )
    return ConceptRegistry(levels, base.concepts | concepts, base.file)


def _concepts(doc: LDict, levels: dict[str, str], path: Path) -> dict[str, Concept]:
    concepts: dict[str, Concept] = {}
    for cid, entry in doc["concepts"].items():
        line = doc["concepts"].line_of(cid)
        check_name(cid, what="concept", file=path, line=line)
        for level in entry["levels"]:
            if level not in levels:
                raise SurvmigError(
                    f"concept {cid!r}: level {level!r} is not declared under 'levels'",
                    file=path,
                    line=entry.line_of("levels"),
                    hint=suggest(level, levels),
                )
        concepts[cid] = Concept(
            id=cid,
            levels=tuple(entry["levels"]),
            type=entry["type"],
            definition=entry["definition"],
            unit=entry.get("unit"),
            standard=entry.get("standard"),
        )
    return concepts


# --------------------------------------------------------------------------- choice lists


def _choice_lists(raw: LDict, *, origin: str, file: Path) -> dict[str, ChoiceList]:
    lists: dict[str, ChoiceList] = {}
    for list_name, entry in raw.items():
        line = raw.line_of(list_name)
        check_name(list_name, what="choice list", file=file, line=line)
        if list_name in GENERATED_LISTS:
            raise SurvmigError(
                f"choice list {list_name!r} is generated by survmig and may not be redefined",
                file=file,
                line=line,
                hint="use it as it is; a questionnaire spec can restrict or reorder it",
            )
        seen: dict[str, int] = {}
        options = []
        for index, option in enumerate(entry["options"]):
            opt_line = entry["options"].line_of(index)
            name = str(option["name"])
            if not name or any(ch.isspace() for ch in name):
                raise SurvmigError(
                    f"choice list {list_name!r}: choice name {name!r} is empty or has spaces",
                    file=file,
                    line=opt_line,
                )
            if name in seen:
                raise SurvmigError(
                    f"choice list {list_name!r}: choice name {name!r} appears twice "
                    f"(first on line {seen[name]})",
                    file=file,
                    line=opt_line,
                )
            if name in {str(c) for c in SPECIAL_CODES} and list_name != SPECIALS_LIST:
                raise SurvmigError(
                    f"choice list {list_name!r}: code {name} is reserved for the special answers",
                    file=file,
                    line=opt_line,
                    hint="add it with 'specials: [dont_know, refused]' instead",
                )
            seen[name] = opt_line
            options.append(Choice(name, dict(option["label"]), opt_line))
        lists[list_name] = ChoiceList(
            list_name,
            tuple(options),
            tuple(entry.get("specials", ())),
            origin=origin,
            file=file,
            line=line,
            supplied_by_spec=bool(entry.get("supplied_by_spec", False)),
        )
    return lists


def load_shared_choices(path: str | Path | None = None) -> dict[str, ChoiceList]:
    """Load the shared choice lists (``modules/choices.yaml``), checking the special codes."""
    path = Path(path) if path else modules_dir() / SHARED_CHOICES_FILE
    doc = load_yaml(path)
    validate_document(doc, SHARED_CHOICES_SCHEMA, path, "shared choice lists file")
    lists = _choice_lists(doc["choices"], origin="shared", file=path)
    specials = lists.get(SPECIALS_LIST)
    expected = sorted(str(code) for code in SPECIAL_CODES)
    if specials is None or sorted(c.name for c in specials.options) != expected:
        raise SurvmigError(
            f"the shared list {SPECIALS_LIST!r} must define exactly the codes {', '.join(expected)}",
            file=path,
            line=specials.line if specials else doc.line,
        )
    return lists


# --------------------------------------------------------------------------- modules


def _text(entry: LDict, key: str) -> dict[str, str] | None:
    value = entry.get(key)
    return dict(value) if value is not None else None


def _item(entry: LDict, *, module: str, file: Path, line: int) -> Item:
    kind = entry["type"] if entry["type"] in ("group", "repeat") else "question"
    default = entry.get("default")
    item = Item(
        kind=kind,
        name=entry["name"],
        type=" ".join(str(entry["type"]).split()),
        module=module,
        file=file,
        line=line,
        label=_text(entry, "label"),
        hint=_text(entry, "hint"),
        relevant=entry.get("relevant"),
        appearance=entry.get("appearance"),
        universe=_text(entry, "universe"),
        only_with=tuple(entry.get("only_with", ())),
        concept=entry.get("concept"),
        pii=bool(entry.get("pii", False)),
        required=entry.get("required", False),
        required_message=_text(entry, "required_message"),
        constraint=entry.get("constraint"),
        constraint_message=_text(entry, "constraint_message"),
        calculation=entry.get("calculation"),
        default=None if default is None else str(default),
        choice_filter=entry.get("choice_filter"),
        parameters=entry.get("parameters"),
        specials=tuple(entry.get("specials", ())),
        read_only=bool(entry.get("read_only", False)),
        level=entry.get("level"),
        repeat_count=entry.get("repeat_count"),
        field_lines={str(k): entry.line_of(k) for k in entry},
    )
    if kind != "question":
        children = entry["questions"]
        item.children = [
            _item(child, module=module, file=file, line=children.line_of(i))
            for i, child in enumerate(children)
        ]
    return item


def _parameter(name: str, entry: LDict, file: Path) -> Parameter:
    param = Parameter(
        name=name,
        type=entry["type"],
        default=entry["default"],
        description=entry["description"],
        min=entry.get("min"),
        max=entry.get("max"),
        values=tuple(entry["values"]) if "values" in entry else None,
    )
    check_parameter_value(param, param.default, file=file, line=entry.line_of("default"))
    return param


def check_parameter_value(
    param: Parameter, value: Any, *, file: Path | None, line: int | None, where: str | None = None
) -> Any:
    """``value`` if it suits ``param`` (type, bounds, allowed values), else a clear error."""
    kinds = {"integer": int, "decimal": (int, float), "string": str, "boolean": bool}
    bad_type = not isinstance(value, kinds[param.type]) or (
        param.type != "boolean" and isinstance(value, bool)
    )
    problem = None
    if bad_type:
        problem = f"must be of type {param.type}"
    elif param.min is not None and value < param.min:
        problem = f"must be at least {param.min:g}"
    elif param.max is not None and value > param.max:
        problem = f"must be at most {param.max:g}"
    elif param.values is not None and value not in param.values:
        problem = f"must be one of {', '.join(map(str, param.values))}"
    if problem:
        raise SurvmigError(
            f"parameter {param.name!r} = {value!r} {problem}", file=file, line=line, where=where
        )
    return value


def _check_item(
    item: Item,
    module: Module,
    level: str,
    concepts: ConceptRegistry,
    lists: dict[str, ChoiceList],
) -> None:
    file, where = module.file, f"module {module.id}, question {item.name}"
    check_name(item.name, what="name", file=file, line=item.line_of("name"))

    def fail(message: str, field: str, hint: str | None = None) -> None:
        raise SurvmigError(message, file=file, line=item.line_of(field), where=where, hint=hint)

    if item.kind == "repeat":
        if item.level not in concepts.levels:
            fail(
                f"level {item.level!r} is not declared in concepts.yaml",
                "level",
                suggest(str(item.level), concepts.levels),
            )
        return
    if item.kind == "group":
        return
    base = item.base_type
    parts = item.type.split()
    if base in SELECT_TYPES:
        if len(parts) != 2:
            fail(f"type {item.type!r} must name one choice list, e.g. 'select_one yes_no'", "type")
        target = parts[1]
        if target.startswith("${"):
            if not _SELECT_FROM_REPEAT.match(target):
                fail(f"type {item.type!r}: bad reference {target!r}", "type")
        elif target not in lists and target not in GENERATED_LISTS:
            fail(
                f"choice list {target!r} is not defined",
                "type",
                suggest(target, [*lists, *GENERATED_LISTS])
                or "define it under 'choices' or in modules/choices.yaml",
            )
    elif base not in SIMPLE_TYPES or len(parts) != 1:
        allowed = ", ".join(sorted(SIMPLE_TYPES | {"select_one LIST", "select_multiple LIST"}))
        fail(f"unknown question type {item.type!r}", "type", f"use one of: {allowed}")
    if base == "calculate" and not item.calculation:
        fail("a calculate question needs 'calculation'", "type")
    if base != "calculate" and item.calculation:
        fail(f"'calculation' is only for type calculate (this is {base})", "calculation")
    if base != "calculate" and not item.label:
        fail("a question needs a 'label'", "name")
    if item.specials and base not in ("integer", "decimal"):
        fail(
            "'specials' on a question is for integer/decimal questions; "
            "for select lists put 'specials' on the choice list",
            "specials",
        )
    if item.constraint_message and not item.constraint and not item.specials:
        fail("'constraint_message' without 'constraint'", "constraint_message")
    if base == "geopoint" and not item.pii:
        fail("a geopoint identifies where people live: set 'pii: true'", "type")
    if base == "note":
        if item.concept:
            fail("a note holds no data and takes no 'concept'", "concept")
        return
    if not item.concept:
        fail("every variable needs a 'concept' tag (registered in concepts.yaml)", "name")
    concept = concepts.get(item.concept)
    if concept is None:
        fail(
            f"concept {item.concept!r} is not registered in concepts.yaml",
            "concept",
            "; ".join(
                filter(
                    None,
                    [
                        suggest(item.concept, concepts.concepts),
                        "a country's own concept goes in a concepts file the spec names "
                        "(`concepts: national_concepts.yaml`, the format of modules/concepts.yaml)",
                    ],
                )
            ),
        )
    assert concept is not None
    if level not in concept.levels:
        fail(
            f"concept {item.concept!r} is registered for levels {', '.join(concept.levels)}, "
            f"but this question is at level {level!r}",
            "concept",
            "add the level to the concept in concepts.yaml, or use another concept",
        )
    if base != "calculate" and CONCEPT_TYPE_OF.get(base) != concept.type:
        fail(
            f"concept {item.concept!r} holds {concept.type} values, but the question is {base}",
            "concept",
        )


def _check_placeholders(module: Module) -> None:
    known = set(module.parameters) | set(BUILTIN_PARAMETERS)

    def check(value: str, item: Item | None, field: str) -> None:
        for name in PLACEHOLDER.findall(value):
            if name not in known:
                raise SurvmigError(
                    f"unknown parameter {{{{{name}}}}} in {field}",
                    file=module.file,
                    line=item.line_of(field) if item else None,
                    where=f"module {module.id}" + (f", question {item.name}" if item else ""),
                    hint=suggest(name, known) or "declare it under 'parameters'",
                )

    for item in module.walk():
        for field, text in item.texts():
            for value in text.values():
                check(value, item, field)
        for field, expr in item.expressions():
            check(expr, item, field)


def _module(path: Path, concepts: ConceptRegistry, shared: dict[str, ChoiceList]) -> Module:
    doc = load_yaml(path)
    validate_document(doc, MODULE_SCHEMA, path, "module")
    module_id = check_name(doc["id"], what="module id", file=path, line=doc.line_of("id"))
    if path.stem != module_id:
        raise SurvmigError(
            f"module id {module_id!r} differs from the file name {path.name!r}",
            file=path,
            line=doc.line_of("id"),
            hint=f"rename the file to {module_id}.yaml or change the id",
        )
    if doc["level"] not in concepts.levels:
        raise SurvmigError(
            f"level {doc['level']!r} is not declared in concepts.yaml",
            file=path,
            line=doc.line_of("level"),
            hint=suggest(doc["level"], concepts.levels),
        )
    local = _choice_lists(doc.get("choices", LDict()), origin=module_id, file=path)
    for name, cl in local.items():
        if name in shared:
            raise SurvmigError(
                f"choice list {name!r} is already a shared list (modules/choices.yaml)",
                file=path,
                line=cl.line,
                hint="use the shared list or give this one another name",
            )
    params = {}
    for name, entry in doc.get("parameters", LDict()).items():
        line = doc["parameters"].line_of(name)
        check_name(name, what="parameter", file=path, line=line)
        if name in BUILTIN_PARAMETERS:
            raise SurvmigError(
                f"parameter {name!r} is built in (set by the questionnaire spec)",
                file=path,
                line=line,
            )
        params[name] = _parameter(name, entry, path)
    questions: LList = doc["questions"]
    module = Module(
        id=module_id,
        title=dict(doc["title"]),
        version=str(doc["version"]),
        sources=tuple(Source(s["short"], s["citation"], s.get("url")) for s in doc["sources"]),
        level=doc["level"],
        universe=dict(doc["universe"]),
        items=[
            _item(q, module=module_id, file=path, line=questions.line_of(i))
            for i, q in enumerate(questions)
        ],
        file=path,
        description=_text(doc, "description"),
        depends_on=tuple(doc.get("depends_on", ())),
        expects=tuple(doc.get("expects", ())),
        parameters=params,
        choices=local,
    )
    for concept in module.expects:
        if concept not in concepts.concepts:
            raise SurvmigError(
                f"expected concept {concept!r} is not registered in concepts.yaml",
                file=path,
                line=doc.line_of("expects"),
                hint=suggest(concept, concepts.concepts),
            )
    lists = {**shared, **local}
    seen: dict[str, Item] = {}

    def visit(items: list[Item], level: str) -> None:
        for item in items:
            _check_item(item, module, level, concepts, lists)
            if item.name in seen:
                raise SurvmigError(
                    f"name {item.name!r} is used twice in the module "
                    f"(first on line {seen[item.name].line})",
                    file=path,
                    line=item.line_of("name"),
                    where=f"module {module_id}",
                )
            seen[item.name] = item
            visit(item.children, item.level if item.kind == "repeat" else level)

    visit(module.items, module.level)
    _check_placeholders(module)
    return module


def load_module(
    path: str | Path,
    concepts: ConceptRegistry | None = None,
    shared: dict[str, ChoiceList] | None = None,
) -> Module:
    """Load and check one module file (against the library's concepts and shared lists)."""
    concepts = concepts or load_concepts()
    shared = shared if shared is not None else load_shared_choices()
    return _module(Path(path), concepts, shared)


# --------------------------------------------------------------------------- library


@dataclasses.dataclass
class Library:
    """All modules of a folder, with the concept registry and shared choice lists they use."""

    modules: dict[str, Module]
    concepts: ConceptRegistry
    shared_choices: dict[str, ChoiceList]
    root: Path

    def module(
        self, module_id: str, *, file: Path | None = None, line: int | None = None
    ) -> Module:
        """The module ``module_id``, or an error that suggests the closest id."""
        if module_id not in self.modules:
            raise SurvmigError(
                f"unknown module {module_id!r}",
                file=file,
                line=line,
                hint=suggest(module_id, self.modules)
                or f"known modules: {', '.join(sorted(self.modules))}",
            )
        return self.modules[module_id]

    def choice_list(self, name: str, module: Module) -> ChoiceList | None:
        """The list ``name`` as seen from ``module`` (its own lists, then the shared ones)."""
        return module.choices.get(name) or self.shared_choices.get(name)

    def with_concepts(self, path: str | Path) -> Library:
        """A copy of this library whose registry also holds the concepts of ``path``
        (:func:`extend_concepts`); this library is left as it is."""
        return dataclasses.replace(
            self, modules=dict(self.modules), concepts=extend_concepts(self.concepts, path)
        )

    def add_module(self, path: str | Path) -> Module:
        """Load an extra module file (e.g. a country's own questions) into this library."""
        module = _module(Path(path), self.concepts, self.shared_choices)
        if module.id in self.modules and self.modules[module.id].file != module.file:
            raise SurvmigError(
                f"module id {module.id!r} is already used by {self.modules[module.id].file}",
                file=path,
                line=1,
                hint="give the country module its own id",
            )
        self.modules[module.id] = module
        _check_library_links(self, [module])
        return module


def _check_library_links(library: Library, modules: Iterable[Module]) -> None:
    """Dependencies exist; references reach only the module itself or modules it depends on."""
    owner: dict[str, set[str]] = {}
    for m in library.modules.values():
        for item in m.walk():
            owner.setdefault(item.name, set()).add(m.id)
    for module in modules:
        for dep in module.depends_on:
            if dep not in library.modules:
                raise SurvmigError(
                    f"depends_on names unknown module {dep!r}",
                    file=module.file,
                    where=f"module {module.id}",
                    hint=suggest(dep, library.modules),
                )
        _check_references(module, owner, library)
    local_lists: dict[str, str] = {}
    for m in library.modules.values():
        for name, cl in m.choices.items():
            if name in local_lists and local_lists[name] != m.id:
                raise SurvmigError(
                    f"choice list {name!r} is defined in modules {local_lists[name]} and {m.id}",
                    file=cl.file,
                    line=cl.line,
                    hint="list names are global in a form: rename one, or move it to choices.yaml",
                )
            local_lists[name] = m.id


def _check_references(module: Module, owner: dict[str, set[str]], library: Library) -> None:
    def visit(items: list[Item], allowed: set[str]) -> None:
        for item in items:
            reach = allowed | set(item.only_with)
            for dep in item.only_with:
                if dep not in library.modules:
                    raise SurvmigError(
                        f"only_with names unknown module {dep!r}",
                        file=module.file,
                        line=item.line_of("only_with"),
                        where=f"module {module.id}, question {item.name}",
                        hint=suggest(dep, library.modules),
                    )
            fields = [*item.expressions(), *((f, v) for f, t in item.texts() for v in t.values())]
            fields.append(("type", item.type))
            for field, value in fields:
                for ref in REFERENCE.findall(value):
                    targets = owner.get(ref)
                    if not targets:
                        raise SurvmigError(
                            f"{field} refers to ${{{ref}}}, which no module defines",
                            file=module.file,
                            line=item.line_of(field),
                            where=f"module {module.id}, question {item.name}",
                            hint=suggest(ref, owner),
                        )
                    if not targets & reach:
                        raise SurvmigError(
                            f"{field} refers to ${{{ref}}} of module {', '.join(sorted(targets))}, "
                            "which this module "
                            "does not declare in depends_on (or the question in only_with)",
                            file=module.file,
                            line=item.line_of(field),
                            where=f"module {module.id}, question {item.name}",
                        )
            visit(item.children, reach)

    visit(module.items, {module.id, *module.depends_on})


def load_library(root: str | Path | None = None) -> Library:
    """Load and check every module of the library folder (``modules_dir()`` by default)."""
    root = Path(root) if root else modules_dir()
    cached = _load_library_cached(root.resolve())
    return dataclasses.replace(cached, modules=dict(cached.modules))


@functools.lru_cache(maxsize=8)
def _load_library_cached(root: Path) -> Library:
    concepts = load_concepts(root / CONCEPTS_FILE)
    shared = load_shared_choices(root / SHARED_CHOICES_FILE)
    modules: dict[str, Module] = {}
    for path in sorted(root.glob("*.yaml")):
        if path.name in (CONCEPTS_FILE, SHARED_CHOICES_FILE):
            continue
        module = _module(path, concepts, shared)
        modules[module.id] = module
    library = Library(modules, concepts, shared, root)
    _check_library_links(library, modules.values())
    return library
