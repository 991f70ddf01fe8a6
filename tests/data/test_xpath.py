"""The XLSForm/XPath subset: values follow XPath 1.0 and JavaRosa on empty answers and dates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from survmig.data.xpath import (
    Context,
    XPathError,
    XPathUnsupported,
    evaluate,
    node_from_series,
    parse,
    references,
)

FRAME = pd.DataFrame(
    {
        "age": pd.array([10, 15, None, -8, 40], dtype="Int64"),
        "sex": pd.array([1, 2, 1, None, 2], dtype="Int64"),
        "ctry": pd.array(["MAR", "FRA", None, "-8", "ESP"], dtype="string"),
        "uses": pd.array(["food school", "house", None, "food", ""], dtype="string"),
        "amount": pd.array([1.5, None, 0.0, 200.25, -9.0], dtype="Float64"),
        "dob": pd.to_datetime(["2000-01-01", "1999-12-31", None, "1970-01-02", "2024-02-29"]),
    }
)


def run(expr: str, current: str | None = None, position=None) -> np.ndarray:
    def resolve(name):
        if name not in FRAME.columns:
            raise XPathUnsupported(name)
        return node_from_series(FRAME[name], is_date=name == "dob")

    cur = node_from_series(FRAME[current]) if current else None
    value = evaluate(parse(expr), Context(len(FRAME), resolve, cur, position))
    return value


def truth(expr: str, **kw) -> list[bool]:
    return run(expr, **kw).as_bool().tolist()


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("${age} >= 15", [False, True, False, False, True]),  # '' is NaN: comparison false
        ("${age} != 15", [True, False, True, True, True]),  # NaN != 15 is true (XPath 1.0)
        ("${age} = ''", [False, False, True, False, False]),
        ("${age} != ''", [True, True, False, True, True]),
        ("${sex} = 1 and ${age} < 15", [True, False, False, False, False]),
        ("${sex} = '1' or ${age} = -8", [True, False, True, True, False]),
        ("not(${sex} = 2)", [True, False, True, True, False]),
        ("${ctry} = 'MAR' or ${ctry} = 'ESP'", [True, False, False, False, True]),
        ("selected(${uses}, 'food')", [True, False, False, True, False]),
        ("selected(${uses}, 'foo')", [False, False, False, False, False]),
        ("count-selected(${uses}) = 2", [True, False, False, False, False]),
        ("string-length(${ctry}) = 3", [True, True, False, False, True]),
        ("${age} + 5 > 19 and ${age} * 2 div 4 < 10", [False, True, False, False, False]),
        ("${age} mod 2 = 0", [True, False, False, True, True]),
        ("if(${age} >= 15, 'adult', 'child') = 'adult'", [False, True, False, False, True]),
        ("coalesce(${ctry}, 'none') = 'none'", [False, False, True, False, False]),
        ("${dob} < date('2000-01-01')", [False, True, False, True, False]),
        ("${amount} > 1 or ${amount} = -9", [True, False, False, True, True]),
        ("-${age} < -14", [False, True, False, False, True]),
        ("true() and not(false())", [True] * 5),
        (
            "contains(${ctry}, 'A') and starts-with(${ctry}, 'M')",
            [True, False, False, False, False],
        ),
        ("regex(${ctry}, '^[A-Z]{3}$')", [True, True, False, False, True]),
        ("int(${amount}) = 200", [False, False, False, True, False]),
        ("round(${amount}, 1) = 200.3", [False, False, False, True, False]),
        ("concat(${ctry}, '-', ${sex}) = 'MAR-1'", [True, False, False, False, False]),
    ],
)
def test_expressions(expr, expected):
    assert truth(expr) == expected


def test_current_value_and_position():
    assert truth(". >= 0 and . <= 20", current="age") == [True, True, False, False, False]
    assert truth("position(..) = 2", position=np.array([1, 2, 3, 2, 1])) == [
        False,
        True,
        False,
        True,
        False,
    ]


def test_relative_paths_resolve_by_name():
    assert truth("../sex = 1") == [True, False, True, False, False]
    assert truth("/data/grp/sex = 2") == [False, True, False, False, True]


def test_numbers_format_like_xpath_strings():
    value = run("${amount}")
    assert value.as_str().tolist() == ["1.5", "", "0", "200.25", "-9"]


@pytest.mark.parametrize(
    "expr",
    [
        "today() > ${dob}",
        "indexed-repeat(${age}, ${person}, 1)",
        "sum(${age}) > 3",
        "${x}[1]",
        "instance('x')/root",
    ],
)
def test_outside_the_subset_is_unsupported(expr):
    with pytest.raises((XPathUnsupported, XPathError)):
        run(expr) if "[" not in expr else parse(expr)


@pytest.mark.parametrize(
    "expr", ["${age} >=", "(${age} = 1", "${age} = = 1", "selected(${uses})", "'unclosed"]
)
def test_syntax_errors(expr):
    with pytest.raises(XPathError):
        run(expr)


def test_references():
    assert references(parse("${a} = 1 and selected(${b}, 'x') or not(${c})")) == {"a", "b", "c"}


def test_today_and_format_date_with_a_check_date():
    """today() is the context's date; format-date() gives ODK's fields of it and of answers."""
    import datetime

    def resolve(name):
        return node_from_series(FRAME[name], is_date=name == "dob")

    ctx = Context(len(FRAME), resolve, today=datetime.date(2024, 3, 5))
    assert evaluate(parse("today() > ${dob}"), ctx).as_bool().tolist() == [
        True, True, False, True, True,
    ]  # fmt: skip
    year = evaluate(parse("int(format-date(today(), '%Y')) - 1"), ctx).as_num()
    assert year.tolist() == [2023.0] * 5
    text = evaluate(parse("format-date(${dob}, '%e/%n/%y %b %d.%m.%Y')"), ctx).as_str()
    assert text.tolist() == [
        "1/1/00 Jan 01.01.2000",
        "31/12/99 Dec 31.12.1999",
        "",
        "2/1/70 Jan 02.01.1970",
        "29/2/24 Feb 29.02.2024",
    ]
    with pytest.raises(XPathUnsupported):
        evaluate(parse("format-date(${dob}, '%j')"), ctx)
