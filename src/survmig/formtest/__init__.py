"""Form scenario tests in ODK Web Forms' engine (``@getodk/xforms-engine`` under Node and jsdom).

``survmig test-form FORM.xlsx SCENARIOS.yaml`` converts any XLSForm with pyxform, fills it in the real
engine following scripted answers, and checks relevance, rejected answers, calculations, repeats and
the serialised submission.
"""

from __future__ import annotations

from survmig.formtest.engine import check_engine, engine_home, install_engine, pinned_version
from survmig.formtest.runner import (
    Failure,
    RunReport,
    ScenarioResult,
    run_scenario_files,
    run_scenarios,
)
from survmig.formtest.scenarios import load_scenarios
from survmig.formtest.xform import read_xform, xform_from_file

__all__ = [
    "Failure",
    "RunReport",
    "ScenarioResult",
    "check_engine",
    "engine_home",
    "install_engine",
    "load_scenarios",
    "pinned_version",
    "read_xform",
    "run_scenario_files",
    "run_scenarios",
    "xform_from_file",
]
