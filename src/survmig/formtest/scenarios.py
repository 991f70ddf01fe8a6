"""The SCENARIOS.yaml format: scripted answers and the expected behaviour of a form.

A file holds a list of scenarios; each is a list of steps. A step first performs its actions
(``answer``, ``add``, ``remove``) in the order written, then checks the form's state (``shown``,
``hidden``, ``values``, ``rejected``, ``accepted``, ``count``, ``submission``). Questions are
addressed by name; inside repeats with the instance number, ``member[2]/age``. Everything is
checked against the form's structure when the file is loaded, so a misspelt name is reported with
its line before the engine starts. See docs/design.md (section test-form) for the full reference.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path
from typing import Any

from survmig.errors import SurvmigError
from survmig.formtest.xform import Target, XFormModel
from survmig.formtest.yamlines import LineDict, LineList, load_yaml

ACTION_KEYS = ("answer", "add", "remove")
CHECK_KEYS = ("shown", "hidden", "values", "rejected", "accepted", "count", "submission")
STEP_KEYS = (*ACTION_KEYS, *CHECK_KEYS, "comment")
SCENARIO_KEYS = ("name", "description", "language", "steps")
TOP_KEYS = ("language", "scenarios")
SUBMISSION_KEYS = ("complete", "contains", "absent", "count")
CONDITIONS = ("constraint", "required")

_INT = re.compile(r"^[+-]?\d+$")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


@dataclasses.dataclass
class Action:
    """Something the scenario does to the form."""

    kind: str  #: "answer", "add" or "remove"
    target: Target
    line: int
    value: str | list[str] | None = None  #: the answer, as the engine stores it
    count: int = 1  #: instances to add

    def op(self) -> dict[str, Any]:
        if self.kind == "answer":
            return {"op": "answer", "ref": self.target.ref, "value": self.value}
        if self.kind == "add":
            return {"op": "add", "ref": self.target.ref, "count": self.count}
        return {"op": "remove", "ref": self.target.ref}


@dataclasses.dataclass
class Check:
    """Something the scenario expects of the form after a step's actions."""

    kind: str  #: shown, hidden, value, rejected, accepted, count, complete, contains, absent, submitted_count
    line: int
    target: Target | None = None
    expected: Any = None  #: value, count, condition ("constraint"/"required"/None) …
    message: str | None = None  #: expected part of a violation message (rejected only)

    @property
    def on_submission(self) -> bool:
        return self.kind in ("complete", "contains", "absent", "submitted_count")


@dataclasses.dataclass
class Step:
    number: int  #: 1-based, as shown in reports
    line: int
    actions: list[Action]
    checks: list[Check]


@dataclasses.dataclass
class Scenario:
    name: str
    line: int
    language: str | None
    steps: list[Step]

    def ops(self) -> list[dict[str, Any]]:
        """The harness operations, in order: each step's actions, one observation, one submission."""
        ops: list[dict[str, Any]] = []
        for step in self.steps:
            ops.extend(action.op() for action in step.actions)
            refs = list(dict.fromkeys(c.target.ref for c in step.checks if not c.on_submission))
            if refs:
                ops.append({"op": "observe", "refs": refs})
            if any(c.on_submission for c in step.checks):
                ops.append({"op": "submission"})
        return ops


@dataclasses.dataclass
class ScenarioFile:
    path: Path
    scenarios: list[Scenario]


