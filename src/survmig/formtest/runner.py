"""Play scenario files in ODK's engine and judge what the engine reports.

The Node harness only drives the engine and reports what it sees (relevance, values, violations,
repeat instances, the serialised submission); every expectation is compared here, so the rules
live in one place and each failure can name the scenario file's line and the question.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from lxml import etree

from survmig.errors import SurvmigError
from survmig.formtest.engine import run_harness
from survmig.formtest.scenarios import Action, Check, Scenario, ScenarioFile, Step, load_scenarios
from survmig.formtest.xform import FormNode, Target, XFormModel, read_xform, xform_from_file


@dataclasses.dataclass
class Failure:
    """One expectation the form did not meet, or an engine error."""

    message: str
    question: str | None = None
    step: int | None = None
    line: int | None = None
    engine_error: bool = False

    def format(self, file: Path | None = None) -> str:
        where = f"{file.name}:{self.line}" if file is not None and self.line else ""
        parts = [p for p in (where, f"step {self.step}" if self.step else "", self.question) if p]
        return ": ".join([*parts, self.message])


@dataclasses.dataclass
class ScenarioResult:
    name: str
    line: int
    failures: list[Failure]

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclasses.dataclass
class RunReport:
    """The outcome of one scenario file on one form."""

    form: Path
    scenarios_file: Path
    results: list[ScenarioResult]

    @property
    def passed(self) -> int:
        return sum(r.passed for r in self.results)

    @property
    def failed(self) -> int:
        return len(self.results) - self.passed

    @property
    def ok(self) -> bool:
        return self.failed == 0

    def lines(self) -> list[str]:
        """A plain-text report: one line per scenario, one indented line per failure."""
        out = [f"{self.form.name} × {self.scenarios_file.name}: {len(self.results)} scenarios"]
        for result in self.results:
            out.append(f"{'PASS' if result.passed else 'FAIL'}  {result.name}")
            out += [f"      {f.format(self.scenarios_file)}" for f in result.failures]
        out.append(f"{self.passed} passed, {self.failed} failed")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "form": str(self.form),
            "scenarios": str(self.scenarios_file),
            "passed": self.passed,
            "failed": self.failed,
            "results": [
                {
                    "name": r.name,
                    "line": r.line,
                    "passed": r.passed,
                    "failures": [dataclasses.asdict(f) for f in r.failures],
                }
                for r in self.results
            ],
        }

    def error(self) -> SurvmigError:
        """The one-line error for a run with failures, naming the failing questions."""
        failing = [r for r in self.results if not r.passed]
        first = failing[0].failures[0]
        questions = sorted({f.question for r in failing for f in r.failures if f.question})
        named = f" (questions: {', '.join(questions)})" if questions else ""
        kind = "an engine error" if any(f.engine_error for r in failing for f in r.failures) else ""
        return SurvmigError(
            f"{len(failing)} of {len(self.results)} scenarios failed{named}"
            + (f", including {kind}" if kind else ""),
            file=self.scenarios_file,
            line=first.line,
            hint=f"first failure: {failing[0].name}: {first.format()}",
        )


def run_scenarios(
    form: str | Path,
    scenarios: str | Path,
    *,
    only: Sequence[str] | None = None,
    timeout: float = 600,
) -> RunReport:
    """Fill ``form`` (an XLSForm or XForm) in ODK's engine following ``scenarios`` (a YAML file)."""
    return run_scenario_files([(form, scenarios)], only=only, timeout=timeout)[0]


def run_scenario_files(
    pairs: Sequence[tuple[str | Path, str | Path]],
    *,
    only: Sequence[str] | None = None,
    timeout: float = 600,
) -> list[RunReport]:
    """Several (form, scenario file) pairs in ONE Node process: Node's start-up is paid once."""
    prepared: list[tuple[Path, XFormModel, ScenarioFile]] = []
    for form_path, scenario_path in pairs:
        form_path = Path(form_path)
        model = read_xform(xform_from_file(form_path), source=form_path)
        scenario_file = load_scenarios(scenario_path, model)
        prepared.append((form_path, model, scenario_file))
    if only:
        names = {s.name for _, _, f in prepared for s in f.scenarios}
        unknown = [n for n in only if n not in names]
        if unknown:
            raise SurvmigError(
                f"no scenario named {', '.join(repr(n) for n in unknown)}",
                file=prepared[0][2].path if len(prepared) == 1 else None,
                hint="scenarios: " + ", ".join(sorted(names)),
            )
        for _, _, scenario_file in prepared:
            scenario_file.scenarios = [s for s in scenario_file.scenarios if s.name in only]

    job = {
        "forms": [
            {
                "xform": model.xml,
                "attachments": str(form_path.resolve().parent),
                "scenarios": [
                    {"name": s.name, "language": s.language, "ops": s.ops()}
                    for s in scenario_file.scenarios
                ],
            }
            for _, model, scenario_file in prepared
        ]
    }
    answer = run_harness(job, timeout=timeout)
    reports = []
    for (form_path, model, scenario_file), outcome in zip(prepared, answer["forms"], strict=True):
        if "error" in outcome:
            missing = "resource is missing" in outcome["error"]
            raise SurvmigError(
                f"ODK's engine cannot load the form: {outcome['error']}",
                file=form_path,
                hint="put the form's attachment files (CSV, XML) in the form's folder"
                if missing
                else "check the form with ODK Validate (survmig validate)",
            )
        results = [
            _judge(model, scenario, played)
            for scenario, played in zip(scenario_file.scenarios, outcome["scenarios"], strict=True)
        ]
        reports.append(
            RunReport(form=form_path, scenarios_file=scenario_file.path, results=results)
        )
    return reports


