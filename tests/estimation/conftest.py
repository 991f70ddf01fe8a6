"""Loading the R reference fixtures into survmig designs."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from survmig.design import GregCalibration, PostStratification, Raking, SurveyDesign
from survmig.design.spec import LINEARIZATION_KEYS

REFERENCE = Path(__file__).resolve().parents[1] / "reference"


@cache
def fixtures() -> dict:
    return json.loads((REFERENCE / "estimation_fixtures.json").read_text())


def dataset(name: str) -> pd.DataFrame:
    cols = fixtures()["data"][name]
    return pd.DataFrame(
        {k: pd.Series(v).astype(float if _numeric(v) else object) for k, v in cols.items()}
    )


def _numeric(values: list) -> bool:
    return all(v is None or isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def _lin(spec: dict, data: pd.DataFrame) -> SurveyDesign:
    keys = LINEARIZATION_KEYS - {"create_replicates"}
    return SurveyDesign(data, **{k: spec[k] for k in keys if k in spec})


def build_design(spec: dict) -> SurveyDesign:
    kind = spec["kind"]
    if kind == "linearization":
        return _lin(spec, dataset(spec["data"]))
    if kind == "to_replicate":
        base = build_design(spec["base"])
        return base.to_replicate(spec["type"])
    if kind == "replicate":
        data = dataset(spec["data"]).copy()
        rep = np.column_stack([np.asarray(c, dtype=float) for c in spec["repweights"]])
        cols = [f"__rep{i}" for i in range(rep.shape[1])]
        data = pd.concat([data, pd.DataFrame(rep, columns=cols, index=data.index)], axis=1)
        rscales = spec["rscales"]
        return SurveyDesign.replicate(
            data,
            repweights=cols,
            type=spec["type"],
            weights=np.asarray(spec["weights"], dtype=float),
            scale=spec["scale"],
            rscales=rscales,
            rho=spec.get("rho"),
            mse=spec["mse"],
        )
    if kind == "calibrated":
        base = build_design(spec["base"])
        records = []
        for rec in spec["calibration"]:
            if rec["type"] == "post":
                records.append(
                    PostStratification(rec["groups"], rec["weights"], rec["old_weights"])
                )
            elif rec["type"] == "raking":
                records.append(Raking([(m["groups"], m["weights"]) for m in rec["margins"]]))
            else:
                mm = np.column_stack([np.asarray(c, dtype=float) for c in rec["model_matrix"]])
                records.append(GregCalibration(mm, rec["qr_weights"], rec["weights"]))
        return base.with_weights(np.asarray(spec["weights"], dtype=float), calibration=records)
    raise ValueError(kind)


def request_kwargs(req: dict) -> dict:
    """The fixture request as keyword arguments of ``estimate`` (JSON unboxes length-1 vectors)."""

    def as_list(v):
        return [] if v is None else (v if isinstance(v, list) else [v])

    kw: dict = {}
    for key in ("mean", "total", "prop", "by"):
        if key in req:
            kw[key] = as_list(req[key])
    if "ratio" in req:
        kw["ratio"] = [tuple(p) for p in req["ratio"]]
    if "quantile" in req:
        kw["quantile"] = {k: as_list(v) for k, v in req["quantile"].items()}
    for key in ("ci", "level", "na", "count"):
        if key in req:
            kw[key] = req[key]
    return kw


@pytest.fixture
def api_strat() -> pd.DataFrame:
    return dataset("apistrat")


@pytest.fixture
def api_clus1() -> pd.DataFrame:
    return dataset("apiclus1")


@pytest.fixture
def mig() -> pd.DataFrame:
    return dataset("mig")


class _Helpers:
    fixtures = staticmethod(fixtures)
    dataset = staticmethod(dataset)
    build_design = staticmethod(build_design)
    request_kwargs = staticmethod(request_kwargs)


@pytest.fixture(scope="session")
def rfix() -> type[_Helpers]:
    """Helpers to turn R fixture cases into designs and requests."""
    return _Helpers
