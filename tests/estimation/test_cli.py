"""``survmig estimate`` through the real entry point: formats, design forms, and every bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from survmig.design import SurveyDesign
from survmig.estimation import estimate


@pytest.fixture
def strat_csv(tmp_path: Path, rfix) -> Path:
    path = tmp_path / "apistrat.csv"
    rfix.dataset("apistrat").to_csv(path, index=False)
    return path


@pytest.fixture
def mig_files(tmp_path: Path, rfix) -> tuple[Path, Path]:
    data = tmp_path / "mig.parquet"
    rfix.dataset("mig").to_parquet(data, index=False)
    design = tmp_path / "design.yaml"
    design.write_text(
        "ids: [ea, hh]\nstrata: stratum\nfpc: [N_ea, M_hh]\nnest: true\nvariance: multistage\n"
    )
    return data, design


def test_one_liner_matches_python_and_r(run_cli, strat_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "est.csv"
    res = run_cli(
        "estimate",
        strat_csv,
        "--strata",
        "stype",
        "--weight",
        "pw",
        "--fpc",
        "fpc",
        "--mean",
        "api00",
        "--total",
        "enroll",
        "-o",
        out,
    )
    assert res.exit_code == 0, res.stderr
    got = pd.read_csv(out)
    assert list(got.columns[:3]) == ["statistic", "variable", "category"]
    # the published values of the spec (R survey)
    assert got.loc[0, "estimate"] == pytest.approx(662.287, abs=1e-3)
    assert got.loc[0, "se"] == pytest.approx(9.4089408028, rel=1e-9)
    assert got.loc[0, "deff"] == pytest.approx(1.204457, rel=1e-6)
    assert got.loc[1, "estimate"] == pytest.approx(3687178, abs=1)
    assert got.loc[1, "se"] == pytest.approx(114642, abs=1)


def test_design_file_every_format(run_cli, mig_files, tmp_path: Path, rfix) -> None:
    data, design = mig_files
    args = [
        "estimate",
        data,
        "--design",
        design,
        "--mean",
        "migrant,amount",
        "--prop",
        "sex",
        "--ratio",
        "amount/hhsize",
        "--quantile",
        "amount:0.5,0.9",
        "--by",
        "region,urban",
        "--na",
        "drop",
    ]
    expected = estimate(
        SurveyDesign(
            rfix.dataset("mig"),
            ids=["ea", "hh"],
            strata="stratum",
            fpc=["N_ea", "M_hh"],
            nest=True,
            variance="multistage",
        ),
        mean=["migrant", "amount"],
        prop="sex",
        ratio=[("amount", "hhsize")],
        quantile={"amount": [0.5, 0.9]},
        by=["region", "urban"],
        na="drop",
    )
    for ext in (".csv", ".xlsx", ".json", ".md"):
        out = tmp_path / f"est{ext}"
        res = run_cli(*args, "-o", out)
        assert res.exit_code == 0, res.stderr
        if ext == ".csv":
            got = pd.read_csv(out)
        elif ext == ".xlsx":
            got = pd.read_excel(out)
            import openpyxl

            ws = openpyxl.load_workbook(out)["estimates"]
            head = [c.value for c in ws[1]]
            est, cv = head.index("estimate") + 1, head.index("cv") + 1
            stats = [ws.cell(r, 1).value for r in range(2, ws.max_row + 1)]
            share_row = stats.index("prop") + 2
            assert ws.cell(share_row, est).number_format == "0.0%"  # shares in percent
            assert ws.cell(2, cv).number_format == "0.0%"
            assert ws.freeze_panes == "A2" and ws.column_dimensions["A"].width >= 8
        elif ext == ".json":
            payload = json.loads(out.read_text())
            assert payload["level"] == 0.95
            got = pd.DataFrame(payload["estimates"])
        else:
            lines = out.read_text().splitlines()
            assert lines[0].startswith(
                "| statistic | variable | category | region | urban | estimate"
            )
            assert len(lines) == len(expected) + 2
            continue
        assert len(got) == len(expected)
        np.testing.assert_allclose(got["estimate"], expected["estimate"], rtol=1e-12)
        np.testing.assert_allclose(got["se"], expected["se"], rtol=1e-12)


def test_stdout_table(run_cli, strat_csv: Path) -> None:
    res = run_cli(
        "estimate",
        strat_csv,
        "--strata",
        "stype",
        "--weight",
        "pw",
        "--prop",
        "awards",
        "--ci",
        "beta",
        "--by",
        "stype",
    )
    assert res.exit_code == 0, res.stderr
    out = res.stdout
    # a design header as Stata's svy prints it, then the default columns
    assert "Number of strata" in out and "Number of obs" in out and "Design df" in out
    assert "awards" in out and "[95% CI]" in out and "ci_low" not in out and "deff" not in out
    assert sum(line.lstrip().startswith("prop") for line in out.splitlines()) == 6
    assert not re.search(r"(?<![\w.])-0(?![.\d])|\binf\b|\bnan\b", out)
    full = run_cli(
        "estimate", strat_csv, "--strata", "stype", "--weight", "pw", "--prop", "awards",
        "--by", "stype", "--all-columns",
    )  # fmt: skip
    assert full.exit_code == 0 and "deff" in full.stdout and "weighted_n" in full.stdout


def test_lonely_psu_option_and_warning(run_cli, tmp_path: Path, rfix) -> None:
    path = tmp_path / "c1.csv"
    rfix.dataset("apiclus1").to_csv(path, index=False)
    base = ["estimate", path, "--strata", "dnum", "--weight", "pw", "--mean", "api00"]
    res = run_cli(*base, "--lonely-psu", "average", "-o", tmp_path / "a.csv")
    assert res.exit_code == 0, res.stderr
    assert pd.read_csv(tmp_path / "a.csv")["se"].iloc[0] == pytest.approx(6.009551, rel=1e-6)
    res = run_cli(*base, "--lonely-psu", "remove", "-o", tmp_path / "r.csv")
    assert res.exit_code == 0 and "warning:" in res.stderr and "add no variance" in res.stderr


def test_help_has_example(run_cli) -> None:
    res = run_cli("estimate", "--help")
    assert res.exit_code == 0 and "Examples:" in res.stdout and "--design" in res.stdout


def test_indicators_extension_point(run_cli, strat_csv: Path, monkeypatch, tmp_path: Path) -> None:
    import sys
    import types

    from survmig.estimation import commands

    module = types.ModuleType("fake_indicators")

    def fn(design, names, *, by, ci, level, na, data, design_spec):
        assert Path(data) == strat_csv and design_spec["strata"] == "stype"
        table = estimate(design, mean="api00", by=by)
        table["variable"] = ",".join(names or ["all"])
        return table

    module.estimate_indicators = fn
    monkeypatch.setitem(sys.modules, "fake_indicators", module)
    monkeypatch.setattr(commands, "INDICATORS_HOOK", "fake_indicators:estimate_indicators")
    out = tmp_path / "ind.csv"
    res = run_cli(
        "estimate",
        strat_csv,
        "--strata",
        "stype",
        "--weight",
        "pw",
        "--indicators",
        "a,b",
        "--by",
        "stype",
        "-o",
        out,
    )
    assert res.exit_code == 0, res.stderr
    assert set(pd.read_csv(out)["variable"]) == {"a,b"}


def _write(tmp_path: Path, frame: pd.DataFrame, name: str = "d.csv") -> Path:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


BAD = [
    # (case, frame change, extra args, message fragment)
    (
        "missing design column",
        None,
        ["--strata", "region", "--weight", "pw", "--mean", "api00"],
        "'region' is not in the data",
    ),
    (
        "missing values in design column",
        "na_strata",
        ["--strata", "stype", "--weight", "pw", "--mean", "api00"],
        "missing value",
    ),
    (
        "zero weight",
        "zero_weight",
        ["--strata", "stype", "--weight", "pw", "--mean", "api00"],
        "zero, negative",
    ),
    (
        "negative weight",
        "neg_weight",
        ["--strata", "stype", "--weight", "pw", "--mean", "api00"],
        "zero, negative",
    ),
    (
        "non-numeric analysis variable",
        None,
        ["--strata", "stype", "--weight", "pw", "--mean", "awards"],
        "not numeric",
    ),
    (
        "singleton under fail",
        "singleton",
        ["--strata", "stype", "--weight", "pw", "--mean", "api00"],
        "only one PSU",
    ),
    (
        "empty domain",
        "empty_domain",
        [
            "--strata",
            "stype",
            "--weight",
            "pw",
            "--mean",
            "acs.k3",
            "--by",
            "awards",
            "--na",
            "drop",
        ],
        "no cases",
    ),
    (
        "missing analysis values",
        None,
        ["--strata", "stype", "--weight", "pw", "--mean", "acs.k3"],
        "--na drop",
    ),
    (
        "unknown statistic",
        None,
        ["--strata", "stype", "--weight", "pw", "--median", "api00"],
        "No such option",
    ),
    (
        "unknown ci",
        None,
        ["--strata", "stype", "--weight", "pw", "--prop", "awards", "--ci", "exact"],
        "exact",
    ),
    ("bad ratio", None, ["--strata", "stype", "--weight", "pw", "--ratio", "api00"], "NUM/DEN"),
    (
        "bad quantile",
        None,
        ["--strata", "stype", "--weight", "pw", "--quantile", "api00:half"],
        "not a number",
    ),
    (
        "quantile out of range",
        None,
        ["--strata", "stype", "--weight", "pw", "--quantile", "api00:1.5"],
        "between 0 and 1",
    ),
    ("nothing to estimate", None, ["--strata", "stype", "--weight", "pw"], "nothing to estimate"),
    ("no design", None, ["--mean", "api00"], "no design"),
    (
        "fpc varies within stratum",
        "bad_fpc",
        ["--strata", "stype", "--weight", "pw", "--fpc", "fpc", "--mean", "api00"],
        "varies within",
    ),
    (
        "psu reused across strata",
        "reuse_psu",
        ["--strata", "stype", "--psu", "dnum", "--weight", "pw", "--mean", "api00"],
        "nest",
    ),
]


@pytest.mark.parametrize("case,change,args,fragment", BAD, ids=[b[0] for b in BAD])
def test_bad_input(run_cli, tmp_path: Path, rfix, case, change, args, fragment) -> None:
    frame = rfix.dataset("apistrat").copy()
    if change == "na_strata":
        frame.loc[5, "stype"] = None
    elif change == "zero_weight":
        frame.loc[3, "pw"] = 0
    elif change == "neg_weight":
        frame.loc[3, "pw"] = -1
    elif change == "singleton":
        frame.loc[0, "stype"] = "X"
    elif change == "empty_domain":
        frame.loc[frame["awards"] == "No", "acs.k3"] = np.nan
    elif change == "bad_fpc":
        frame.loc[0, "fpc"] = frame.loc[0, "fpc"] + 1
    elif change == "reuse_psu":
        pass
    data = _write(tmp_path, frame)
    out = tmp_path / "out.csv"
    res = run_cli("estimate", data, *args, "-o", out)
    assert res.exit_code == 2, (res.exit_code, res.stderr)
    assert fragment in res.stderr, res.stderr
    assert "Traceback" not in res.stderr
    assert not out.exists()


def test_bad_files(run_cli, tmp_path: Path, strat_csv: Path) -> None:
    res = run_cli(
        "estimate", tmp_path / "none.csv", "--strata", "stype", "--weight", "pw", "--mean", "api00"
    )
    assert res.exit_code == 2 and "not found" in res.stderr
    res = run_cli(
        "estimate",
        strat_csv,
        "--strata",
        "stype",
        "--weight",
        "pw",
        "--mean",
        "api00",
        "-o",
        tmp_path / "x.pdf",
    )
    assert res.exit_code == 2 and "unknown output format" in res.stderr
    assert not (tmp_path / "x.pdf").exists()
    design = tmp_path / "design.yaml"
    design.write_text("strata: stype\nweights: pw\nlonely: remove\n")
    res = run_cli("estimate", strat_csv, "--design", design, "--mean", "api00")
    assert res.exit_code == 2 and "design.yaml:3" in res.stderr and "lonely_psu" in res.stderr
    res = run_cli("estimate", strat_csv, "--design", design, "--strata", "stype", "--mean", "api00")
    assert res.exit_code == 2 and "not both" in res.stderr


def test_replicate_weights_wrong_count(run_cli, tmp_path: Path, rfix) -> None:
    frame = rfix.dataset("apistrat").copy()
    rng = np.random.default_rng(0)
    for i in range(10):
        frame[f"rw{i}"] = frame["pw"] * rng.uniform(0.5, 1.5, len(frame))
    data = _write(tmp_path, frame)
    design = tmp_path / "design.yaml"
    design.write_text("weights: pw\nrepweights: '^rw[0-9]+$'\ntype: bootstrap\nreplicates: 12\n")
    out = tmp_path / "o.csv"
    res = run_cli("estimate", data, "--design", design, "--mean", "api00", "-o", out)
    assert res.exit_code == 2 and "expected 12 replicate weight columns, found 10" in res.stderr
    assert "design.yaml:2" in res.stderr
    assert not out.exists()
    design.write_text("weights: pw\nrepweights: '^rw[0-9]+$'\ntype: bootstrap\nreplicates: 10\n")
    res = run_cli("estimate", data, "--design", design, "--mean", "api00", "-o", out)
    assert res.exit_code == 0, res.stderr
    assert pd.read_csv(out)["df"].iloc[0] == 9


@pytest.mark.parametrize("ext", [".sav", ".dta"])
def test_spss_and_stata_input(run_cli, tmp_path: Path, rfix, ext: str) -> None:
    import pyreadstat

    frame = rfix.dataset("apistrat")[["stype", "pw", "fpc", "api00", "enroll"]]
    path = tmp_path / f"strat{ext}"
    (pyreadstat.write_sav if ext == ".sav" else pyreadstat.write_dta)(frame, str(path))
    out = tmp_path / "o.json"
    res = run_cli(
        "estimate",
        path,
        "--strata",
        "stype",
        "--weight",
        "pw",
        "--fpc",
        "fpc",
        "--mean",
        "api00",
        "-o",
        out,
    )
    assert res.exit_code == 0, res.stderr
    est = json.loads(out.read_text())["estimates"][0]
    assert est["se"] == pytest.approx(9.4089408028, rel=1e-9)


def test_special_codes_in_domains(run_cli, tmp_path: Path, rfix) -> None:
    frame = rfix.dataset("apistrat").copy()
    frame["region"] = np.where(np.arange(len(frame)) % 10 == 0, -9, np.arange(len(frame)) % 3)
    data = _write(tmp_path, frame)
    args = [
        "estimate",
        data,
        "--strata",
        "stype",
        "--weight",
        "pw",
        "--mean",
        "api00",
        "--by",
        "region",
    ]
    res = run_cli(*args)
    assert res.exit_code == 2 and "-8/-9" in res.stderr
    out = tmp_path / "o.csv"
    res = run_cli(*args, "--na", "drop", "-o", out)
    assert res.exit_code == 0, res.stderr
    got = pd.read_csv(out)
    assert sorted(got["region"]) == [0, 1, 2] and got["n"].sum() == len(frame) - 20


def test_lonely_psu_option_rejected_for_replicates(
    run_cli, tmp_path: Path, strat_csv: Path
) -> None:
    design = tmp_path / "design.yaml"
    design.write_text("strata: stype\nweights: pw\ncreate_replicates: {type: JKn}\n")
    res = run_cli(
        "estimate", strat_csv, "--design", design, "--mean", "api00", "--lonely-psu", "remove"
    )
    assert res.exit_code == 2 and "linearization designs" in res.stderr
