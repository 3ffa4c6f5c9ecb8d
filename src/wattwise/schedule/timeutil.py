"""Durations and instants given by users (``8h``, ``1h30m``, ``2026-11-24T06:00Z``); all times are UTC."""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone

from wattwise.errors import WattwiseError

HOUR = 3600
_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": HOUR, "hr": HOUR, "d": 86400, "w": 7 * 86400}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(s|sec|min|m|hr|h|d|w)", re.IGNORECASE)
MAX_DURATION = timedelta(days=3653)  # 10 years: beyond, times leave what datetime and the data can hold
DURATION_HINT = "use for example 8h, 90m, 1h30m, 2d or a number of hours such as 1.5"


def parse_duration(text: str | float | int | timedelta, what: str = "duration") -> timedelta:
    """A positive duration from ``8h`` / ``90m`` / ``1h30m`` / ``2d`` / a bare number of hours / a timedelta."""
    if isinstance(text, timedelta):
        td = text
    elif isinstance(text, (int, float)):
        if not math.isfinite(text):
            raise WattwiseError(f"{what} must be a finite number of hours, got {text}", DURATION_HINT)
        td = timedelta(hours=float(text))
    else:
        s = str(text).strip().lower().replace(" ", "")
        try:
            td = timedelta(hours=float(s))
        except ValueError:
            pos, seconds = 0, 0.0
            for m in _PART.finditer(s):
                if m.start() != pos:
                    break
                seconds += float(m.group(1)) * _UNITS[m.group(2).lower()]
                pos = m.end()
            if not s or pos != len(s):
                raise WattwiseError(f"malformed {what} {text!r}", DURATION_HINT) from None
            td = timedelta(seconds=seconds)
    if td.total_seconds() <= 0:
        raise WattwiseError(f"{what} must be > 0, got {text!r}", DURATION_HINT)
    if td > MAX_DURATION:
        raise WattwiseError(f"{what} of {text!r} is longer than 10 years", "carbon-aware scheduling plans within "
                            "days to weeks (the hourly data cover one year); use for example 7d")
    return td


def parse_instant(text: str | datetime | float | int | None, what: str = "time") -> datetime:
    """A UTC datetime from ISO 8601 (``2026-11-24T06:00Z``; no offset = UTC), ``now``, epoch seconds or a
    datetime (naive = UTC). ``None`` is now."""
    if isinstance(text, str) and not text.strip():
        raise WattwiseError(f"empty {what}", "use ISO 8601 such as 2026-11-24T06:00Z")
    from wattwise.grid.timeparse import parse_time

    try:
        d = parse_time(text)
    except WattwiseError as exc:
        raise WattwiseError(f"malformed {what} {text!r}", exc.hint) from None
    return d.astimezone(timezone.utc)


def utc(t: float) -> datetime:
    return datetime.fromtimestamp(t, tz=timezone.utc)


def fmt_utc(t: float | datetime) -> str:
    d = utc(t) if isinstance(t, (int, float)) else t.astimezone(timezone.utc)
    return d.strftime("%Y-%m-%d %H:%M UTC")


def fmt_hours(seconds: float) -> str:
    m = round(seconds / 60)
    return f"{m // 60}h{m % 60:02d}m" if m >= 60 else f"{m}m"


def hour_floor(t: float) -> int:
    return int(math.floor(t / HOUR) * HOUR)
