"""Human units for sizes and counts: "7B", "2T", "300M", "1.5e12", "70k", "1,000"."""

from __future__ import annotations

import math
import re

from wattwise.errors import WattwiseError

_SUFFIX = {"": 1.0, "k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12, "p": 1e15}
_RE = re.compile(r"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?)\s*([a-z]?)\s*$", re.IGNORECASE)


def parse_count(value: str | float | int, what: str = "value", *, allow_zero: bool = False) -> float:
    """Parse a positive count with an optional K/M/B/T suffix ("7B" -> 7e9).

    Raises :class:`WattwiseError` for unknown suffixes ("2X"), non-numbers, and zero/negative values.
    """
    if isinstance(value, bool):
        raise WattwiseError(f"{what} must be a number, got {value!r}")
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        text = value.replace(",", "").replace("_", "")
        m = _RE.match(text)
        if not m:
            raise WattwiseError(
                f"cannot read {what} {value!r}",
                "use a number with an optional suffix K, M, B or T, e.g. 7B, 2T, 300M, 1.5e12",
            )
        suffix = m.group(2).lower()
        if suffix not in _SUFFIX:
            raise WattwiseError(
                f"unknown unit {m.group(2)!r} in {what} {value!r}",
                "use K (thousand), M (million), B (billion) or T (trillion)",
            )
        number = float(m.group(1)) * _SUFFIX[suffix]
    if not math.isfinite(number):
        raise WattwiseError(f"{what} must be finite, got {value!r}")
    if number < 0 or (number == 0 and not allow_zero):
        raise WattwiseError(f"{what} must be greater than zero, got {value!r}")
    return number


def parse_fraction(value: str | float, what: str) -> float:
    """A fraction in (0, 1]; "40%" is accepted."""
    text = str(value).strip()
    try:
        number = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise WattwiseError(f"cannot read {what} {value!r}", "give a fraction such as 0.4 or 40%") from None
    if not (0 < number <= 1):
        raise WattwiseError(f"{what} must be in (0, 1], got {value!r}", "e.g. 0.4 for 40%")
    return number


def human(n: float, unit: str = "") -> str:
    """Short human form: 7e9 -> '7B'."""
    for div, suf in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= div:
            return f"{n / div:.3g}{suf}{unit}"
    return f"{n:.3g}{unit}"
