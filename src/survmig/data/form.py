"""Form metadata read from a compiled XLSForm: the map that types, labels and links collected data.

The data stage works from the ``.xlsx`` itself (survey, choices and settings sheets), so it accepts any
XLSForm, not only those that survmig compiled. pyxform parses the workbook (it resolves type aliases,
``or_other``, the ``meta`` group and translations exactly as the platforms do); survmig's own extra
survey columns (``concept``, ``pii``, ``module``) are kept when present.
"""

from __future__ import annotations

import dataclasses
import re
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from survmig.conventions import LANGUAGES, SPECIAL_CODES
from survmig.errors import SurvmigError

#: Key columns every level carries (names chosen to be legal in SPSS, Stata and Parquet).
KEY = "KEY"
PARENT_KEY = "PARENT_KEY"
ROOT_KEY = "ROOT_KEY"
ROW_POS = "ROW_POS"
KEY_COLUMNS = (KEY, PARENT_KEY, ROOT_KEY, ROW_POS)

#: Platform metadata kept on the root level under one canonical name whatever the export shape:
#: canonical name -> (English label, ODK Central column, KoboToolbox column).
PLATFORM_COLUMNS: dict[str, tuple[str, str | None, str | None]] = {
    "SubmissionDate": (
        "Date the server received the submission (UTC)",
        "SubmissionDate",
        "_submission_time",
    ),
    "SubmissionID": ("Server's submission number", None, "_id"),
    "SubmitterID": ("Submitter's account id", "SubmitterID", None),
    "SubmitterName": ("Submitter's account name", "SubmitterName", "_submitted_by"),
    "AttachmentsPresent": ("Attachments received", "AttachmentsPresent", None),
    "AttachmentsExpected": ("Attachments expected", "AttachmentsExpected", None),
    "SubmissionStatus": ("Submission status", "Status", "_status"),
    "ReviewState": ("Review / validation state", "ReviewState", "_validation_status"),
    "SubmissionDeviceID": ("Device that sent the submission", "DeviceID", None),
    "SubmissionEdits": ("Number of edits on the server", "Edits", None),
    "FormVersion": ("Form version the submission was made with", "FormVersion", None),
    # KoboToolbox's own id of the deployed form version, never the XLSForm ``version``
    "DeploymentVersion": ("Platform's id of the deployed form version", None, "__version__"),
    "ReviewNotes": ("Reviewer notes", None, "_notes"),
    "ReviewTags": ("Reviewer tags", None, "_tags"),
}

#: XLSForm question types that hold no answer in the submission.
NO_DATA_TYPES = frozenset({"note", "xml-external", "csv-external", "begin group", "end group"})
#: Metadata types that identify a person or a device: dropped from public-use files.
IDENTIFYING_META = frozenset(
    {
        "deviceid",
        "username",
        "phonenumber",
        "simserial",
        "subscriberid",
        "email",
        "audit",
        "start-geopoint",
    }
)
#: Metadata question types (collected automatically, never asked).
META_TYPES = IDENTIFYING_META | {"start", "end", "today", "background-audio"}
GEO_TYPES = frozenset({"geopoint", "geotrace", "geoshape"})
NUMERIC_TYPES = frozenset({"integer", "decimal", "range"})

_TYPE_ALIASES = {
    "select one": "select_one",
    "select all that apply": "select_multiple",
    "select one external": "select_one_external",
    "dateTime": "datetime",
    "add date time prompt": "datetime",
    "trigger": "acknowledge",
}
_NAME_OK = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_INT_RE = re.compile(r"^-?\d+$")


@dataclasses.dataclass(frozen=True)
class Choice:
    """One answer option: its code (the XLSForm ``name``) and its labels per language."""

    name: str
    labels: dict[str, str]


@dataclasses.dataclass(frozen=True)
class Level:
    """A table of the data: the root (one row per submission) or a repeat (one row per iteration)."""

    name: str
    path: tuple[str, ...]  # XML path below the root element, e.g. ("hh", "person")
    parent: str | None
    key_segment: str  # what Central appends to the parent key: "hh/person"
    labels: dict[str, str]
    relevant: tuple[str, ...]  # this repeat's and its enclosing groups' relevance (outermost first)
    repeat_count: str | None = None


