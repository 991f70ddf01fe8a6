"""Calibrated design files out of core: DuckDB and Spark against memory (1e-12).

The design files are what ``survmig weight`` writes (``calibration:`` with the weights before and
the steps); the data has strata, two-stage PSUs with fpc, a stratum with one PSU (lonely-PSU
rules) and pooled surveys whose codes restart.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from survmig.design import load_design
from survmig.errors import SurvmigError, SurvmigWarning
from survmig.estimation import estimate
from survmig.estimation.sql import estimate_sql
from survmig.weighting.designfile import calibration_spec, step_from_spec
from survmig.weighting.pipeline import run_steps

from .engines import assert_same


def survey_data(n: int = 2400, seed: int = 19) -> pd.DataFrame:
    """Two pooled surveys (A, B) with strata, PSUs and households; stratum 4 of A has one PSU."""
    rng = np.random.default_rng(seed)
    survey = np.where(np.arange(n) < n * 0.6, "A", "B")
    stratum = rng.integers(0, 4, n)
    psu = stratum * 10 + rng.integers(0, 5, n)
    lonely = (survey == "A") & (np.arange(n) % 97 == 0)
    stratum = np.where(lonely, 4, stratum)
    psu = np.where(lonely, 99, psu)
    d = pd.DataFrame(
        {
            "survey": survey,
            "stratum": stratum,
            "psu": psu,
            "hh": psu * 100 + rng.integers(0, 6, n),
            "fpc1": np.where(stratum == 4, 3, 40 + stratum),
            "region": rng.choice(["North", "South", "East"], n),
            "sex": rng.integers(1, 3, n),
            "age": rng.choice(["15-29", "30-49", "50+"], n, p=[0.4, 0.35, 0.25]),
            "income": rng.gamma(2.0, 300.0, n),
            "hhsize": rng.integers(1, 8, n).astype(float),
            "migrant": rng.choice(["no", "internal", "abroad"], n, p=[0.7, 0.2, 0.1]),
        }
    )
    d["fpc2"] = 12
    d["w0"] = rng.uniform(40.0, 160.0, n)
    d["spend"] = rng.gamma(3.0, 50.0, n) + 0.2 * d["income"]
    return d


def totals(d: pd.DataFrame, by: list[str], scale: float) -> dict:
    key = d[by].astype(str).agg(":".join, axis=1)
    t = d["w0"].groupby(key).sum() * scale
    return {"by": by, "totals": {str(k): float(v) for k, v in t.items()}}


def step_lists(d: pd.DataFrame) -> dict[str, list[dict]]:
    reg, sex, age = (totals(d, [c], 1.15) for c in ("region", "sex", "age"))
    return {
        "poststratify": [{"step": "poststratify", **totals(d, ["region", "sex"], 1.1)}],
        "rake": [{"step": "rake", "margins": [reg, sex, age], "epsilon": 1e-10, "maxit": 100}],
        "linear": [{"step": "calibrate", "margins": [reg, age]}],
        "raking": [{"step": "calibrate", "method": "raking", "margins": [reg, sex]}],
        "logit": [
            {"step": "calibrate", "method": "logit", "bounds": [0.6, 1.8], "margins": [reg, age]}
        ],
        "post+rake": [
            {"step": "poststratify", **totals(d, ["sex"], 1.0)},
            {"step": "rake", "margins": [reg, age], "epsilon": 1e-10, "maxit": 100},
        ],
    }


def row_step_lists(d: pd.DataFrame) -> dict[str, list[dict]]:
    """Steps that change weights within a margin cell (continuous totals, bounds on the weights,
    trimming): per-row SQL expressions out of core."""
    reg, sex, age = (totals(d, [c], 1.15) for c in ("region", "sex", "age"))
    inc = {"income": float((d["w0"] * d["income"]).sum() * 1.2)}
    hh = {"hhsize": float((d["w0"] * d["hhsize"]).sum() * 1.1)}
    rake = {"step": "rake", "margins": [reg, sex, age], "epsilon": 1e-10, "maxit": 100}
    return {
        "greg": [{"step": "calibrate", "margins": [reg, age], "continuous": inc | hh}],
        "raking-cont": [
            {"step": "calibrate", "method": "raking", "margins": [reg], "continuous": inc}
        ],
        "logit-cont": [
            {
                "step": "calibrate",
                "method": "logit",
                "bounds": [0.5, 2.5],
                "margins": [reg],
                "continuous": inc,
            }
        ],
        "bounded-linear": [
            {"step": "calibrate", "bounds": [0.7, 1.6], "margins": [reg, age], "continuous": inc}
        ],
        "bounds-on-weights": [
            {
                "step": "calibrate",
                "method": "raking",
                "bounds": [20, 400],
                "bounds_on": "weight",
                "margins": [reg, age],
            }
        ],
        "rake+trim": [rake, {"step": "trim", "upper": 3.0, "relative": True}],
        "rake+strict-trim+post": [
            rake,
            {"step": "trim", "upper": 2.5, "lower": 0.5, "relative": True, "strict": True},
            {"step": "poststratify", **totals(d, ["region", "sex"], 1.1)},
        ],
        "trim-proportional": [
            rake,
            {"step": "trim", "upper": 2.0, "relative": True, "redistribute": "proportional"},
        ],
        "greg+rake": [
            {"step": "calibrate", "margins": [reg], "continuous": inc},
            {"step": "rake", "margins": [sex, age], "epsilon": 1e-10, "maxit": 100},
        ],
        "population-only": [
            {"step": "calibrate", "population": float(d["w0"].sum() * 1.1), "continuous": hh}
        ],
    }


BASE = {
    "stratified": {"ids": "psu", "strata": "stratum", "fpc": "fpc1", "nest": True},
    "multistage": {
        "ids": ["psu", "hh"],
        "strata": "stratum",
        "fpc": ["fpc1", "fpc2"],
        "nest": True,
        "variance": "multistage",
        "lonely_psu": "adjust",
    },
    "pooled": {"ids": "psu", "strata": "stratum", "survey": "survey", "nest": True},
}
LONELY = {"stratified": "average", "multistage": "adjust", "pooled": "certainty"}
REQUESTS = [
    dict(mean=["income"], total=["hhsize"], prop=["migrant"], ratio=[("income", "hhsize")]),
    dict(mean=["income"], prop=["migrant"], ratio=[("income", "hhsize")], by=["region"]),
    dict(total=["income"], prop=["migrant"], by=["sex", "age"], ci="logit"),
]


ROW_REQUESTS = [
    dict(mean=["spend"], total=["spend"], prop=["migrant"], ratio=[("spend", "hhsize")]),
    dict(mean=["spend"], prop=["migrant"], by=["region"]),
]


def weighted(d: pd.DataFrame, steps: list[dict]) -> pd.DataFrame:
    """The weights and the design file's calibration section ``survmig weight`` would write."""
    res = run_steps(d, [step_from_spec(s, ValueError) for s in steps], weights=d["w0"].to_numpy())
    section = calibration_spec(res.calibration_steps, "wt_uncalibrated")
    return d.assign(wt=res.weights, wt_uncalibrated=res.uncalibrated), section


