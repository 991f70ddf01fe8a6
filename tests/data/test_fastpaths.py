"""The vectorised paths of import and .sav writing give exactly what the plain pandas/pyreadstat
calls they replace give: same parsed values and dtypes, same key parts, same bytes on disk."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
from hypothesis import given, settings
from hypothesis import strategies as st

from survmig.data.coerce import (
    normalise_multi,
    option_dummies,
    per_distinct,
    to_float,
    to_integer,
)
from survmig.data.labelled import SPSS_SYSMIS, _sav_date_seconds, _writer_frame
from survmig.data.rawtext import read_csv_arrow as _read_csv_arrow
from survmig.data.readers import _REPEAT_KEY, _isin_text, _repeat_key_parts

# text that exercises parsers: digits (ASCII and Arabic-Indic), signs, exponents, blanks, brackets
_ALPHABET = st.sampled_from(list("0123456789-+.eE x/[]\n٣a_"))
_TEXT = st.text(_ALPHABET, max_size=12)


@settings(max_examples=150, deadline=None)
@given(st.lists(_TEXT, max_size=30), st.integers(min_value=1, max_value=4))
def test_numbers_parsed_once_per_distinct_value_equal_row_by_row(values, repeat):
    text = pd.Series(values * repeat, dtype="str")
    present = text != ""
    expected = pd.to_numeric(text.where(present), errors="coerce")
    got = per_distinct(text, lambda t: pd.to_numeric(t.where(t != ""), errors="coerce"))
    pd.testing.assert_series_equal(got, expected, check_exact=True)
    # and what the importer builds on it
    num = expected
    too_big = num.abs() >= 2.0**63 if num.dtype.kind == "f" else False
    bad_expected = present & (num.isna() | (num.round() != num) | too_big)
    ints_expected = num.where(~bad_expected).round().astype("Int64")
    ints, bad = to_integer(text)
    pd.testing.assert_series_equal(bad, bad_expected, check_names=False)
    pd.testing.assert_series_equal(ints, ints_expected, check_names=False)
    floats, _ = to_float(text)
    pd.testing.assert_series_equal(floats, num.astype("Float64"), check_names=False)


_KEY_PART = st.text(st.sampled_from(list("ab/[]0129٣\n:")), max_size=10)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(_KEY_PART, st.builds(lambda a, n: f"{a}/m[{n}]", _KEY_PART, st.integers(0, 99))),
        max_size=25,
    )
)
def test_repeat_key_parts_equal_str_extract(keys):
    series = pd.Series(keys, dtype="str")
    expected = series.str.extract(_REPEAT_KEY).astype(object)
    pd.testing.assert_frame_equal(_repeat_key_parts(series), expected)


def test_repeat_key_parts_on_central_keys_and_odd_ones():
    keys = pd.Series(
        ["uuid:1/members[3]", "uuid:1/a/b[12]", "uuid:x", "x/y[١٢]", "x/y[3]\n", "", np.nan],
        dtype="str",
    )
    parts = _repeat_key_parts(keys)
    assert parts[0].tolist()[:5] == ["members", "b", np.nan, "y", "y"]
    assert parts[1].tolist()[:5] == ["3", "12", np.nan, "١٢", "3"]
    assert parts.iloc[5:].isna().all().all()


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.one_of(_KEY_PART, st.none()), max_size=20),
    st.lists(st.one_of(_KEY_PART, st.none()), max_size=20),
)
def test_isin_text_equals_pandas_isin(values, candidates):
    v = pd.Series(values, dtype="str")
    c = pd.Series(candidates, dtype="str")
    assert _isin_text(v, c).tolist() == v.isin(set(c)).tolist()


def _body(path: Path) -> bytes:
    data = path.read_bytes()
    return data[:92] + data[109:]  # without the creation date and time in the header


def test_writer_frame_writes_the_same_sav_bytes(tmp_path):
    """Object text, NaN as system-missing and dates as SPSS seconds: byte for byte what pyreadstat
    writes from the plain frame (NaN, pandas str, datetime.date)."""
    rng = np.random.default_rng(3)
    n = 400
    num = rng.integers(-9, 50, n).astype(float)
    num[rng.random(n) < 0.3] = np.nan
    text = np.array(["", "abc", "é ü", "Ⅻ", "x" * 300], dtype=object)[rng.integers(0, 5, n)]
    dates = pd.Series(
        pd.to_datetime("1950-01-01") + pd.to_timedelta(rng.integers(0, 30000, n), "D")
    )
    dates[rng.random(n) < 0.2] = pd.NaT
    labels = {"num": {-8.0: "Don't know", -9.0: "Refused", 1.0: "One"}}
    ranges = {"num": [-8.0, -9.0]}
    plain = pd.DataFrame(
        {
            "num": num,
            "txt": pd.Series(text, dtype="str"),
            "dob": np.array([d.date() if pd.notna(d) else None for d in dates], dtype=object),
        }
    )
    pyreadstat.write_sav(
        plain, str(tmp_path / "a.sav"), variable_value_labels=labels, missing_ranges=ranges
    )
    fast = _writer_frame({"num": num, "txt": text, "dob": _sav_date_seconds(dates)}, "sav")
    assert fast["txt"].dtype == object and (fast["num"] == SPSS_SYSMIS).sum() == np.isnan(num).sum()
    pyreadstat.write_sav(
        fast,
        str(tmp_path / "b.sav"),
        variable_value_labels=labels,
        missing_ranges=ranges,
        variable_format={"dob": "DATE"},
    )
    assert _body(tmp_path / "a.sav") == _body(tmp_path / "b.sav")
    back, meta = pyreadstat.read_sav(str(tmp_path / "b.sav"), user_missing=True)
    assert back["num"].isna().sum() == np.isnan(num).sum()
    assert back["dob"].isna().sum() == dates.isna().sum()


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.one_of(st.none(), st.text(st.sampled_from(list("ab1 -8")), max_size=8)), max_size=30
    )
)
def test_option_dummies_per_distinct_answer_equal_row_definition(answers):
    multi = normalise_multi(pd.Series(["" if a is None else a for a in answers], dtype="str"))
    options = {"a": "q_a", "1": "q_1", "-8": "q_m8", "b1": "q_b1"}
    dummies = option_dummies(multi, options)
    for code, col in options.items():
        expected = [pd.NA if pd.isna(m) else int(code in m.split(" ")) for m in multi]
        assert dummies[col].dtype == "Int8"
        assert dummies[col].tolist() == expected


def test_integers_beyond_64_bits_are_reported_not_a_crash():
    """'1E100', 'inf' or 20 digits used to stop the import with a traceback (no Int64 holds them)."""
    text = pd.Series(["3", "1E100", "inf", "-99999999999999999999", "9223372036854775807", ""])
    values, bad = to_integer(text)
    assert bad.tolist() == [False, True, True, True, True, False]
    assert values.tolist() == [3, pd.NA, pd.NA, pd.NA, pd.NA, pd.NA]
    # without blanks pandas parses to int64, and the largest Int64 is kept exactly
    values, bad = to_integer(pd.Series(["9223372036854775807", "-9223372036854775808"]))
    assert not bad.any() and values.tolist() == [2**63 - 1, -(2**63)]
    values, bad = to_integer(pd.Series(["18446744073709551615", "1"]))
    assert bad.tolist() == [True, False]


_CELL = st.text(st.sampled_from(list('ab ,"\n\r\té;')), max_size=6)


def _pandas_csv(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_filter=False)


@settings(max_examples=300, deadline=None)
@given(st.lists(_CELL, min_size=1, max_size=4), st.lists(st.lists(_CELL, max_size=5), max_size=6))
def test_arrow_csv_reading_equals_pandas_or_declines(header, rows):
    """Quoted and unquoted cells with commas, quotes, newlines; ragged rows; raw (unescaped) text."""
    quoted = [",".join('"' + c.replace('"', '""') + '"' for c in row) for row in [header, *rows]]
    raw = [",".join(row) for row in [header, *rows]]
    for text in ("\n".join(quoted) + "\n", "\n".join(raw), "\r\n".join(quoted)):
        fast = _read_csv_arrow(text)
        if fast is None:
            continue
        pd.testing.assert_frame_equal(fast, _pandas_csv(text), check_exact=True)


def test_arrow_csv_reads_central_shapes():
    text = 'KEY,a-b,c\nuuid:1,"x, ""y""",\nuuid:2,"two\nlines", 3 \n\nuuid:3,,1e3\n'
    fast = _read_csv_arrow(text)
    assert fast is not None
    pd.testing.assert_frame_equal(fast, _pandas_csv(text), check_exact=True)
    assert fast["a-b"].tolist() == ['x, "y"', "two\nlines", ""] and fast["c"].tolist()[1] == " 3 "
    assert _read_csv_arrow("a,a\n1,2\n") is None  # pandas renames repeated names
    assert _read_csv_arrow("a,b\n1\n") is None  # ragged: pandas' rules apply
