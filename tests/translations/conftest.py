"""A copy of the example questionnaire spec for each translations test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.translations.sheets import EXAMPLE


@pytest.fixture
def spec(tmp_path) -> Path:
    path = tmp_path / "spec.yaml"
    shutil.copy(EXAMPLE, path)
    return path
