"""KoboToolbox exports made by Kobo's own export library (formpack), in every shape its UI offers.

The fixtures under ``fixtures/kobo/`` were written by formpack 3.0.0 from the submissions in
``fixtures/submissions/`` (what Kobo stores: nested repeats, ``/`` paths, offsets on date-times),
with the options kpi passes; ``fixtures/make_platform_fixtures.py`` made them. The expected values
come from those submissions, never from survmig's own writers.
"""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from survmig.data import FormMetadata, read_export
from survmig.data.checks import check_dataset
from survmig.data.kobo import sheet_name
from survmig.errors import SurvmigError

FIX = Path(__file__).parent / "fixtures"
KOBO = FIX / "kobo"
XLSFORM = Path(__file__).parents[2] / "xlsform"
VARIANTS = [
    "ui_default",
    "groups_slash",
    "groups_dash",
    "api_text",
    "summary_only",
    "details_only",
    "labels_en",
    "labels_fr_groups",
]
KOBO_VERSION = "vDxm5fT3qXdEzSSgGt2oYN"


@pytest.fixture(scope="module")
def quirks() -> FormMetadata:
    return FormMetadata.from_xlsform(FIX / "quirks.xlsx")


@pytest.fixture(scope="module")
def submissions() -> list[dict]:
    return json.loads((FIX / "submissions" / "quirks.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def imported(quirks) -> dict:
    return {v: read_export(KOBO / f"quirks-{v}.xlsx", quirks) for v in VARIANTS}


def _utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text).tz_convert("UTC").tz_localize(None)


def test_every_header_style_gives_what_kobo_stored(imported, submissions):
    """Root answers, repeat rows and their links equal the stored submissions, whatever the style."""
    for variant, ds in imported.items():
        root = ds.table("household").set_index("KEY")
        assert len(root) == len(submissions), variant
        for sub in submissions:
            row = root.loc[sub["meta/instanceID"]]
            assert row["phone"] == sub["hh/phone"], variant  # formulas read as typed
            assert str(row["region"]) == sub["hh/region"], variant
            assert (row["assets"] or "") == sub.get("hh/assets", ""), variant
            assert row["gps"] == sub["hh/gps"], variant
            assert row["end"] == _utc(sub["end"]), variant  # the instant, in UTC
            assert row["visit_time"] == _utc(sub["hh/visit_time"]), variant
            assert row["DeploymentVersion"] == KOBO_VERSION
            assert row["SubmissionDate"] == pd.Timestamp(sub["_submission_time"])
            members = sub.get("household_members_with_a_long_repeat_name", [])
            trips = sub.get("trips", [])
            assert row["trips_count"] == len(trips), variant  # Kobo does not export it
            people = ds.table("household_members_with_a_long_repeat_name")
            mine = people[people["PARENT_KEY"] == sub["meta/instanceID"]]
            assert mine["pname"].tolist() == [
                m["household_members_with_a_long_repeat_name/pname"] for m in members
            ], variant
            assert [str(s) for s in mine["sex"]] == [
                m["household_members_with_a_long_repeat_name/sex"] for m in members
            ], variant
            assert mine["dob"].dt.strftime("%Y-%m-%d").tolist() == [
                m["household_members_with_a_long_repeat_name/dob"] for m in members
            ], variant
            got = ds.table("trips")
            got = got[got["PARENT_KEY"] == sub["meta/instanceID"]]
            assert got["dest"].tolist() == [t["trips/dest"] for t in trips], variant
            assert got["cost"].tolist() == [float(t["trips/cost"]) for t in trips], variant
        assert not ds.notes, (variant, ds.notes[:3])


def test_all_variants_give_the_same_dataset(imported):
    base = imported["api_text"]
    for variant, ds in imported.items():
        for level in base.levels:
            a = base.table(level).drop(columns=["door_photo_URL", "audit_URL"], errors="ignore")
            b = ds.table(level)[list(a.columns)]
            pd.testing.assert_frame_equal(a, b, check_dtype=True, obj=f"{variant}:{level}")


def test_detected_shape_is_reported(imported):
    got = {v: ds.source["detected"] for v, ds in imported.items()}
    assert got["ui_default"]["headers"] == "XML names, without groups"
    assert got["groups_dash"]["headers"] == "XML names, with groups, joined by '-'"
    assert got["labels_fr_groups"]["values"].startswith("labels (Français (fr))")
    assert got["summary_only"]["select_multiple"] == "summary column only"
    assert got["details_only"]["select_multiple"].startswith("0/1 columns only")
    assert "trips_count" in got["ui_default"]["repeat counts"]
    assert "UTC+01:00" in got["ui_default"]["date-times"]
    assert "date-times" not in got["api_text"]  # text cells keep their offset


def test_formula_text_is_what_was_typed_not_the_cached_value(imported):
    """xlsxwriter stores '=1+2' as a formula with cached value 0: a reader of values gets 0."""
    path = KOBO / "quirks-ui_default.xlsx"
    ws = openpyxl.load_workbook(path, data_only=True).worksheets[0]
    header = [c.value for c in ws[1]]
    cached = [r[header.index("phone")] for r in ws.iter_rows(min_row=2, values_only=True)]
    assert 0 in cached  # the trap is real
    phones = imported["ui_default"].table("household")["phone"].tolist()
    assert "=1+2" in phones and '=HYPERLINK("x")' in phones and "@SUM(A1)" in phones


def test_media_urls_kept_and_flagged_pii(imported):
    from survmig.data.public import public_use

    ds = imported["ui_default"]
    root = ds.table("household")
    assert root["door_photo_URL"].str.startswith("https://kc.kobotoolbox.org/media/").all()
    assert root["audit_URL"].str.endswith("audit.csv").all()
    var = ds.metadata.variables["door_photo_URL"]
    assert var.pii and var.type == "url"
    public, _ = public_use(ds)
    assert "door_photo_URL" not in public.table("household").columns


def test_kobo_version_is_not_the_form_version(imported):
    ds = imported["ui_default"]
    assert "FormVersion" not in ds.table("household").columns
    report = check_dataset(ds)
    assert not [p for p in report.problems if p.check == "form-version"]


def test_labels_ambiguous_are_reported(quirks, tmp_path):
    """Two choices with the same label: the answer stays the label, and the import says so."""
    wb = openpyxl.load_workbook(KOBO / "quirks-labels_en.xlsx")
    ws = wb.worksheets[2]  # trips
    header = [c.value for c in ws[1]]
    col = header.index("Destination") + 1
    for row in range(2, ws.max_row + 1):
        if ws.cell(row, col).value == "Spain":
            ws.cell(row, col).value = "France"
    path = tmp_path / "labels.xlsx"
    wb.save(path)
    meta = FormMetadata.from_dict(quirks.to_dict())
    meta.choices["country"] = [
        type(c)(c.name, {**c.labels, "English (en)": "France"}) if c.name == "ESP" else c
        for c in meta.choices["country"]
    ]
    ds = read_export(path, meta)
    warning = [w for w in ds.source["warnings"] if "dest" in w]
    assert warning and "FRA, ESP" in warning[0]
    assert "France" in set(ds.table("trips")["dest"].dropna())


def test_sheet_names_follow_formpack():
    # formpack's own doctest (utils/string.py, unique_name_for_xls)
    name = "This string has more than 31 characters!"
    assert sheet_name(name) == "This string has more than 31..."
    assert (
        sheet_name(name, ("This string has more than 31...",)) == "This string has more tha... (1)"
    )
    assert sheet_name("a/b:c") == "a_b_c"


def test_csv_export(quirks, imported):
    ds = read_export(KOBO / "quirks-ui_default.csv", quirks)
    assert ds.levels == ["household"]
    assert any("CSV export holds the main table only" in w for w in ds.source["warnings"])
    xlsx = imported["ui_default"].table("household")
    got = ds.table("household")
    for col in ("phone", "region", "assets", "end", "visit_time", "gps", "DeploymentVersion"):
        assert got[col].tolist() == xlsx[col].tolist(), col


@pytest.mark.parametrize("form", ["medhims_household", "lfs_migration_addon"])
def test_standard_questionnaires_import_from_kobo(form):
    """Both were refused before (their repeat_count calculates are not in Kobo's export)."""
    subs = json.loads((FIX / "submissions" / f"{form}.json").read_text(encoding="utf-8"))
    meta = FormMetadata.from_xlsform(XLSFORM / f"{form}.xlsx")
    ds = read_export(KOBO / f"{form}-ui_default.xlsx", meta)
    assert not ds.notes
    assert len(ds.table("household")) == len(subs)
    members = sum(len(s.get("members", [])) for s in subs)
    assert len(ds.table("members")) == members
    counts = meta.generated_counts()
    assert counts  # ret_history_count / rc_items_count
    for name, repeat in counts.items():
        level = meta.variables[name].level
        table = ds.table(level)
        rows = ds.table(repeat).groupby("PARENT_KEY").size()
        assert (
            table.set_index("KEY")[name] == rows.reindex(table["KEY"]).fillna(0).to_numpy()
        ).all()


def test_timezone_explicit_and_undetectable(quirks, imported, tmp_path):
    lagos = read_export(KOBO / "quirks-ui_default.xlsx", quirks, timezone="Africa/Lagos")
    pd.testing.assert_frame_equal(
        lagos.table("household")[["start", "end", "visit_time"]],
        imported["ui_default"].table("household")[["start", "end", "visit_time"]],
    )
    dakar = read_export(KOBO / "quirks-ui_default.xlsx", quirks, timezone="Africa/Dakar")
    shift = lagos.table("household")["end"] - dakar.table("household")["end"]
    assert (shift == pd.Timedelta(hours=-1)).all()
    # without _submission_time nothing tells the offset: kept as wall time, with a warning
    wb = openpyxl.load_workbook(KOBO / "quirks-ui_default.xlsx")
    ws = wb.worksheets[0]
    header = [c.value for c in ws[1]]
    ws.delete_cols(header.index("_submission_time") + 1)
    path = tmp_path / "no-receipt.xlsx"
    wb.save(path)
    ds = read_export(path, quirks)
    warning = " ".join(ds.source["warnings"])
    assert "without UTC offset in end, start, visit_time" in warning and "--timezone" in warning
    assert (
        ds.table("household")["end"] - lagos.table("household")["end"] == pd.Timedelta(hours=1)
    ).all()
    with pytest.raises(SurvmigError, match="unknown time zone"):
        read_export(path, quirks, timezone="Mars/Olympus")