# -- judging ---------------------------------------------------------------------------------------


class _Stop(Exception):
    """A scenario cannot go on (an answer could not be given, or the engine failed)."""


def _judge(model: XFormModel, scenario: Scenario, played: dict[str, Any]) -> ScenarioResult:
    failures: list[Failure] = []
    results: Iterator[dict[str, Any]] = iter(played.get("results", []))
    try:
        for step in scenario.steps:
            _judge_step(model, step, results, failures)
    except _Stop:
        pass
    if played.get("error"):
        failures.append(Failure(f"engine error: {played['error']}", engine_error=True))
    return ScenarioResult(name=scenario.name, line=scenario.line, failures=failures)


def _next(results: Iterator[dict[str, Any]]) -> dict[str, Any]:
    result = next(results, None)
    if result is None:
        raise _Stop
    return result


def _engine_failure(result: dict[str, Any], step: Step, line: int, question: str | None) -> Failure:
    return Failure(
        f"engine error: {result['error']}", question, step.number, line, engine_error=True
    )


def _judge_step(
    model: XFormModel, step: Step, results: Iterator[dict[str, Any]], failures: list[Failure]
) -> None:
    for action in step.actions:
        result = _next(results)
        failure = _judge_action(action, step, result)
        if failure is not None:
            failure.message += "; the rest of the scenario was not played"
            failures.append(failure)
            raise _Stop  # like a person who cannot give an answer, the scenario cannot go on
    state_checks = [c for c in step.checks if not c.on_submission]
    if state_checks:
        result = _next(results)
        if "error" in result:
            questions = ", ".join(c.target.address for c in state_checks)
            failures.append(_engine_failure(result, step, state_checks[0].line, questions))
            raise _Stop
        for check in state_checks:
            message = _judge_state(check, result["nodes"][check.target.ref])
            if message:
                failures.append(Failure(message, check.target.address, step.number, check.line))
    submission_checks = [c for c in step.checks if c.on_submission]
    if submission_checks:
        result = _next(results)
        if "error" in result:
            failures.append(_engine_failure(result, step, submission_checks[0].line, "submission"))
            raise _Stop
        document = etree.fromstring(result["xml"].encode("utf-8"))
        for check in submission_checks:
            message = _judge_submission(model, check, result, document)
            if message:
                question = check.target.address if check.target else "submission"
                failures.append(Failure(message, question, step.number, check.line))


def _judge_action(action: Action, step: Step, result: dict[str, Any]) -> Failure | None:
    address = action.target.address
    if "error" in result:
        return _engine_failure(result, step, action.line, address)
    problem = result.get("problem")
    messages = {
        "missing": "does not exist at this point (is that repeat instance there? add it first)",
        "not-relevant": f"cannot {action.kind}: it is not shown (its relevance is false)",
        "controlled": "its repeat takes its number of instances from repeat_count",
        "readonly": "cannot answer: the question is read-only",
        "one-only": "is a select_one; give one choice",
        "not-answerable": f"cannot answer a {result.get('nodeType')}",
    }
    if problem == "not-offered":
        offered = result["offered"]
        shown = ", ".join(offered[:12]) + (
            f", … ({len(offered)} in all)" if len(offered) > 12 else ""
        )
        return Failure(
            f"choice {', '.join(map(repr, result['missing']))} is not offered "
            f"(offered now: {shown or 'none'})",
            address,
            step.number,
            action.line,
        )
    if problem:
        return Failure(messages.get(problem, problem), address, step.number, action.line)
    if action.kind == "answer" and result["stored"] == "" and action.value not in (None, "", []):
        return Failure(
            f"the engine did not take {_shown(action.value)!r} as a "
            f"{action.target.node.datatype} value (it stored nothing)",
            address,
            step.number,
            action.line,
        )
    if action.kind == "answer" and not _same(action.value, result["stored"], action.target.node):
        return Failure(
            f"the engine stored {result['stored']!r} instead of {_shown(action.value)!r}",
            address,
            step.number,
            action.line,
        )
    return None


