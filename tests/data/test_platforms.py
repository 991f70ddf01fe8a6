"""ODK Central's full export (client audit), SurveyCTO wide and long, platform detection and the
outputs found on these shapes (.dta names, .sav date-times and blanks)."""

from __future__ import annotations

import io
import re
import zipfile

import pandas as pd
import pyreadstat
import pytest

from survmig.data import read_export, write_central_export, write_tables
from survmig.data.exports import CENTRAL_TAIL
from survmig.data.platform_exports import write_kobo_xlsx, write_surveycto_export
from survmig.data.surveycto import choice_suffix
from survmig.errors import SurvmigError

#: ODK Central's aggregated audit CSV header (central-backend lib/data/client-audits.js)
AUDIT_HEADER = [
    "instance ID", "event", "node", "start", "end", "latitude", "longitude", "accuracy",
    "old-value", "new-value", "user", "change-reason",
]  # fmt: skip


def _same(a, b, ignore=("SubmissionDate", "SubmissionID")):
    for level in a.levels:
        x, y = a.table(level), b.table(level)
        for col in x.columns:
            if col in ignore:
                continue
            pd.testing.assert_series_equal(
                x[col].reset_index(drop=True),
                y[col].reset_index(drop=True),
                check_dtype=False,
                check_names=False,
                obj=f"{level}.{col}",
            )


def test_central_full_export_with_client_audit(form, small, tmp_path):
    path = write_central_export(small, form, tmp_path / "plain.zip")
    keys = small.table("household")["KEY"].tolist()[:2]
    rows = [
        [keys[0], "form start", "", "1717228800000", "", "", "", "", "", "", "", ""],
        [keys[0], "question", "/data/hh/region", "1717228801000", "1717228805500", "14.7", "-17.4", "5", "", "1", "", ""],
        [keys[1], "question", "/data/hh/hh_size", "1717229000000", "1717229003000", "", "", "", "2", "3", "", "wrong count"],
    ]  # fmt: skip
    audit = pd.DataFrame(rows, columns=AUDIT_HEADER).to_csv(index=False)
    full = tmp_path / "full.zip"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(full, "w") as dst:
        for name in src.namelist():
            dst.writestr(name, src.read(name))
        dst.writestr(f"{form.form_id} - audit.csv", audit)
        dst.writestr("media/audit.csv", "event,node,start,end\n")
    ds = read_export(full, form)
    assert ds.levels == small.levels  # the audit is not taken for a repeat
    assert list(ds.audit["KEY"]) == [keys[0], keys[0], keys[1]]
    assert ds.audit["end"].iloc[1] == pd.Timestamp("2024-06-01 08:00:05.500")
    assert ds.audit["change-reason"].iloc[2] == "wrong count"
    assert ds.source["detected"]["client audit"] == "3 events of 2 submissions"
    back = ds.write(tmp_path / "ds")
    from survmig.data import Dataset

    pd.testing.assert_frame_equal(Dataset.read(back).audit, ds.audit)


@pytest.mark.parametrize("shape", ["wide", "long"])
def test_surveycto_round_trip(form, small, tmp_path, shape):
    suffix = ".csv" if shape == "wide" else ".zip"
    path = write_surveycto_export(
        small, form, tmp_path / f"scto{suffix}", shape=shape, server_timezone="Africa/Lagos"
    )
    ds = read_export(path, form, timezone="Africa/Lagos")
    assert ds.source["detected"]["platform"] == "SurveyCTO"
    assert ds.levels == small.levels
    _same(small, ds)
    assert (ds.table("household")["FormVersion"] == "2024.1").all()


def test_surveycto_wide_shape(form, small, tmp_path):
    path = write_surveycto_export(small, form, tmp_path / "wide.csv")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    cols = list(frame.columns)
    assert cols[0] == "SubmissionDate" and cols[-3:] == ["instanceID", "formdef_version", "KEY"]
    assert "pname_1" in cols and "activities_job_2" in cols  # repeat suffix after the choice
    nested = [c for c in cols if c.startswith("trip_country_")]
    assert nested and all(re.fullmatch(r"trip_country_\d+_\d+", c) for c in nested)  # _person_trip
    assert (
        frame["SubmissionDate"]
        .str.match(r"^[A-Z][a-z]{2} \d{1,2}, \d{4} \d{1,2}:\d\d:\d\d [AP]M$")
        .all()
    )
    assert choice_suffix("-8") == "_8"
    ds = read_export(path, form)  # no time zone: SurveyCTO's times stay wall time, with a warning
    assert any("--timezone" in w for w in ds.source["warnings"])


def test_surveycto_long_shape(form, small, tmp_path):
    path = write_surveycto_export(small, form, tmp_path / "long.zip", shape="long")
    with zipfile.ZipFile(path) as zf:
        person = pd.read_csv(io.BytesIO(zf.read("hh_test-person.csv")), dtype=str)
        root = pd.read_csv(io.BytesIO(zf.read("hh_test.csv")), dtype=str)
    assert {"PARENT_KEY", "KEY", "SET-OF-person", "SET-OF-trip"} <= set(person.columns)
    assert (root["SET-OF-person"] == root["KEY"] + "/person").all()


