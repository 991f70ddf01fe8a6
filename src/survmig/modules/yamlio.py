"""Read YAML so that every value remembers its line, and errors can name ``file:line``.

PyYAML forgets where values came from; module and spec errors must point at the line to fix. This
loader builds :class:`LDict` / :class:`LList` (plain ``dict`` / ``list`` subclasses, so JSON Schema and
ordinary code accept them) that carry the line of each key and item. It is also stricter than YAML 1.1
where that bites survey authors: ``yes``/``no``/``on``/``off`` stay strings (only ``true``/``false`` are
booleans — otherwise ``label: {en: No}`` would silently become ``False``) and a duplicated key is an
error instead of the last one winning.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from survmig.errors import SurvmigError
from survmig.fileio import note_input


class LDict(dict):
    """A mapping that knows its own line and the line of each value."""

    line: int = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lines: dict[Any, int] = {}

    def line_of(self, key: Any) -> int:
        """Line of ``key``'s value, or of the mapping itself when the key is absent."""
        return self.lines.get(key, self.line)


class LList(list):
    """A sequence that knows its own line and the line of each item."""

    line: int = 0

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.lines: list[int] = []

    def line_of(self, index: int) -> int:
        return self.lines[index] if 0 <= index < len(self.lines) else self.line


_BASE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: ~10x faster


class _Loader(_BASE):  # type: ignore[misc, valid-type]
    """SafeLoader with line-aware containers and YAML-1.2-like booleans."""


# Booleans: only true/false (any case). Remove YAML 1.1's yes/no/on/off.
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LDict:
    loader.flatten_mapping(node)
    out = LDict()
    out.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str | int | float | bool) or key is None:
            raise SurvmigError(
                "a mapping key must be a plain scalar",
                file=loader.name,
                line=key_node.start_mark.line + 1,
            )
        if key in out:
            raise SurvmigError(
                f"duplicate key {key!r} (first given on line {out.lines[key]})",
                file=loader.name,
                line=key_node.start_mark.line + 1,
                hint="remove or rename one of them",
            )
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[key] = value_node.start_mark.line + 1
    return out


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> LList:
    out = LList()
    out.line = node.start_mark.line + 1
    for child in node.value:
        out.append(loader.construct_object(child, deep=True))
        out.lines.append(child.start_mark.line + 1)
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


#: Most values a YAML file may expand to through anchors and aliases (``&a`` / ``*a``). A few
#: hundred bytes of nested aliases ("billion laughs") otherwise expand to billions of values.
MAX_EXPANDED_VALUES = 1_000_000


def check_expansion(node: yaml.Node | None, file: str | Path | None) -> None:
    """Refuse a document whose aliases expand past :data:`MAX_EXPANDED_VALUES` values.

    Sizes are counted once per node (aliases share nodes), so the check itself costs no more than
    the file's own length.
    """
    sizes: dict[int, int] = {}

    def size(n: yaml.Node) -> int:
        known = sizes.get(id(n))
        if known is not None:
            return known
        sizes[id(n)] = 1  # a recursive alias counts once
        if isinstance(n, yaml.MappingNode):
            total = 1 + sum(size(k) + size(v) for k, v in n.value)
        elif isinstance(n, yaml.SequenceNode):
            total = 1 + sum(size(v) for v in n.value)
        else:
            total = 1
        sizes[id(n)] = total
        if total > MAX_EXPANDED_VALUES:
            raise SurvmigError(
                f"the YAML aliases (*name) expand to more than {MAX_EXPANDED_VALUES:,} values",
                file=file,
                line=n.start_mark.line + 1,
                hint="write the values out instead of nesting aliases (this looks like an alias bomb)",
            )
        return total

    if node is not None:
        size(node)


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def parse_yaml(text: str, file: str | Path | None = None) -> Any:
    """Parse YAML text into line-aware containers: duplicate keys, alias bombs and syntax errors
    are one-line errors naming ``file:line``. The one YAML parser behind every survmig file."""
    loader = _Loader(text)
    loader.name = str(file) if file is not None else "<text>"
    try:
        node = loader.get_single_node()
        check_expansion(node, file)
        return loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        problem = _one_line(" ".join(p for p in (err.context, err.problem) if p))
        raise SurvmigError(
            f"YAML syntax error: {problem}",
            file=file,
            line=mark.line + 1 if mark else None,
            hint="check indentation and quoting on that line",
        ) from None
    except yaml.YAMLError as err:
        raise SurvmigError(f"YAML error: {_one_line(err)}", file=file) from None
    except RecursionError:
        raise SurvmigError("the YAML is nested too deeply", file=file) from None
    finally:
        loader.dispose()


def load_yaml(path: str | Path) -> Any:
    """Parse one YAML file into line-aware containers; syntax errors name the file and line."""
    path = Path(path)
    note_input(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SurvmigError("file not found", file=path) from None
    except UnicodeDecodeError as err:
        raise SurvmigError(
            f"not UTF-8 text ({err.reason} at byte {err.start})", file=path, hint="save as UTF-8"
        ) from None
    except OSError as err:
        raise SurvmigError(f"cannot read: {err.strerror}", file=path) from None
    return parse_yaml(text, path)


def line_at(document: Any, path: list[Any] | tuple[Any, ...]) -> int | None:
    """The line of the value at ``path`` (keys and indexes) in a loaded document, as deep as known."""
    line = getattr(document, "line", None)
    node = document
    for step in path:
        if (
            isinstance(node, LDict)
            and step in node
            or isinstance(node, LList)
            and isinstance(step, int)
            and step < len(node)
        ):
            line = node.line_of(step)
            node = node[step]
        else:
            break
    return line
