"""An XLSForm as a reviewer or trainer reads it: numbered questions, sections, filters in words.

The form is read with pyxform (so any XLSForm pyxform accepts works) into a tree of
:class:`Item` objects in one language: each question gets a number, each ``relevant`` and
``constraint`` becomes a sentence that names the referenced questions by number and label, and
answer codes are listed with their labels.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

from survmig.errors import SurvmigError
from survmig.render.expressions import Writer
from survmig.render.phrases import RTL, phrases_for

#: survey types that are recorded by the device, not asked
METADATA = {
    "start",
    "end",
    "today",
    "deviceid",
    "subscriberid",
    "simserial",
    "phonenumber",
    "username",
    "email",
    "audit",
    "start-geopoint",
    "background-audio",
    "hidden",
    "xml-external",
    "csv-external",
}
_TYPE_KEYS = {
    "integer": "type_integer",
    "decimal": "type_decimal",
    "text": "type_text",
    "date": "type_date",
    "time": "type_time",
    "dateTime": "type_dateTime",
    "geopoint": "type_geopoint",
    "geotrace": "type_geotrace",
    "geoshape": "type_geoshape",
    "image": "type_image",
    "photo": "type_image",
    "audio": "type_audio",
    "video": "type_video",
    "file": "type_file",
    "barcode": "type_barcode",
    "acknowledge": "type_acknowledge",
    "trigger": "type_acknowledge",
}
_REF = re.compile(r"\$\{([^}]+)\}")
_LANG_CODE = re.compile(r"\(([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]+)?)\)\s*$")
_SHORT = 70
#: a code list longer than this prints once, in the annex, and questions say "code from list A"
LONG_LIST = 30


@dataclasses.dataclass
class Choice:
    code: str
    label: Markup


@dataclasses.dataclass
class CodeList:
    """A long code list printed once in the annex."""

    letter: str
    title: str
    choices: list[Choice]
    questions: list[str]  #: the question numbers that use it ("Q12")


@dataclasses.dataclass
class Item:
    """One line of the printed questionnaire: a section, a question, a note or a calculation."""

    kind: str  #: "section", "question", "note" or "calculate"
    name: str
    label: Markup = Markup("")
    number: int | None = None
    repeat: Markup | None = None  #: sections that repeat: "For each …, repeated as many times as …"
    hint: Markup | None = None
    guidance: Markup | None = None
    filter: Markup | None = None
    required: bool = False
    required_message: Markup | None = None
    constraint: Markup | None = None
    constraint_message: Markup | None = None
    answer: str | None = None  #: how the answer is written down ("Whole number")
    choices: list[Choice] = dataclasses.field(default_factory=list)
    multiple: str | None = None  #: "One answer" / "All that apply" / "Rank in order"
    choice_note: Markup | None = None
    default: str | None = None
    readonly: bool = False
    calculation: Markup | None = None
    children: list[Item] = dataclasses.field(default_factory=list)
    depth: int = 0


@dataclasses.dataclass
class Questionnaire:
    """Everything the template needs, in one language."""

    title: str
    title_code: str  #: BCP 47 code of the title's language (settings hold one form_title) or ""
    version: str | None
    form_id: str | None
    language: str  #: the form's language name, e.g. "Français (fr)" ("" for a one-language form)
    code: str  #: BCP 47 code for the html lang attribute
    direction: str  #: "rtl" or "ltr"
    phrases: dict[str, str]
    items: list[Item]
    questions: int
    source: str
    languages: list[str]
    annex: list[CodeList] = dataclasses.field(default_factory=list)


def _walk(children: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for element in children:
        yield element
        yield from _walk(element.get("children", []))


def _is_shown_group(element: dict[str, Any]) -> bool:
    return element.get("type") in ("group", "repeat") and not (element.get("control") or {}).get(
        "bodyless"
    )


def _is_question(element: dict[str, Any]) -> bool:
    kind = element.get("type", "")
    return kind not in METADATA and kind not in ("group", "repeat", "note", "calculate")


def form_languages(survey: dict[str, Any]) -> list[str]:
    """The language names used in the form's labels, hints and choices, in first-seen order."""
    found: dict[str, None] = {}

    def collect(value: Any) -> None:
        if isinstance(value, dict):
            for key in value:
                found.setdefault(key, None)

    for element in _walk(survey.get("children", [])):
        for key in ("label", "hint", "guidance_hint"):
            collect(element.get(key))
        for choice in element.get("choices", []) or []:
            collect(choice.get("label"))
    return list(found)


