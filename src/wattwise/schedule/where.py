"""Where to run: the lowest-carbon location among candidates (countries, zones, cloud regions), with the
trade-offs the user supplies (latency, price per hour)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from wattwise.errors import WattwiseError
from wattwise.footprint import carbon_kg
from wattwise.grid.pue import default_pue
from wattwise.schedule.forecast import DEFAULT_METHOD, Forecast, NoHourlyData, Place, resolve
from wattwise.schedule.timeutil import parse_duration, parse_instant
from wattwise.schedule.window import Window, best_window


@dataclass(frozen=True)
class Candidate:
    """One location's best option: its window (hourly data) or a flat value (annual data only)."""

    place: Place
    g_per_kwh: float
    label: str
    window: Window | None = None
    latency_ms: float | None = None
    price_per_h: float | None = None
    hours: float = 0.0
    kwh: float | None = None
    pareto: bool = True
    pue: float = 1.0  # the location's data-centre overhead (grid.pue.default_pue), applied like everywhere

    @property
    def g_per_it_kwh(self) -> float:
        return self.g_per_kwh * self.pue

    @property
    def cost(self) -> float | None:
        return None if self.price_per_h is None else self.price_per_h * self.hours

    @property
    def co2_kg(self) -> float | None:
        return None if self.kwh is None else carbon_kg(self.kwh, self.g_per_kwh, self.pue)

    def to_dict(self) -> dict:
        return {"location": self.place.code, "zone": self.place.zone, "name": self.place.label,
                "g_per_kwh": round(self.g_per_kwh, 2), "pue": self.pue, "source": self.label,
                "start": self.window.start.isoformat() if self.window else None,
                "latency_ms": self.latency_ms, "price_per_h": self.price_per_h, "cost": self.cost,
                "co2_kg": self.co2_kg, "pareto": self.pareto}


def _flat(place: Place, when: float) -> tuple[float, str]:
    """A location without hourly data: the grid package's intensity (annual table)."""
    from wattwise.grid import intensity

    i = intensity(place.code, when)
    return float(i.g_per_kwh), f"{i.source} (no hourly data: not time-shifted)"


def best_location(candidates: list[str], duration: timedelta | float | str,
                  earliest: datetime | float | str | None = None, deadline: datetime | float | str | None = None,
                  forecast: str | Forecast = DEFAULT_METHOD, now: datetime | float | str | None = None,
                  latency_ms: dict[str, float] | None = None, price_per_h: dict[str, float] | None = None,
                  kwh: float | None = None) -> list[Candidate]:
    """Candidates sorted by expected intensity (best first). Each is scheduled at its own best window between
    ``earliest`` and ``deadline`` (no deadline: it starts at ``earliest``). ``latency_ms`` / ``price_per_h`` map a
    candidate (as given) to its figure; ``pareto`` marks those no other candidate beats on every given figure."""
    if not candidates:
        raise WattwiseError("no candidate locations", "give at least two, e.g. FR,DE,gcp:europe-west1")
    d = parse_duration(duration, "job duration")
    t_now = parse_instant(now if now is not None else earliest, "now").timestamp()
    t0 = parse_instant(earliest, "earliest start").timestamp() if earliest is not None else t_now
    t1 = parse_instant(deadline, "deadline").timestamp() if deadline is not None else t0 + d.total_seconds()
    latency_ms, price_per_h = latency_ms or {}, price_per_h or {}
    for what, table in (("latency", latency_ms), ("price", price_per_h)):
        extra = set(table) - set(candidates)
        if extra:
            raise WattwiseError(f"{what} given for {', '.join(sorted(extra))}, which is not a candidate",
                                f"candidates: {', '.join(candidates)}")
    out: list[Candidate] = []
    seen: set[str] = set()
    for c in candidates:
        place = resolve(c)
        if place.code in seen:
            continue
        seen.add(place.code)
        try:
            w = best_window(place.code, d, t0, t1, forecast=forecast, now=t_now)
            g, label, win = w.mean_g_per_kwh, w.label, w
        except NoHourlyData:
            (g, label), win = _flat(place, t0), None
        out.append(Candidate(place, g, label, win, latency_ms.get(c), price_per_h.get(c), d.total_seconds() / 3600,
                             kwh, pue=default_pue(place.code)[0]))
    out.sort(key=lambda k: (k.g_per_it_kwh, k.place.code))

    crit = pareto_criteria(out)

    def figures(k: Candidate) -> tuple[float, ...]:
        return tuple(float(getattr(k, c)) for c in crit)

    marked = []
    for k in out:
        fk = figures(k)
        dominated = any(all(a <= b for a, b in zip(figures(o), fk, strict=True)) and figures(o) != fk
                        for o in out if o is not k)
        marked.append(replace(k, pareto=not dominated))
    return marked


def pareto_criteria(rows: list[Candidate]) -> list[str]:
    """The figures the Pareto front is computed over: intensity, plus latency / price when every row has them
    (a figure some rows lack cannot rank them, so it is left out rather than making every row optimal)."""
    crit = ["g_per_it_kwh"]  # intensity per IT kWh (PUE included), as the table is sorted
    for c in ("latency_ms", "price_per_h"):
        if rows and all(getattr(r, c) is not None for r in rows):
            crit.append(c)
    return crit