@pytest.fixture(scope="module")
def cases(tmp_path_factory) -> dict[tuple[str, str], tuple[Path, dict, pd.DataFrame]]:
    tmp = tmp_path_factory.mktemp("cal")
    d = survey_data()
    out = {}
    for name, steps in (step_lists(d) | row_step_lists(d)).items():
        data, section = weighted(d, steps)
        path = tmp / f"{name}.parquet"
        data.to_parquet(path, index=False)
        for base, fields in BASE.items():
            spec = {**fields, "weights": "wt", "lonely_psu": LONELY[base], "calibration": section}
            out[(name, base)] = (path, spec, data)
    return out


def _both(path, spec, data, engine="duckdb", source=None, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SurvmigWarning)
        expected = estimate(load_design(spec, data), **kw)
        got = estimate_sql(source if source is not None else path, spec, engine=engine, **kw)
    return got, expected


@pytest.mark.parametrize("base", list(BASE))
@pytest.mark.parametrize("name", ["poststratify", "rake", "linear", "raking", "logit", "post+rake"])
def test_duckdb_matches_memory(cases, name, base):
    path, spec, data = cases[(name, base)]
    for kw in REQUESTS:
        got, expected = _both(path, spec, data, **kw)
        assert_same(got, expected)


ROW_NAMES = list(row_step_lists(survey_data(60)))
ROW_CASES = [(n, "stratified") for n in ROW_NAMES] + [(n, "multistage") for n in ROW_NAMES[::3]]