@dataclasses.dataclass(frozen=True)
class Variable:
    """One column of a level: a question, a platform metadata field or a derived 0/1 option column."""

    name: str
    type: str
    level: str
    path: tuple[str, ...] = ()  # XML path below the root element
    labels: dict[str, str] = dataclasses.field(default_factory=dict)
    hints: dict[str, str] = dataclasses.field(default_factory=dict)
    list_name: str | None = None
    relevant: str | None = None  # the question's own relevance
    group_relevant: tuple[str, ...] = ()  # enclosing groups within the same level (outermost first)
    constraint: str | None = None
    constraint_message: dict[str, str] = dataclasses.field(default_factory=dict)
    required: bool = False
    calculation: str | None = None
    concept: str | None = None
    pii: bool = False
    module: str | None = None
    kind: str = "question"  # question | meta | option | platform
    parent: str | None = None  # for option columns: the select_multiple they split
    option: str | None = None  # for option columns: the choice code

    @property
    def has_choices(self) -> bool:
        return self.type in ("select_one", "select_multiple") and self.list_name is not None

    def relevance(self) -> tuple[str, ...]:
        """Every condition (within its level) under which the question is asked."""
        own = (self.relevant,) if self.relevant else ()
        return (*self.group_relevant, *own)


class FormMetadata:
    """Everything the data stage needs to know about a form: levels, variables, choices, languages.

    Build it with :meth:`from_xlsform`; it serialises to JSON (:meth:`to_dict`) so a written
    :class:`~survmig.data.Dataset` carries its own metadata.
    """

    def __init__(
        self,
        *,
        title: str,
        form_id: str,
        version: str | None,
        default_language: str | None,
        languages: list[str],
        levels: list[Level],
        variables: list[Variable],
        choices: dict[str, list[Choice]],
        source: str | None = None,
        silent: dict[str, list[str]] | None = None,
        groups: dict[str, dict[str, str]] | None = None,
    ) -> None:
        self.title = title
        #: "/"-joined path of each non-repeat group -> its labels (platforms put them in headers)
        self.groups: dict[str, dict[str, str]] = groups or {}
        #: level -> names of form fields that hold no data (notes); exports may carry empty columns
        self.silent: dict[str, list[str]] = silent or {}
        self.form_id = form_id
        self.version = version
        self.default_language = default_language
        self.languages = languages
        self.levels: dict[str, Level] = {lv.name: lv for lv in levels}
        self.variables: dict[str, Variable] = {v.name: v for v in variables}
        self.choices = choices
        self.source = source

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_xlsform(cls, path: str | Path, root_level: str = "household") -> FormMetadata:
        """Read a compiled XLSForm (``.xlsx``) and describe its data.

        ``root_level`` names the table with one row per submission (the repeats are named after
        their XLSForm ``name``).
        """
        path = Path(path)
        if not path.exists():
            raise SurvmigError(
                "form file not found", file=path, hint="give the compiled XLSForm (.xlsx)"
            )
        if not zipfile.is_zipfile(path):
            raise SurvmigError(
                "not an .xlsx workbook (the file is not a zip archive)",
                file=path,
                hint="give the compiled XLSForm; an .xls or .xml form must be saved as .xlsx first",
            )
        from pyxform.errors import PyXFormError
        from pyxform.xls2json import parse_file_to_json

        try:
            tree = parse_file_to_json(str(path), warnings=[])
        except PyXFormError as err:
            raise SurvmigError(f"pyxform cannot read the form: {err}", file=path) from None
        except Exception as err:  # openpyxl/pyxform raise plain exceptions on damaged workbooks
            raise SurvmigError(
                f"cannot read the workbook: {type(err).__name__}: {err}", file=path
            ) from None
        # stored absolute: a dataset outlives the directory it was imported from
        return cls._from_tree(tree, root_level=root_level, source=str(Path(path).resolve()))

    @classmethod
    def _from_tree(
        cls, tree: dict[str, Any], *, root_level: str, source: str | None
    ) -> FormMetadata:
        languages: list[str] = []
        choices: dict[str, list[Choice]] = {}
        for list_name, items in (tree.get("choices") or {}).items():
            choices[list_name] = [
                Choice(_code(item.get("name")), _labels(item.get("label"), languages))
                for item in items
            ]
        levels: list[Level] = [
            Level(root_level, (), None, "", {"default": tree.get("title") or root_level}, ())
        ]
        variables: list[Variable] = []
        walker = _Walker(levels, variables, choices, languages)
        walker.walk(
            tree.get("children", []),
            level=root_level,
            path=(),
            group_relevant=(),
            level_relevant=(),
        )
        default = tree.get("default_language")
        if default in (None, "default") and "default" not in languages and languages:
            default = languages[0]
        meta = cls(
            title=str(tree.get("title") or tree.get("id_string") or "form"),
            form_id=str(tree.get("id_string") or tree.get("name") or "form"),
            version=str(tree["version"]) if tree.get("version") not in (None, "") else None,
            default_language=default,
            languages=languages or ["default"],
            levels=levels,
            variables=variables,
            choices=choices,
            source=source,
            silent=walker.silent,
            groups=walker.groups,
        )
        meta._check_names()
        return meta

    def _check_names(self) -> None:
        reserved = {c.lower() for c in (*KEY_COLUMNS, *PLATFORM_COLUMNS)}
        seen: dict[str, str] = {}
        for var in self.variables.values():
            if var.kind in ("question", "meta") and var.name.lower() in reserved:
                raise SurvmigError(
                    f"question name '{var.name}' clashes with a column survmig adds to every table",
                    file=self.source,
                    where=f"survey sheet: {var.name}",
                    hint="rename the question (reserved: "
                    + ", ".join(sorted([*KEY_COLUMNS, *PLATFORM_COLUMNS]))
                    + ")",
                )
            low = var.name.lower()
            if low in seen and seen[low] != var.name:
                raise SurvmigError(
                    f"names '{seen[low]}' and '{var.name}' differ only by case; SPSS and Stata cannot hold both",
                    file=self.source,
                    where=f"survey sheet: {var.name}",
                    hint="rename one of them",
                )
            seen[low] = var.name

    # ------------------------------------------------------------------ queries
    @property
    def root(self) -> str:
        return next(iter(self.levels))

    def level_names(self) -> list[str]:
        return list(self.levels)

    def children(self, level: str) -> list[str]:
        return [lv.name for lv in self.levels.values() if lv.parent == level]

    def ancestors(self, level: str) -> list[str]:
        """Ancestors of ``level``, nearest first."""
        out: list[str] = []
        parent = self.levels[level].parent
        while parent is not None:
            out.append(parent)
            parent = self.levels[parent].parent
        return out

    def variables_at(self, level: str, *, kinds: Iterable[str] | None = None) -> list[Variable]:
        wanted = set(kinds) if kinds is not None else None
        return [
            v
            for v in self.variables.values()
            if v.level == level and (wanted is None or v.kind in wanted)
        ]

    def data_variables(self, level: str) -> list[Variable]:
        """Columns of ``level`` in table order (questions with their option columns, then platform)."""
        return [v for v in self.variables.values() if v.level == level]

    def option_columns(self, name: str) -> dict[str, str]:
        """select_multiple ``name`` -> {choice code: 0/1 column name}."""
        return {
            v.option: v.name
            for v in self.variables.values()
            if v.parent == name and v.option is not None
        }

    def generated_counts(self) -> dict[str, str]:
        """Calculate name -> repeat, for the ``<repeat>_count`` calculates pyxform adds when a
        repeat_count is an expression (ODK Central exports them; KoboToolbox and SurveyCTO's
        own exports may not: the repeat's rows say the same thing)."""
        out = {}
        for lv in self.levels.values():
            name = f"{lv.name}_count"
            var = self.variables.get(name)
            if (
                var is not None
                and var.type == "calculate"
                and (lv.repeat_count or "").replace(" ", "") == "${" + name + "}"
            ):
                out[name] = lv.name
        return out

    def concept_variables(self, concept: str) -> list[Variable]:
        return [v for v in self.variables.values() if v.concept == concept]

    def is_string_coded(self, var: Variable) -> bool:
        """True when a select's codes are not all integers (kept as text codes)."""
        if not var.has_choices:
            return False
        return not all(_INT_RE.match(c.name) for c in self.choices.get(var.list_name or "", []))

    def language_key(self, lang: str | None) -> str:
        """Resolve ``en`` / ``English (en)`` / None to the form's language label."""
        if lang is None:
            return self.default_language or self.languages[0]
        if lang in self.languages:
            return lang
        wanted = LANGUAGES.get(lang, lang)
        if wanted in self.languages:
            return wanted
        for known in self.languages:
            if known.endswith(f"({lang})") or known.lower() == lang.lower():
                return known
        codes = [re.search(r"\(([^()]+)\)\s*$", known) for known in self.languages]
        available = ", ".join(
            f"{m.group(1)} ({known})" if m else known
            for m, known in zip(codes, self.languages, strict=True)
        )
        where = self.source if self.source and Path(self.source).is_absolute() else None
        read_from = "" if where or not self.source else f" (read from '{self.source}' at import)"
        raise SurvmigError(
            f"language '{lang}' is not in the form{read_from}",
            file=where,
            hint=f"available languages: {available}; give --lang one of these codes or names",
        )

    def text(self, labels: dict[str, str], lang: str | None) -> str:
        """The text in ``lang``, falling back to the default language, then to any language."""
        if not labels:
            return ""
        key = self.language_key(lang) if lang is not None else self.default_language
        for candidate in (key, self.default_language, "default"):
            if candidate and labels.get(candidate):
                return labels[candidate]
        return next((t for t in labels.values() if t), "")

    def label(self, var: Variable, lang: str | None = None) -> str:
        text = self.text(var.labels, lang)
        if var.kind == "option" and var.parent:
            parent = self.variables[var.parent]
            choice = self.choice(parent.list_name, var.option)
            opt = self.text(choice.labels, lang) if choice else var.option
            return f"{self.text(parent.labels, lang) or parent.name}: {opt}"
        return text

    def choice(self, list_name: str | None, code: str | None) -> Choice | None:
        for ch in self.choices.get(list_name or "", []):
            if ch.name == code:
                return ch
        return None

    def value_labels(self, var: Variable, lang: str | None = None) -> dict[str, str]:
        """Code -> label for a select (special codes included when the list has them)."""
        if not var.has_choices:
            return {}
        return {
            c.name: self.text(c.labels, lang) or c.name
            for c in self.choices.get(var.list_name or "", [])
        }

    def special_labels(self, lang: str | None = None) -> dict[int, str]:
        """Labels of the standard special codes (-8 don't know, -9 refused) in ``lang``."""
        code = _lang_code(self.language_key(lang) if lang else self.default_language)
        return {
            value: SPECIAL_TEXT.get(code, SPECIAL_TEXT["en"])[concept]
            for value, (concept, _) in SPECIAL_CODES.items()
        }

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "form_id": self.form_id,
            "version": self.version,
            "default_language": self.default_language,
            "languages": self.languages,
            "source": self.source,
            "levels": [dataclasses.asdict(lv) for lv in self.levels.values()],
            "variables": [dataclasses.asdict(v) for v in self.variables.values()],
            "choices": {k: [dataclasses.asdict(c) for c in v] for k, v in self.choices.items()},
            "silent": self.silent,
            "groups": self.groups,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FormMetadata:
        def level(d: dict[str, Any]) -> Level:
            return Level(**{**d, "path": tuple(d["path"]), "relevant": tuple(d["relevant"])})

        def variable(d: dict[str, Any]) -> Variable:
            return Variable(
                **{**d, "path": tuple(d["path"]), "group_relevant": tuple(d["group_relevant"])}
            )

        return cls(
            title=data["title"],
            form_id=data["form_id"],
            version=data.get("version"),
            default_language=data.get("default_language"),
            languages=list(data["languages"]),
            levels=[level(d) for d in data["levels"]],
            variables=[variable(d) for d in data["variables"]],
            choices={k: [Choice(**c) for c in v] for k, v in data["choices"].items()},
            source=data.get("source"),
            silent={k: list(v) for k, v in data.get("silent", {}).items()},
            groups={k: dict(v) for k, v in data.get("groups", {}).items()},
        )

    def __repr__(self) -> str:
        return (
            f"FormMetadata({self.form_id!r}, version={self.version!r}, levels={list(self.levels)}, "
            f"{len(self.variables)} variables)"
        )


