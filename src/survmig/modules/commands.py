"""``survmig modules list`` and ``survmig modules show ID``."""

from __future__ import annotations

import click

from survmig.modules.library import load_library
from survmig.modules.model import Item, Module


def _en(text: dict[str, str] | None) -> str:
    if not text:
        return ""
    return text.get("en") or next(iter(text.values()))


@click.group("modules")
def modules() -> None:
    """List and show the question modules of the library.

    \b
    Example:
      survmig modules list
      survmig modules show household_roster
    """


@modules.command("list")
@click.option(
    "--library",
    "root",
    type=click.Path(file_okay=False, exists=True),
    default=None,
    help="A module folder other than the installed library.",
)
def list_modules(root: str | None) -> None:
    """List modules: id, title, level, sources, number of questions, languages.

    \b
    Example:
      survmig modules list
    """
    from rich.console import Console
    from rich.table import Table

    library = load_library(root)
    table = Table(title=f"survmig modules ({library.root})")
    for column in ("id", "title", "level", "source", "questions", "languages"):
        table.add_column(column)
    for module in sorted(library.modules.values(), key=lambda m: m.id):
        table.add_row(
            module.id,
            _en(module.title),
            module.level,
            "; ".join(s.short for s in module.sources),
            str(len([q for q in module.questions() if q.base_type != "note"])),
            ", ".join(module.languages()),
        )
    Console(width=160).print(table)


def _describe_item(item: Item, depth: int, module: Module) -> list[str]:
    pad = "  " * depth
    if item.kind != "question":
        head = f"{pad}[{item.kind} {item.name}"
        head += f", level {item.level}]" if item.kind == "repeat" else "]"
        if item.relevant:
            head += f"  if {item.relevant}"
        if item.repeat_count:
            head += f"  rows: {item.repeat_count}"
        lines = [head]
        if item.universe:
            lines.append(f"{pad}  universe: {_en(item.universe)}")
        for child in item.children:
            lines += _describe_item(child, depth + 1, module)
        return lines
    flags = []
    if item.concept:
        flags.append(f"concept={item.concept}")
    if item.pii:
        flags.append("PII")
    if item.specials:
        flags.append("specials=" + "/".join(item.specials))
    text = f"{pad}{item.name:<24} {item.type:<32} {' '.join(flags)}"
    lines = [text.rstrip()]
    label = _en(item.label) or (f"= {item.calculation}" if item.calculation else "")
    if label:
        lines.append(f"{pad}  {label}")
    if item.relevant:
        lines.append(f"{pad}  asked if: {item.relevant}")
    if item.universe:
        lines.append(f"{pad}  universe: {_en(item.universe)}")
    return lines


@modules.command("show")
@click.argument("module_id")
@click.option(
    "--library",
    "root",
    type=click.Path(file_okay=False, exists=True),
    default=None,
    help="A module folder other than the installed library.",
)
def show_module(module_id: str, root: str | None) -> None:
    """Show one module: universe, parameters, questions with concepts and filters.

    \b
    Example:
      survmig modules show household_roster
    """
    library = load_library(root)
    module = library.module(module_id)
    out = [
        f"{module.id} — {_en(module.title)} (version {module.version})",
        f"file:      {module.file}",
        f"level:     {module.level}",
        f"universe:  {_en(module.universe)}",
        f"languages: {', '.join(module.languages())}",
        "sources:",
        *(f"  - {s.short}: {s.citation}" for s in module.sources),
    ]
    if module.description:
        out.insert(1, _en(module.description))
    if module.depends_on:
        out.append(f"depends on: {', '.join(module.depends_on)}")
    if module.expects:
        out.append(f"expects from the host survey: {', '.join(module.expects)}")
    if module.parameters:
        out.append("parameters:")
        for p in module.parameters.values():
            bounds = ""
            if p.values:
                bounds = f" (one of {', '.join(map(str, p.values))})"
            elif p.min is not None or p.max is not None:
                bounds = (
                    f" ({p.min:g}..{p.max:g})" if p.min is not None and p.max is not None else ""
                )
            out.append(f"  {p.name} = {p.default!r}{bounds}: {p.description}")
    out.append("questions:")
    for item in module.items:
        out += _describe_item(item, 1, module)
    concepts = sorted({q.concept for q in module.questions() if q.concept})
    out.append(f"concepts ({len(concepts)}):")
    for cid in concepts:
        concept = library.concepts.concepts[cid]
        out.append(f"  {cid} [{concept.type}; {', '.join(concept.levels)}]: {concept.definition}")
    click.echo("\n".join(out))
