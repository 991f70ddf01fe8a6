"""Issue 14 in the data stage: inputs never replaced, nothing lost without a word, nothing leaked.

Each test writes the damaged file from a good one (the synthetic dataset of ``conftest.py``).
"""

from __future__ import annotations

import json

import pandas as pd
import pyreadstat
import pytest

from survmig.data import Dataset
from tests.test_safety import INJECTION, one_line_error

#: identifying variables of the test form (pii column, GPS, device id)
IDENTIFYING = ("pname", "dob", "sender_name", "gps", "deviceid")


@pytest.fixture
def dataset_dir(small, tmp_path):
    return small.write(tmp_path / "data")


def test_export_never_writes_into_its_input(run_cli, dataset_dir):
    before = sorted(p.name for p in dataset_dir.iterdir())
    one_line_error(run_cli("data", "export", dataset_dir, "-o", dataset_dir), "is the input")
    one_line_error(
        run_cli("data", "export", dataset_dir, "-o", dataset_dir / "out"), "inside the input"
    )
    assert sorted(p.name for p in dataset_dir.iterdir()) == before
    assert Dataset.read(dataset_dir).levels  # still readable


def test_reexport_keeps_a_file_the_user_added(run_cli, dataset_dir, tmp_path):
    out = tmp_path / "out"
    assert run_cli("data", "export", dataset_dir, "--format", "csv", "-o", out).exit_code == 0
    (out / "README_for_ministry.txt").write_text("mine")
    one_line_error(
        run_cli("data", "export", dataset_dir, "--format", "csv", "-o", out),
        "README_for_ministry.txt",
    )
    assert (out / "README_for_ministry.txt").read_text() == "mine"


def test_empty_format_is_refused_before_reading(run_cli, tmp_path):
    missing = tmp_path / "no-such-export"
    one_line_error(
        run_cli("data", "export", missing, "--format", "", "-o", tmp_path / "o"), "no format"
    )
    one_line_error(
        run_cli("data", "export", missing, "--format", ",", "-o", tmp_path / "o"), "--format"
    )


def test_value_that_cannot_be_written_as_typed_is_reported(run_cli, small, form_path, tmp_path):
    good = tmp_path / "good"
    assert run_cli("data", "export", small.write(tmp_path / "ds"), "--format", "dta", "-o", good)
    frame, _ = pyreadstat.read_dta(str(good / "household.dta"))
    frame.loc[0, "hh_size"] = 2.5  # an integer question holding 2.5
    bad = tmp_path / "household.dta"
    pyreadstat.write_dta(frame, str(bad))
    out = tmp_path / "out"
    result = run_cli("data", "export", bad, "--form", form_path, "--format", "dta,csv", "-o", out)
    assert result.exit_code == 0, result.stderr
    assert "1 value(s) could not be written as typed" in result.stderr
    notes = pd.read_csv(out / "export_notes.csv")
    row = notes[notes["column"] == "hh_size"]
    assert len(row) == 1 and "'2.5' is not an integer" in row["note"].iloc[0]
    assert frame["KEY"].iloc[0] in row["note"].iloc[0]  # names the record
    assert "written exactly as stored" in result.stdout


def test_public_yaml_duplicate_key_and_syntax_error(run_cli, dataset_dir, tmp_path):
    config = tmp_path / "public.yaml"
    config.write_text("drop:\n  - region\nkeep: []\ndrop:\n  - hh_size\n")  # 2nd drop replaced 1st
    out = tmp_path / "pub"
    one_line_error(
        run_cli("data", "export", dataset_dir, "--public-use", config, "-o", out),
        "public.yaml:4",
        "duplicate key 'drop'",
    )
    config.write_text("drop: [region\ntop_code: {}\n")
    one_line_error(
        run_cli("data", "export", dataset_dir, "--public-use", config, "-o", out),
        "public.yaml:",
        "YAML syntax error",
    )
    assert not out.exists()


