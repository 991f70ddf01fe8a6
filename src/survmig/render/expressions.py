"""XLSForm expressions (relevant, constraint) written out as sentences for people.

A small parser reads the subset reviewers meet every day: ``${x}`` references, ``.``, numbers and
quoted texts, comparisons, ``and`` / ``or``, parentheses, ``not(…)`` and ``selected(${x}, 'a')``.
Each part becomes a sentence in the chosen language ("Q5 “Age” is 15 or more"); a part the
writer does not understand (arithmetic, other functions, paths) is shown as the expression itself,
so nothing is ever hidden or guessed.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

from markupsafe import Markup, escape

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<ref>\$\{[^}]+\})
      | (?P<num>\d+\.\d*|\.\d+|\d+)
      | (?P<str>'[^']*'|"[^"]*")
      | (?P<op>!=|<=|>=|=|<|>|\(|\)|,|\+|-|\*)
      | (?P<name>[A-Za-z_][\w.:-]*)
      | (?P<dot>\.\.|\.)
      | (?P<other>\S)
    )""",
    re.VERBOSE,
)
_FLIP = {"=": "=", "!=": "!=", "<": ">", ">": "<", "<=": ">=", ">=": "<="}
_CMP = {"=": "eq", "!=": "ne", ">": "gt", ">=": "ge", "<": "lt", "<=": "le"}


class _Unreadable(Exception):
    pass


@dataclasses.dataclass(frozen=True)
class Expr:
    """A parsed expression node; ``text`` is the source of that part, for the fallback."""

    kind: str  # ref self num str call cmp and or arith neg
    text: str
    value: Any = None  # name / literal / operator / function name
    args: tuple[Expr, ...] = ()


def _tokens(source: str) -> list[tuple[str, str, int, int]]:
    out = []
    position = 0
    source = source.rstrip()
    while position < len(source):
        match = _TOKEN.match(source, position)
        if match is None or match.end() == position:
            break
        kind = match.lastgroup
        out.append((kind, match.group(kind), match.start(kind), match.end(kind)))
        position = match.end()
    return out


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = _tokens(source)
        self.i = 0

    def peek(self) -> tuple[str, str, int, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str, int, int]:
        token = self.peek()
        if token is None:
            raise _Unreadable
        self.i += 1
        return token

    def accept(self, kind: str, value: str | None = None) -> bool:
        token = self.peek()
        if token and token[0] == kind and (value is None or token[1] == value):
            self.i += 1
            return True
        return False

    def span(self, start: int) -> str:
        end = self.tokens[self.i - 1][3]
        return self.source[start:end].strip()

    def parse(self) -> Expr:
        expr = self.or_()
        if self.peek() is not None:
            raise _Unreadable
        return expr

    def _chain(self, word: str, below: Callable[[], Expr]) -> Expr:
        start = self.peek()[2] if self.peek() else 0
        parts = [below()]
        while self.accept("name", word):
            parts.append(below())
        return parts[0] if len(parts) == 1 else Expr(word, self.span(start), args=tuple(parts))

    def or_(self) -> Expr:
        return self._chain("or", self.and_)

    def and_(self) -> Expr:
        return self._chain("and", self.cmp)

    def cmp(self) -> Expr:
        start = self.peek()[2] if self.peek() else 0
        left = self.add()
        token = self.peek()
        if token and token[0] == "op" and token[1] in _CMP:
            self.i += 1
            right = self.add()
            return Expr("cmp", self.span(start), token[1], (left, right))
        return left

    def add(self) -> Expr:
        start = self.peek()[2] if self.peek() else 0
        left = self.mul()
        while (token := self.peek()) and token[0] == "op" and token[1] in "+-":
            self.i += 1
            right = self.mul()
            left = Expr("arith", self.span(start), token[1], (left, right))
        return left

    def mul(self) -> Expr:
        start = self.peek()[2] if self.peek() else 0
        left = self.unary()
        while (token := self.peek()) and (
            (token[0] == "op" and token[1] == "*")
            or (token[0] == "name" and token[1] in ("div", "mod"))
        ):
            self.i += 1
            right = self.unary()
            left = Expr("arith", self.span(start), token[1], (left, right))
        return left

    def unary(self) -> Expr:
        start = self.peek()[2] if self.peek() else 0
        if self.accept("op", "-"):
            inner = self.unary()
            if inner.kind == "num":
                return Expr("num", self.span(start), "-" + inner.value)
            return Expr("neg", self.span(start), args=(inner,))
        return self.primary()

    def primary(self) -> Expr:
        kind, value, start, end = self.take()
        if kind == "op" and value == "(":
            inner = self.or_()
            if not self.accept("op", ")"):
                raise _Unreadable
            return Expr(inner.kind, self.span(start), inner.value, inner.args)
        if kind == "ref":
            return Expr("ref", value, value[2:-1].strip())
        if kind == "num":
            return Expr("num", value, value)
        if kind == "str":
            return Expr("str", value, value[1:-1])
        if kind == "dot" and value == ".":
            return Expr("self", value)
        if kind == "name" and self.accept("op", "("):
            args: list[Expr] = []
            if not self.accept("op", ")"):
                args.append(self.or_())
                while self.accept("op", ","):
                    args.append(self.or_())
                if not self.accept("op", ")"):
                    raise _Unreadable
            return Expr("call", self.span(start), value, tuple(args))
        raise _Unreadable


