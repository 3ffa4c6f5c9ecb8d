"""One validation layer for the numbers users give (CLI options, environment, config, API arguments): finite,
in range, with their unit in the message. Every check raises :class:`~wattwise.errors.WattwiseError`, so the
CLI prints one ``error:`` line with a ``hint:`` and the API raises before anything is started or stored.

Counter names (``run.add(tokens=...)``) are checked here too: they become report rows, Prometheus labels and
JSON keys, so they are limited to a safe, portable alphabet.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from wattwise.errors import WattwiseError


@dataclass(frozen=True)
class Quantity:
    """What a number means: its name in messages, unit, bounds and a hint with typical values."""

    unit: str
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False  # lo itself is not allowed (> lo rather than >= lo)
    hint: str = ""
    integer: bool = False


#: The quantities wattwise accepts from users, with their bounds.
INTENSITY = Quantity("gCO2e/kWh", 0.0, 3000.0, hint="e.g. --intensity 56 (France) or 380 (Germany); world average ~480")
PUE = Quantity("", 1.0, 5.0, hint="typical values are 1.1 to 2.0")
ENERGY_KWH = Quantity("kWh", 0.0, 1e12, lo_open=True, hint="the expected energy, e.g. 12.5")
HOURS = Quantity("h", 0.0, 24 * 366 * 10, lo_open=True, hint="a number of hours, e.g. 24")
YEARS = Quantity("years", 0.0, 100.0, lo_open=True, hint="a hardware lifetime, typically 3 to 6 years")
SHARE = Quantity("", 0.0, 1.0, hint="a fraction between 0 and 1")
LOSS_WEIGHT = Quantity("", 0.0, 100.0, hint="a non-negative weight, e.g. 1 (0 turns that part of the loss off)")
AUGMENT_COPIES = Quantity("", 0, 20, integer=True, hint="a whole number of copies from 0 (none) to 20")
EPOCHS = Quantity("", 0, 100, integer=True, hint="a whole number of epochs from 0 (none) to 100")
COUNT = Quantity("", 1, 10**9, integer=True, hint="a whole number >= 1")
COUNTER_VALUE = Quantity("", 0.0, 1e18, hint="a non-negative finite number")


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if float(v).is_integer() and abs(v) < 1e15 else f"{v:g}"


def number(value: object, what: str, q: Quantity) -> float:
    """``value`` as a finite float within ``q``'s bounds (strings are parsed); else a WattwiseError."""
    unit = f" {q.unit}" if q.unit else ""
    if isinstance(value, bool):
        raise WattwiseError(f"{what} must be a number, got {value!r}", q.hint or None)
    try:
        v = float(value.strip()) if isinstance(value, str) else float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise WattwiseError(f"{what} must be a number{unit and ' in' + unit}, got {value!r}", q.hint or None) from None
    if not math.isfinite(v):
        raise WattwiseError(f"{what} must be a finite number{unit and ' in' + unit}, got {value!r}", q.hint or None)
    if q.integer and v != int(v):
        raise WattwiseError(f"{what} must be a whole number, got {value!r}", q.hint or None)
    if q.lo is not None and (v < q.lo or (q.lo_open and v == q.lo)):
        rel = ">" if q.lo_open else ">="
        raise WattwiseError(f"{what} must be {rel} {_fmt(q.lo)}{unit}, got {_fmt(v)}", q.hint or None)
    if q.hi is not None and v > q.hi:
        raise WattwiseError(f"{what} must be <= {_fmt(q.hi)}{unit}, got {_fmt(v)}", q.hint or None)
    return v


def optional(value: object | None, what: str, q: Quantity) -> float | None:
    return None if value is None else number(value, what, q)


def intensity(value: object | None, what: str = "intensity") -> float | None:
    """A grid intensity in gCO2e/kWh (0-3000), or None."""
    return optional(value, what, INTENSITY)


def pue(value: object | None, what: str = "PUE") -> float | None:
    """A PUE (1.0-5.0), or None."""
    return optional(value, what, PUE)


def option(q: Quantity, what: str) -> Callable[[float | None], float | None]:
    """A typer/click option callback checking ``q`` (the option's value stays a float or None)."""

    def check(value: float | None) -> float | None:
        if value is None:
            return None
        v = number(value, what, q)
        return int(v) if q.integer else v

    return check


_COUNTER = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def counter_name(name: object) -> str:
    """The canonical form of a counter name: lower-case letters, digits and ``_``, starting with a letter, at
    most 64 characters. Case is folded and ``.``, ``-`` and spaces become ``_`` (``Tokens`` -> ``tokens``,
    ``eval.samples`` -> ``eval_samples``), so the name is the same in reports, ``--per``, Prometheus labels and
    JSON; anything else is refused."""
    canon = re.sub(r"[.\- ]", "_", name.strip().lower()) if isinstance(name, str) else ""
    if not _COUNTER.match(canon):
        raise WattwiseError(f"invalid counter name {name!r}",
                            "use letters, digits and _ (starting with a letter, at most 64), e.g. tokens, "
                            "eval_samples")
    return canon


def counter(name: object, value: object) -> tuple[str, float]:
    """A checked (canonical name, value) pair for ``Run.add``."""
    return counter_name(name), number(value, f"counter {name}", COUNTER_VALUE)


def finite_or_none(value: object) -> float | None:
    """Defensive read of a stored number: a finite float, else None (for values stored before validation)."""
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None
