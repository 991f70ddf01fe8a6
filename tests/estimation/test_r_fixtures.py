"""survmig against R survey 4.1-1 (fixtures written by tests/reference/estimation_fixtures.R)."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import pytest

from survmig.estimation import estimate

FIXTURE = Path(__file__).resolve().parents[1] / "reference" / "estimation_fixtures.json"
CASES = json.loads(FIXTURE.read_text())["cases"]
RTOL = 1e-8
VALUES = ("estimate", "se", "ci_low", "ci_high", "deff")


def _key(row: dict, by: list[str]) -> tuple:
    cat = row.get("category")
    if isinstance(cat, float) and cat.is_integer():
        cat = int(cat)
    if cat is not None and not isinstance(cat, str):
        cat = repr(float(cat)) if isinstance(cat, float) else str(cat)
    return (row["statistic"], row["variable"] or "", cat, *(str(row[b]) for b in by))


def _close(a: float, b: float) -> bool:
    if b is None or (isinstance(b, float) and math.isnan(b)):
        return True  # R gives no value (e.g. replicate ratio deff): not compared
    if a is None or math.isnan(a):
        return False
    return abs(a - b) <= RTOL * max(abs(b), 1e-300) or abs(a - b) < 1e-12


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_matches_r(case: dict, rfix) -> None:
    design = rfix.build_design(case["design"])
    kw = rfix.request_kwargs(case["request"])
    by = kw.get("by", [])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = estimate(design, missing_codes=(), **kw)
    compare = case["design"].get("compare", VALUES)
    compare = [compare] if isinstance(compare, str) else compare
    if "ci_low" in compare:
        assert got["df"].iloc[0] == case["df"]
    rows = {}
    for rec in got.to_dict("records"):
        cat = rec["category"]
        if cat is not None and not (isinstance(cat, float) and math.isnan(cat)):
            rec["category"] = cat
        else:
            rec["category"] = None
        rows[_key(rec, by)] = rec
    expected = case["expected"]
    assert len(rows) == len(expected), (sorted(rows), [_key(e, by) for e in expected])
    worst = 0.0
    for exp in expected:
        k = _key(exp, by)
        assert k in rows, f"{k} missing from {sorted(rows)}"
        row = rows[k]
        for col in compare:
            e = exp.get(col)
            if e is None:
                continue
            assert _close(row[col], e), f"{case['name']} {k} {col}: survmig {row[col]!r}, R {e!r}"
            if e:
                worst = max(worst, abs(row[col] - e) / abs(e))
    assert worst < RTOL
