"""Review findings: kept empty domains, messages with plain numbers, readable design descriptions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from survmig.design import SurveyDesign
from survmig.errors import SurvmigError
from survmig.estimation import estimate


def _cat_frame() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 60
    return pd.DataFrame(
        {
            "st": np.repeat([1, 2, 3], 20),
            "psu": np.repeat(np.arange(12), 5),
            "w": rng.uniform(1, 3, n),
            "x": rng.normal(size=n),
            "dom": pd.Categorical(rng.choice(["a", "c"], n), categories=["a", "b", "c"]),
        }
    )


@pytest.mark.parametrize("replicate", [False, True])
def test_keep_empty_keeps_unused_category(replicate: bool) -> None:
    df = _cat_frame()
    design = SurveyDesign(df, ids="psu", strata="st", weights="w", nest=True)
    if replicate:
        design = design.to_replicate("JKn")
    got = estimate(design, mean="x", by="dom", empty_domains="keep")
    assert got["dom"].tolist() == ["a", "b", "c"]
    b = got[got["dom"] == "b"].iloc[0]
    assert b["n"] == 0 and np.isnan(b["estimate"]) and np.isnan(b["se"])
    # the other domains are those of the design without the unused category
    df2 = df.assign(dom=df["dom"].cat.remove_unused_categories())
    design2 = SurveyDesign(df2, ids="psu", strata="st", weights="w", nest=True)
    if replicate:
        design2 = design2.to_replicate("JKn")
    ref = estimate(design2, mean="x", by="dom")
    kept = got[got["dom"] != "b"].reset_index(drop=True)
    np.testing.assert_allclose(kept["estimate"], ref["estimate"], rtol=1e-12)
    np.testing.assert_allclose(kept["se"], ref["se"], rtol=1e-12)


def test_empty_category_error_names_the_option() -> None:
    design = SurveyDesign(_cat_frame(), ids="psu", strata="st", weights="w", nest=True)
    with pytest.raises(SurvmigError) as err:
        estimate(design, mean="x", by="dom")
    text = f"{err.value} {err.value.hint}"
    assert "keep-empty" in text and "'b'" not in text and " b" in text
    assert "remove_unused_categories" not in text


def test_cli_keep_empty(run_cli, tmp_path: Path) -> None:
    data = tmp_path / "cat.parquet"
    _cat_frame().to_parquet(data, index=False)
    design = tmp_path / "design.yaml"
    design.write_text("ids: psu\nstrata: st\nweights: w\nnest: true\n")
    out = tmp_path / "est.csv"
    args = ["estimate", data, "--design", design, "--mean", "x", "--by", "dom", "-o", out]
    res = run_cli(*args)
    assert res.exit_code == 2 and "--keep-empty" in res.stderr
    assert "remove_unused_categories" not in res.stderr
    res = run_cli(*args, "--keep-empty")
    assert res.exit_code == 0, res.stderr
    got = pd.read_csv(out)
    assert got["dom"].tolist() == ["a", "b", "c"]
    assert got["n"].tolist()[1] == 0 and np.isnan(got["estimate"][1])


def test_json_output_describes_the_design(run_cli, tmp_path: Path) -> None:
    data = tmp_path / "cat.csv"
    _cat_frame().to_csv(data, index=False)
    out = tmp_path / "est.json"
    res = run_cli(
        "estimate",
        data,
        "--strata",
        "st",
        "--psu",
        "psu",
        "--weight",
        "w",
        "--nest",
        "--mean",
        "x",
        "-o",
        out,
    )
    assert res.exit_code == 0, res.stderr
    text = out.read_text()
    assert "<SurveyDesign" not in text
    assert "3 strata (st)" in text and "12 PSUs (psu)" in text and "weights w" in text


def test_messages_print_plain_numbers() -> None:
    df = _cat_frame()
    df.loc[3, "w"] = -2.0
    with pytest.raises(SurvmigError) as err:
        SurveyDesign(df, ids="psu", strata="st", weights="w", nest=True)
    assert "-2" in str(err.value) and "np." not in str(err.value)
    df = _cat_frame().assign(st=lambda d: d["st"] + 98)
    with pytest.raises(SurvmigError) as err:  # BRR needs two PSUs per stratum; 99 has four
        SurveyDesign(df, ids="psu", strata="st", weights="w", nest=True).to_replicate("BRR")
    assert "stratum 99 " in str(err.value) and "np." not in str(err.value)


def test_missing_analysis_variable_message_does_not_repeat(run_cli, tmp_path: Path) -> None:
    data = tmp_path / "cat.csv"
    _cat_frame().to_csv(data, index=False)
    res = run_cli("estimate", data, "--weight", "w", "--mean", "nosuch")
    assert res.exit_code == 2
    assert "column 'nosuch' is not in the data" in res.stderr
    assert res.stderr.count("analysis variable") == 1


def test_binary_design_file_is_a_clear_error(run_cli, tmp_path: Path) -> None:
    data = tmp_path / "cat.csv"
    _cat_frame().to_csv(data, index=False)
    form = tmp_path / "form.xlsx"
    form.write_bytes(b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00\xb5U\x90\xff\xfe")
    res = run_cli("estimate", data, "--design", form, "--mean", "x")
    assert res.exit_code == 2
    assert "internal error" not in res.stderr and "UnicodeDecodeError" not in res.stderr
    assert "form.xlsx" in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_one_line_design_errors_name_the_data_file(run_cli, tmp_path):
    import pandas as pd

    path = tmp_path / "negw.csv"
    pd.DataFrame({"st": [1, 1, 2, 2], "w": [1.0, -2.0, 1.0, 1.0], "y": [1, 2, 3, 4]}).to_csv(
        path, index=False
    )
    res = run_cli("estimate", path, "--strata", "st", "--weight", "w", "--mean", "y")
    assert res.exit_code == 2
    assert res.stderr.startswith(f"error: {path}: ") and "-2" in res.stderr
