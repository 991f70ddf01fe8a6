"""Turn any XLSForm into XForm XML and read the XForm's structure (names, repeats, controls).

Scenario files address questions by name (``age``) and repeat instance (``member[2]/age``); the
structure read here turns those addresses into the engine's node references (``/data/hh/member[2]/age``)
and lets survmig reject a wrong name with the scenario file's line before the engine starts.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from pathlib import Path

from lxml import etree

from survmig.errors import SurvmigError

XF = "http://www.w3.org/2002/xforms"
JR = "http://openrosa.org/javarosa"
H = "http://www.w3.org/1999/xhtml"

#: body elements a person answers, by local name
CONTROLS = {
    "input",
    "select1",
    "select",
    "upload",
    "trigger",
    "range",
    "rank",
    "textarea",
    "secret",
}

_SEGMENT = re.compile(r"^([A-Za-z_][\w.\-]*)(?:\[(\d+)\])?$")


@dataclasses.dataclass(frozen=True)
class FormNode:
    """One element of the form's primary instance."""

    path: tuple[str, ...]  #: element names below the root, e.g. ("hh", "member", "age")
    kind: str  #: "group", "repeat" or "leaf"
    control: str | None  #: body control (input, select1, select, …) or None for model-only nodes
    datatype: str  #: bind type (string, int, decimal, date, …)
    calculated: bool
    readonly: bool
    counted: bool  #: a repeat whose number of instances comes from repeat_count (jr:count)

    @property
    def name(self) -> str:
        return self.path[-1]


@dataclasses.dataclass(frozen=True)
class Target:
    """A resolved scenario address: the engine reference and the node it points at."""

    address: str
    ref: str
    node: FormNode
    indexed: bool  #: for a repeat: the address names one instance (``member[2]``), not the range