#: Labels of the special codes and of option columns in the three standard languages.
SPECIAL_TEXT = {
    "en": {
        "dont_know": "Don't know",
        "refused": "Refused",
        "no": "Not selected",
        "yes": "Selected",
    },
    "fr": {"dont_know": "Ne sait pas", "refused": "Refus", "no": "Non coché", "yes": "Coché"},
    "ar": {"dont_know": "لا يعرف", "refused": "رفض", "no": "غير مختار", "yes": "مختار"},
}


def _lang_code(language: str | None) -> str:
    if not language:
        return "en"
    m = re.search(r"\(([A-Za-z-]+)\)\s*$", language)
    return m.group(1).lower() if m else language.lower()[:2]


def option_label_texts(meta: FormMetadata, lang: str | None) -> dict[int, str]:
    """0/1 labels of option columns in ``lang``."""
    code = _lang_code(meta.language_key(lang) if lang else meta.default_language)
    words = SPECIAL_TEXT.get(code, SPECIAL_TEXT["en"])
    return {0: words["no"], 1: words["yes"]}


def _code(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip() if value is not None else ""


def _labels(value: Any, languages: list[str]) -> dict[str, str]:
    if value is None or value == "":
        return {}
    if isinstance(value, dict):
        out = {str(k): str(v) for k, v in value.items() if v not in (None, "")}
    else:
        out = {"default": str(value)}
    for lang in out:
        if lang not in languages:
            languages.append(lang)
    return out


def option_column_name(question: str, code: str, index: int, taken: set[str]) -> str:
    """Name of the 0/1 column for option ``code`` of select_multiple ``question`` (≤ 32 characters).

    ``question_code`` with the code made name-safe (a leading ``-`` becomes ``m``: ``q_m8`` for -8);
    when that is too long or taken, ``question_<position>``.
    """
    safe = re.sub(r"[^A-Za-z0-9_]", "_", "m" + code[1:] if code.startswith("-") else code)
    name = f"{question}_{safe}"
    if len(name) <= 32 and name.lower() not in taken:
        return name
    suffix = f"_{index}"
    name = question[: 32 - len(suffix)] + suffix
    n = index
    while name.lower() in taken:
        n += 1000
        suffix = f"_{n}"
        name = question[: 32 - len(suffix)] + suffix
    return name


class _Walker:
    """Walks pyxform's JSON tree and records levels and variables in form order."""

    def __init__(
        self,
        levels: list[Level],
        variables: list[Variable],
        choices: dict[str, list[Choice]],
        languages: list[str],
    ) -> None:
        self.levels = levels
        self.variables = variables
        self.choices = choices
        self.languages = languages
        self.names: set[str] = set()
        self.silent: dict[str, list[str]] = {}
        self.groups: dict[str, dict[str, str]] = {}

    def walk(
        self,
        children: list[dict[str, Any]],
        *,
        level: str,
        path: tuple[str, ...],
        group_relevant: tuple[str, ...],
        level_relevant: tuple[str, ...],
    ) -> None:
        for node in children:
            ntype = node.get("type", "")
            name = str(node.get("name", ""))
            bind = node.get("bind") or {}
            relevant = bind.get("relevant") or None
            if ntype == "group":
                self.groups["/".join((*path, name))] = _labels(node.get("label"), self.languages)
                rel = (*group_relevant, relevant) if relevant else group_relevant
                self.walk(
                    node.get("children", []),
                    level=level,
                    path=(*path, name),
                    group_relevant=rel,
                    level_relevant=level_relevant,
                )
            elif ntype == "repeat":
                if name in {lv.name for lv in self.levels}:
                    raise SurvmigError(
                        f"two repeats (or the root and a repeat) are both named '{name}'"
                    )
                parent_level = next(lv for lv in self.levels if lv.name == level)
                own = (*group_relevant, relevant) if relevant else group_relevant
                count = (node.get("control") or {}).get("jr:count")
                key_segment = "/".join((*path[len(parent_level.path) :], name))
                self.levels.append(
                    Level(
                        name,
                        (*path, name),
                        level,
                        key_segment,
                        _labels(node.get("label"), self.languages),
                        own,
                        str(count) if count not in (None, "") else None,
                    )
                )
                self.walk(
                    node.get("children", []),
                    level=name,
                    path=(*path, name),
                    group_relevant=(),
                    level_relevant=own,
                )
            else:
                self._question(node, ntype, name, bind, level, path, group_relevant)

    def _question(
        self,
        node: dict[str, Any],
        ntype: str,
        name: str,
        bind: dict[str, Any],
        level: str,
        path: tuple[str, ...],
        group_relevant: tuple[str, ...],
    ) -> None:
        vtype = _TYPE_ALIASES.get(ntype, ntype)
        if vtype in NO_DATA_TYPES:
            self.silent.setdefault(level, []).append("/".join((*path, name)))
            return
        if not _NAME_OK.match(name):
            raise SurvmigError(f"question name '{name}' is not a valid XML name")
        if name in self.names:
            raise SurvmigError(f"question name '{name}' is used twice in the form")
        self.names.add(name)
        list_name = node.get("itemset") or node.get("list_name")
        if vtype in ("select_one", "select_multiple") and (
            list_name is None or list_name not in self.choices or "." in str(list_name)
        ):
            # select_one_from_file and friends: the codes live outside the form
            vtype = f"{vtype}_from_file"
            list_name = None
        kind = "meta" if (vtype in META_TYPES or (path and path[0] == "meta")) else "question"
        required = str(bind.get("required", "")).strip().lower() in ("yes", "true", "true()")
        self.variables.append(
            Variable(
                name=name,
                type=vtype,
                level=level,
                path=(*path, name),
                labels=_labels(node.get("label"), self.languages),
                hints=_labels(node.get("hint"), self.languages),
                list_name=str(list_name) if list_name else None,
                relevant=bind.get("relevant") or None,
                group_relevant=group_relevant,
                constraint=bind.get("constraint") or None,
                constraint_message=_labels(bind.get("jr:constraintMsg"), self.languages),
                required=required,
                calculation=bind.get("calculate") or node.get("calculation") or None,
                concept=_text_or_none(node.get("concept")),
                pii=str(node.get("pii", "")).strip().lower() in ("yes", "true", "1", "y"),
                module=_text_or_none(node.get("module")),
                kind=kind,
            )
        )
        if vtype == "select_multiple" and list_name:
            taken = self.names | {v.name.lower() for v in self.variables}
            for index, choice in enumerate(self.choices[str(list_name)], start=1):
                col = option_column_name(name, choice.name, index, taken)
                taken.add(col.lower())
                self.names.add(col)
                self.variables.append(
                    Variable(
                        name=col,
                        type="option",
                        level=level,
                        kind="option",
                        parent=name,
                        option=choice.name,
                        concept=None,
                        pii=False,
                    )
                )


def _text_or_none(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def iter_levels_top_down(meta: FormMetadata) -> Iterator[Level]:
    """Levels with every parent before its children (the order of :attr:`FormMetadata.levels`)."""
    yield from meta.levels.values()
