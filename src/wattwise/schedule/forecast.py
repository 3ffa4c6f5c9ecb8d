"""Hourly carbon-intensity forecasts for scheduling, each labelled with how it was made.

Offline forecasters use only the history *before* ``now`` (hours < the current hour) of an embedded hourly
trace (:mod:`wattwise.grid.traces`):

- ``yesterday``: persistence, the same hour one day earlier (two days earlier for tomorrow's hours, ...);
- ``last-week``: the same hour one week earlier;
- ``profile``: the average daily profile of the last ``days`` (14) days;
- ``blend``: the daily profile plus the current anomaly (last hour minus its profile value), decaying with a time
  constant of 24 h - mean reversion of weather-driven deviations;
- ``adaptive`` (default): ``blend`` whose decay time is chosen afresh every hour among 6, 12, 24, 48 and 96 h - the
  one whose forecasts of the last 14 days (only forecasts whose 48 h are all observed by now) had the smallest
  squared error around their own mean (the level does not change which start is best, the shape does);
- ``actual``: the trace itself (perfect knowledge; the *oracle* of the simulation, never a forecast).

When ``now`` lies outside the trace year the trace is used as a *typical profile*: ``now`` is mapped to the same
month, day and hour of the trace year, the method runs there, and the label says "typical profile from the 2023
trace". Before the first hour of the trace the history wraps around to the end of the same year.

``live`` asks the grid package's provider forecast (when the grid package offers one and a provider is configured);
``auto`` uses it when available and falls back to ``adaptive`` otherwise.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from wattwise.errors import WattwiseError, unknown
from wattwise.schedule.timeutil import HOUR, fmt_utc, hour_floor, parse_instant

OFFLINE_METHODS = ("yesterday", "last-week", "profile", "blend", "adaptive")
OFFLINE_DEFAULT = "adaptive"
METHODS = (*OFFLINE_METHODS, "actual", "live", "auto")
DEFAULT_METHOD = "auto"
PROFILE_DAYS = 14
ANOMALY_TAU_H = 24.0
MAX_HORIZON_H = 8760
ADAPTIVE_TAUS_H = (6.0, 12.0, 24.0, 48.0, 96.0)
ADAPTIVE_DAYS = 14  # days of past forecasts whose errors choose the decay time
ADAPTIVE_HORIZON_H = 48  # hours of each past forecast that are scored

DESCRIPTIONS = {
    "yesterday": "same hour yesterday (persistence)",
    "last-week": "same hour last week",
    "profile": f"average daily profile of the last {PROFILE_DAYS} days",
    "blend": f"average daily profile of the last {PROFILE_DAYS} days + current anomaly decaying over "
             f"{ANOMALY_TAU_H:g} h",
    "adaptive": f"average daily profile of the last {PROFILE_DAYS} days + current anomaly decaying over a time "
                f"chosen hourly ({'/'.join(f'{t:g}' for t in ADAPTIVE_TAUS_H)} h) by the errors of the last "
                f"{ADAPTIVE_DAYS} days' forecasts",
    "actual": "actual values (perfect knowledge, oracle)",
}


@dataclass(frozen=True)
class Forecast:
    """Hourly intensities (gCO2e/kWh) from ``start`` (epoch, hour-aligned), one value per UTC hour."""

    start: int
    values: tuple[float, ...]
    method: str
    label: str
    location: str = ""
    issued_at: float | None = None
    extra: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if self.start % HOUR:
            raise ValueError("forecast start must be on a UTC hour")
        if not self.values:
            raise ValueError("empty forecast")
        if any(not math.isfinite(v) or v < 0 for v in self.values):
            raise ValueError("forecast values must be finite and >= 0")

    @property
    def end(self) -> int:
        return self.start + HOUR * len(self.values)

    def covers(self, t0: float, t1: float) -> bool:
        return self.start <= t0 and t1 <= self.end

    def value_at(self, t: float) -> float:
        i = int((t - self.start) // HOUR)
        if not 0 <= i < len(self.values):
            raise WattwiseError(f"no forecast for {fmt_utc(t)}",
                                f"the forecast covers {fmt_utc(self.start)} to {fmt_utc(self.end)}")
        return self.values[i]

    def slots(self, t0: float, t1: float) -> list[tuple[float, float, float]]:
        """(start, end, value) pieces of [t0, t1) cut at hour boundaries."""
        out = []
        t = t0
        while t < t1:
            nxt = min(hour_floor(t) + HOUR, t1)
            out.append((t, nxt, self.value_at(t)))
            t = nxt
        return out

    @cached_property
    def _cumulative(self) -> list[float]:
        """c[i] = integral of the values over the first i hours (in g/kWh x hours)."""
        return [0.0, *itertools.accumulate(self.values)]

    def _integral(self, t: float) -> float:
        i = int((t - self.start) // HOUR)
        if t == self.end:
            return self._cumulative[-1]
        self.value_at(t)  # range check with a clear error
        return self._cumulative[i] + self.values[i] * ((t - self.start) / HOUR - i)

    def mean(self, t0: float, t1: float) -> float:
        """Time-weighted mean over [t0, t1) (the value at t0 when the interval is empty)."""
        if t1 <= t0:
            return self.value_at(t0)
        return (self._integral(t1) - self._integral(t0)) * HOUR / (t1 - t0)

    def to_dict(self) -> dict:
        return {"start": fmt_utc(self.start), "hours": len(self.values), "method": self.method,
                "label": self.label, "location": self.location, "values": list(self.values)}


def _profile(x: Sequence[float], j: int, days: int) -> float:
    """Mean of x at j, j - 24, ..., j - 24 (days - 1) (wrapping): the profile value for the hour after j."""
    n = len(x)
    return math.fsum(x[(j - 24 * k) % n] for k in range(days)) / days


def _blend(x: Sequence[float], i0: int, horizon: int, days: int, tau_h: float) -> list[float]:
    n = len(x)
    last = i0 - 1
    anomaly = x[last % n] - _profile(x, last - 24, days)
    return [max(_profile(x, i0 + h - 24 * (h // 24 + 1), days) + anomaly * math.exp(-(h + 1) / tau_h), 0.0)
            for h in range(horizon)]


def adaptive_tau(x: Sequence[float], i0: int, days: int = PROFILE_DAYS,
                 taus: Sequence[float] = ADAPTIVE_TAUS_H, err_days: int = ADAPTIVE_DAYS,
                 horizon: int = ADAPTIVE_HORIZON_H) -> float:
    """The anomaly decay time of ``adaptive`` at ``i0``: the one among ``taus`` whose ``blend`` forecasts made at
    the origins ``i0 - horizon - 24 * err_days + 1 .. i0 - horizon`` (all their ``horizon`` hours are < ``i0``) had
    the smallest sum of squared errors around each forecast's mean error; ties: the first."""
    n = len(x)
    origins = range(i0 - horizon - 24 * err_days + 1, i0 - horizon + 1)
    score = [0.0] * len(taus)
    memo: dict[int, float] = {}

    def profile(j: int) -> float:
        if j not in memo:
            memo[j] = _profile(x, j, days)
        return memo[j]

    for s in origins:
        prof = [profile(s + h - 24 * (h // 24 + 1)) for h in range(horizon)]
        actual = [x[(s + h) % n] for h in range(horizon)]
        anomaly = x[(s - 1) % n] - profile(s - 25)
        for k, tau in enumerate(taus):
            err = [max(prof[h] + anomaly * math.exp(-(h + 1) / tau), 0.0) - actual[h] for h in range(horizon)]
            mean = math.fsum(err) / horizon
            score[k] += math.fsum((e - mean) ** 2 for e in err)
    return taus[min(range(len(taus)), key=lambda k: (score[k], k))]


def offline_values(x: Sequence[float], i0: int, horizon: int, method: str, days: int = PROFILE_DAYS,
                   tau_h: float = ANOMALY_TAU_H) -> list[float]:
    """Forecast of ``x[i0 : i0 + horizon]`` from ``x[:i0]`` only (indices wrap around the series).

    The reference (scalar) implementation; ``bench/scheduling.py`` vectorises the same formulas.
    """
    n = len(x)
    if method == "actual":
        return [float(x[(i0 + h) % n]) for h in range(horizon)]
    if method not in OFFLINE_METHODS:
        raise unknown("offline forecast method", method, [*OFFLINE_METHODS, "actual"])
    if method == "blend":
        return _blend(x, i0, horizon, days, tau_h)
    if method == "adaptive":
        return _blend(x, i0, horizon, days, adaptive_tau(x, i0, days))
    out: list[float] = []
    for h in range(horizon):
        t = i0 + h
        if method == "yesterday":
            v = x[(t - 24 * (h // 24 + 1)) % n]
        elif method == "last-week":
            v = x[(t - 168 * (h // 168 + 1)) % n]
        else:
            v = _profile(x, t - 24 * (h // 24 + 1), days)
        out.append(max(float(v), 0.0))
    return out


class NoProvider(WattwiseError):
    """No live forecast provider is configured."""


class NoHourlyData(WattwiseError):
    """The location has no hourly trace (and no live forecast was asked for)."""


# -- locations ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Place:
    """A location as the scheduler needs it: its canonical code, its grid zone (``None`` when unknown) and a
    label."""

    code: str
    zone: str | None
    label: str


def resolve(location: str) -> Place:
    """Resolve a country, zone or cloud region with the grid package's resolver."""
    from wattwise.grid.locations import resolve_location

    if location is None or not str(location).strip():
        raise WattwiseError("no location given", "use --location with a country (FR), a zone (US-CAL-CISO) or a "
                                                 "cloud region (gcp:europe-west1)")
    loc = resolve_location(str(location))
    return Place(loc.code, loc.zone, loc.label)


def _trace_zone(place: Place) -> str:
    from wattwise.grid import traces

    zones = traces.available_zones()
    if place.zone and place.zone in zones:
        return place.zone
    raise NoHourlyData(
        f"no hourly data for {place.code} ({place.label})",
        f"offline forecasts need an hourly trace; zones with one: {', '.join(zones)}; or configure a live "
        "provider (forecast=live)")


# -- building forecasts ---------------------------------------------------------------------------------------
def trace_forecast(zone: str, now: datetime | float | str | None, hours: int, method: str = OFFLINE_DEFAULT,
                   kind: str = "lifecycle") -> Forecast:
    """An offline forecast from the embedded trace of ``zone`` for ``hours`` hours from the hour of ``now``."""
    from wattwise.grid import traces

    if hours > MAX_HORIZON_H:
        raise WattwiseError(f"forecast horizon of {hours} h is longer than the {MAX_HORIZON_H} h trace",
                            "shorten the deadline or the job; over a year the start time barely matters")
    tr = traces.load_trace(zone)
    t_now = parse_instant(now, "now").timestamp()
    i0, typical = tr.index_at(t_now)
    vals = offline_values(tr.series(kind), i0, hours, method)
    desc = DESCRIPTIONS[method]
    where = f"{tr.zone} ({tr.source})"
    if typical:
        label = f"{desc}, typical profile from the {tr.year} trace of {where}"
    else:
        label = f"{desc}, from the {tr.year} trace of {where}" + (" - not a forecast" if method == "actual" else
                                                                   f", as known at {fmt_utc(t_now)}")
    return Forecast(hour_floor(t_now), tuple(vals), method, label, tr.zone, t_now,
                    {"typical": typical, "trace_year": tr.year, "kind": kind})


def live_forecast(place: Place, now: float, hours: int, provider: str | None = None) -> Forecast:
    """The live provider's forecast (``provider`` or the configured ``grid_provider``) as a :class:`Forecast`;
    WattwiseError when none is configured or the provider fails."""
    from wattwise.config import setting
    from wattwise.grid.locations import resolve_location
    from wattwise.grid.providers import get_provider

    name = provider or setting("grid_provider")
    if not name:
        raise NoProvider("no live forecast provider configured",
                            "configure one (WATTWISE_GRID_PROVIDER=electricitymaps|watttime|ukgrid, see docs/grid.md)"
                            " or use an offline forecast (adaptive, blend, profile, yesterday, last-week)")
    p = get_provider(name)
    return _from_points(p.forecast(resolve_location(place.code)), place, now, label=f"{p.name} forecast")


def _from_points(raw: object, place: Place, now: float, label: str | None = None) -> Forecast:
    """Accept a provider forecast as points (tuples or objects with a time and a g/kWh value), or a Forecast."""
    if isinstance(raw, Forecast):
        return raw
    label = getattr(raw, "label", None) or getattr(raw, "source", None) or label or "live provider forecast"
    points = getattr(raw, "points", raw)
    pts: list[tuple[int, float]] = []
    sources: list[str] = []
    for p in points if isinstance(points, Iterable) else []:
        if isinstance(p, tuple):
            when, g = p[0], p[1]
        else:
            when = next((getattr(p, a) for a in ("start", "when", "datetime", "time") if hasattr(p, a)), None)
            g = next((getattr(p, a) for a in ("g_per_kwh", "value", "intensity") if hasattr(p, a)), None)
            g = getattr(g, "g_per_kwh", g)
        if when is None or g is None:
            continue
        if not sources and not isinstance(p, tuple):
            sources.append(str(getattr(p, "source", "")) + (f", {p.signal}" if hasattr(p, "signal") else ""))
        pts.append((hour_floor(parse_instant(when).timestamp()), float(g)))
    if not pts:
        raise WattwiseError(f"the live provider returned no forecast for {place.code}")
    pts.sort()
    hourly: dict[int, float] = {}
    for t, g in pts:
        hourly.setdefault(t, g)
    start = max(min(hourly), hour_floor(now))
    vals: list[float] = []
    t, last = start, hourly.get(start, pts[0][1])
    while t <= max(hourly):
        last = hourly.get(t, last)  # fill gaps (e.g. 5-min or 30-min providers) with the previous value
        vals.append(last)
        t += HOUR
    src = f" ({sources[0].strip(', ')})" if sources and sources[0].strip(", ") else ""
    return Forecast(start, tuple(vals), "live", f"live: {label}{src}", place.code, now)


def make_forecast(location: str | Place, now: datetime | float | str | None, hours: int,
                  method: str = DEFAULT_METHOD, kind: str = "lifecycle") -> Forecast:
    """A labelled hourly forecast for a location, ``hours`` long from the hour of ``now``."""
    if method not in METHODS:
        raise unknown("forecast method", method, list(METHODS))
    place = location if isinstance(location, Place) else resolve(location)
    t_now = parse_instant(now, "now").timestamp()
    why = ""
    if method in ("live", "auto"):
        try:
            fc = live_forecast(place, t_now, hours)
            if fc.end >= hour_floor(t_now) + hours * HOUR or method == "live":
                return fc
            why = f"the live forecast ends at {fmt_utc(fc.end)}"
        except NoProvider:
            if method == "live":
                raise
        except WattwiseError as exc:
            if method == "live":
                raise
            why = f"live forecast unavailable: {exc.message}"
        method = OFFLINE_DEFAULT
    fc = trace_forecast(_trace_zone(place), t_now, hours, method, kind)
    if why:
        fc = Forecast(fc.start, fc.values, fc.method, f"{fc.label} [{why}]", fc.location, fc.issued_at, fc.extra)
    return fc
