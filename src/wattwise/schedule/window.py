"""Choosing when to run: the best contiguous window, and which hours an interruptible job should run in.

Intensities are piecewise constant per UTC hour, so the best contiguous window starts either at ``earliest``, at
an hour boundary, or ends at an hour boundary (or at the latest possible start); all those candidates are scored
exactly. Ties go to the earliest start.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from wattwise.errors import WattwiseError
from wattwise.schedule.forecast import DEFAULT_METHOD, Forecast, make_forecast
from wattwise.schedule.timeutil import HOUR, fmt_hours, fmt_utc, hour_floor, parse_duration, parse_instant, utc

EPS = 1e-6


@dataclass(frozen=True)
class Window:
    """The chosen start of a contiguous job and what it is expected to save versus starting at ``earliest``."""

    start: datetime
    end: datetime
    mean_g_per_kwh: float
    now_g_per_kwh: float
    forecast: Forecast

    @property
    def saving_g_per_kwh(self) -> float:
        return self.now_g_per_kwh - self.mean_g_per_kwh

    @property
    def saving_pct(self) -> float:
        return 100.0 * self.saving_g_per_kwh / self.now_g_per_kwh if self.now_g_per_kwh > 0 else 0.0

    @property
    def label(self) -> str:
        return self.forecast.label

    def to_dict(self) -> dict:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(),
                "mean_g_per_kwh": round(self.mean_g_per_kwh, 2), "now_g_per_kwh": round(self.now_g_per_kwh, 2),
                "saving_g_per_kwh": round(self.saving_g_per_kwh, 2), "saving_pct": round(self.saving_pct, 2),
                "forecast": self.forecast.method, "forecast_label": self.label, "location": self.forecast.location}


@dataclass(frozen=True)
class Plan:
    """Run intervals for an interruptible job (paused in between), with expected intensities."""

    intervals: tuple[tuple[float, float], ...]
    mean_g_per_kwh: float
    now_g_per_kwh: float
    earliest: float
    deadline: float
    forecast: Forecast
    policy: str

    @property
    def saving_pct(self) -> float:
        return 100.0 * (1 - self.mean_g_per_kwh / self.now_g_per_kwh) if self.now_g_per_kwh > 0 else 0.0

    @property
    def finish(self) -> float:
        return self.intervals[-1][1]

    @property
    def paused_s(self) -> float:
        return self.finish - self.intervals[0][0] - sum(b - a for a, b in self.intervals)

    def running_at(self, t: float) -> bool:
        return any(a <= t < b for a, b in self.intervals)

    def to_dict(self) -> dict:
        return {"policy": self.policy, "intervals": [[fmt_utc(a), fmt_utc(b)] for a, b in self.intervals],
                "mean_g_per_kwh": round(self.mean_g_per_kwh, 2), "now_g_per_kwh": round(self.now_g_per_kwh, 2),
                "saving_pct": round(self.saving_pct, 2), "paused": fmt_hours(self.paused_s),
                "forecast_label": self.forecast.label}


def _bounds(duration: timedelta | float | str, earliest: datetime | float | str | None,
            deadline: datetime | float | str | None, now: datetime | float | str | None) -> tuple[float, float, float]:
    d = parse_duration(duration, "job duration").total_seconds()
    t_now = parse_instant(now, "now").timestamp()
    t0 = parse_instant(earliest, "earliest start").timestamp() if earliest is not None else t_now
    t0 = max(t0, t_now)
    if deadline is None:
        raise WattwiseError("no deadline given", "give a deadline (2026-11-24T06:00Z) or a window (--within 8h)")
    t1 = parse_instant(deadline, "deadline").timestamp()
    if t1 - t0 < d - EPS:
        raise WattwiseError(
            f"the job needs {fmt_hours(d)} but the deadline {fmt_utc(t1)} leaves only "
            f"{fmt_hours(max(t1 - t0, 0))} after {fmt_utc(t0)}",
            "move the deadline later or give a shorter duration")
    return d, t0, t1


def _forecast_for(location: str | Forecast, forecast: str | Forecast, now: float, t1: float) -> Forecast:
    if isinstance(location, Forecast):
        return location
    if isinstance(forecast, Forecast):
        return forecast
    hours = math.ceil((t1 - hour_floor(now)) / HOUR)
    return make_forecast(location, now, max(hours, 1), forecast)


def _check_cover(fc: Forecast, t0: float, t1: float) -> float:
    """The usable deadline: ``t1`` clipped to the forecast's end; error if not even the first start fits."""
    if t0 < fc.start:
        raise WattwiseError(f"the forecast starts at {fmt_utc(fc.start)}, after the earliest start {fmt_utc(t0)}")
    return min(t1, fc.end)


