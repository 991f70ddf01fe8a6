"""Readers: the ODK Central and KoboToolbox shapes, single tables, and bad input."""

from __future__ import annotations

import io
import zipfile

import pandas as pd
import pytest

from survmig.data import (
    KEY,
    PARENT_KEY,
    ROOT_KEY,
    ROW_POS,
    read_export,
    write_central_export,
    write_kobo_export,
)
from survmig.data.exports import CENTRAL_TAIL
from survmig.errors import SurvmigError


def assert_same(a, b, ignore=()):
    assert a.levels == b.levels
    for level in a.levels:
        x, y = (
            a.table(level),
            b.table(level).drop(columns=[c for c in ignore if c in b.table(level)]),
        )
        assert list(x.columns) == list(y.columns), level
        for col in x.columns:
            pd.testing.assert_series_equal(
                x[col], y[col], check_dtype=False, check_names=False, obj=f"{level}.{col}"
            )


def test_form_metadata(form):
    assert form.levels["sender"].key_segment == "remit_block/sender"
    assert form.levels["trip"].parent == "person"
    assert form.levels["emigrant"].relevant == ("${any_abroad} = 1",)
    earnings = form.variables["earnings"]
    assert (
        earnings.group_relevant == ("${age} >= 15",)
        and earnings.relevant == "selected(${activities}, 'job')"
    )
    assert form.variables["pname"].pii and form.variables["age"].concept == "age"
    assert form.text(form.variables["age"].labels, "fr") == "Âge"
    assert form.language_key("ar") == "العربية (ar)"
    assert form.option_columns("activities") == {
        "job": "activities_job",
        "study": "activities_study",
        "home": "activities_home",
        "none": "activities_none",
    }
    assert form.is_string_coded(form.variables["birth_country"])
    assert not form.is_string_coded(form.variables["sex"])
    assert form.silent == {"household": ["hh/hh_note"]}
    assert type(form).from_dict(form.to_dict()).to_dict() == form.to_dict()


def test_central_shape(form, small, tmp_path):
    path = write_central_export(small, form, tmp_path / "export.zip")
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == sorted(
            [
                "hh_test.csv",
                "hh_test-person.csv",
                "hh_test-trip.csv",
                "hh_test-emigrant.csv",
                "hh_test-sender.csv",
            ]
        )
        root = pd.read_csv(zf.open("hh_test.csv"), dtype=str, keep_default_na=False)
        person = pd.read_csv(zf.open("hh_test-person.csv"), dtype=str, keep_default_na=False)
        trip = pd.read_csv(zf.open("hh_test-trip.csv"), dtype=str, keep_default_na=False)
    assert list(root.columns[:5]) == ["SubmissionDate", "start", "end", "deviceid", "hh-region"]
    assert list(root.columns[-len(CENTRAL_TAIL) :]) == CENTRAL_TAIL
    assert "meta-instanceID" in root.columns and "remit_block-n_senders" in root.columns
    assert (root["KEY"] == root["meta-instanceID"]).all()
    assert list(person.columns[-2:]) == [PARENT_KEY, KEY] and "work-activities" in person.columns
    assert trip[KEY].str.match(r"^uuid:[0-9a-f-]+/person\[\d+\]/trip\[\d+\]$").all()


def test_central_round_trip(form, small, tmp_path):
    back = read_export(write_central_export(small, form, tmp_path / "export.zip"), form)
    assert_same(small, back)
    assert back.notes == []
    assert back.source["shape"] == "odk-central"


def test_central_variants_split_and_bare_names(form, small, tmp_path):
    path = write_central_export(
        small, form, tmp_path / "e.zip", split_select_multiples=True, group_paths=False
    )
    with zipfile.ZipFile(path) as zf:
        person = pd.read_csv(zf.open("hh_test-person.csv"), dtype=str, keep_default_na=False)
    assert "activities/job" in person.columns and "activities" in person.columns
    assert_same(small, read_export(path, form))


def test_central_split_columns_only(form, small, tmp_path):
    """An export holding only the 0/1 columns still gives the answers back (in choice order)."""
    path = write_central_export(small, form, tmp_path / "e.zip", split_select_multiples=True)
    rebuilt = tmp_path / "split.zip"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(rebuilt, "w") as dst:
        for name in src.namelist():
            df = pd.read_csv(src.open(name), dtype=str, keep_default_na=False)
            df = df.drop(columns=[c for c in ("work-activities", "uses") if c in df.columns])
            dst.writestr(name, df.to_csv(index=False))
    back = read_export(rebuilt, form)
    pd.testing.assert_series_equal(
        back.table("person")["activities"], small.table("person")["activities"], check_dtype=False
    )