def test_platform_option_overrides_and_refuses_mismatch(form, small, tmp_path):
    path = write_surveycto_export(small, form, tmp_path / "wide.csv")
    with pytest.raises(SurvmigError, match="a odk-central export is not a .csv file"):
        read_export(path, form, platform="odk-central")
    with pytest.raises(SurvmigError, match="unknown platform"):
        read_export(path, form, platform="redcap")
    # read as a plain table it is a form mismatch, named in one line with a count
    with pytest.raises(SurvmigError) as err:
        read_export(path, form, platform="table")
    msg = str(err.value)
    assert "\n" not in msg and re.search(r"\(\+\d+ more\)", msg)
    assert "columns not in the form: line_no_1," in msg


def test_version_mismatch_names_first_columns_and_counts(form, small, tmp_path):
    path = write_central_export(small, form, tmp_path / "c.zip")
    files = {}
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            files[name] = zf.read(name)
    root = pd.read_csv(io.BytesIO(files["hh_test.csv"]), dtype=str, keep_default_na=False)
    fixed = {"KEY", "SubmissionDate", *CENTRAL_TAIL}
    root = root.rename(columns={c: f"{c}_v2" for c in root.columns if c not in fixed})
    files["hh_test.csv"] = root.to_csv(index=False).encode()
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    with pytest.raises(SurvmigError) as err:
        read_export(bad, form)
    msg = str(err.value)
    extra = [c for c in root.columns if c.endswith("_v2")]
    assert len(extra) > 5 and f"(+{len(extra) - 5} more)" in msg and extra[0] in msg
    assert extra[-1] not in msg and "\n" not in msg


def test_dta_long_labelled_names(form, small, tmp_path):
    """A labelled variable of 31+ characters (readstat's label-set limit) is shortened, listed in
    export_notes.csv and keeps its full name in its label; reading back restores the name."""
    from survmig.data import FormMetadata

    meta = FormMetadata.from_dict(small.metadata.to_dict())
    long = "region_of_residence_at_the_time_of_interview"  # 44 characters
    var = meta.variables.pop("region")
    meta.variables = {**{long: type(var)(**{**var.__dict__, "name": long})}, **meta.variables}
    tables = {lv: small.table(lv) for lv in small.levels}
    tables["household"] = tables["household"].rename(columns={"region": long})
    from survmig.data import Dataset

    ds = Dataset(tables, meta)
    notes = write_tables(ds, tmp_path / "out", ("dta", "sav"))
    renamed = [n for n in notes if n.column == long and n.format == "dta"]
    assert renamed and f"renamed to {long[:31]} " in renamed[0].note
    frame, info = pyreadstat.read_dta(str(tmp_path / "out" / "household.dta"))
    short = long[:31]
    assert short in frame.columns
    assert info.column_names_to_labels[short].startswith(long + ": ")
    assert info.variable_to_label[short]  # its value labels were written
    listed = pd.read_csv(tmp_path / "out" / "export_notes.csv")
    assert (listed["column"] == long).any()
    back = read_export(tmp_path / "out" / "household.dta", meta)
    assert back.table("household")[long].tolist() == tables["household"][long].tolist()


def test_sav_datetimes_round_to_the_millisecond_and_blanks_noted(form, small, tmp_path):
    table = small.table("household").copy()
    table["start"] = pd.Series(
        pd.to_datetime(["2024-06-01T10:00:00.123", "2024-06-01T10:00:00.001"] * 30)
    ).astype("datetime64[ms]")
    table.loc[0, "deviceid"] = "device 7  "
    from survmig.data import Dataset

    ds = Dataset(
        {**{lv: small.table(lv) for lv in small.levels}, "household": table}, small.metadata
    )
    notes = write_tables(ds, tmp_path / "sav", ("sav",))
    blanks = [n for n in notes if n.column == "deviceid"]
    assert blanks and "1 value(s) end in blanks" in blanks[0].note
    back = read_export(tmp_path / "sav" / "household.sav", small.metadata)
    assert back.table("household")["start"].tolist() == table["start"].tolist()


def test_cli_import_reports_detection_and_timezone_errors(
    form_path, form, small, tmp_path, run_cli
):
    path = write_kobo_xlsx(small, form, tmp_path / "k.xlsx", device_timezone="+01:00")
    res = run_cli(
        "data", "import", path, "--form", form_path, "-o", tmp_path / "d", "--timezone", "+01:00"
    )
    assert res.exit_code == 0, res.stderr
    assert (
        "platform: KoboToolbox" in res.stdout and "headers: XML names, without groups" in res.stdout
    )
    res = run_cli(
        "data",
        "import",
        path,
        "--form",
        form_path,
        "-o",
        tmp_path / "e",
        "--timezone",
        "Nowhere/Else",
    )
    assert res.exit_code == 2 and "unknown time zone 'Nowhere/Else'" in res.stderr
    assert not (tmp_path / "e").exists()