def parse(source: str) -> Expr | None:
    """The expression tree, or None when the text is outside the subset the writer reads."""
    try:
        return _Parser(source).parse()
    except _Unreadable:
        return None


@dataclasses.dataclass
class Writer:
    """Writes expressions as sentences in one language.

    ``question(name)`` gives the markup for a referenced question ("Q5 “Age”") or None when the name
    is not a numbered question; ``choice(name, code)`` gives a choice's label (text, or markup kept
    as it is) or None. ``shown(name)``, when it gives markup, stands for ``${name}`` in a part
    shown as written (a codebook never prints the name of a question its files do not hold).
    The printed questionnaire and the codebooks both write their sentences with this class.
    """

    phrases: dict[str, str]
    question: Callable[[str], Markup | None]
    choice: Callable[[str, str], str | Markup | None]
    number: Callable[[str], str | None] = lambda name: None
    shown: Callable[[str], Markup | None] = lambda name: None

    def sentence(self, source: str, current: str | None = None) -> Markup:
        """The whole expression as a sentence (without the leading "Ask if").

        ``current`` names the question ``.`` stands for (in constraints), so its choice codes
        are shown with their labels.
        """
        expr = parse(source)
        if expr is None:
            return self.code(source)
        self.current = current
        try:
            return self.write(expr)
        finally:
            self.current = None

    def code(self, text: str) -> Markup:
        """An expression shown as written, each ``${x}`` tagged with its question number."""
        out = Markup("")
        position = 0
        for match in re.finditer(r"\$\{([^}]+)\}", text):
            instead = self.shown(match.group(1).strip())
            if instead is not None:
                out += escape(text[position : match.start()]) + instead
                position = match.end()
                continue
            out += escape(text[position : match.end()])
            number = self.number(match.group(1).strip())
            if number:
                out += Markup('<sub class="qnum">{}</sub>').format(number)
            position = match.end()
        out += escape(text[position:])
        return Markup('<code class="expr">{}</code>').format(out)

    def write(self, expr: Expr) -> Markup:
        special = self.range_or_choices(expr)
        if special is not None:
            return special
        if expr.kind in ("and", "or"):
            parts = []
            for arg in expr.args:
                part = self.write(arg)
                if arg.kind in ("and", "or") and arg.kind != expr.kind:
                    part = Markup("({})").format(part)
                parts.append(part)
            return Markup(escape(self.phrases[expr.kind])).join(parts)
        if expr.kind == "cmp":
            return self.comparison(expr)
        if expr.kind in ("ref", "self"):
            return self.subject(expr)
        if expr.kind == "call" and expr.value == "selected" and len(expr.args) == 2:
            return self.selected(expr, "selected")
        if expr.kind == "call" and expr.value == "not" and len(expr.args) == 1:
            inner = expr.args[0]
            if inner.kind == "call" and inner.value == "selected" and len(inner.args) == 2:
                return self.selected(inner, "not_selected")
            if inner.kind == "cmp" and inner.value in ("=", "!="):
                flipped = "!=" if inner.value == "=" else "="
                return self.comparison(Expr("cmp", inner.text, flipped, inner.args))
            return self.phrase("not", c=self.write(inner))
        return self.code(expr.text)

    def range_or_choices(self, expr: Expr) -> Markup | None:
        """``. >= 1 and . <= 9`` reads "between 1 and 9"; ``${x} = 1 or ${x} = 2`` "is A or B"."""
        if expr.kind not in ("and", "or") or (expr.kind == "and" and len(expr.args) != 2):
            return None
        args = expr.args
        if not all(a.kind == "cmp" and a.args[0].kind in ("ref", "self") for a in args):
            return None
        subjects = {(a.args[0].kind, a.args[0].value) for a in args}
        if len(subjects) != 1 or not all(a.args[1].kind in ("num", "str") for a in args):
            return None
        subject = self.subject(args[0].args[0])
        if expr.kind == "and":
            ops = {a.value: a.args[1] for a in args}
            if set(ops) != {">=", "<="}:
                return None
            about = args[0].args[0]
            return self.phrase(
                "between", q=subject, a=self.value(ops[">="], about), b=self.value(ops["<="], about)
            )
        if not all(a.value == "=" for a in args):
            return None
        values = [self.value(a.args[1], a.args[0]) for a in args]
        return self.phrase("eq", q=subject, v=Markup(escape(self.phrases["or"])).join(values))

    def phrase(self, key: str, **parts: Markup) -> Markup:
        return Markup(escape(self.phrases[key])).format(**parts)

    def subject(self, expr: Expr) -> Markup | None:
        if expr.kind == "self":
            return Markup(escape(self.phrases["self"]))
        if expr.kind == "ref":
            return self.question(expr.value) or self.code(expr.text)
        return None

    def value(self, expr: Expr, about: Expr) -> Markup:
        """A compared value; a choice code of a select question shows its label too."""
        if expr.kind in ("num", "str"):
            literal = str(expr.value)
            name = about.value if about.kind == "ref" else getattr(self, "current", None)
            label = self.choice(name, literal) if name and about.kind in ("ref", "self") else None
            if label is not None:
                quoted = Markup(escape(self.phrases["quote"])).format(label)
                return Markup('{} <span class="code">({})</span>').format(quoted, literal)
            if expr.kind == "num":
                return Markup(escape(literal))
            return Markup(escape(self.phrases["quote"].format(literal)))
        if expr.kind == "call" and expr.value == "today" and not expr.args:
            return Markup(escape(self.phrases["today"]))
        subject = self.subject(expr)
        return subject if subject is not None else self.code(expr.text)

    def comparison(self, expr: Expr) -> Markup:
        left, right = expr.args
        op = expr.value
        if self.subject(left) is None and self.subject(right) is not None:
            left, right, op = right, left, _FLIP[op]
        subject = self.subject(left)
        if subject is None:
            return self.code(expr.text)
        if right.kind == "str" and right.value == "" and op in ("=", "!="):
            return self.phrase("blank" if op == "=" else "answered", q=subject)
        return self.phrase(_CMP[op], q=subject, v=self.value(right, left))

    def selected(self, expr: Expr, key: str) -> Markup:
        field, choice = expr.args
        subject = self.subject(field)
        if subject is None or choice.kind not in ("str", "num"):
            return self.code(expr.text)
        return self.phrase(key, q=subject, v=self.value(choice, field))


def references(source: str) -> list[str]:
    """The question names an expression refers to with ``${name}``, in order, without repeats."""
    return list(dict.fromkeys(name.strip() for name in re.findall(r"\$\{([^}]+)\}", source or "")))