@dataclasses.dataclass
class XFormModel:
    """The structure of an XForm: what a scenario may address."""

    xml: str
    root: str
    nodes: dict[tuple[str, ...], FormNode]
    languages: list[str]

    def __post_init__(self) -> None:
        self.by_name: dict[str, list[FormNode]] = {}
        for node in self.nodes.values():
            self.by_name.setdefault(node.name, []).append(node)

    def repeats_on(self, node: FormNode) -> list[int]:
        """Positions in ``node.path`` that are repeats (the node itself included)."""
        return [i for i in range(len(node.path)) if self.nodes[node.path[: i + 1]].kind == "repeat"]

    def short_address(self, ref: str) -> str:
        """The scenario-style address of an engine reference: groups dropped, repeats kept."""
        parts = [p for p in ref.strip("/").split("/")[1:] if p]
        names = tuple(_SEGMENT.match(p).group(1) if _SEGMENT.match(p) else p for p in parts)
        node = self.nodes.get(names)
        if node is None:
            return "/".join(parts)
        keep = set(self.repeats_on(node)) | {len(parts) - 1}
        return "/".join(p for i, p in enumerate(parts) if i in keep)

    def resolve(self, address: str) -> Target:
        """Resolve ``member[2]/age`` (or ``age``, ``hh/age``) to the engine reference.

        Raises ValueError with a message for people: unknown name (with a suggestion), ambiguous
        name, missing or misplaced repeat index.
        """
        segments = []
        for part in str(address).strip().strip("/").split("/"):
            match = _SEGMENT.match(part.strip())
            if not match:
                raise ValueError(
                    f"'{address}' is not a question address (write name, or repeat[N]/name)"
                )
            segments.append((match.group(1), int(match.group(2)) if match.group(2) else None))
        if any(index == 0 for _, index in segments):
            raise ValueError(f"'{address}': repeat instances are numbered from 1")
        name = segments[-1][0]
        candidates = [
            node
            for node in self.by_name.get(name, [])
            if _is_subsequence([s for s, _ in segments[:-1]], list(node.path[:-1]))
        ]
        if not candidates:
            if name in self.by_name:
                raise ValueError(f"'{address}': no question '{name}' inside those groups/repeats")
            close = difflib.get_close_matches(name, list(self.by_name), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ValueError(f"unknown question '{name}' in the form{hint}")
        if len(candidates) > 1:
            options = ", ".join("/".join(n.path) for n in candidates)
            raise ValueError(f"'{address}' is ambiguous ({options}); name the enclosing group")
        node = candidates[0]
        indexes = _align(segments, node.path)
        repeats = set(self.repeats_on(node))
        for position, index in indexes.items():
            if index is not None and position not in repeats:
                raise ValueError(f"'{address}': '{node.path[position]}' is not a repeat; drop [N]")
        for position in sorted(repeats):
            if position == len(node.path) - 1:
                continue
            if indexes.get(position) is None:
                repeat = node.path[position]
                raise ValueError(
                    f"'{address}' is inside repeat '{repeat}': say which instance, "
                    f"e.g. {repeat}[1]/{name}"
                )
        parts = [
            f"{part}[{indexes[i]}]" if indexes.get(i) is not None else part
            for i, part in enumerate(node.path)
        ]
        return Target(
            address=address,
            ref="/" + "/".join([self.root, *parts]),
            node=node,
            indexed=indexes.get(len(node.path) - 1) is not None,
        )


def _is_subsequence(needle: list[str], haystack: list[str]) -> bool:
    it = iter(haystack)
    return all(any(item == h for h in it) for item in needle)


def _align(segments: list[tuple[str, int | None]], path: tuple[str, ...]) -> dict[int, int | None]:
    """Map the address's indexed segments onto positions in ``path`` (greedy, left to right)."""
    out: dict[int, int | None] = {}
    position = 0
    for name, index in segments[:-1]:
        while path[position] != name:
            position += 1
        out[position] = index
        position += 1
    out[len(path) - 1] = segments[-1][1]
    return out


def xform_from_file(form: str | Path) -> str:
    """XForm XML for ``form``: an XLSForm (.xlsx/.xls/.csv/.md) converted by pyxform, or an .xml XForm."""
    form = Path(form)
    if not form.is_file():
        raise SurvmigError("form not found", file=form, hint="give the path of an XLSForm (.xlsx)")
    suffix = form.suffix.lower()
    if suffix in (".yaml", ".yml"):
        raise SurvmigError(
            "this is a questionnaire spec, not a form",
            file=form,
            hint=f"build it first: survmig build {form} -o {form.with_suffix('.xlsx').name}, "
            "then test the .xlsx",
        )
    if suffix == ".xml":
        return form.read_text(encoding="utf-8")
    from pyxform.errors import PyXFormError
    from pyxform.xls2xform import convert

    try:
        result = convert(xlsform=str(form), validate=False)
    except PyXFormError as err:
        raise SurvmigError(
            f"pyxform cannot convert the form: {err}", file=form, hint="fix the XLSForm"
        ) from err
    except Exception as err:  # unreadable workbook, wrong file type
        raise SurvmigError(
            f"cannot read the form ({type(err).__name__}: {err})",
            file=form,
            hint="give an XLSForm workbook (.xlsx) or an XForm (.xml)",
        ) from err
    return result.xform


def read_xform(xml: str, *, source: str | Path | None = None) -> XFormModel:
    """The structure of an XForm: primary-instance elements, repeats, binds, body controls, languages."""
    try:
        doc = etree.fromstring(xml.encode("utf-8"))
    except etree.XMLSyntaxError as err:
        raise SurvmigError(f"the XForm is not well-formed XML: {err}", file=source) from err
    model = doc.find(f"{{{H}}}head/{{{XF}}}model")
    instance = model.find(f"{{{XF}}}instance") if model is not None else None
    data = (
        next(iter(instance.iterchildren(tag=etree.Element)), None) if instance is not None else None
    )
    if data is None:
        raise SurvmigError("the XForm has no primary instance", file=source)
    root = etree.QName(data).localname

    binds: dict[str, dict[str, str]] = {}
    for bind in model.iter(f"{{{XF}}}bind"):
        nodeset = bind.get("nodeset", "")
        binds[nodeset] = {etree.QName(k).localname: v for k, v in bind.attrib.items()}

    repeats: dict[str, bool] = {}  # path -> counted
    controls: dict[str, str] = {}
    body = doc.find(f"{{{H}}}body")
    if body is not None:
        _read_body(body, "", repeats, controls)

    nodes: dict[tuple[str, ...], FormNode] = {}

    def visit(element: etree._Element, path: tuple[str, ...]) -> None:
        for child in element.iterchildren(tag=etree.Element):
            child_path = (*path, etree.QName(child).localname)
            xpath = "/" + "/".join([root, *child_path])
            is_repeat = xpath in repeats or child.get(f"{{{JR}}}template") is not None
            has_children = len(child) > 0
            if child_path not in nodes:
                bind = binds.get(xpath, {})
                nodes[child_path] = FormNode(
                    path=child_path,
                    kind="repeat" if is_repeat else ("group" if has_children else "leaf"),
                    control=controls.get(xpath),
                    datatype=bind.get("type", "string").split(":")[-1],
                    calculated="calculate" in bind,
                    readonly=bind.get("readonly", "").strip() in ("true()", "true"),
                    counted=repeats.get(xpath, False),
                )
            visit(child, child_path)

    visit(data, ())
    languages = [t.get("lang") for t in model.iter(f"{{{XF}}}translation") if t.get("lang")]
    return XFormModel(xml=xml, root=root, nodes=nodes, languages=languages)


def _read_body(
    element: etree._Element, context: str, repeats: dict[str, bool], controls: dict[str, str]
) -> None:
    for child in element.iterchildren(tag=etree.Element):
        local = etree.QName(child).localname
        ref = child.get("nodeset") if local == "repeat" else child.get("ref")
        path = context
        if ref:
            path = ref if ref.startswith("/") else f"{context}/{ref}"
        if local == "repeat" and ref:
            repeats[path] = child.get(f"{{{JR}}}count") is not None
        elif local in CONTROLS and ref:
            controls[path] = local
        _read_body(child, path, repeats, controls)