def pick_language(survey: dict[str, Any], lang: str | None, source: Path) -> str:
    """The form language a code (``fr``) or name (``Français (fr)``) refers to."""
    languages = form_languages(survey)
    if not languages:
        return ""
    if lang is None:
        default = survey.get("default_language")
        return default if default in languages else languages[0]
    for name in languages:
        match = _LANG_CODE.search(name)
        if name == lang or name.lower() == lang.lower() or (match and match.group(1) == lang):
            return name
    raise SurvmigError(
        f"the form has no language '{lang}'",
        file=source,
        hint="languages in the form: " + ", ".join(languages),
    )


def read_form(form: str | Path) -> dict[str, Any]:
    """The XLSForm as pyxform's JSON dictionary (any form pyxform accepts)."""
    from pyxform.errors import PyXFormError
    from pyxform.xls2json import parse_file_to_json

    form = Path(form)
    if not form.is_file():
        raise SurvmigError("form not found", file=form, hint="give the path of an XLSForm (.xlsx)")
    try:
        return parse_file_to_json(str(form), warnings=[])
    except PyXFormError as err:
        raise SurvmigError(f"pyxform cannot read the form: {err}", file=form) from err
    except Exception as err:  # an unreadable workbook
        raise SurvmigError(
            f"cannot read the form ({type(err).__name__}: {err})",
            file=form,
            hint="give an XLSForm workbook (.xlsx)",
        ) from err


