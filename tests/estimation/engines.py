"""The R fixture cases as out-of-core requests: the same design as a ``design.yaml`` dict over a
Parquet copy of the data (shared by the DuckDB and Spark engine tests)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from survmig.design.spec import LINEARIZATION_KEYS

NUMERIC = ["estimate", "se", "ci_low", "ci_high", "cv", "deff", "deft", "weighted_n", "df", "n"]


def sql_case(case: dict, data: pd.DataFrame, rep: dict | None = None) -> tuple[pd.DataFrame, dict]:
    """``(data, design fields)`` for a fixture design; element sampling gets a row id as PSU."""
    spec = case["design"]
    kind = spec["kind"]
    if kind == "to_replicate":
        data, fields = sql_case({"design": spec["base"]}, data)
        fields["create_replicates"] = {"type": spec["type"]}
        return data, fields
    if kind == "replicate":
        mat = np.column_stack([np.asarray(c, dtype=float) for c in spec["repweights"]])
        reps = pd.DataFrame(mat, columns=[f"rep{j}" for j in range(mat.shape[1])], index=data.index)
        reps["fullw"] = np.asarray(spec["weights"], dtype=float)
        data = pd.concat([data, reps], axis=1)
        fields = {
            "weights": "fullw",
            "repweights": "^rep[0-9]+$",
            "type": spec["type"],
            "scale": spec["scale"],
            "rscales": spec["rscales"],
            "mse": spec["mse"],
        }
        if spec.get("rho") is not None:
            fields["rho"] = spec["rho"]
        return data, fields
    fields = {k: spec[k] for k in LINEARIZATION_KEYS if k in spec}
    if not fields.get("ids"):
        data = data.copy()
        data["row_id"] = np.arange(len(data))
        fields["ids"] = "row_id"
    return data, fields


def supported(case: dict) -> bool:
    spec = case["design"]
    while spec["kind"] == "to_replicate":
        spec = spec["base"]
    if spec["kind"] == "calibrated":
        return False
    return spec["kind"] == "replicate" or "weights" in spec or "probs" in spec


def write_parquet(data: pd.DataFrame, path: Path) -> Path:
    data.to_parquet(path, index=False)
    return path


def assert_same(got: pd.DataFrame, expected: pd.DataFrame, rtol: float = 1e-12) -> None:
    """Every column equal; numbers to ``rtol`` relative (NaN where NaN)."""
    assert list(got.columns) == list(expected.columns)
    assert len(got) == len(expected)
    for col in expected.columns:
        a, b = got[col].to_numpy(), expected[col].to_numpy()
        if col in NUMERIC:
            a, b = a.astype(float), b.astype(float)
            assert np.array_equal(np.isnan(a), np.isnan(b)), col
            ok = ~np.isnan(b)
            np.testing.assert_allclose(a[ok], b[ok], rtol=rtol, atol=0, err_msg=col)
        else:
            assert [str(x) for x in a] == [str(x) for x in b], col