class _Reader:
    """Reads one scenario file against one form, raising errors that name the file and line."""

    def __init__(self, path: Path, form: XFormModel) -> None:
        self.path = path
        self.form = form

    def fail(self, message: str, line: int | None, hint: str | None = None) -> SurvmigError:
        return SurvmigError(message, file=self.path, line=line, hint=hint)

    def mapping(self, value: Any, line: int, what: str) -> LineDict:
        if not isinstance(value, LineDict):
            raise self.fail(f"{what} must be a mapping (key: value)", line)
        return value

    def names(self, value: Any, line: int, what: str) -> list[tuple[str, int]]:
        """A list of addresses, or a single address, with lines."""
        if isinstance(value, str):
            return [(value, line)]
        if isinstance(value, LineList):
            out = []
            for i, item in enumerate(value):
                if not isinstance(item, str):
                    raise self.fail(
                        f"{what}: expected a question name, got {item!r}", value.line_of(i)
                    )
                out.append((item, value.line_of(i)))
            return out
        raise self.fail(f"{what} must be a question name or a list of names", line)

    def keys(self, data: LineDict, allowed: tuple[str, ...], what: str) -> None:
        for key in data:
            if key not in allowed:
                raise self.fail(
                    f"unknown key '{key}' in {what}",
                    data.line_of(key),
                    hint="allowed: " + ", ".join(allowed),
                )

    def target(self, address: Any, line: int) -> Target:
        if not isinstance(address, str | int):
            raise self.fail(f"expected a question name, got {address!r}", line)
        try:
            return self.form.resolve(str(address))
        except ValueError as err:
            raise self.fail(str(err), line) from err

    def language(self, value: Any, line: int) -> str:
        """The form language a code (``fr``) or full name (``Français (fr)``) refers to."""
        wanted = str(value)
        for language in self.form.languages:
            if language == wanted or language.endswith(f"({wanted})"):
                return language
        known = ", ".join(self.form.languages) or "none (the form has one unnamed language)"
        raise self.fail(f"the form has no language '{wanted}'", line, hint=f"languages: {known}")

    # -- the file ------------------------------------------------------------------------------

    def read(self, data: Any) -> list[Scenario]:
        if not isinstance(data, LineDict):
            raise self.fail(
                "a scenario file is a mapping with a 'scenarios' list",
                getattr(data, "line", 1),
                hint="start the file with 'scenarios:'",
            )
        self.keys(data, TOP_KEYS, "the scenario file")
        language = (
            self.language(data["language"], data.line_of("language"))
            if "language" in data
            else None
        )
        scenarios = data.get("scenarios")
        if not isinstance(scenarios, LineList) or not scenarios:
            raise self.fail("'scenarios' must be a non-empty list", data.line_of("scenarios"))
        out: list[Scenario] = []
        seen: dict[str, int] = {}
        for i, item in enumerate(scenarios):
            scenario = self.scenario(
                self.mapping(item, scenarios.line_of(i), "a scenario"), language
            )
            if scenario.name in seen:
                raise self.fail(
                    f"scenario name '{scenario.name}' is used twice (first on line {seen[scenario.name]})",
                    scenario.line,
                )
            seen[scenario.name] = scenario.line
            out.append(scenario)
        return out

    def scenario(self, data: LineDict, language: str | None) -> Scenario:
        self.keys(data, SCENARIO_KEYS, "a scenario")
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            raise self.fail("every scenario needs a 'name'", data.line)
        if "language" in data:
            language = self.language(data["language"], data.line_of("language"))
        steps = data.get("steps")
        if not isinstance(steps, LineList) or not steps:
            raise self.fail(
                f"scenario '{name}' needs a non-empty 'steps' list", data.line_of("steps")
            )
        return Scenario(
            name=name.strip(),
            line=data.line,
            language=language,
            steps=[
                self.step(self.mapping(s, steps.line_of(i), "a step"), i + 1)
                for i, s in enumerate(steps)
            ],
        )

    def step(self, data: LineDict, number: int) -> Step:
        self.keys(data, STEP_KEYS, "a step")
        if not any(k in data for k in (*ACTION_KEYS, *CHECK_KEYS)):
            raise self.fail(
                "a step needs an action or a check", data.line, hint=", ".join(STEP_KEYS)
            )
        actions: list[Action] = []
        checks: list[Check] = []
        if "answer" in data:
            actions += self.answers(
                self.mapping(data["answer"], data.line_of("answer"), "answer"), ""
            )
        if "add" in data:
            actions += self.adds(data["add"], data.line_of("add"))
        if "remove" in data:
            for address, line in self.names(data["remove"], data.line_of("remove"), "remove"):
                target = self.target(address, line)
                if target.node.kind != "repeat" or not target.indexed:
                    raise self.fail(
                        f"remove: '{address}' is not a repeat instance",
                        line,
                        hint="write e.g. trip[2]",
                    )
                self.uncounted(target, line)
                actions.append(Action("remove", target, line))
        for kind in ("shown", "hidden", "accepted"):
            if kind in data:
                for address, line in self.names(data[kind], data.line_of(kind), kind):
                    checks.append(Check(kind, line, self.target(address, line)))
        if "values" in data:
            values = self.mapping(data["values"], data.line_of("values"), "values")
            for address, expected in values.items():
                line = values.line_of(address)
                checks.append(Check("value", line, self.leaf(address, line, "values"), expected))
        if "rejected" in data:
            checks += self.rejected(data["rejected"], data.line_of("rejected"))
        if "count" in data:
            checks += self.counts(data["count"], data.line_of("count"), "count")
        if "submission" in data:
            checks += self.submission(
                self.mapping(data["submission"], data.line_of("submission"), "submission")
            )
        return Step(number=number, line=data.line, actions=actions, checks=checks)

    def leaf(self, address: Any, line: int, what: str) -> Target:
        target = self.target(address, line)
        if target.node.kind != "leaf":
            raise self.fail(f"{what}: '{address}' is a {target.node.kind}, not a question", line)
        return target

    def uncounted(self, target: Target, line: int) -> None:
        if target.node.counted:
            raise self.fail(
                f"repeat '{target.node.name}' takes its number of instances from repeat_count",
                line,
                hint="answer the question that gives the count instead of adding or removing",
            )

    def answers(self, data: LineDict, prefix: str) -> list[Action]:
        """``answer`` mapping; a key like ``member[1]`` with a mapping value opens that instance."""
        out: list[Action] = []
        for key, value in data.items():
            line = data.line_of(key)
            address = f"{prefix}{key}"
            if isinstance(value, LineDict):
                out += self.answers(value, f"{address}/")
                continue
            target = self.leaf(address, line, "answer")
            node = target.node
            if node.control is None:
                what = "calculated" if node.calculated else "not a question on screen"
                raise self.fail(
                    f"answer: '{address}' is {what}; it cannot be answered",
                    line,
                    hint="check its value with 'values' instead",
                )
            out.append(
                Action("answer", target, line, value=self.answer_value(node, value, address, line))
            )
        return out

    def answer_value(self, node, value: Any, address: str, line: int) -> str | list[str] | None:
        """The value as the engine stores it; wrong types are the scenario's mistake."""
        if value is None:
            return None
        if node.control in ("select", "rank"):
            if isinstance(value, LineList):
                return [self.scalar(v, address, line) for v in value]
            return self.scalar(value, address, line).split()
        if isinstance(value, list | dict):
            what = "a list" if isinstance(value, list) else "a mapping"
            raise self.fail(f"answer: '{address}' takes one value, not {what}", line)
        if node.control == "select1":
            return self.scalar(value, address, line)
        text = self.scalar(value, address, line)
        if node.datatype == "int" and not _INT.match(text):
            raise self.fail(
                f"answer: '{address}' is an integer question; {value!r} is not an integer", line
            )
        if node.datatype == "decimal" and not _NUMBER.match(text):
            raise self.fail(
                f"answer: '{address}' is a decimal question; {value!r} is not a number", line
            )
        return str(int(text)) if node.datatype == "int" else text

    def scalar(self, value: Any, address: str, line: int) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, dt.date | dt.datetime):
            return value.isoformat()
        if isinstance(value, str | int | float):
            return str(value)
        raise self.fail(f"'{address}': {value!r} is not a value", line)

    def adds(self, value: Any, line: int) -> list[Action]:
        pairs: list[tuple[Any, Any, int]]
        if isinstance(value, LineDict):
            pairs = [(k, v, value.line_of(k)) for k, v in value.items()]
        else:
            pairs = [(address, 1, ln) for address, ln in self.names(value, line, "add")]
        out = []
        for address, count, ln in pairs:
            target = self.target(address, ln)
            if target.node.kind != "repeat" or target.indexed:
                raise self.fail(
                    f"add: '{address}' is not a repeat", ln, hint="name the repeat, e.g. trip"
                )
            self.uncounted(target, ln)
            if not isinstance(count, int) or isinstance(count, bool) or count < 1:
                raise self.fail(
                    f"add: the number of instances for '{address}' must be a positive integer", ln
                )
            out.append(Action("add", target, ln, count=count))
        return out

    def rejected(self, value: Any, line: int) -> list[Check]:
        if not isinstance(value, LineDict):
            return [
                Check("rejected", ln, self.leaf(address, ln, "rejected"))
                for address, ln in self.names(value, line, "rejected")
            ]
        out = []
        for address, spec in value.items():
            ln = value.line_of(address)
            target = self.leaf(address, ln, "rejected")
            condition, message = None, None
            if isinstance(spec, LineDict):
                self.keys(spec, ("condition", "message"), "rejected")
                condition, message = spec.get("condition"), spec.get("message")
            elif spec is not None:
                condition = spec
            if condition is not None and condition not in CONDITIONS:
                raise self.fail(
                    f"rejected: '{address}': condition must be constraint or required, not {condition!r}",
                    ln,
                )
            out.append(
                Check("rejected", ln, target, condition, None if message is None else str(message))
            )
        return out

    def counts(self, value: Any, line: int, kind: str) -> list[Check]:
        data = self.mapping(value, line, kind)
        out = []
        for address, count in data.items():
            ln = data.line_of(address)
            target = self.target(address, ln)
            if target.node.kind != "repeat" or target.indexed:
                raise self.fail(f"{kind}: '{address}' is not a repeat", ln)
            if not isinstance(count, int) or isinstance(count, bool) or count < 0:
                raise self.fail(f"{kind}: the count for '{address}' must be a whole number", ln)
            out.append(Check("count" if kind == "count" else "submitted_count", ln, target, count))
        return out

    def submission(self, data: LineDict) -> list[Check]:
        self.keys(data, SUBMISSION_KEYS, "submission")
        out: list[Check] = []
        if "complete" in data:
            if not isinstance(data["complete"], bool):
                raise self.fail(
                    "submission: complete must be true or false", data.line_of("complete")
                )
            out.append(Check("complete", data.line_of("complete"), None, data["complete"]))
        if "contains" in data:
            contains = self.mapping(
                data["contains"], data.line_of("contains"), "submission: contains"
            )
            for address, expected in contains.items():
                ln = contains.line_of(address)
                out.append(
                    Check("contains", ln, self.leaf(address, ln, "submission: contains"), expected)
                )
        if "absent" in data:
            for address, ln in self.names(
                data["absent"], data.line_of("absent"), "submission: absent"
            ):
                out.append(Check("absent", ln, self.target(address, ln)))
        if "count" in data:
            out += self.counts(data["count"], data.line_of("count"), "submission: count")
        return out


def load_scenarios(path: str | Path, form: XFormModel) -> ScenarioFile:
    """Read and check a SCENARIOS.yaml file against a form; errors name the file and line."""
    path = Path(path)
    data = load_yaml(path)
    return ScenarioFile(path=path, scenarios=_Reader(path, form).read(data))
