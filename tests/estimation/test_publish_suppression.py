"""``survmig estimate -o`` with thresholds: a reader tries to recover every suppressed value.

The attacker is written independently of :mod:`survmig.report.suppression`: every numeric column of
the row (with the CI midpoint, SE / CV and the share behind a deff), the weighted count of the
domain (which is its population size, and times a mean of the same variable its total), then the
additive relations a reader knows: the national figure minus the published domains of a breakdown,
one minus the other shares of a distribution. The test fails if any suppressed value comes back,
from the CSV, the JSON or the XLSX.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from survmig.report import is_suppressed
from survmig.report.suppression import FLAG_COMPLEMENTARY

BY = ["stype", "yr.rnd"]
REQUEST = (
    "--mean", "api00,yes", "--total", "enroll,yes", "--prop", "awards,sch.wide", "--count",
    "--ratio", "api00/enroll", "--by", "stype", "--by", "yr.rnd",
)  # fmt: skip
DESIGN = ("--strata", "stype", "--weight", "pw", "--fpc", "fpc")
STRICT = ("--cv-suppress", "0.1", "--cv-caution", "0.05", "--min-n", "25")


@pytest.fixture
def api_csv(tmp_path: Path, rfix) -> Path:
    path = tmp_path / "apistrat.csv"
    rfix.dataset("apistrat").to_csv(path, index=False)
    return path


def _close(a, b) -> np.ndarray:
    a = np.asarray(a, dtype=float)
    return np.isfinite(a) & np.isclose(a, b, rtol=1e-6, atol=1e-9)


def _domain(pub: pd.DataFrame) -> pd.Series:
    parts = [pub[b].astype(object).where(pub[b].notna(), "*").astype(str) for b in BY]
    return parts[0] + "|" + parts[1]


def row_attacks(pub: pd.DataFrame) -> dict[str, pd.Series]:
    """Candidate values for each row from its own columns and its domain's weighted count."""
    num = {c: pd.to_numeric(pub[c], errors="coerce") for c in pub.columns}
    out = {c: v for c, v in num.items() if v.notna().any()}
    out["ci midpoint"] = (num["ci_low"] + num["ci_high"]) / 2
    out["se / cv"] = num["se"] / num["cv"]
    pq = num["se"] ** 2 * num["n"] / num["deff"]
    out["p from deff"] = (1 - np.sqrt(np.clip(1 - 4 * pq, 0, None))) / 2
    out["1-p from deff"] = 1 - out["p from deff"]
    dom = _domain(pub)
    wn = num["weighted_n"].groupby(dom).transform("max")  # any row of the domain
    out["weighted_n of the domain"] = wn
    means = pub[pub["statistic"] == "mean"]
    mean_of = pd.Series(
        num["estimate"][means.index].to_numpy(), index=dom[means.index] + "|" + means["variable"]
    )
    key = dom + "|" + pub["variable"].astype(str)
    out["mean x weighted_n"] = key.map(mean_of).astype(float) * wn
    return out


def relation_attacks(pub: pd.DataFrame) -> dict[int, list[float]]:
    """Values recovered through additive relations (key: the recovered row)."""
    got: dict[int, list[float]] = {}
    est = pd.to_numeric(pub["estimate"], errors="coerce")
    wn = pd.to_numeric(pub["weighted_n"], errors="coerce")
    stat = pub["statistic"]
    lead = stat + "|" + pub["variable"].astype(str) + "|" + pub["category"].astype(str)
    national = pub[BY].isna().all(axis=1)
    for b in BY:
        kids_all = pub[pub[b].notna()]
        for key, kids in kids_all.groupby(lead[kids_all.index]):
            nat = pub[national & (lead == key)]
            missing = kids.index[est[kids.index].isna()]
            if len(nat) != 1 or len(missing) != 1 or not np.isfinite(est[nat.index[0]]):
                continue
            known, i = kids.index.difference(missing), nat.index[0]
            if kids["statistic"].iloc[0] in ("total", "count"):
                got.setdefault(missing[0], []).append(est[i] - est[known].sum())
            elif kids["statistic"].iloc[0] in ("mean", "prop"):
                w = wn[i] - wn[known].sum()
                got.setdefault(missing[0], []).append(
                    (est[i] * wn[i] - (est[known] * wn[known]).sum()) / w
                )
    props = pub[stat == "prop"]
    dist = _domain(props) + "|" + props["variable"]
    for _, rows in props.groupby(dist):
        missing = rows.index[est[rows.index].isna()]
        if len(missing) == 1:
            got.setdefault(missing[0], []).append(1 - est[rows.index.difference(missing)].sum())
    return got


def recovered(truth: pd.DataFrame, pub: pd.DataFrame) -> list[str]:
    """Descriptions of every suppressed value the attacks give back."""
    pub = pub.reset_index(drop=True)
    sup = is_suppressed(pub["flag"])
    true = pd.to_numeric(truth["estimate"], errors="coerce").to_numpy(dtype=float)
    leaks = []
    for name, values in row_attacks(pub).items():
        hit = sup & _close(values.to_numpy(dtype=float), true)
        leaks += [f"row {i}: {name}" for i in np.nonzero(hit)[0]]
    for i, values in relation_attacks(pub).items():
        if sup[i] and _close(np.asarray(values, dtype=float), true[i]).any():
            leaks.append(f"row {i}: additive relation")
    return leaks


