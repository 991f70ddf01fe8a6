"""The answer lists of a composed questionnaire: library lists, generated lists, the spec's additions.

Split from :mod:`survmig.questionnaire.compose` (which calls :func:`compose_choices`); every label
goes through the :class:`~survmig.translations.overlay.Translator` under the key ``list/LIST/CODE``.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from survmig.errors import SurvmigError
from survmig.modules.choices import GENERATED_LISTS, generated_list
from survmig.modules.library import SPECIAL_CODE_OF, Library, suggest
from survmig.modules.model import Choice, ChoiceList, Item, Module
from survmig.questionnaire.spec import ListOptions, ModuleEntry, Spec
from survmig.translations.overlay import Translator

if TYPE_CHECKING:
    from survmig.questionnaire.compose import _Filler


def _generated(
    name: str, options: ListOptions, languages: list[str], spec: Spec, translator: Translator
) -> ChoiceList:
    base = generated_list(name, tuple(languages))
    by_code = {c.name: c for c in base.options}
    first = [by_code[code] for code in options.first]
    keep = set(options.only) if options.only is not None else set(by_code)
    rest = [c for c in base.options if c.name in keep and c.name not in options.first]
    kind = "country" if name == "countries" else "currency"
    chosen = [
        dataclasses.replace(
            c,
            label=translator.text(
                f"list/{name}/{c.name}",
                f"{kind} (choice; pycountry)",
                c.label,
                file=None,
                line=None,
                base_origin="generated",
            )
            or {},
        )
        for c in first + rest
    ]
    return dataclasses.replace(
        base, options=tuple(chosen), specials=options.specials, file=spec.file
    )


def compose_choices(
    spec: Spec,
    library: Library,
    modules: list[tuple[ModuleEntry, Module]],
    body: list[Item],
    fillers: dict[str, _Filler],
    special_labels: dict[str, dict[str, str]],
    translator: Translator,
) -> dict[str, ChoiceList]:
    """The answer lists the questions use, adapted by the spec (order, restriction, added codes),
    labels through the translation overlay, special codes appended."""
    used: dict[str, Module] = {}
    for item in (i for top in body for i in top.walk()):
        if item.list_name and item.list_name not in used:
            used[item.list_name] = next(m for _, m in modules if m.id == item.module)
    currencies = dataclasses.replace(
        spec.currencies,
        first=spec.currencies.first or ((spec.currency,) if spec.currency else ()),
    )
    lists: dict[str, ChoiceList] = {}
    for name, module in used.items():
        if name in GENERATED_LISTS:
            options = spec.countries if name == "countries" else currencies
            lists[name] = _generated(name, options, spec.languages, spec, translator)
            continue
        found = library.choice_list(name, module)
        assert found is not None  # the module loader checked it
        filler = fillers[found.origin] if found.origin in fillers else fillers[module.id]
        options = [
            dataclasses.replace(
                c,
                label=filler.text(
                    translator.text(
                        f"list/{name}/{c.name}",
                        "choice label",
                        c.label,
                        file=found.file,
                        line=c.line or found.line,
                    ),
                    None,
                    f"choice {c.name}",
                ),
            )
            for c in found.options
        ]
        lists[name] = dataclasses.replace(found, options=tuple(options))
    for entry, _module in modules:
        raw = entry.raw.get("add_choices", {})
        for name, extra in entry.add_choices.items():
            line = raw.line_of(name)
            target = lists.get(name)
            if target is None or name in GENERATED_LISTS:
                raise SurvmigError(
                    f"add_choices: list {name!r} is not used by the questionnaire"
                    if target is None
                    else f"add_choices: {name!r} is generated; use the spec's '{name}:' options",
                    file=spec.file,
                    line=line,
                    hint=suggest(name, lists) if target is None else None,
                )
            codes = {c.name for c in target.options}
            added = []
            for index, option in enumerate(extra):
                code = str(option["name"])
                if code in codes or code in {str(v) for v in SPECIAL_CODE_OF.values()}:
                    raise SurvmigError(
                        f"add_choices: code {code!r} already exists in list {name!r}",
                        file=spec.file,
                        line=raw[name].line_of(index),
                    )
                if not code or any(ch.isspace() for ch in code):
                    raise SurvmigError(
                        f"add_choices: choice name {code!r} is empty or has spaces",
                        file=spec.file,
                        line=raw[name].line_of(index),
                    )
                codes.add(code)
                option_line = raw[name].line_of(index)
                label = translator.text(
                    f"list/{name}/{code}",
                    "choice label (add_choices)",
                    dict(option["label"]),
                    file=spec.file,
                    line=option_line,
                    base_origin="spec",
                )
                added.append(Choice(code, label or {}, option_line))
            lists[name] = dataclasses.replace(target, options=(*target.options, *added))
    extended = {name for entry, _ in modules for name in entry.add_choices}
    for name, cl in lists.items():
        if cl.supplied_by_spec and name not in extended:
            raise SurvmigError(
                f"list {name!r} of module {cl.origin} is supplied by the country: "
                "the spec adds none of its options",
                file=spec.file,
                hint=f"add the country's codes under 'add_choices: {name}:' of module {cl.origin}",
            )
    for name, cl in lists.items():
        specials = tuple(
            Choice(str(SPECIAL_CODE_OF[s]), special_labels[str(SPECIAL_CODE_OF[s])])
            for s in cl.specials
        )
        lists[name] = dataclasses.replace(cl, options=(*cl.options, *specials))
    return dict(sorted(lists.items(), key=lambda kv: list(used).index(kv[0])))
