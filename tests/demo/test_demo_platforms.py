"""``survmig demo --platform``: the same fieldwork as a KoboToolbox or SurveyCTO export gives the
same imported data, weights and estimates as the ODK Central export."""

from __future__ import annotations

import pandas as pd
import pytest

from survmig.data import read_export
from survmig.demo.platforms import DEVICE_TIMEZONE
from survmig.demo.run import run_demo

SMALL = {"households": 150, "population": 2000, "seed": 5, "validate": False}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("platforms")
    return {
        p: run_demo(base / p, platform=p, **SMALL) for p in ("odk-central", "kobo", "surveycto")
    }


def test_every_platform_gives_the_same_estimates(runs):
    central = pd.read_csv(runs["odk-central"].files["truth"])
    for platform in ("kobo", "surveycto"):
        other = pd.read_csv(runs[platform].files["truth"])
        pd.testing.assert_frame_equal(central, other, obj=platform)
        weights = pd.read_csv(runs[platform].files["weights"])
        pd.testing.assert_frame_equal(pd.read_csv(runs["odk-central"].files["weights"]), weights)


def test_exports_are_in_the_platforms_shapes(runs):
    kobo = runs["kobo"].files["export"]
    assert kobo.suffix == ".xlsx"
    sheets = pd.read_excel(kobo, sheet_name=None, nrows=2)
    root = next(iter(sheets.values()))
    assert {"_uuid", "_submission_time", "__version__", "_index"} <= set(root.columns)
    scto = runs["surveycto"].files["export"]
    head = pd.read_csv(scto, nrows=1, dtype=str)
    assert head.columns[0] == "SubmissionDate" and "formdef_version" in head.columns
    form = runs["kobo"].files["questionnaire"]
    ds = read_export(kobo, form, timezone=DEVICE_TIMEZONE)
    assert ds.source["detected"]["platform"] == "KoboToolbox"
    assert "Africa/Lagos" in ds.source["detected"]["date-times"]
