"""The small expression language of the indicator catalogue (universes, values, breakdowns).

Expressions are parsed with Python's :mod:`ast` and only a whitelist of nodes is accepted, so a
catalogue can never run code. Evaluation is vectorized over pandas nullable arrays: comparisons and
``and``/``or``/``not`` follow Kleene's three-valued logic, so a missing answer gives a missing result
(never a silent ``False``).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from survmig.errors import SurvmigError

#: function name -> (minimum, maximum) number of arguments
FUNCTIONS: dict[str, tuple[int, int]] = {
    "year": (1, 1),
    "band": (2, 2),
    "asked": (1, 1),
    "when": (3, 3),
    "rate": (1, 1),
    "sum_of": (2, 2),
    "count_of": (1, 1),
}
#: functions whose first argument is a level name, not a value
LEVEL_FUNCTIONS = ("sum_of", "count_of")

_ALLOWED = (
    ast.Expression,
    ast.BoolOp,
    ast.And,
    ast.Or,
    ast.UnaryOp,
    ast.Not,
    ast.USub,
    ast.BinOp,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.Compare,
    ast.Eq,
    ast.NotEq,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
    ast.In,
    ast.NotIn,
    ast.Call,
    ast.Name,
    ast.Load,
    ast.Constant,
    ast.List,
    ast.Tuple,
)


def parse(text: str | int | float | bool, where: str = "expression") -> ast.Expression:
    """Parse and check an expression; errors say which node is not allowed."""
    source = str(text)
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as err:
        raise SurvmigError(f"invalid expression {source!r}: {err.msg}", where=where) from None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise SurvmigError(
                f"expression {source!r} uses {type(node).__name__}, which is not allowed",
                where=where,
                hint="use arithmetic, comparisons, and/or/not, `in [..]` and the catalogue functions",
            )
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                name = getattr(node.func, "id", "?")
                raise SurvmigError(
                    f"expression {source!r}: unknown function {name!r}",
                    where=where,
                    hint="functions: " + ", ".join(FUNCTIONS),
                )
            lo, hi = FUNCTIONS[node.func.id]
            if not lo <= len(node.args) <= hi or node.keywords:
                raise SurvmigError(
                    f"expression {source!r}: {node.func.id}() takes {lo} argument(s)", where=where
                )
    return tree


def names(tree: ast.Expression) -> tuple[set[str], set[str]]:
    """(value names, level names) used by an expression; level names are sum_of/count_of targets."""
    values: set[str] = set()
    levels: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.func.id in LEVEL_FUNCTIONS:  # type: ignore[union-attr]
            first = node.args[0]
            if isinstance(first, ast.Name):
                levels.add(first.id)
    skip = {id(n.args[0]) for n in ast.walk(tree) if _is_level_call(n)}
    skip |= {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and id(node) not in skip and node.id not in ("True", "False"):
            values.add(node.id)
    return values, levels


def _is_level_call(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in LEVEL_FUNCTIONS
        and bool(node.args)
    )


class Scope:
    """What an expression is evaluated against: one level's rows.

    ``value(name)`` returns a concept column (specials as missing) or a parameter;
    ``raw(name)`` the column before recoding (for ``asked``); ``child(level, tree, agg)`` aggregates
    an expression over child rows; ``rate(values)`` converts currencies.
    """

    n: int

    def value(self, name: str) -> Any:  # pragma: no cover - interface
        raise NotImplementedError

    def raw(self, name: str) -> pd.Series:  # pragma: no cover - interface
        raise NotImplementedError

    def child(self, level: str, tree: ast.AST | None, agg: str) -> pd.Series:  # pragma: no cover
        raise NotImplementedError

    def rate(self, values: Any) -> Any:  # pragma: no cover - interface
        raise NotImplementedError


def evaluate(tree: ast.Expression | ast.AST, scope: Scope) -> Any:
    """Evaluate a parsed expression; the result is a scalar or a pandas Series of length ``scope.n``."""
    node = tree.body if isinstance(tree, ast.Expression) else tree
    ev: Callable[[ast.AST], Any] = lambda n: evaluate(n, scope)  # noqa: E731
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        if node.id == "True":
            return True
        if node.id == "False":
            return False
        return scope.value(node.id)
    if isinstance(node, ast.List | ast.Tuple):
        return [ev(e) for e in node.elts]
    if isinstance(node, ast.BoolOp):
        out = _bool(ev(node.values[0]), scope.n)
        for other in node.values[1:]:
            rhs = _bool(ev(other), scope.n)
            out = (out & rhs) if isinstance(node.op, ast.And) else (out | rhs)
        return out
    if isinstance(node, ast.UnaryOp):
        operand = ev(node.operand)
        if isinstance(node.op, ast.Not):
            return ~_bool(operand, scope.n)
        return -_num(operand, scope.n)
    if isinstance(node, ast.BinOp):
        left, right = _num(ev(node.left), scope.n), _num(ev(node.right), scope.n)
        if isinstance(node.op, ast.Add):
            return left + right
        if isinstance(node.op, ast.Sub):
            return left - right
        if isinstance(node.op, ast.Mult):
            return left * right
        return _divide(left, right)
    if isinstance(node, ast.Compare):
        out = None
        left = ev(node.left)
        for op, comp in zip(node.ops, node.comparators, strict=True):
            right = ev(comp)
            part = _compare(op, left, right, scope.n)
            out = part if out is None else (out & part)
            left = right
        return out
    if isinstance(node, ast.Call):
        return _call(node, scope)
    raise SurvmigError(f"cannot evaluate {type(node).__name__}")  # pragma: no cover


def _series(value: Any, n: int, dtype: str) -> pd.Series:
    if isinstance(value, pd.Series):
        return value
    if value is None:
        return pd.Series(pd.array([pd.NA] * n, dtype=dtype))
    return pd.Series(pd.array(np.full(n, value), dtype=dtype))


def _bool(value: Any, n: int) -> pd.Series:
    if isinstance(value, pd.Series):
        if value.dtype == "boolean":
            return value
        return value.astype("Float64").ne(0).astype("boolean")
    return _series(bool(value), n, "boolean")


def _num(value: Any, n: int) -> Any:
    if isinstance(value, pd.Series):
        if value.dtype == "boolean":
            return value.astype("Float64")
        return value
    if isinstance(value, bool):
        return float(value)
    return value


def _divide(left: Any, right: Any) -> Any:
    """Division where x/0 is missing (a zero denominator has no ratio), not infinite."""
    if isinstance(right, pd.Series):
        right = right.mask(right == 0)
    elif right == 0:
        right = np.nan
    return left / right


def _compare(op: ast.cmpop, left: Any, right: Any, n: int) -> pd.Series:
    if isinstance(op, ast.In | ast.NotIn):
        if not isinstance(right, list):
            raise SurvmigError("`in` needs a list, e.g. x in [3, 4]")
        s = left if isinstance(left, pd.Series) else _series(left, n, "object")
        hit = s.isin(right) | (s.astype("string").isin([str(v) for v in right]))
        hit = pd.Series(pd.array(hit.to_numpy(dtype=bool), dtype="boolean"), index=s.index)
        hit = hit.mask(s.isna())
        return ~hit if isinstance(op, ast.NotIn) else hit
    if (
        isinstance(left, pd.Series)
        and not pd.api.types.is_numeric_dtype(left)
        and isinstance(right, int | float)
        and not isinstance(right, bool)
    ):
        left = pd.to_numeric(left, errors="coerce").astype("Float64")
    ops = {
        ast.Eq: lambda a, b: a == b,
        ast.NotEq: lambda a, b: a != b,
        ast.Lt: lambda a, b: a < b,
        ast.LtE: lambda a, b: a <= b,
        ast.Gt: lambda a, b: a > b,
        ast.GtE: lambda a, b: a >= b,
    }
    result = ops[type(op)](left, right)
    return _bool(result, n)


def _call(node: ast.Call, scope: Scope) -> Any:
    name = node.func.id  # type: ignore[union-attr]
    args = node.args
    if name in LEVEL_FUNCTIONS:
        if not isinstance(args[0], ast.Name):
            raise SurvmigError(f"{name}() needs a level name as its first argument")
        if name == "count_of":
            return scope.child(args[0].id, None, "count")
        return scope.child(args[0].id, args[1], "sum")
    if name == "asked":
        if not isinstance(args[0], ast.Name):
            raise SurvmigError("asked() needs a concept name")
        raw = scope.raw(args[0].id)
        return pd.Series(pd.array(raw.notna().to_numpy(dtype=bool), dtype="boolean"))
    values = [evaluate(a, scope) for a in args]
    if name == "year":
        s = values[0]
        if not isinstance(s, pd.Series):
            raise SurvmigError("year() needs a date concept")
        dates = pd.to_datetime(s, errors="coerce")
        return dates.dt.year.astype("Float64")
    if name == "band":
        return band(_num(values[0], scope.n), values[1])
    if name == "when":
        cond = _bool(values[0], scope.n)
        a = _series(_num(values[1], scope.n), scope.n, "Float64")
        b = _series(_num(values[2], scope.n), scope.n, "Float64")
        out = a.where(cond.fillna(False).astype(bool), b)
        return out.mask(cond.isna())
    if name == "rate":
        return scope.rate(values[0])
    raise SurvmigError(f"unknown function {name!r}")  # pragma: no cover


def band(values: Any, edges: list[Any]) -> pd.Series:
    """Bands ``[e0, e1)``, … ``[ek, ∞)`` labelled ``"e0-(e1-1)"`` … ``"ek+"`` (integer edges)."""
    if not isinstance(edges, list) or len(edges) < 1:
        raise SurvmigError("band() needs a list of increasing edges, e.g. [0, 15, 25]")
    edges = [float(e) for e in edges]
    if any(b <= a for a, b in zip(edges, edges[1:], strict=False)):
        raise SurvmigError(f"band() edges must increase, got {edges}")
    x = pd.Series(values).astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    labels = [
        f"{a:g}" if b - 1 <= a else f"{a:g}-{b - 1:g}"
        for a, b in zip(edges, edges[1:], strict=False)
    ]
    labels.append(f"{edges[-1]:g}+")
    idx = np.searchsorted(np.asarray(edges), x, side="right") - 1
    ok = np.isfinite(x) & (idx >= 0)
    out = np.full(len(x), None, dtype=object)
    out[ok] = np.asarray(labels, dtype=object)[idx[ok]]
    return pd.Series(out, dtype=object)
