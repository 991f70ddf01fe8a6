"""``weighting.yaml``: an ordered list of weighting steps with their parameters and control totals.

Control totals are inline (``{North: 1200, South: 800}`` for one variable, a list of rows
``[{sex: 1, age: "15-24", total: 310}, …]`` for several) or a CSV file (a path relative to the YAML
file, with the ``by`` columns and a ``total`` column). Errors name the file and line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from survmig.errors import SurvmigError
from survmig.modules.yamlio import LDict, load_yaml
from survmig.weighting.steps import (
    STEP_TYPES,
    BaseWeights,
    Calibrate,
    ControlTable,
    Nonresponse,
    PostStratify,
    Rake,
    Stage,
    Step,
    Trim,
)

STAGE_KEYS = {
    "pps": {"size", "size_total", "n"},
    "listing": {"listed", "selected"},
    "phase2": {"class", "rates", "listed", "selected"},
    "probability": {"column"},
}

#: allowed keys per step type (besides ``step``, ``name``)
STEP_KEYS = {
    "base": {"stages"},
    "nonresponse": {"response", "respondent_values", "classes", "propensity", "n_classes"},
    "poststratify": {"by", "totals", "total_column", "partial"},
    "rake": {"margins", "epsilon", "maxit", "partial"},
    "calibrate": {
        "method",
        "margins",
        "continuous",
        "population",
        "bounds",
        "bounds_on",
        "epsilon",
        "maxit",
        "force",
        "allow_negative",
    },
    "trim": {"lower", "upper", "redistribute", "strict", "replicates"},
}


class _Ctx:
    def __init__(self, file: Path) -> None:
        self.file = file
        self.base_dir = file.parent

    def error(self, node: Any, key: Any, message: str, hint: str | None = None) -> SurvmigError:
        line = (
            node.line_of(key)
            if isinstance(node, LDict) and key is not None
            else getattr(node, "line", None)
        )
        return SurvmigError(message, file=self.file, line=line, hint=hint)


def _as_list(v: Any) -> list[Any]:
    return list(v) if isinstance(v, list | tuple) else [v]


def _number(ctx: _Ctx, node: LDict, key: str, default: Any = None) -> Any:
    if key not in node:
        return default
    v = node[key]
    if isinstance(v, bool) or not isinstance(v, int | float | str):
        raise ctx.error(node, key, f"{key!r} must be a number")
    try:
        return float(v)
    except ValueError:
        raise ctx.error(node, key, f"{key!r} must be a number, not {v!r}") from None


def _controls(ctx: _Ctx, node: LDict, by: list[str]) -> ControlTable:
    """A margin's totals: inline mapping, inline rows, or a CSV path."""
    totals = node.get("totals")
    total_column = str(node.get("total_column", "total"))
    where = f"totals of {' × '.join(by)}"
    try:
        if isinstance(totals, str):
            path = (ctx.base_dir / totals).resolve()
            if not path.exists():
                raise ctx.error(
                    node,
                    "totals",
                    f"control totals file {totals!r} not found",
                    hint=f"paths are relative to {ctx.base_dir}",
                )
            frame = pd.read_csv(path)
            return ControlTable.from_frame(by, frame, total_column, where=f"{path.name}")
        if isinstance(totals, dict):
            if len(by) != 1:
                raise ctx.error(
                    node,
                    "totals",
                    f"a margin of {len(by)} variables needs its totals as rows",
                    hint=f"write totals: [{{{', '.join(f'{b}: …' for b in by)}, total: …}}, …]",
                )
            frame = pd.DataFrame(
                {by[0]: pd.Series(list(totals), dtype=object), total_column: list(totals.values())}
            )
            return ControlTable.from_frame(by, frame, total_column, where=where)
        if isinstance(totals, list):
            frame = pd.DataFrame([dict(r) for r in totals], dtype=object)
            return ControlTable.from_frame(by, frame, total_column, where=where)
    except SurvmigError as err:
        if err.file is None:
            raise ctx.error(node, "totals", err.message, err.hint) from None
        raise
    raise ctx.error(
        node,
        "totals" if "totals" in node else None,
        "a margin needs 'totals' (a mapping, rows or a CSV file)",
    )