class _Builder:
    def __init__(self, survey: dict[str, Any], language: str, phrases: dict[str, str]) -> None:
        self.survey = survey
        self.language = language
        self.phrases = phrases
        self.numbers: dict[str, int] = {}  # name -> number, for references
        self.element_numbers: dict[int, int] = {}  # id(element) -> number
        self.labels: dict[str, str] = {}
        self.choices: dict[str, dict[str, str]] = {}
        self.annex: dict[str, CodeList] = {}  # list name -> its annex entry
        number = 0
        labels: dict[str, str] = {}
        for element in _walk(survey.get("children", [])):
            name = element.get("name", "")
            if _is_question(element):
                number += 1
                self.numbers.setdefault(name, number)
                self.element_numbers[id(element)] = number
            labels.setdefault(name, self.plain(element.get("label")))
            options = self.options(element)
            if options:
                self.choices.setdefault(
                    name, {c["name"]: self.plain(c.get("label")) for c in options}
                )
        # labels quoted in filters show their own ${x} as question numbers, like labels do
        self.labels = {
            name: _REF.sub(lambda m: f"[{self.short_name(m.group(1))}]", label)
            for name, label in labels.items()
        }
        self.writer = Writer(phrases, self.question_ref, self.choice_label, self.number_of)

    # -- text -----------------------------------------------------------------------------------

    def plain(self, value: Any) -> str:
        """Text in the chosen language; a missing translation falls back to another language."""
        return self.translated(value)[0]

    def translated(self, value: Any) -> tuple[str, str | None]:
        """(text, the language it fell back to, or None when the chosen language has it)."""
        if value is None:
            return "", None
        if isinstance(value, dict):
            text = value.get(self.language)
            if text is not None and str(text).strip():
                return str(text), None
            for language, text in value.items():
                if text is not None and str(text).strip():
                    return str(text), language
            return "", None
        return str(value), None

    def text(self, value: Any) -> Markup | None:
        """Text with ``${x}`` references shown as question numbers.

        Text missing in the chosen language is shown in the language it exists in, marked, so a
        reviewer sees the gap instead of a silent blank.
        """
        text, fallback = self.translated(value)
        if not text.strip():
            return None
        out = Markup("")
        position = 0
        for match in _REF.finditer(text):
            out += escape(text[position : match.start()])
            out += Markup('<span class="pipe">[{}]</span>').format(self.short_name(match.group(1)))
            position = match.end()
        out += escape(text[position:])
        out = Markup(out.replace("\n", Markup("<br>")))
        if fallback is None:
            return out
        match = _LANG_CODE.search(fallback)
        return Markup('<bdi class="untranslated" lang="{}" title="{}">{}</bdi>').format(
            match.group(1) if match else "", fallback, out
        )

    def quoted(self, text: Markup | None) -> Markup | None:
        return None if text is None else Markup(escape(self.phrases["quote"])).format(text)

    def short_name(self, name: str) -> str:
        number = self.numbers.get(name.strip())
        return self.phrases["q"].format(n=number) if number else name.strip()

    def number_of(self, name: str) -> str | None:
        number = self.numbers.get(name.strip())
        return self.phrases["q"].format(n=number) if number else None

    def question_ref(self, name: str) -> Markup | None:
        number = self.numbers.get(name)
        label = self.labels.get(name, "")
        if len(label) > _SHORT:
            label = label[: _SHORT - 1].rstrip() + "…"
        if number is None:
            return (
                Markup('<code class="name">{}</code>').format(name) if name in self.labels else None
            )
        quoted = self.phrases["quote"].format(label) if label else ""
        return Markup('<span class="qref">{}</span> {}').format(
            self.phrases["q"].format(n=number), quoted
        )

    def choice_label(self, name: str, code: str) -> str | None:
        return self.choices.get(name, {}).get(code)

    def options(self, element: dict[str, Any]) -> list[dict[str, Any]]:
        options = element.get("choices")
        if options is None and element.get("itemset"):
            options = (self.survey.get("choices") or {}).get(element.get("list_name") or "")
        return options or []

    def sentence(
        self, key: str, expression: str | None, current: str | None = None
    ) -> Markup | None:
        if not expression or not str(expression).strip():
            return None
        return Markup(escape(self.phrases[key])).format(
            c=self.writer.sentence(str(expression), current)
        )

    # -- items ----------------------------------------------------------------------------------

    def items(self, children: list[dict[str, Any]], depth: int = 0) -> list[Item]:
        out = []
        for element in children:
            kind = element.get("type", "")
            if kind in ("group", "repeat"):
                if _is_shown_group(element):
                    out.append(self.section(element, depth))
                continue
            if kind in METADATA:
                continue
            out.append(self.item(element, depth))
        return out

    def section(self, element: dict[str, Any], depth: int) -> Item:
        bind = element.get("bind") or {}
        item = Item(
            kind="section",
            name=element.get("name", ""),
            label=self.text(element.get("label")) or Markup(escape(element.get("name", ""))),
            filter=self.sentence("section_if", bind.get("relevant")),
            depth=depth,
            children=self.items(element.get("children", []), depth + 1),
        )
        if element.get("type") == "repeat":
            count = (element.get("control") or {}).get("jr:count")
            how = (
                Markup(escape(self.phrases["repeat_count"])).format(
                    q=self.writer.sentence(str(count))
                )
                if count
                else Markup(escape(self.phrases["repeat_open"]))
            )
            label = self.plain(element.get("label")) or element.get("name", "")
            item.repeat = Markup(escape(self.phrases["repeat"])).format(label=label, how=how)
        return item

    def long_list(self, element: dict[str, Any], item: Item) -> Markup | None:
        """Move a long code list to the annex (once per list) and say where to find it."""
        if len(item.choices) <= LONG_LIST:
            return None
        key = str(element.get("list_name") or element.get("itemset") or item.name)
        entry = self.annex.get(key)
        if entry is None:
            entry = CodeList(_letter(len(self.annex)), _list_title(key), item.choices, [])
            self.annex[key] = entry
        entry.questions.append(self.phrases["q"].format(n=item.number))
        n = len(entry.choices)
        item.choices = []
        return Markup(escape(self.phrases["code_from_list"])).format(
            letter=Markup('<a href="#list-{0}">{0}</a>').format(entry.letter),
            title=entry.title,
            n=n,
        )

    def item(self, element: dict[str, Any], depth: int) -> Item:
        kind = element.get("type", "")
        bind = element.get("bind") or {}
        name = element.get("name", "")
        if kind == "calculate":
            return Item(
                kind="calculate",
                name=name,
                calculation=self.writer.code(str(bind.get("calculate", ""))),
                filter=self.sentence("ask_if", bind.get("relevant")),
                depth=depth,
            )
        item = Item(
            kind="note" if kind == "note" else "question",
            name=name,
            number=self.element_numbers.get(id(element)),
            label=self.text(element.get("label")) or Markup(escape(name)),
            hint=self.text(element.get("hint")),
            guidance=self.text(element.get("guidance_hint")),
            filter=self.sentence("ask_if", bind.get("relevant")),
            depth=depth,
        )
        if kind == "note":
            return item
        required = str(bind.get("required", "")).strip().lower()
        item.required = required not in ("", "no", "false", "false()")
        item.required_message = self.quoted(self.text(bind.get("jr:requiredMsg")))
        item.constraint = self.sentence("accepted", bind.get("constraint"), name)
        message = self.text(bind.get("jr:constraintMsg"))
        item.constraint_message = self.quoted(
            message if message and message.strip() != "-" else None
        )
        item.readonly = str(bind.get("readonly", "")).strip() in ("true()", "yes", "true")
        default = element.get("default")
        item.default = None if default in (None, "") else str(default)
        options = self.options(element)
        if kind.startswith("select") or kind.startswith("rank") or options:
            item.multiple = self.phrases[
                "rank"
                if kind.startswith("rank")
                else ("many" if "all that apply" in kind or "multiple" in kind else "one")
            ]
            item.choices = [
                Choice(str(c.get("name", "")), self.text(c.get("label")) or Markup(""))
                for c in options
            ]
            long = self.long_list(element, item)
            if element.get("choice_filter"):
                item.choice_note = Markup("{} {}").format(
                    self.phrases["choices_filtered"], self.writer.code(element["choice_filter"])
                )
            elif not options and element.get("itemset"):
                item.choice_note = Markup(escape(self.phrases["choices_from_file"])).format(
                    file=element["itemset"]
                )
            if long is not None:
                item.choice_note = Markup(" ").join(n for n in (long, item.choice_note) if n)
        elif kind == "range":
            params = element.get("parameters") or {}
            item.answer = self.phrases["type_range"].format(
                start=params.get("start", "1"), end=params.get("end", "10")
            )
        else:
            key = _TYPE_KEYS.get(kind)
            item.answer = self.phrases[key] if key else kind
        return item