def test_damaged_dataset_folder(run_cli, dataset_dir, tmp_path):
    table = dataset_dir / "household.parquet"
    table.write_bytes(table.read_bytes()[:200])  # truncated
    one_line_error(
        run_cli("data", "export", dataset_dir, "-o", tmp_path / "o"),
        "household.parquet",
        "damaged Parquet",
    )
    (dataset_dir / "metadata.json").write_text(json.dumps([1, 2, 3]))
    one_line_error(
        run_cli("data", "codebook", dataset_dir, "-o", tmp_path / "o"),
        "metadata.json",
        "not a survmig dataset",
    )
    doc = {"format": "survmig-dataset", "version": 1, "levels": "household", "form": [1]}
    (dataset_dir / "metadata.json").write_text(json.dumps(doc))
    one_line_error(run_cli("data", "check", dataset_dir), "metadata.json", "damaged metadata")


def _mentions(folder, names):
    text = " ".join(
        p.read_text(encoding="utf-8") for p in folder.iterdir() if p.suffix in (".html", ".xml")
    )
    return [n for n in names if n in text]


def test_public_use_writes_its_own_codebook_without_the_removed_variables(
    run_cli, dataset_dir, form_path, tmp_path
):
    config = tmp_path / "public.yaml"
    config.write_text("anonymize_keys: true\n")
    out = tmp_path / "public"
    result = run_cli(
        "data", "export", dataset_dir, "--public-use", config, "--format", "csv,sav", "-o", out
    )
    assert result.exit_code == 0, result.stderr
    assert (out / "codebook-household.html").exists() and (out / "ddi-person.xml").exists()
    assert _mentions(out, IDENTIFYING) == []
    assert _mentions(out, ["Date of birth", "Sender&#39;s name", "Sender's name"]) == []
    assert "hh_size" in (out / "codebook-household.html").read_text(encoding="utf-8")
    # documenting the public files later: only what they hold
    cb = tmp_path / "cb"
    result = run_cli("data", "codebook", out, "--form", form_path, "--keep-going", "-o", cb)
    assert result.exit_code == 0, result.stderr
    assert _mentions(cb, IDENTIFYING) == []
    # the full (internal) dataset's codebook still documents everything
    full = tmp_path / "full"
    assert run_cli("data", "codebook", dataset_dir, "-o", full).exit_code == 0
    assert "pname" in _mentions(full, IDENTIFYING)


def test_check_problem_list_spreadsheet_safe(run_cli, dataset_dir, form_path, tmp_path):
    exported = tmp_path / "csv"
    run_cli("data", "export", dataset_dir, "--format", "csv", "-o", exported)
    table = pd.read_csv(exported / "household.csv", dtype=str, keep_default_na=False)
    table.loc[0, "region"] = INJECTION  # an answer that is a formula
    path = tmp_path / "household.csv"
    table.to_csv(path, index=False)
    for name, extra in (("exact.csv", []), ("safe.csv", ["--spreadsheet-safe"])):
        result = run_cli("data", "check", path, "--form", form_path, "-o", tmp_path / name, *extra)
        assert result.exit_code == 1, result.stderr  # problems found
    assert INJECTION in pd.read_csv(tmp_path / "exact.csv")["value"].tolist()
    safe = pd.read_csv(tmp_path / "safe.csv")["value"].tolist()
    assert "'" + INJECTION in safe and INJECTION not in safe


def test_import_csv_with_a_repeated_column_names_it(run_cli, small, form_path, tmp_path):
    table = small.table(small.root)
    path = tmp_path / "household.csv"
    text = table.to_csv(index=False).splitlines()
    header = text[0].split(",")
    header[header.index("remit")] = "hh_size"  # two hh_size columns
    path.write_text("\n".join([",".join(header), *text[1:]]) + "\n")
    one_line_error(
        run_cli("data", "import", path, "--form", form_path, "-o", tmp_path / "o"),
        "column 'hh_size' appears twice",
    )
