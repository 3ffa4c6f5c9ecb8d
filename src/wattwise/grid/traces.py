"""Embedded hourly carbon-intensity traces (one calendar year per zone, UTC hours).

The traces are Electricity Maps hourly data shipped as small gzip CSVs in ``wattwise/data/grid/traces``
(provenance in ``traces.json`` and ``SOURCES.md`` there). A trace covers one year; for another year it can
serve as a *typical profile* (same month, day and hour), and every value says which of the two it is.
"""

from __future__ import annotations

import bisect
import csv
import gzip
import io
import itertools
import json
import math
from array import array
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from importlib import resources

from wattwise.errors import unknown

HOUR = 3600
KINDS = ("lifecycle", "direct")


def _data_dir():
    return resources.files("wattwise") / "data" / "grid" / "traces"


@lru_cache(maxsize=1)
def _index() -> dict[str, dict]:
    return json.loads((_data_dir() / "traces.json").read_text(encoding="utf-8"))


def available_zones() -> list[str]:
    """Zone ids that have an embedded hourly trace."""
    return sorted(_index())


def to_epoch(when: datetime | float | int | str) -> float:
    """Seconds since the epoch for a datetime (naive = UTC), an epoch number or an ISO 8601 string."""
    if isinstance(when, (int, float)):
        return float(when)
    if isinstance(when, str):
        from wattwise.grid.timeparse import parse_time

        return parse_time(when).timestamp()
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp()


@dataclass(frozen=True)
class TraceValue:
    """One hourly value with its provenance.

    ``typical`` is True when the trace's year differs from the asked time: the value then comes from the
    same month, day and hour of the trace year, used as a typical profile (``label`` says so).
    """

    g_per_kwh: float
    kind: str
    hour_start: int  # epoch of the trace hour used
    typical: bool
    estimated: bool
    label: str


@dataclass(frozen=True)
class HourlyTrace:
    """A year of hourly intensities for one zone.

    ``timestamps`` are the UTC hour starts (epoch seconds, contiguous); ``lca`` and ``direct`` are
    gCO2eq/kWh (lifecycle and direct-combustion); ``values`` is ``lca``.
    """

    zone: str
    year: int
    timestamps: tuple[int, ...]
    lca: array
    direct: array
    estimated: bytes
    source: str
    license: str
    zone_name: str = ""

    @property
    def values(self) -> array:
        return self.lca

    @property
    def start(self) -> int:
        return self.timestamps[0]

    @property
    def end(self) -> int:
        """Epoch just after the last hour."""
        return self.timestamps[-1] + HOUR

    def series(self, kind: str = "lifecycle") -> array:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        return self.lca if kind == "lifecycle" else self.direct

    def mean(self, kind: str = "lifecycle") -> float:
        s = self.series(kind)
        return math.fsum(s) / len(s)

    def covers(self, when: datetime | float | str) -> bool:
        t = to_epoch(when)
        return self.start <= t < self.end

    def index_at(self, when: datetime | float | str) -> tuple[int, bool]:
        """(row index, typical) for a time: the exact hour if covered, else the same month/day/hour of the
        trace year (29 February maps to 28 February)."""
        t = to_epoch(when)
        if self.start <= t < self.end:
            return int((t - self.start) // HOUR), False
        d = datetime.fromtimestamp(math.floor(t), tz=timezone.utc)
        day = 28 if (d.month == 2 and d.day == 29) else d.day
        try:
            mapped = datetime(self.year, d.month, day, d.hour, tzinfo=timezone.utc)
        except ValueError:  # trace year is a leap year and the asked one is not: cannot happen, but be safe
            mapped = datetime(self.year, d.month, 28, d.hour, tzinfo=timezone.utc)
        i = bisect.bisect_right(self.timestamps, int(mapped.timestamp())) - 1
        return min(max(i, 0), len(self.timestamps) - 1), True

    def value_at(self, when: datetime | float | str, kind: str = "lifecycle") -> TraceValue:
        """The intensity at a time, labelled as exact or as a typical-profile value."""
        i, typical = self.index_at(when)
        v = self.series(kind)[i]
        hs = self.timestamps[i]
        if typical:
            asked = datetime.fromtimestamp(math.floor(to_epoch(when)), tz=timezone.utc)
            label = (
                f"{self.source}, {self.zone}: typical profile - {self.year} value for the same month, "
                f"day and hour, used for {asked:%Y-%m-%d %H:00} UTC"
            )
        else:
            hour = datetime.fromtimestamp(hs, tz=timezone.utc)
            label = f"{self.source}, {self.zone}, hour {hour:%Y-%m-%d %H:00} UTC"
        return TraceValue(v, kind, hs, typical, bool(self.estimated[i]), label)

    def integrate(
        self, t_start: float, t_end: float, kwh: float, kind: str = "lifecycle"
    ) -> tuple[float, bool]:
        """gCO2e of ``kwh`` spread evenly over [t_start, t_end), hour by hour; (grams, any_typical)."""
        if t_end <= t_start:
            i, typ = self.index_at(t_start)
            return kwh * self.series(kind)[i], typ
        series = self.series(kind)
        rate = kwh / (t_end - t_start)
        grams = 0.0
        typical = False
        t = t_start
        while t < t_end:
            nxt = min((math.floor(t / HOUR) + 1) * HOUR, t_end)
            i, typ = self.index_at(t)
            typical |= typ
            grams += rate * (nxt - t) * series[i]
            t = nxt
        return grams, typical


@lru_cache(maxsize=32)
def load_trace(zone: str) -> HourlyTrace:
    """The embedded trace of a zone (case-insensitive id such as ``FR`` or ``US-CAL-CISO``)."""
    idx = _index()
    key = next((z for z in idx if z.lower() == zone.strip().lower()), None)
    if key is None:
        raise unknown("zone with an hourly trace", zone, list(idx))
    meta = idx[key]
    raw = gzip.decompress((_data_dir() / meta["file"]).read_bytes()).decode("utf-8")
    reader = csv.reader(io.StringIO(raw))
    header = next(reader)
    if header != ["utc", "direct", "lca", "estimated"]:
        raise ValueError(f"unexpected trace header in {meta['file']}: {header}")
    ts: list[int] = []
    direct = array("d")
    lca = array("d")
    est = bytearray()
    for utc, d, life, e in reader:
        ts.append(int(datetime.strptime(utc, "%Y-%m-%dT%H").replace(tzinfo=timezone.utc).timestamp()))
        direct.append(float(d))
        lca.append(float(life))
        est.append(1 if e == "1" else 0)
    if any(b - a != HOUR for a, b in itertools.pairwise(ts)):
        raise ValueError(f"trace {meta['file']} is not a contiguous hourly series")
    return HourlyTrace(
        key,
        meta["year"],
        tuple(ts),
        lca,
        direct,
        bytes(est),
        meta["source"],
        meta["license"],
        meta.get("zone_name", ""),
    )