def _margin(ctx: _Ctx, node: Any) -> ControlTable:
    if not isinstance(node, LDict) or "by" not in node:
        raise ctx.error(node, None, "a margin is a mapping with 'by' and 'totals'")
    unknown = set(node) - {"by", "totals", "total_column"}
    if unknown:
        raise ctx.error(node, sorted(unknown)[0], f"unknown key {sorted(unknown)[0]!r} in a margin")
    return _controls(ctx, node, [str(b) for b in _as_list(node["by"])])


def _bound(ctx: _Ctx, node: LDict, key: str) -> tuple[float | None, bool]:
    """A trimming bound: a number, or ``{median: k}``."""
    if key not in node:
        return None, False
    v = node[key]
    if isinstance(v, dict):
        if set(v) != {"median"}:
            raise ctx.error(node, key, f"{key!r} is a number or {{median: multiple}}")
        return _number(ctx, v, "median"), True
    return _number(ctx, node, key), False


def parse_step(ctx: _Ctx, node: Any, index: int) -> Step:
    """One step mapping → a :class:`Step`."""
    if not isinstance(node, LDict) or "step" not in node:
        raise ctx.error(
            node,
            None,
            f"step {index + 1} must be a mapping with a 'step' key",
            hint=f"one of {', '.join(STEP_TYPES)}",
        )
    kind = node["step"]
    if kind not in STEP_TYPES:
        raise ctx.error(
            node, "step", f"unknown step {kind!r}", hint=f"one of {', '.join(STEP_TYPES)}"
        )
    unknown = set(node) - STEP_KEYS[kind] - {"step", "name"}
    if unknown:
        key = sorted(unknown, key=str)[0]
        raise ctx.error(
            node,
            key,
            f"unknown key {key!r} for a {kind} step",
            hint=f"allowed: {', '.join(sorted(STEP_KEYS[kind]))}",
        )
    common = {"name": str(node["name"]) if "name" in node else None, "line": node.line}

    def need(key: str) -> Any:
        if key not in node:
            raise ctx.error(node, None, f"a {kind} step needs {key!r}")
        return node[key]

    if kind == "base":
        stages = []
        for st in _as_list(need("stages")):
            if not isinstance(st, LDict) or len(st) != 1 or next(iter(st)) not in STAGE_KEYS:
                raise ctx.error(
                    st if isinstance(st, LDict) else node,
                    None,
                    f"a stage is one of {', '.join(STAGE_KEYS)} with its parameters",
                    hint="e.g. - pps: {size: mos, size_total: stratum_mos, n: n_psu}",
                )
            typ, params = next(iter(st.items()))
            params = params if isinstance(params, dict) else {}
            allowed = STAGE_KEYS[typ]
            bad = set(params) - allowed
            required = {"pps": allowed, "listing": allowed, "probability": allowed}.get(typ)
            if typ == "phase2":
                required = {"class", "rates"} if "rates" in params else {"listed", "selected"}
            missing = (required or set()) - set(params)
            if bad or missing:
                raise ctx.error(
                    st,
                    typ,
                    f"{typ} stage: "
                    + (f"unknown {sorted(bad)}" if bad else f"needs {sorted(missing)}"),
                    hint=f"keys: {', '.join(sorted(allowed))}",
                )
            stages.append(Stage(typ, dict(params)))
        return BaseWeights(stages=stages, **common)
    if kind == "nonresponse":
        kw: dict[str, Any] = {"response": str(need("response"))}
        if "respondent_values" in node:
            kw["respondent_values"] = tuple(_as_list(node["respondent_values"]))
        if "classes" in node:
            kw["classes"] = [str(c) for c in _as_list(node["classes"])]
        if "propensity" in node:
            kw["propensity"] = [str(c) for c in _as_list(node["propensity"])]
            kw["n_classes"] = int(_number(ctx, node, "n_classes", 5))
        return Nonresponse(**kw, **common)
    if kind == "poststratify":
        by = [str(b) for b in _as_list(need("by"))]
        return PostStratify(
            controls=_controls(ctx, node, by), partial=bool(node.get("partial", False)), **common
        )
    if kind == "rake":
        margins = [_margin(ctx, m) for m in _as_list(need("margins"))]
        if len(margins) < 2:
            raise ctx.error(
                node,
                "margins",
                "raking needs at least two margins",
                hint="use poststratify for one",
            )
        return Rake(
            margins=margins,
            epsilon=_number(ctx, node, "epsilon", 1e-6),
            maxit=int(_number(ctx, node, "maxit", 100)),
            partial=bool(node.get("partial", False)),
            **common,
        )
    if kind == "calibrate":
        method = node.get("method", "linear")
        if method not in ("linear", "raking", "logit"):
            raise ctx.error(
                node,
                "method",
                f"unknown calibration method {method!r}",
                hint="linear, raking or logit",
            )
        margins = [_margin(ctx, m) for m in _as_list(node.get("margins", []))]
        cont = node.get("continuous", {}) or {}
        if not isinstance(cont, dict):
            raise ctx.error(
                node, "continuous", "'continuous' maps variables to their population totals"
            )
        continuous = {str(k): _number(ctx, cont, k) for k in cont}
        if not margins and not continuous:
            raise ctx.error(node, None, "a calibrate step needs margins and/or continuous totals")
        bounds = node.get("bounds", [-np.inf, np.inf])
        if not isinstance(bounds, list) or len(bounds) != 2:
            raise ctx.error(node, "bounds", "bounds are [lower, upper]")
        try:
            lo, up = (float(b) for b in bounds)
        except (TypeError, ValueError):
            raise ctx.error(node, "bounds", "bounds must be numbers") from None
        if lo >= up:
            raise ctx.error(node, "bounds", f"infeasible bounds: lower {lo:g} ≥ upper {up:g}")
        bounds_on = node.get("bounds_on", "ratio")
        if bounds_on not in ("ratio", "weight"):
            raise ctx.error(
                node, "bounds_on", "bounds_on is 'ratio' (g = new/old weight) or 'weight'"
            )
        return Calibrate(
            margins=margins,
            continuous=continuous,
            population=_number(ctx, node, "population"),
            method=method,
            bounds=(lo, up),
            bounds_on=bounds_on,
            epsilon=_number(ctx, node, "epsilon", 1e-7),
            maxit=int(_number(ctx, node, "maxit", 50)),
            force=bool(node.get("force", False)),
            allow_negative=bool(node.get("allow_negative", False)),
            **common,
        )
    # trim
    lower, rel_lo = _bound(ctx, node, "lower")
    upper, rel_up = _bound(ctx, node, "upper")
    if lower is None and upper is None:
        raise ctx.error(node, None, "a trim step needs 'lower' and/or 'upper'")
    if lower is not None and upper is not None and rel_lo != rel_up:
        raise ctx.error(node, "upper", "give both bounds as {median: k} or both as numbers")
    redistribute = node.get("redistribute", "equal")
    if redistribute not in ("equal", "proportional"):
        raise ctx.error(
            node, "redistribute", "redistribute is 'equal' (R trimWeights) or 'proportional'"
        )
    if lower is not None and upper is not None and lower >= upper:
        raise ctx.error(node, "upper", f"infeasible bounds: lower {lower:g} ≥ upper {upper:g}")
    replicates = node.get("replicates", "fixed")
    if replicates not in ("fixed", "retrim"):
        raise ctx.error(
            node,
            "replicates",
            "replicates is 'fixed' (the full-sample trimming factors) or 'retrim' (each column)",
        )
    return Trim(
        lower=lower,
        upper=upper,
        relative=rel_lo or rel_up,
        redistribute=redistribute,
        strict=bool(node.get("strict", False)),
        replicates=replicates,
        **common,
    )


def load_steps(path: str | Path) -> list[Step]:
    """Read ``weighting.yaml`` (a mapping with ``steps:``, or the list itself) into steps."""
    path = Path(path)
    doc = load_yaml(path)
    ctx = _Ctx(path)
    steps = doc.get("steps") if isinstance(doc, dict) else doc
    if not isinstance(steps, list) or not steps:
        raise SurvmigError(
            "expected a non-empty list of steps (steps: [...])",
            file=path,
            line=getattr(doc, "line", None),
            hint="see `survmig weight --help`",
        )
    if isinstance(doc, LDict):
        unknown = set(doc) - {"steps"}
        if unknown:
            key = sorted(unknown, key=str)[0]
            raise ctx.error(doc, key, f"unknown top-level key {key!r}", hint="only 'steps'")
    return [parse_step(ctx, node, i) for i, node in enumerate(steps)]