def _judge_state(check: Check, seen: dict[str, Any]) -> str | None:
    if not seen.get("exists"):
        return "does not exist at this point (a repeat instance that is not there?)"
    node = check.target.node
    if check.kind == "shown":
        return None if seen["relevant"] else "expected shown, but it is hidden (relevance is false)"
    if check.kind == "hidden":
        return None if not seen["relevant"] else "expected hidden, but it is shown"
    if check.kind == "count":
        count = seen.get("instances")
        return (
            None
            if count == check.expected
            else f"expected {check.expected} instances, found {count}"
        )
    if check.kind == "value":
        if _same(check.expected, seen["value"], node):
            return None
        return f"expected value {_shown(check.expected)!r}, found {seen['value']!r}"
    violation = seen.get("violation")
    if check.kind == "accepted":
        if violation is None:
            return None
        return f"expected the answer to be accepted, but it violates its {_violation(violation)}"
    # rejected
    wanted = check.expected or "constraint or required"
    if not seen["relevant"]:
        return f"expected rejected ({wanted}), but the question is hidden"
    if violation is None:
        return f"expected rejected ({wanted}), but the answer {seen['value']!r} was accepted"
    if check.expected and violation["condition"] != check.expected:
        return f"expected rejected ({check.expected}), but it violates its {_violation(violation)}"
    if check.message is not None and check.message not in (violation.get("message") or ""):
        return (
            f"expected the message to contain {check.message!r}, got {violation.get('message')!r}"
        )
    return None


def _judge_submission(
    model: XFormModel, check: Check, result: dict[str, Any], document: etree._Element
) -> str | None:
    if check.kind == "complete":
        complete = result["status"] == "ready"
        if complete == check.expected:
            return None
        if check.expected:
            problems = "; ".join(
                f"{model.short_address(v['ref'])} ({v['condition']})" for v in result["violations"]
            )
            return f"expected a complete submission, but the engine holds it back: {problems}"
        return "expected the submission to be held back by a violation, but it is complete"
    found = document.xpath(_xpath(check.target.ref))
    if check.kind == "submitted_count":
        if len(found) == check.expected:
            return None
        return f"expected {check.expected} instances in the submission, found {len(found)}"
    if check.kind == "absent":
        return None if not found else "expected absent from the submission, but it is there"
    # contains
    if not found:
        return "expected in the submission, but it is absent (not relevant, or no such instance)"
    value = found[0].text or ""
    if _same(check.expected, value, check.target.node):
        return None
    return f"expected {_shown(check.expected)!r} in the submission, found {value!r}"


def _xpath(ref: str) -> str:
    steps = []
    for part in ref.strip("/").split("/"):
        name, _, rest = part.partition("[")
        steps.append(f"*[local-name()='{name}']" + (f"[{rest}" if rest else ""))
    return "/" + "/".join(steps)


def _violation(violation: dict[str, Any]) -> str:
    message = violation.get("message")
    return violation["condition"] + (f" ({message})" if message and message != "-" else "")


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return str(value)


def _number(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _same(expected: Any, observed: str, node: FormNode) -> bool:
    """Does the engine's stored text ``observed`` match the scenario's ``expected`` value?

    Blank matches null/""; select_multiple compares as sets (order of ticking does not matter);
    numbers compare as numbers (``60`` matches ``60.0``); everything else as text.
    """
    if expected is None or expected == "":
        return observed == ""
    if isinstance(expected, bool):
        expected = "true" if expected else "false"
    if isinstance(expected, list) or node.control in ("select", "rank"):
        wanted = [str(v) for v in expected] if isinstance(expected, list) else str(expected).split()
        got = observed.split()
        return wanted == got if node.control == "rank" else sorted(wanted) == sorted(got)
    text = expected.isoformat() if hasattr(expected, "isoformat") else str(expected)
    if text == observed:
        return True
    wanted, got = text.split(), observed.split()  # geopoints are several numbers
    return len(wanted) == len(got) > 0 and all(
        w == g or _close(_number(w), _number(g)) for w, g in zip(wanted, got, strict=True)
    )


def _close(a: float | None, b: float | None) -> bool:
    return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


__all__ = [
    "Failure",
    "RunReport",
    "ScenarioResult",
    "Target",
    "run_scenario_files",
    "run_scenarios",
]
