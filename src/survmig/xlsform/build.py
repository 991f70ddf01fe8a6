"""Spec in, validated XLSForm out — nothing written unless the form is clean."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from survmig.errors import SurvmigError
from survmig.fileio import atomic_path, check_output_file
from survmig.modules.library import Library
from survmig.questionnaire.compose import load_questionnaire
from survmig.questionnaire.model import Questionnaire
from survmig.xlsform.compiler import compile_questionnaire
from survmig.xlsform.validate import ValidationReport, validate_xlsform


@dataclasses.dataclass
class BuildResult:
    questionnaire: Questionnaire
    path: Path
    report: ValidationReport | None  # None when validation was skipped


def check_report(report: ValidationReport, what: str) -> None:
    """Raise one clear error for a form with problems (all of them listed in the message)."""
    if report.ok:
        return
    first = report.problems[0]
    others = len(report.problems) - 1
    more = f" (and {others} more: run survmig validate on it)" if others else ""
    raise SurvmigError(
        f"{what} does not pass validation: {first.format()}{more}",
        hint="this is a bug in a module or in the compiler if the spec itself is fine",
    )


def build(
    spec_path: str | Path,
    out_path: str | Path,
    *,
    validate: bool = True,
    library: Library | None = None,
) -> BuildResult:
    """Compile ``spec_path`` to ``out_path``; by default check it with pyxform and ODK Validate."""
    check_output_file(out_path, [spec_path])  # before the (slow) validation
    questionnaire = load_questionnaire(spec_path, library)
    data = compile_questionnaire(questionnaire)
    report = None
    if validate:
        report = validate_xlsform(data)
        check_report(report, f"the form compiled from {spec_path}")
    out_path = Path(out_path)
    with atomic_path(out_path) as tmp:
        tmp.write_bytes(data)
    return BuildResult(questionnaire, out_path, report)
