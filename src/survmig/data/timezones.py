"""Date-times that lost their UTC offset: never taken as UTC without a word.

ODK writes every date-time with its offset (``2024-06-01T10:00:00.000+01:00``) and survmig stores
UTC. KoboToolbox's default XLSX export (typed cells) and SurveyCTO's exports drop the offset, so a
value is the device's wall-clock time. What happens to such columns, in this order:

1. ``timezone`` given (an IANA name such as ``Africa/Lagos``, or a fixed ``+01:00``): the wall time
   is read in that zone (summer time included) and converted to UTC;
2. otherwise, where the export also holds the server's receipt time in UTC (Kobo's
   ``_submission_time``): the devices' offset is the smallest whole quarter hour that puts every
   interview end before its receipt, provided at least a quarter of the submissions then arrive
   within an hour of the end (forms sent from the field); a single fixed offset for the file;
3. otherwise the values stay wall-clock time and a warning names the columns.
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from survmig.data.form import FormMetadata
from survmig.errors import SurvmigError

DATETIME_TYPES = frozenset({"datetime", "start", "end"})
_HAS_OFFSET = re.compile(r"(?:Z|[+-]\d\d(?::?\d\d)?)$")
_FIXED = re.compile(r"^(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d\d))?$")
#: clock skew tolerated between a device and the server when detecting the offset
SKEW = pd.Timedelta(minutes=2)
PROMPT = pd.Timedelta(hours=1)


def parse_timezone(text: str) -> ZoneInfo | pd.Timedelta:
    """An IANA zone or a fixed offset (``+01:00``, ``UTC-3``); a one-line error otherwise."""
    m = _FIXED.match(text.strip())
    if m:
        sign = 1 if m.group(1) == "+" else -1
        return sign * pd.Timedelta(hours=int(m.group(2)), minutes=int(m.group(3) or 0))
    if text.strip().upper() in ("UTC", "GMT", "Z"):
        return pd.Timedelta(0)
    try:
        return ZoneInfo(text.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise SurvmigError(
            f"unknown time zone '{text}'",
            hint="give an IANA name such as Africa/Lagos or Africa/Casablanca, or an offset such as +01:00",
        ) from None


def _naive(text: pd.Series) -> pd.Series:
    t = text.fillna("").astype(str).str.strip()
    return (t != "") & ~t.str.contains(_HAS_OFFSET)


def _utc_text(values: pd.Series) -> pd.Series:
    out = values.dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str.slice(0, 23) + "Z"
    return out.where(values.notna(), "")


def _wall(text: pd.Series) -> pd.Series:
    return pd.to_datetime(text.where(text.str.strip() != ""), errors="coerce", format="ISO8601")


def detect_offset(end_local: pd.Series, received_utc: pd.Series) -> pd.Timedelta | None:
    """The devices' UTC offset from interview ends (wall time) and receipts (UTC), or None."""
    end, got = _wall(end_local), _wall(received_utc)
    ok = end.notna() & got.notna()
    if ok.sum() < 3:
        return None
    lag = (end[ok] - got[ok]).to_numpy()  # = offset - delay, delay >= 0
    quarter = np.timedelta64(15, "m")
    lowest = (lag.max() - SKEW.to_timedelta64()) / quarter
    offset = np.ceil(lowest) * quarter
    if not (np.timedelta64(-12, "h") <= offset <= np.timedelta64(14, "h")):
        return None
    delay = offset - lag
    if (delay <= PROMPT.to_timedelta64()).mean() < 0.25:
        return None
    return pd.Timedelta(offset)


def fix_naive_datetimes(
    frames: dict[str, pd.DataFrame],
    meta: FormMetadata,
    *,
    timezone: str | None,
    received: str | None = "SubmissionDate",
    platform_columns: tuple[str, ...] = (),
) -> tuple[str | None, list[str]]:
    """Convert offset-less date-time answers to UTC text in place: (what was done, warnings)."""
    columns: dict[str, list[str]] = {}
    for level, frame in frames.items():
        names = [
            v.name
            for v in meta.variables_at(level, kinds=["question", "meta"])
            if v.type in DATETIME_TYPES and v.name in frame.columns
        ]
        if level == meta.root:
            names += [c for c in platform_columns if c in frame.columns]
        naive = [n for n in names if _naive(frame[n]).any()]
        if naive:
            columns[level] = naive
    if not columns:
        return None, []
    listed = ", ".join(sorted({c for cols in columns.values() for c in cols}))
    if timezone is not None:
        zone = parse_timezone(timezone)
        for level, names in columns.items():
            for name in names:
                frames[level][name] = _to_utc(frames[level][name], zone)
        return f"date-times without offset ({listed}) read in {timezone}", []
    root = frames.get(meta.root)
    offset = None
    if root is not None and received in (root.columns if received else []):
        ref = next((c for c in ("end", "start") if c in columns.get(meta.root, [])), None)
        if ref is not None:
            offset = detect_offset(root[ref], root[received])
    if offset is None:
        return None, [
            f"date-times without UTC offset in {listed}: kept as the devices' local time, not "
            "UTC; pass --timezone (e.g. Africa/Lagos or +01:00) to convert them"
        ]
    for level, names in columns.items():
        for name in names:
            frames[level][name] = _to_utc(frames[level][name], offset)
    hours = _offset_text(offset)
    return f"date-times without offset ({listed}) taken as UTC{hours}, detected from {received}", [
        f"date-times without UTC offset in {listed}: taken as UTC{hours} (detected from the "
        "server's receipt times); pass --timezone to set it"
    ]


def _offset_text(offset: pd.Timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _to_utc(text: pd.Series, zone: ZoneInfo | pd.Timedelta) -> pd.Series:
    text = text.fillna("").astype(str)
    naive = _naive(text)
    wall = _wall(text.where(naive, ""))
    if isinstance(zone, pd.Timedelta):
        utc = wall - zone
    else:
        utc = (
            wall.dt.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
            .dt.tz_convert("UTC")
            .dt.tz_localize(None)
        )
    return text.where(~naive, _utc_text(utc))
