"""Compile questionnaires to XLSForm and validate XLSForms (pyxform + ODK Validate).

Public API::

    compile_questionnaire(q) -> bytes             # deterministic .xlsx bytes
    to_sheets(q) -> {"survey": rows, "choices": rows, "settings": rows}
    build(spec_path, out_path, validate=True) -> BuildResult
    validate_xlsform(path_or_bytes, odk=True) -> ValidationReport   # .ok, .problems (sheet, row)
"""

from survmig.xlsform.build import BuildResult, build
from survmig.xlsform.compiler import (
    SURVEY_COLUMNS,
    compile_questionnaire,
    to_sheets,
    write_workbook,
)
from survmig.xlsform.validate import Problem, ValidationReport, validate_xlsform

__all__ = [
    "SURVEY_COLUMNS",
    "BuildResult",
    "Problem",
    "ValidationReport",
    "build",
    "compile_questionnaire",
    "to_sheets",
    "validate_xlsform",
    "write_workbook",
]
