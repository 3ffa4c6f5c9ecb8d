"""From stored samples to a :class:`~wattwise.footprint.Footprint`: energy by domain, phase and counter,
then CO2e at the run's location (hour by hour where the grid data allow)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from wattwise.footprint import J_PER_KWH, WORLD_AVERAGE, DomainEnergy, Footprint, Intensity, Method
from wattwise.store.records import CounterRow, SampleRow


def resolve_intensity(location: str | None, when: float | None = None,
                      g_per_kwh: float | None = None) -> Intensity:
    """The intensity to use: an explicit value, else the location's (grid data), else the world average."""
    if g_per_kwh is not None:
        return Intensity(g_per_kwh, "user-supplied intensity", "user", location=location)
    if location:
        from wattwise.grid import intensity  # the grid package resolves names and raises clear errors

        return intensity(location, when)
    return WORLD_AVERAGE


def domain_totals(samples: Iterable[SampleRow]) -> list[DomainEnergy]:
    """Total energy per domain; a domain's method/source/uncertainty are those of its last sample."""
    joules: dict[str, float] = defaultdict(float)
    last: dict[str, SampleRow] = {}
    for s in samples:
        joules[s.domain] += s.joules
        last[s.domain] = s
    return [
        DomainEnergy(d, joules[d] / J_PER_KWH, Method(last[d].method), last[d].source, last[d].uncertainty or 0.0)
        for d in sorted(joules)
    ]


def phase_energy_j(samples: Iterable[SampleRow]) -> dict[str, float]:
    """Joules per phase path (samples outside any phase under ``-``); a parent phase includes its children."""
    out: dict[str, float] = defaultdict(float)
    for s in samples:
        if not s.phase:
            out["-"] += s.joules
            continue
        parts = s.phase.split("/")
        for i in range(1, len(parts) + 1):
            out["/".join(parts[:i])] += s.joules
    return dict(out)


def counter_totals(counters: Iterable[CounterRow]) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    for c in counters:
        out[c.name] += c.value
    return dict(out)


@dataclass(frozen=True)
class HourlyEnergy:
    """Energy (kWh) in one clock hour, for hour-by-hour carbon integration."""

    t_start: float
    t_end: float
    kwh: float


def hourly_energy(samples: Iterable[SampleRow]) -> list[HourlyEnergy]:
    buckets: dict[int, float] = defaultdict(float)
    for s in samples:
        buckets[int(s.t_start // 3600)] += s.joules / J_PER_KWH
    return [HourlyEnergy(h * 3600.0, h * 3600.0 + 3600.0, kwh) for h, kwh in sorted(buckets.items())]


def footprint_from_samples(
    samples: list[SampleRow],
    counters: Iterable[CounterRow] = (),
    duration_s: float | None = None,
    location: str | None = None,
    g_per_kwh: float | None = None,
    pue: float | None = None,
) -> Footprint:
    """The footprint of a run's samples. With a location and hourly grid data, CO2 is integrated per hour."""
    start = samples[0].t_start if samples else None
    fp = Footprint(energy=domain_totals(samples), duration_s=duration_s, counters=counter_totals(counters))
    fp.intensity = resolve_intensity(location, start, g_per_kwh)
    if pue is not None:
        fp.pue, fp.pue_source = pue, "user-supplied PUE"
    if location and g_per_kwh is None and samples:
        hourly = _hourly_carbon(samples, location, fp.pue)
        if hourly is not None:
            fp.operational_kg_override, fp.intensity = hourly
    return fp


def _hourly_carbon(samples: list[SampleRow], location: str, pue: float) -> tuple[float, Intensity] | None:
    """Hour-by-hour operational kg and the effective intensity, when the grid package offers it."""
    try:
        from wattwise.grid import emissions_kg
    except ImportError:
        return None
    spans = [(h.t_start, h.t_end, h.kwh * pue) for h in hourly_energy(samples)]
    return emissions_kg(spans, location)