def best_window(location: str | Forecast, duration: timedelta | float | str,
                earliest: datetime | float | str | None, deadline: datetime | float | str | None,
                forecast: str | Forecast = DEFAULT_METHOD, now: datetime | float | str | None = None) -> Window:
    """The lowest-carbon contiguous window of ``duration`` starting at or after ``earliest`` (default now) and
    ending by ``deadline``.

    ``location`` is a country / zone / cloud region (or a :class:`Forecast` for synthetic data); ``forecast`` a
    method name (``auto``, ``live``, ``adaptive``, ``blend``, ``profile``, ``yesterday``, ``last-week``, ``actual``)
    or a ready :class:`Forecast`. ``now`` is when the forecast is made (default: ``earliest`` if given, else the wall
    clock).
    """
    d, t0, t1 = _bounds(duration, earliest, deadline, now if now is not None else earliest)
    fc = _forecast_for(location, forecast, t0 if now is None else parse_instant(now).timestamp(), t1)
    t1c = _check_cover(fc, t0, t1)
    latest = t1c - d
    if latest < t0 - EPS:
        raise WattwiseError(f"the forecast ends at {fmt_utc(fc.end)}: too short for a {fmt_hours(d)} job",
                            "use an offline forecast, or a shorter job")
    latest = max(latest, t0)
    cands = {t0, latest}
    h = hour_floor(t0) + HOUR
    while h <= latest:
        cands.add(float(h))
        e = h - d
        if t0 < e <= latest:
            cands.add(e)
        h += HOUR
    h = hour_floor(t0 + d) + HOUR
    while h - d <= latest:
        if h - d >= t0:
            cands.add(h - d)
        h += HOUR
    s = min(cands, key=lambda c: (round(fc.mean(c, c + d), 6), c))  # ties (to 1e-6 g/kWh): earliest
    return Window(utc(s), utc(s + d), fc.mean(s, s + d), fc.mean(t0, t0 + d), fc)


def plan_interruptible(location: str | Forecast, duration: timedelta | float | str,
                       earliest: datetime | float | str | None, deadline: datetime | float | str | None,
                       forecast: str | Forecast = DEFAULT_METHOD, now: datetime | float | str | None = None,
                       pause_above: float | None = None, pause_dirtiest: float | None = None) -> Plan:
    """Which hours an interruptible job runs in, finishing by ``deadline``.

    - default: the cleanest hours before the deadline (optimal for a job that can pause at any time);
    - ``pause_above=G``: run as early as possible in hours forecast at or below G gCO2e/kWh;
    - ``pause_dirtiest=p`` (0 < p < 1): pause in the dirtiest share p of the hours between ``earliest`` and the
      deadline (default deadline: long enough for the job to pause that share), run in the others as early as
      possible.

    Whenever the allowed hours cannot hold the whole job, the cleanest of the remaining hours are added, so the job
    always finishes by the deadline.
    """
    if pause_dirtiest is not None and not 0 < pause_dirtiest < 1:
        raise WattwiseError(f"the dirtiest share must be between 0 and 100 %, got {pause_dirtiest:.0%}")
    if pause_above is not None and not pause_above >= 0:
        raise WattwiseError(f"the pause threshold must be >= 0 gCO2e/kWh, got {pause_above}")
    d0 = parse_duration(duration, "job duration").total_seconds()
    if deadline is None and pause_dirtiest is not None:
        start = parse_instant(earliest if earliest is not None else now).timestamp()
        deadline = start + math.ceil(d0 / (1 - pause_dirtiest) / HOUR) * HOUR
    d, t0, t1 = _bounds(duration, earliest, deadline, now if now is not None else earliest)
    fc = _forecast_for(location, forecast, t0 if now is None else parse_instant(now).timestamp(), t1)
    t1c = _check_cover(fc, t0, t1)
    slots = fc.slots(t0, t1c)
    if sum(b - a for a, b, _ in slots) < d - EPS:
        raise WattwiseError(f"the forecast ends at {fmt_utc(fc.end)}: too short for a {fmt_hours(d)} job")
    order = list(range(len(slots)))
    if pause_above is not None:
        policy = f"pause above {pause_above:g} gCO2e/kWh"
        ok = [i for i in order if slots[i][2] <= pause_above]
        rest = sorted((i for i in order if slots[i][2] > pause_above), key=lambda i: (slots[i][2], i))
        chosen_order = ok + rest
    elif pause_dirtiest is not None:
        policy = f"pause in the dirtiest {pause_dirtiest:.0%} of hours"
        n_pause = round(pause_dirtiest * len(slots))
        dirty = set(sorted(order, key=lambda i: (-slots[i][2], i))[:n_pause])
        chosen_order = [i for i in order if i not in dirty] + sorted(dirty, key=lambda i: (slots[i][2], i))
    else:
        policy = "cleanest hours before the deadline"
        chosen_order = sorted(order, key=lambda i: (slots[i][2], i))
    need = d
    take: list[tuple[float, float]] = []
    for i in chosen_order:
        if need <= EPS:
            break
        a, b, _ = slots[i]
        use = min(b - a, need)  # a partial last slot runs from the slot's start
        take.append((a, a + use))
        need -= use
    take.sort()
    merged: list[list[float]] = []
    for a, b in take:
        if merged and abs(merged[-1][1] - a) < EPS:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    intervals = tuple((a, b) for a, b in merged)
    mean = math.fsum((b - a) * fc.mean(a, b) for a, b in intervals) / d
    return Plan(intervals, mean, fc.mean(t0, t0 + d), t0, t1, fc, policy)
