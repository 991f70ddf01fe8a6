"""YAML with line numbers, so every scenario error can name the file and line.

Mappings load as :class:`LineDict` and lists as :class:`LineList`; both remember the line of each
entry. ``yes``/``no``/``on``/``off`` stay strings (they are common choice names in XLSForms); only
``true``/``false`` are booleans. Duplicate keys are an error rather than a silent overwrite.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from survmig.errors import SurvmigError


class LineDict(dict):
    """A mapping that knows its own line and the line of each key."""

    line: int = 0
    key_lines: dict[Any, int]

    def line_of(self, key: Any) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list):
    """A sequence that knows its own line and the line of each item."""

    line: int = 0
    item_lines: list[int]

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if index < len(self.item_lines) else self.line


class _Loader(yaml.SafeLoader):
    pass


_BOOL = "tag:yaml.org,2002:bool"
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != _BOOL]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _mapping(loader: _Loader, node: yaml.MappingNode):
    data = LineDict()
    data.line = node.start_mark.line + 1
    data.key_lines = {}
    yield data
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in data:
            raise SurvmigError(
                f"duplicate key '{key}'",
                line=key_node.start_mark.line + 1,
                hint="each key may appear once in a mapping",
            )
        data[key] = loader.construct_object(value_node, deep=True)
        data.key_lines[key] = key_node.start_mark.line + 1


def _sequence(loader: _Loader, node: yaml.SequenceNode):
    data = LineList()
    data.line = node.start_mark.line + 1
    data.item_lines = [item.start_mark.line + 1 for item in node.value]
    yield data
    data.extend(loader.construct_object(item, deep=True) for item in node.value)


_Loader.add_constructor("tag:yaml.org,2002:map", _mapping)
_Loader.add_constructor("tag:yaml.org,2002:seq", _sequence)


def load_yaml(path: str | Path) -> Any:
    """Load a YAML file; syntax errors become a SurvmigError naming the file and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as err:
        raise SurvmigError("file not found", file=path) from err
    except UnicodeDecodeError as err:
        raise SurvmigError("not UTF-8 text", file=path, hint="save the file as UTF-8") from err
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except SurvmigError as err:
        raise SurvmigError(err.message, file=path, line=err.line, hint=err.hint) from err
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        problem = getattr(err, "problem", None) or str(err)
        hint = "check the indentation and the ':' after each key"
        if "expected ',' or" in problem:
            hint = "inside { } or [ ], quote addresses with brackets: 'member[2]/age' (or write one per line)"
        raise SurvmigError(
            f"invalid YAML: {problem}",
            file=path,
            line=mark.line + 1 if mark else None,
            hint=hint,
        ) from err