def _truth(run_cli, api_csv: Path, tmp_path: Path) -> pd.DataFrame:
    out = tmp_path / "truth.csv"
    res = run_cli("estimate", api_csv, *DESIGN, *REQUEST, "-o", out)
    assert res.exit_code == 0, res.stderr
    truth = pd.read_csv(out)
    assert "flag" not in truth.columns  # no threshold given: the table as before
    return truth


def test_the_attacker_finds_leaks_when_only_the_estimate_is_blanked(
    run_cli, api_csv: Path, tmp_path: Path
) -> None:
    truth = _truth(run_cli, api_csv, tmp_path)
    out = tmp_path / "pub.csv"
    assert run_cli("estimate", api_csv, *DESIGN, *REQUEST, *STRICT, "-o", out).exit_code == 0
    pub = pd.read_csv(out)
    primary = pub["flag"].where(pub["flag"] != FLAG_COMPLEMENTARY, "")  # no secondary suppression
    naive = truth.assign(flag=primary)
    naive.loc[is_suppressed(naive["flag"]), "estimate"] = np.nan
    leaks = recovered(truth, naive)
    for attack in ("ci midpoint", "weighted_n of the domain", "additive relation"):
        assert any(attack in s for s in leaks), attack


@pytest.mark.parametrize("secondary", ["suppress", "flag"])
def test_no_written_format_gives_a_suppressed_value_back(
    run_cli, api_csv: Path, tmp_path: Path, secondary: str
) -> None:
    truth = _truth(run_cli, api_csv, tmp_path)
    tables = {}
    for ext in ("csv", "json", "xlsx"):
        out = tmp_path / f"pub.{ext}"
        args = (*STRICT, "--secondary", secondary)
        res = run_cli("estimate", api_csv, *DESIGN, *REQUEST, *args, "-o", out)
        assert res.exit_code == 0, res.stderr
        if ext == "csv":
            tables[ext] = pd.read_csv(out, keep_default_na=False, na_values=[""])
        elif ext == "json":
            tables[ext] = pd.DataFrame(json.loads(out.read_text(encoding="utf-8"))["estimates"])
        else:
            tables[ext] = pd.read_excel(out, sheet_name="estimates")
    pub = tables["csv"]
    sup = is_suppressed(pub["flag"])
    assert sup.sum() >= 15 and (~sup).sum() >= 10  # a real mix of published and suppressed
    assert list(pub["statistic"]) == list(truth["statistic"])  # rows and names kept
    for ext, table in tables.items():
        assert table["flag"].fillna("").tolist() == pub["flag"].fillna("").tolist(), ext
        leaks = recovered(truth, table)
        if secondary == "suppress":
            assert leaks == [], (ext, leaks)
        else:  # flag mode: only relations give cells back, and those cells say so
            assert leaks and all("additive" in s for s in leaks), (ext, leaks)
            rows = {int(s.split()[1].rstrip(":")) for s in leaks}
            flagged = table["flag"].fillna("").str.contains("recoverable").to_numpy()
            assert rows <= set(np.nonzero(flagged)[0]), ext
    # every value column of a suppressed row is empty; the published rows keep the truth
    values = ["estimate", "se", "ci_low", "ci_high", "cv", "deff", "deft", "n", "df"]
    assert pub.loc[sup, values].isna().all().all()
    keep = ~sup
    np.testing.assert_allclose(pub.loc[keep, "estimate"], truth.loc[keep, "estimate"], rtol=1e-12)
    # the workbook: numbers stay numbers with display formats, suppressed rows grey, caution yellow
    ws = openpyxl.load_workbook(tmp_path / "pub.xlsx")["estimates"]
    col = {c.value: c.column for c in ws[1]}
    for i, rec in enumerate(pub.itertuples(index=False), start=2):
        est = ws.cell(i, col["estimate"])
        fill = est.fill.fgColor.rgb if est.fill.fill_type == "solid" else None
        if str(rec.flag).startswith("suppressed"):
            assert est.value is None and str(fill).endswith("E7E6E6")
            continue
        assert isinstance(est.value, float)
        if rec.flag == "use with caution":
            assert str(fill).endswith("FFF2CC")
        if rec.statistic == "prop":
            assert est.number_format == "0.0%"
        elif abs(rec.estimate) >= 1000:
            assert est.number_format == "#,##0"
        assert ws.cell(i, col["cv"]).number_format == "0.0%"
        assert ws.cell(i, col["n"]).number_format == "#,##0"


def test_thresholds_with_compare_are_refused(run_cli, api_csv: Path, tmp_path: Path) -> None:
    res = run_cli(
        "estimate", api_csv, *DESIGN, "--mean", "api00", "--compare", "yr.rnd",
        "--min-n", "30", "-o", tmp_path / "c.csv",
    )  # fmt: skip
    assert res.exit_code == 2
    assert "--compare" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "c.csv").exists()