def test_kobo_shape_and_round_trip(form, small, tmp_path):
    """Our Kobo writer makes what formpack makes with the web UI's defaults (the real thing is
    tested in test_kobo.py on formpack's own output)."""
    path = write_kobo_export(small, form, tmp_path / "kobo.xlsx", device_timezone="+01:00")
    sheets = pd.read_excel(path, sheet_name=None, dtype=str, keep_default_na=False)
    names = list(sheets)
    assert names == ["Test household survey", "person", "trip", "emigrant", "sender"]
    root, person, trip = sheets[names[0]], sheets["person"], sheets["trip"]
    assert {"_id", "_uuid", "_submission_time", "_index", "__version__", "region"} <= set(
        root.columns
    )
    assert "meta/instanceID" not in root.columns and "hh/region" not in root.columns
    assert {
        "activities",
        "activities/job",
        "_parent_index",
        "_parent_table_name",
        "_submission__uuid",
    } <= set(person.columns)
    assert set(trip["_parent_index"].astype(int)) <= set(person["_index"].astype(int))
    back = read_export(path, form, timezone="+01:00")
    # Kobo numbers its submissions (_id) and adds its own status and version id
    assert_same(small, back, ignore=["SubmissionID", "SubmissionStatus", "DeploymentVersion"])
    assert back.table("household")["SubmissionID"].tolist() == [str(i) for i in range(1, 61)]
    assert back.source["shape"] == "kobotoolbox"


def test_keys_and_flatten(small):
    trip = small.flatten("trip")
    person = small.table("person")
    assert (trip[ROOT_KEY] == trip["KEY_household"]).all()
    assert (trip[PARENT_KEY] == trip["KEY_person"]).all()
    merged = person.set_index(KEY).loc[trip["KEY_person"], "age"].reset_index(drop=True)
    pd.testing.assert_series_equal(trip["age"], merged, check_names=False)
    assert trip["age"].min() >= 15  # the trip repeat is asked of people aged 15+
    positions = person.groupby(PARENT_KEY)[ROW_POS].apply(
        lambda s: list(s) == list(range(1, len(s) + 1))
    )
    assert positions.all()


def test_column_for_concepts(small):
    assert small.column_for("age") == "age"
    assert small.column_for("sex", level="emigrant") == "em_sex"
    with pytest.raises(SurvmigError, match="several variables"):
        small.column_for("sex")
    with pytest.raises(SurvmigError, match="no variable with concept"):
        small.column_for("intention_to_migrate")


def test_specials_as_missing(small):
    person = small.table("person")
    assert (person["age"] == -8).any() or (person["age"] == -9).any()
    clean = small.table("person", specials="missing")
    assert not clean["age"].isin([-8, -9]).any()
    assert (
        clean["age"].isna().sum() == person["age"].isna().sum() + person["age"].isin([-8, -9]).sum()
    )


def test_dataset_write_read(small, tmp_path):
    small.write(tmp_path / "ds")
    back = read_export(tmp_path / "ds")
    assert_same(small, back)


def test_single_tables_and_directories(form, small, tmp_path):
    from survmig.data import write_tables

    write_tables(small, tmp_path / "out", ("csv", "parquet"))
    for ext in ("csv", "parquet"):
        d = tmp_path / ext
        d.mkdir()
        for level in small.levels:
            (d / f"{level}.{ext}").write_bytes((tmp_path / "out" / f"{level}.{ext}").read_bytes())
        assert_same(small, read_export(d, form))
    root = read_export(tmp_path / "out" / "household.csv", form)
    assert root.levels == ["household"]
    with pytest.raises(SurvmigError, match="holds a repeat"):
        read_export(tmp_path / "out" / "person.csv", form)
    person = read_export(tmp_path / "out" / "person.csv", form, level="person", strict=False)
    assert {p.check for p in person.notes} == {"orphan"}  # its households are not in that file


# ------------------------------------------------------------------------------------ bad input
def _zip_with(path, files):
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return path


def _central_files(form, small, tmp_path):
    path = write_central_export(small, form, tmp_path / "ok.zip")
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def test_not_what_the_extension_says(form, tmp_path):
    html = tmp_path / "export.zip"
    html.write_text("<!DOCTYPE html><html><body>Session expired</body></html>")
    with pytest.raises(SurvmigError, match="looks like an HTML page"):
        read_export(html, form)
    csv = tmp_path / "data.xlsx"
    csv.write_text("a,b\n1,2\n")
    with pytest.raises(SurvmigError, match="not a .xlsx file"):
        read_export(csv, form)
    zipped = _zip_with(tmp_path / "data.csv", {"x.csv": "a\n"})
    with pytest.raises(SurvmigError, match="zip archive"):
        read_export(zipped, form)


def test_empty_files(form, tmp_path):
    empty = tmp_path / "empty.zip"
    empty.write_bytes(b"")
    with pytest.raises(SurvmigError, match="empty"):
        read_export(empty, form)
    blank = tmp_path / "blank.csv"
    blank.write_text("\n\n")
    with pytest.raises(SurvmigError, match="empty"):
        read_export(blank, form)
    nocsv = _zip_with(tmp_path / "nocsv.zip", {"readme.txt": "hello"})
    with pytest.raises(SurvmigError, match="no CSV"):
        read_export(nocsv, form)