@pytest.mark.parametrize("name, base", ROW_CASES + [("greg", "pooled")])
def test_row_level_steps_duckdb_matches_memory(cases, name, base):
    path, spec, data = cases[(name, base)]
    for kw in ROW_REQUESTS:  # not the calibration variables: their SEs are 0 up to rounding
        got, expected = _both(path, spec, data, **kw)
        assert_same(got, expected)


def test_calibration_residuals_are_taken(cases):
    """A raked margin's proportions are known totals over a known population: no variance left
    once the residuals are taken (and some without them)."""
    path, spec, data = cases[("rake", "stratified")]
    plain = {k: v for k, v in spec.items() if k != "calibration"}
    got = estimate_sql(path, spec, prop="region")
    base = estimate_sql(path, plain, prop="region")
    assert np.all(got["se"].to_numpy() < 1e-9) and np.all(base["se"].to_numpy() > 1e-3)


def test_domain_rows_of_a_calibrated_design(cases):
    """Korn-Graubard intervals use every row as the domain's rows (R's subset of a calibrated
    design keeps them), as in memory."""
    path, spec, data = cases[("linear", "stratified")]
    got, expected = _both(path, spec, data, prop=["migrant"], by=["region"], ci="beta")
    assert_same(got, expected)


@pytest.fixture(scope="module")
def spark():
    from survmig.estimation.sources import spark_session

    return spark_session(
        "local[1]",
        app="survmig-tests",
        config={
            "spark.ui.enabled": "false",
            "spark.sql.shuffle.partitions": "1",
            "spark.sql.execution.arrow.pyspark.enabled": "true",
        },
    )


@pytest.mark.parametrize(
    "name, base",
    [
        ("rake", "multistage"),
        ("logit", "pooled"),
        ("post+rake", "stratified"),
        ("logit-cont", "multistage"),
        ("rake+strict-trim+post", "stratified"),
    ],
)
def test_spark_matches_memory(cases, spark, name, base):
    path, spec, data = cases[(name, base)]
    frame = spark.read.parquet(str(path))
    for kw in [REQUESTS[2], ROW_REQUESTS[1]]:
        got, expected = _both(path, spec, data, engine="spark", source=frame, **kw)
        assert_same(got, expected)
        duck = estimate_sql(path, spec, **kw)
        assert_same(got, duck)


def _changed(cases, tmp_path, change) -> tuple[Path, dict]:
    return _changed_case(cases, tmp_path, change, ("rake", "stratified"))


def _changed_case(cases, tmp_path, change, key) -> tuple[Path, dict]:
    path, spec, data = cases[key]
    spec = yaml.safe_load(yaml.safe_dump(spec))
    data = data.copy()
    change(data, spec)
    out = tmp_path / "changed.parquet"
    data.to_parquet(out, index=False)
    return out, spec


def test_weights_that_do_not_reproduce(cases, tmp_path):
    def change(data, spec):
        data.loc[data.index[5], "wt"] *= 1.001

    path, spec = _changed(cases, tmp_path, change)
    with pytest.raises(SurvmigError, match="does not give the weights 'wt'.*margin cell"):
        estimate_sql(path, spec, mean="income")


def test_a_step_naming_a_missing_column(cases, tmp_path):
    def change(data, spec):
        spec["calibration"]["steps"][0]["margins"][0]["by"] = ["regoin"]

    path, spec = _changed(cases, tmp_path, change)
    with pytest.raises(SurvmigError, match="'regoin'.*not in the data"):
        estimate_sql(path, spec, mean="income")


