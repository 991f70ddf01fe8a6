"""Plain tables in and out by extension, with clear errors."""

from __future__ import annotations

import pandas as pd
import pytest

from survmig.errors import SurvmigError
from survmig.tableio import TABLE_FORMATS, check_table_path, read_table, write_table


@pytest.mark.parametrize("suffix", list(TABLE_FORMATS))
def test_round_trip_every_format(tmp_path, suffix):
    frame = pd.DataFrame({"stratum": [1, 1, 2], "psu": [10, 11, 20], "w": [1.5, 2.25, 3.0]})
    path = tmp_path / f"t{suffix}"
    write_table(frame, path)
    back = read_table(path)
    assert list(back.columns) == ["stratum", "psu", "w"]
    assert back["w"].tolist() == [1.5, 2.25, 3.0]
    assert back["psu"].astype(int).tolist() == [10, 11, 20]


def test_unknown_extension_is_refused_before_work(tmp_path):
    with pytest.raises(SurvmigError, match=r"cannot write \.pdf.*use \.csv"):
        check_table_path(tmp_path / "x.pdf")
    with pytest.raises(SurvmigError, match="cannot read .txt"):
        read_table(tmp_path / "x.txt")


def test_restricted_formats(tmp_path):
    with pytest.raises(SurvmigError, match="use .csv, .parquet"):
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "x.sav", allowed=(".csv", ".parquet"))
    assert not (tmp_path / "x.sav").exists()


def test_missing_and_corrupt_files_name_the_file(tmp_path):
    with pytest.raises(SurvmigError, match="file not found") as err:
        read_table(tmp_path / "absent.csv")
    assert "absent.csv" in str(err.value)
    bad = tmp_path / "bad.parquet"
    bad.write_text("this is not parquet")
    with pytest.raises(SurvmigError, match="cannot read this Parquet file"):
        read_table(bad)
    bad_sav = tmp_path / "bad.sav"
    bad_sav.write_text("not spss")
    with pytest.raises(SurvmigError, match="cannot read this SPSS file"):
        read_table(bad_sav)
