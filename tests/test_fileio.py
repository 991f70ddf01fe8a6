"""Outputs are all-or-nothing."""

from __future__ import annotations

import pytest

from survmig.errors import SurvmigError
from survmig.fileio import OUTPUT_MARKER, atomic_dir, atomic_path


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.xlsx"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("partial")
        raise RuntimeError("writer failed")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_atomic_path_replaces_on_success(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old")
    with atomic_path(target) as tmp:
        assert tmp.suffix == ".csv"
        tmp.write_text("new")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_atomic_dir_keeps_old_output_on_failure(tmp_path):
    target = tmp_path / "outdir"
    with atomic_dir(target) as tmp:
        (tmp / "a.txt").write_text("old")
    with pytest.raises(ValueError), atomic_dir(target) as tmp:
        (tmp / "b.txt").write_text("new")
        raise ValueError
    assert sorted(p.name for p in target.iterdir()) == [OUTPUT_MARKER, "a.txt"]
    with atomic_dir(target) as tmp:
        (tmp / "b.txt").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == [OUTPUT_MARKER, "b.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outdir"]


def test_atomic_dir_never_replaces_a_folder_of_other_files(tmp_path):
    target = tmp_path / "precious"
    target.mkdir()
    (target / "field_notes.txt").write_text("notes")
    with (
        pytest.raises(SurvmigError, match="holds files survmig did not write"),
        atomic_dir(target) as tmp,
    ):
        (tmp / "out.csv").write_text("x")
    assert [p.name for p in target.iterdir()] == ["field_notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["precious"]
    empty = tmp_path / "empty"
    empty.mkdir()
    with atomic_dir(empty) as tmp:
        (tmp / "out.csv").write_text("x")
    assert (empty / "out.csv").exists()
    afile = tmp_path / "a.txt"
    afile.write_text("x")
    with pytest.raises(SurvmigError, match="is a file"), atomic_dir(afile):
        pass
    with pytest.raises(SurvmigError, match="inside the file"), atomic_dir(afile / "out"):
        pass


def test_outputs_get_ordinary_permissions(tmp_path):
    import os
    import stat

    old = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "report.html") as tmp:
            tmp.write_text("x")
        with atomic_dir(tmp_path / "out") as tmp:
            (tmp / "a.txt").write_text("x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "report.html").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o755