def test_missing_margin_values_and_bad_weights_before(cases, tmp_path):
    def nulls(data, spec):
        data["region"] = data["region"].where(data.index % 50 != 3)

    path, spec = _changed(cases, tmp_path, nulls)
    with pytest.raises(SurvmigError, match="margin column 'region' has 48 missing"):
        estimate_sql(path, spec, mean="income")

    def negative(data, spec):
        data.loc[data.index[:2], "wt_uncalibrated"] = -1.0

    path, spec = _changed(cases, tmp_path, negative)
    with pytest.raises(SurvmigError, match="'wt_uncalibrated' has 2 missing, negative"):
        estimate_sql(path, spec, mean="income")


def test_a_continuous_auxiliary_missing_or_with_missing_values(cases, tmp_path):
    def rename(data, spec):
        spec["calibration"]["steps"][0]["continuous"] = {"incme": 1e6}

    path, spec = _changed_case(cases, tmp_path, rename, ("greg", "stratified"))
    with pytest.raises(SurvmigError, match="'incme' is not in the data"):
        estimate_sql(path, spec, mean="hhsize")

    def nulls(data, spec):
        data["income"] = data["income"].where(data.index % 100 != 1)

    path, spec = _changed_case(cases, tmp_path, nulls, ("greg", "stratified"))
    with pytest.raises(SurvmigError, match="'income' has 24 missing"):
        estimate_sql(path, spec, mean="hhsize")


def test_trimmed_weights_that_do_not_reproduce(cases, tmp_path):
    def change(data, spec):
        data.loc[data.index[7], "wt"] *= 0.999

    path, spec = _changed_case(cases, tmp_path, change, ("rake+trim", "stratified"))
    with pytest.raises(SurvmigError, match=r"does not give the weights 'wt' \(1 row"):
        estimate_sql(path, spec, mean="income")


def test_cli_weight_then_estimate_out_of_core(run_cli, tmp_path):
    """``survmig weight`` writes the design file; ``estimate --engine duckdb`` gives the memory
    numbers; bad input is one line and exit 2."""
    d = survey_data(900, seed=3)
    data = tmp_path / "persons.parquet"
    d.to_parquet(data, index=False)
    (tmp_path / "design.yaml").write_text(
        yaml.safe_dump(BASE["stratified"] | {"weights": "w0", "lonely_psu": "average"})
    )
    steps = step_lists(d)["rake"]
    (tmp_path / "weighting.yaml").write_text(yaml.safe_dump({"steps": steps}))
    out = tmp_path / "weighted.parquet"
    res = run_cli(
        "weight", data, "--design", tmp_path / "design.yaml",
        "--steps", tmp_path / "weighting.yaml", "-o", out,
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    design = tmp_path / "weighted.design.yaml"
    assert "calibration" in yaml.safe_load(design.read_text())
    tables = {}
    for engine in ("memory", "duckdb"):
        est = tmp_path / f"{engine}.csv"
        res = run_cli(
            "estimate", out, "--design", design, "--mean", "income", "--prop", "migrant",
            "--by", "region", "--engine", engine, "-o", est,
        )  # fmt: skip
        assert res.exit_code == 0, res.stderr
        tables[engine] = pd.read_csv(est)
    assert_same(tables["duckdb"], tables["memory"])
    for engine in ("memory", "duckdb"):  # margins: national, by region, by sex
        est = tmp_path / f"margins-{engine}.csv"
        res = run_cli(
            "estimate", out, "--design", design, "--mean", "spend", "--prop", "migrant",
            "--by", "region", "--by", "sex", "--engine", engine, "-o", est,
        )  # fmt: skip
        assert res.exit_code == 0, res.stderr
        tables[engine] = pd.read_csv(est)
    assert set(tables["memory"]["breakdown"]) == {"national", "region", "sex"}
    assert_same(tables["duckdb"], tables["memory"])
    frame = pd.read_parquet(out)
    frame.loc[frame.index[0], "w0"] *= 2
    bad = tmp_path / "bad.parquet"
    frame.to_parquet(bad, index=False)
    res = run_cli("estimate", bad, "--design", design, "--mean", "income", "--engine", "duckdb")
    assert res.exit_code == 2 and "Traceback" not in res.stderr
    assert "does not give the weights" in res.stderr and len(res.stderr.strip().splitlines()) <= 2
