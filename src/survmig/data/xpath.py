"""Vectorised evaluation of the common XLSForm/XPath subset used in ``relevant`` and ``constraint``.

Supported: ``${name}``, ``.`` (the current answer), ``../name`` and absolute paths (resolved by the
last step), number and string literals, ``=  !=  <  <=  >  >=``, ``and or``, ``+ - * div mod``, unary
minus, and the functions ``not true false boolean number string int round floor ceiling abs
selected count-selected string-length if coalesce concat contains starts-with ends-with substr regex
date format-date today position``. Values follow XPath 1.0: an unanswered question is the empty string, which is not a
number (``'' >= 15`` is false, ``'' != 5`` is true). Dates compare as days since 1970-01-01, as in
JavaRosa.

``today()`` is the date the context gives (``Context.today``: ``survmig data check`` uses the day it
runs, as the tablet did on the day of the interview); without one it is unsupported.

Anything else (``now()``, ``indexed-repeat()``, ``sum()``, ``instance(...)``, a reference to a
question in a repeat that is not an ancestor, …) raises :class:`XPathUnsupported`; callers report
the expression as *not checked* — it is never silently passed.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd


class XPathError(Exception):
    """The expression cannot be parsed."""


class XPathUnsupported(Exception):
    """The expression is valid but outside the subset this evaluator handles."""


# ---------------------------------------------------------------------------------------- parsing
_TOKEN = re.compile(
    r"""\s*(?:
      (?P<ref>\$\{\s*(?P<refname>[A-Za-z_][\w.-]*)\s*\})
    | (?P<num>\d+(?:\.\d*)?|\.\d+)
    | (?P<str>'[^']*'|"[^"]*")
    | (?P<op>!=|<=|>=|=|<|>|\+|-|\*|\(|\)|,|\||\[|\]|@)
    | (?P<path>(?:\.\./)+[A-Za-z_][\w.-]*(?:/[A-Za-z_][\w.-]*)*|\.\.|/[A-Za-z_][\w.:-]*(?:/[A-Za-z_][\w.:-]*)*|\.)
    | (?P<name>[A-Za-z_][\w.:-]*)
    )""",
    re.VERBOSE,
)


@dataclasses.dataclass(frozen=True)
class Tok:
    kind: str
    value: str


def tokenize(expr: str) -> list[Tok]:
    tokens: list[Tok] = []
    pos = 0
    text = expr.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise XPathError(f"unexpected character {text[pos]!r} at position {pos + 1}")
        pos = m.end()
        if m.group("ref"):
            tokens.append(Tok("ref", m.group("refname")))
        elif m.group("num") is not None:
            tokens.append(Tok("num", m.group("num")))
        elif m.group("str") is not None:
            tokens.append(Tok("str", m.group("str")[1:-1]))
        elif m.group("op"):
            tokens.append(Tok("op", m.group("op")))
        elif m.group("path"):
            tokens.append(Tok("path", m.group("path")))
        elif m.group("name"):
            tokens.append(Tok("word", m.group("name")))
    return tokens


# AST: tuples ("num", float) ("str", s) ("ref", name) ("cur",) ("bin", op, a, b) ("neg", a) ("call", f, [args])
Node = tuple[Any, ...]

_BINARY_LEVELS: list[tuple[str, ...]] = [
    ("or",),
    ("and",),
    ("=", "!="),
    ("<", "<=", ">", ">="),
    ("+", "-"),
    ("*", "div", "mod"),
]


class _Parser:
    def __init__(self, tokens: list[Tok]) -> None:
        self.tokens = tokens
        self.i = 0

    def peek(self) -> Tok | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> Tok:
        tok = self.peek()
        if tok is None:
            raise XPathError("expression ends too early")
        self.i += 1
        return tok

    def expect(self, value: str) -> None:
        tok = self.take()
        if tok.value != value:
            raise XPathError(f"expected {value!r}, found {tok.value!r}")

    def _is_op(self, tok: Tok | None, ops: tuple[str, ...]) -> bool:
        if tok is None:
            return False
        if tok.kind == "op" and tok.value in ops:
            return True
        # `and`, `or`, `div`, `mod` are operators only after an operand
        return tok.kind == "word" and tok.value in ops

    def parse(self) -> Node:
        node = self.binary(0)
        if self.peek() is not None:
            raise XPathError(f"unexpected {self.peek().value!r}")  # type: ignore[union-attr]
        return node

    def binary(self, level: int) -> Node:
        if level == len(_BINARY_LEVELS):
            return self.unary()
        ops = _BINARY_LEVELS[level]
        left = self.binary(level + 1)
        while self._is_op(self.peek(), ops):
            op = self.take().value
            right = self.binary(level + 1)
            left = ("bin", op, left, right)
        return left

    def unary(self) -> Node:
        tok = self.peek()
        if tok is not None and tok.kind == "op" and tok.value == "-":
            self.take()
            return ("neg", self.unary())
        return self.primary()

    def primary(self) -> Node:
        tok = self.take()
        if tok.kind == "num":
            return ("num", float(tok.value))
        if tok.kind == "str":
            return ("str", tok.value)
        if tok.kind == "ref":
            return ("ref", tok.value)
        if tok.kind == "path":
            if tok.value == ".":
                return ("cur",)
            if tok.value == "..":
                return ("parent",)
            return ("ref", tok.value.rsplit("/", 1)[-1])
        if tok.kind == "op" and tok.value == "(":
            node = self.binary(0)
            self.expect(")")
            return node
        if tok.kind == "word":
            nxt = self.peek()
            if nxt is not None and nxt.kind == "op" and nxt.value == "(":
                self.take()
                args: list[Node] = []
                if not (self.peek() is not None and self.peek().value == ")"):  # type: ignore[union-attr]
                    while True:
                        args.append(self.binary(0))
                        if self.peek() is not None and self.peek().value == ",":  # type: ignore[union-attr]
                            self.take()
                            continue
                        break
                self.expect(")")
                return ("call", tok.value, args)
            raise XPathUnsupported(f"bare name '{tok.value}' (use ${{{tok.value}}})")
        raise XPathError(f"unexpected {tok.value!r}")


def parse(expr: str) -> Node:
    """Parse an XLSForm expression into a small AST (raises :class:`XPathError`)."""
    tokens = tokenize(expr)
    if not tokens:
        raise XPathError("empty expression")
    if any(t.kind == "op" and t.value in ("[", "]", "|", "@") for t in tokens):
        raise XPathUnsupported("predicates, unions and attributes are not supported")
    return _Parser(tokens).parse()


def references(node: Node) -> set[str]:
    """Names referenced by an AST (``${x}`` and path steps)."""
    out: set[str] = set()
    stack = [node]
    while stack:
        n = stack.pop()
        if n[0] == "ref":
            out.add(n[1])
        elif n[0] == "bin":
            stack.extend([n[2], n[3]])
        elif n[0] == "neg":
            stack.append(n[1])
        elif n[0] == "call":
            stack.extend(n[2])
    return out


# ---------------------------------------------------------------------------------------- values
@dataclasses.dataclass
class XValue:
    """A column of XPath values: kind is 'num', 'str', 'bool' or 'node' (a question's answers).

    A node carries both its string value (``''`` when unanswered) and its numeric value (NaN when
    the string is not a number; dates as days since 1970-01-01).
    """

    kind: str
    num: np.ndarray | None = None
    str_: np.ndarray | None = None
    bool_: np.ndarray | None = None

    def as_num(self) -> np.ndarray:
        if self.kind in ("num", "node"):
            return self.num  # type: ignore[return-value]
        if self.kind == "bool":
            return self.bool_.astype(float)  # type: ignore[union-attr]
        return _to_number(self.str_)  # type: ignore[arg-type]

    def as_str(self) -> np.ndarray:
        if self.kind in ("str", "node"):
            return self.str_  # type: ignore[return-value]
        if self.kind == "bool":
            return np.where(self.bool_, "true", "false").astype(object)  # type: ignore[arg-type]
        return format_numbers(self.num)  # type: ignore[arg-type]

    def as_bool(self) -> np.ndarray:
        if self.kind == "bool":
            return self.bool_  # type: ignore[return-value]
        if self.kind == "num":
            n = self.num
            return (n != 0) & ~np.isnan(n)  # type: ignore[operator]
        return _str_len(self.as_str()) > 0


def _to_number(values: np.ndarray) -> np.ndarray:
    return pd.to_numeric(pd.Series(values, dtype=object).str.strip(), errors="coerce").to_numpy(
        dtype=float
    )


def _str_len(values: np.ndarray) -> np.ndarray:
    return pd.Series(values, dtype=object).str.len().fillna(0).to_numpy(dtype=int)


def format_numbers(values: np.ndarray) -> np.ndarray:
    """XPath string() of numbers: integers without '.0', NaN as 'NaN'."""
    values = np.asarray(values, dtype=float)
    out = np.empty(len(values), dtype=object)
    nan = np.isnan(values)
    integral = ~nan & (np.floor(values) == values) & (np.abs(values) < 1e15)
    out[nan] = "NaN"
    out[integral] = pd.Series(values[integral].astype(np.int64)).astype(str).to_numpy()
    rest = ~nan & ~integral
    if rest.any():
        out[rest] = [repr(float(v)) for v in values[rest]]
    return out


def _const(kind: str, value: Any, n: int) -> XValue:
    if kind == "num":
        return XValue("num", num=np.full(n, float(value)))
    if kind == "str":
        return XValue("str", str_=np.full(n, value, dtype=object))
    return XValue("bool", bool_=np.full(n, bool(value)))


def node_from_series(series: pd.Series, *, is_date: bool = False) -> XValue:
    """XPath view of a typed column (NA -> '')."""
    if is_date or pd.api.types.is_datetime64_any_dtype(series.dtype):
        dt = pd.to_datetime(series, errors="coerce")
        if getattr(dt.dt, "tz", None) is not None:
            dt = dt.dt.tz_convert(None)
        days = (dt - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)
        num = days.to_numpy(dtype=float, na_value=np.nan)
        text = dt.dt.strftime("%Y-%m-%d").fillna("").to_numpy(dtype=object)
        return XValue("node", num=num, str_=text)
    if pd.api.types.is_bool_dtype(series.dtype):
        series = series.astype("Int64")
    if pd.api.types.is_numeric_dtype(series.dtype):
        num = series.to_numpy(dtype=float, na_value=np.nan)
        text = format_numbers(num)
        text[np.isnan(num)] = ""
        return XValue("node", num=num, str_=text)
    text = series.astype(object).where(series.notna(), "").to_numpy(dtype=object)
    text = (
        np.array([v if isinstance(v, str) else str(v) for v in text], dtype=object)
        if len(text)
        else text
    )
    return XValue("node", num=_to_number(text), str_=text)


# ---------------------------------------------------------------------------------------- evaluation
class Context:
    """Where an expression is evaluated: ``n`` rows, a resolver for names, the current answer."""

    def __init__(
        self,
        n: int,
        resolve: Callable[[str], XValue],
        current: XValue | None = None,
        position: np.ndarray | None = None,
        today: datetime.date | None = None,
    ) -> None:
        self.n = n
        self.resolve = resolve
        self.current = current
        self.position = position
        self.today = today


def evaluate(node: Node, ctx: Context) -> XValue:
    """Evaluate an AST on every row of ``ctx`` at once."""
    kind = node[0]
    n = ctx.n
    if kind == "num":
        return _const("num", node[1], n)
    if kind == "str":
        return _const("str", node[1], n)
    if kind == "ref":
        return ctx.resolve(node[1])
    if kind == "parent":
        raise XPathUnsupported("'..' used as a value")
    if kind == "cur":
        if ctx.current is None:
            raise XPathUnsupported("'.' outside a constraint")
        return ctx.current
    if kind == "neg":
        return XValue("num", num=-evaluate(node[1], ctx).as_num())
    if kind == "bin":
        return _binary(node[1], evaluate(node[2], ctx), evaluate(node[3], ctx), node[2], node[3])
    if kind == "call":
        return _call(node[1], node[2], ctx)
    raise XPathError(f"unknown node {kind}")


def _binary(op: str, a: XValue, b: XValue, na: Node, nb: Node) -> XValue:
    if op == "and":
        return XValue("bool", bool_=a.as_bool() & b.as_bool())
    if op == "or":
        return XValue("bool", bool_=a.as_bool() | b.as_bool())
    if op in ("=", "!="):
        if a.kind == "bool" or b.kind == "bool":
            eq = a.as_bool() == b.as_bool()
            return XValue("bool", bool_=eq if op == "=" else ~eq)
        if a.kind == "num" or b.kind == "num":
            x, y = a.as_num(), b.as_num()
            with np.errstate(invalid="ignore"):
                res = (x == y) if op == "=" else (x != y)
            return XValue("bool", bool_=res)
        res = a.as_str() == b.as_str()
        return XValue("bool", bool_=res if op == "=" else ~res)
    x, y = a.as_num(), b.as_num()
    with np.errstate(invalid="ignore", divide="ignore"):
        if op == "<":
            return XValue("bool", bool_=x < y)
        if op == "<=":
            return XValue("bool", bool_=x <= y)
        if op == ">":
            return XValue("bool", bool_=x > y)
        if op == ">=":
            return XValue("bool", bool_=x >= y)
        if op == "+":
            return XValue("num", num=x + y)
        if op == "-":
            return XValue("num", num=x - y)
        if op == "*":
            return XValue("num", num=x * y)
        if op == "div":
            return XValue("num", num=x / y)
        if op == "mod":
            return XValue("num", num=np.fmod(x, y))
    raise XPathError(f"unknown operator {op}")


def _dual(text: np.ndarray) -> XValue:
    return XValue("node", num=_to_number(text), str_=text)


def _const_str(node: Node, what: str) -> str:
    if node[0] != "str":
        raise XPathUnsupported(f"{what} must be a literal string here")
    return node[1]


def _call(name: str, args: list[Node], ctx: Context) -> XValue:  # noqa: C901 - a dispatch table
    n = ctx.n
    ev = [lambda i=i: evaluate(args[i], ctx) for i in range(len(args))]

    def need(count: int | tuple[int, ...]) -> None:
        counts = (count,) if isinstance(count, int) else count
        if len(args) not in counts:
            raise XPathError(
                f"{name}() takes {' or '.join(map(str, counts))} argument(s), got {len(args)}"
            )

    if name == "true":
        need(0)
        return _const("bool", True, n)
    if name == "false":
        need(0)
        return _const("bool", False, n)
    if name in ("not", "boolean"):
        need(1)
        b = ev[0]().as_bool()
        return XValue("bool", bool_=~b if name == "not" else b)
    if name == "number":
        need(1)
        return XValue("num", num=ev[0]().as_num())
    if name == "string":
        need(1)
        return XValue("str", str_=ev[0]().as_str())
    if name == "int":
        need(1)
        return XValue("num", num=np.trunc(ev[0]().as_num()))
    if name in ("floor", "ceiling", "abs"):
        need(1)
        fn = {"floor": np.floor, "ceiling": np.ceil, "abs": np.abs}[name]
        return XValue("num", num=fn(ev[0]().as_num()))
    if name == "round":
        need((1, 2))
        x = ev[0]().as_num()
        digits = ev[1]().as_num() if len(args) == 2 else np.zeros(n)
        scale = np.power(10.0, digits)
        return XValue("num", num=np.floor(x * scale + 0.5) / scale)
    if name == "selected":
        need(2)
        code = _const_str(args[1], "the option in selected()") if args[1][0] == "str" else None
        if code is None:
            if args[1][0] == "num":
                code = format_numbers(np.array([args[1][1]]))[0]
            else:
                raise XPathUnsupported("selected() with a computed option")
        text = pd.Series(ev[0]().as_str(), dtype=object)
        pattern = r"(?:^|\s)" + re.escape(code.strip()) + r"(?:\s|$)"
        hit = text.str.contains(pattern, regex=True, na=False).to_numpy(dtype=bool)
        return XValue("bool", bool_=hit)
    if name == "count-selected":
        need(1)
        text = pd.Series(ev[0]().as_str(), dtype=object).str.split()
        return XValue("num", num=text.str.len().fillna(0).to_numpy(dtype=float))
    if name == "string-length":
        need(1)
        return XValue("num", num=_str_len(ev[0]().as_str()).astype(float))
    if name == "if":
        need(3)
        cond = ev[0]().as_bool()
        a, b = ev[1](), ev[2]()
        if a.kind == "num" and b.kind == "num":
            return XValue("num", num=np.where(cond, a.num, b.num))
        if a.kind == "bool" and b.kind == "bool":
            return XValue("bool", bool_=np.where(cond, a.bool_, b.bool_))
        return _dual(np.where(cond, a.as_str(), b.as_str()).astype(object))
    if name == "coalesce":
        need(2)
        a, b = ev[0](), ev[1]()
        sa = a.as_str()
        return _dual(np.where(_str_len(sa) > 0, sa, b.as_str()).astype(object))
    if name == "concat":
        parts = [pd.Series(f().as_str(), dtype=object) for f in ev]
        out = parts[0] if parts else pd.Series([""] * n, dtype=object)
        for p in parts[1:]:
            out = out + p
        return XValue("str", str_=out.to_numpy(dtype=object))
    if name in ("contains", "starts-with", "ends-with"):
        need(2)
        text = pd.Series(ev[0]().as_str(), dtype=object)
        what = _const_str(args[1], f"the second argument of {name}()")
        method = {"contains": "contains", "starts-with": "startswith", "ends-with": "endswith"}[
            name
        ]
        kwargs = {"regex": False} if method == "contains" else {}
        res = getattr(text.str, method)(what, **kwargs)
        return XValue("bool", bool_=res.fillna(False).to_numpy(dtype=bool))
    if name == "substr":
        need((2, 3))
        text = pd.Series(ev[0]().as_str(), dtype=object)
        start = int(_literal_number(args[1]))
        end = int(_literal_number(args[2])) if len(args) == 3 else None
        return XValue("str", str_=text.str.slice(start, end).fillna("").to_numpy(dtype=object))
    if name == "regex":
        need(2)
        text = pd.Series(ev[0]().as_str(), dtype=object)
        pattern = _const_str(args[1], "the pattern of regex()")
        try:
            res = text.str.contains(pattern, regex=True, na=False)
        except re.error as err:
            raise XPathError(f"bad regular expression {pattern!r}: {err}") from None
        return XValue("bool", bool_=res.to_numpy(dtype=bool))
    if name == "date":
        need(1)
        if args[0][0] == "str":
            day = (pd.Timestamp(args[0][1]) - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)
            return XValue(
                "node", num=np.full(n, float(day)), str_=np.full(n, args[0][1], dtype=object)
            )
        value = ev[0]()
        return XValue("node", num=value.as_num(), str_=value.as_str())
    if name == "today":
        need(0)
        if ctx.today is None:
            raise XPathUnsupported("today() without a date to evaluate it at")
        day = (pd.Timestamp(ctx.today) - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)
        return XValue(
            "node", num=np.full(n, float(day)), str_=np.full(n, ctx.today.isoformat(), dtype=object)
        )
    if name == "format-date":
        need(2)
        pattern = _const_str(args[1], "the pattern of format-date()")
        return XValue("str", str_=_format_dates(ev[0]().as_num(), pattern))
    if name == "position":
        if args and args[0] != ("parent",):
            raise XPathUnsupported("position() of anything but the current repeat (..)")
        if ctx.position is None:
            raise XPathUnsupported("position() outside a repeat")
        return XValue("num", num=ctx.position.astype(float))
    raise XPathUnsupported(f"function {name}()")


#: ODK format-date() directives -> strftime (with the padding removed where ODK does).
_DATE_DIRECTIVES = {
    "Y": "%Y", "y": "%y", "m": "%m", "n": "%m", "d": "%d", "e": "%d", "b": "%b", "a": "%a",
    "H": "%H", "M": "%M", "S": "%S",
}  # fmt: skip


def _format_dates(days: np.ndarray, pattern: str) -> np.ndarray:
    """ODK ``format-date`` of dates held as days since 1970-01-01 ('' for no date)."""
    stamps = pd.Series(pd.to_datetime(days, unit="D", errors="coerce"))
    parts = re.split(r"(%.)", pattern)
    out = pd.Series([""] * len(days), dtype=object)
    for part in parts:
        if not part.startswith("%") or len(part) != 2:
            out = out + part
            continue
        code = part[1]
        if code not in _DATE_DIRECTIVES:
            raise XPathUnsupported(f"format-date() directive {part}")
        text = stamps.dt.strftime(_DATE_DIRECTIVES[code]).astype(object)
        if code in ("n", "e"):
            text = text.str.lstrip("0")
        out = out + text.fillna("")
    out[stamps.isna().to_numpy()] = ""
    return out.to_numpy(dtype=object)


def _literal_number(node: Node) -> float:
    if node[0] == "num":
        return node[1]
    if node[0] == "neg" and node[1][0] == "num":
        return -node[1][1]
    raise XPathUnsupported("a computed position in substr()")