def _letter(i: int) -> str:
    """A, B, … Z, AA, AB …"""
    out = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        out = chr(65 + r) + out
    return out


def _list_title(name: str) -> str:
    return name.replace("_", " ").strip().capitalize()


def build_questionnaire(form: str | Path, lang: str | None = None) -> Questionnaire:
    """Read an XLSForm and lay it out in one language (``en``, ``fr``, ``ar`` or a language name)."""
    form = Path(form)
    survey = read_form(form)
    language = pick_language(survey, lang, form)
    match = _LANG_CODE.search(language)
    code = match.group(1) if match else (lang or "en")
    phrases = phrases_for(code.split("-")[0].split("_")[0].lower())
    builder = _Builder(survey, language, phrases)
    items = builder.items(survey.get("children", []))
    title_match = _LANG_CODE.search(str(survey.get("default_language") or ""))
    return Questionnaire(
        title=str(survey.get("title") or survey.get("name") or form.stem),
        title_code=title_match.group(1) if title_match else "",
        version=str(survey["version"]) if survey.get("version") else None,
        form_id=survey.get("id_string"),
        language=language,
        code=code,
        direction="rtl" if code.split("-")[0].lower() in RTL else "ltr",
        phrases=phrases,
        items=items,
        questions=len(builder.numbers),
        source=form.name,
        languages=form_languages(survey),
        annex=list(builder.annex.values()),
    )