def test_encoding_problem_names_the_row(form, small, tmp_path):
    files = _central_files(form, small, tmp_path)
    lines = files["hh_test-person.csv"].split(b"\n")
    lines[3] = lines[3].replace(b",", b",\xe9", 1)  # a Latin-1 byte in data row 3
    files["hh_test-person.csv"] = b"\n".join(lines)
    with pytest.raises(SurvmigError, match=r"line 4 \(data row 3\) is not valid utf-8") as err:
        read_export(_zip_with(tmp_path / "bad.zip", files), form)
    assert "hh_test-person.csv" in str(err.value)


def test_other_form_version_names_the_columns(form, small, tmp_path):
    files = _central_files(form, small, tmp_path)
    root = pd.read_csv(io.BytesIO(files["hh_test.csv"]), dtype=str, keep_default_na=False)
    root = root.rename(columns={"hh-hh_size": "hh-hh_members"}).assign(FormVersion="2023.9")
    files["hh_test.csv"] = root.to_csv(index=False)
    path = _zip_with(tmp_path / "v.zip", files)
    with pytest.raises(SurvmigError) as err:
        read_export(path, form)
    msg = str(err.value)
    assert (
        "columns not in the form: hh-hh_members" in msg and "missing from the file: hh_size" in msg
    )
    assert "version(s) 2023.9" in msg and "2024.1" in msg
    ds = read_export(path, form, strict=False)
    checks = {(p.check, p.column) for p in ds.notes}
    assert ("not-in-form", "hh-hh_members") in checks and ("missing-column", "hh_size") in checks
    assert ("form-version", "FormVersion") in checks
    assert ds.table("household")["hh-hh_members"].notna().all()  # kept, not dropped


def test_broken_links_and_duplicates(form, small, tmp_path):
    files = _central_files(form, small, tmp_path)
    person = pd.read_csv(io.BytesIO(files["hh_test-person.csv"]), dtype=str, keep_default_na=False)
    person.loc[0, PARENT_KEY] = "uuid:not-there"
    files["hh_test-person.csv"] = person.to_csv(index=False)
    with pytest.raises(
        SurvmigError,
        match=r"1 row\(s\) of repeat 'person' point to a parent that is not in the data",
    ):
        read_export(_zip_with(tmp_path / "orphan.zip", files), form)
    root = pd.read_csv(io.BytesIO(files["hh_test.csv"]), dtype=str, keep_default_na=False)
    files["hh_test.csv"] = pd.concat([root, root.iloc[[0]]]).to_csv(index=False)
    path = _zip_with(tmp_path / "dup.zip", files)
    with pytest.raises(SurvmigError, match="duplicate instance ids"):
        read_export(path, form)
    ds = read_export(path, form, strict=False)
    found = {(p.check, p.level) for p in ds.notes}
    assert ("duplicate", "household") in found and ("orphan", "person") in found


def test_bad_values_are_reported_not_dropped(form, small, tmp_path):
    files = _central_files(form, small, tmp_path)
    person = pd.read_csv(io.BytesIO(files["hh_test-person.csv"]), dtype=str, keep_default_na=False)
    person.loc[1, "age"] = "forty"
    files["hh_test-person.csv"] = person.to_csv(index=False)
    ds = read_export(_zip_with(tmp_path / "v.zip", files), form)
    [problem] = ds.notes
    assert (problem.check, problem.column, problem.value, problem.key) == (
        "type",
        "age",
        "forty",
        person.loc[1, KEY],
    )


def test_cli_errors_exit_2_without_output(form_path, tmp_path, run_cli):
    bad = tmp_path / "export.zip"
    bad.write_text("<html>login</html>")
    out = tmp_path / "out"
    result = run_cli("data", "import", bad, "--form", form_path, "-o", out)
    assert result.exit_code == 2
    assert "looks like an HTML page" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()
    assert run_cli("data", "import", bad, "-o", out).exit_code == 2


def test_cli_import_check_export_codebook(form_path, form, small, tmp_path, run_cli):
    export = write_central_export(small, form, tmp_path / "e.zip")
    assert (
        run_cli("data", "import", export, "--form", form_path, "-o", tmp_path / "ds").exit_code == 0
    )
    result = run_cli("data", "check", tmp_path / "ds", "-o", tmp_path / "report.csv")
    assert result.exit_code == 0, result.stdout
    assert "no problems found" in result.stdout
    result = run_cli(
        "data",
        "export",
        tmp_path / "ds",
        "--format",
        "sav,dta,csv",
        "--lang",
        "fr",
        "-o",
        tmp_path / "out",
    )
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "out" / "person.dta").exists() and (
        tmp_path / "out" / "export_notes.csv"
    ).exists()
    result = run_cli("data", "codebook", tmp_path / "ds", "-o", tmp_path / "cb")
    assert result.exit_code == 0 and (tmp_path / "cb" / "ddi-sender.xml").exists()
    for sub in ("import", "check", "export", "codebook"):
        assert "Example" in run_cli("data", sub, "--help").stdout
