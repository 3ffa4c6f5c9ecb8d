"""From stored samples to a :class:`~wattwise.footprint.Footprint`: energy by domain, phase and counter,
then CO2e at the run's location (hour by hour where the grid data allow)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from wattwise.footprint import J_PER_KWH, WORLD_AVERAGE, DomainEnergy, Footprint, Intensity, Method
from wattwise.sensors.base import SHADOW_CPU, is_shadow
from wattwise.store.records import CounterRow, RunRecord, SampleRow


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


def model_vs_counter(samples: Iterable[SampleRow]) -> str | None:
    """A note comparing the modelled CPU (shadow ``model:cpu``) with the RAPL ``cpu:N`` counters, if both ran."""
    model = counter = 0.0
    for s in samples:
        if s.domain == SHADOW_CPU:
            model += s.joules
        elif s.domain.startswith("cpu:") and s.method == Method.MEASURED.value:
            counter += s.joules
    if model <= 0 or counter <= 0:
        return None
    return (f"CPU model vs RAPL counter: modelled {model:.0f} J, measured {counter:.0f} J "
            f"(model / counter = {model / counter:.2f}); the model is not counted in the totals")


def phase_energy_j(samples: Iterable[SampleRow]) -> dict[str, float]:
    """Joules per phase path (samples outside any phase under ``-``); a parent phase includes its children."""
    out: dict[str, float] = defaultdict(float)
    for s in samples:
        if is_shadow(s.domain):
            continue
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
    strict: bool = False,
) -> Footprint:
    """The footprint of a run's samples.

    An explicit ``g_per_kwh`` wins; else with a location the grid data give the intensity (hour by hour
    where a trace covers the run) and the location's default PUE; else the world average, labelled so.
    ``strict`` raises on a bad location instead of falling back with a note (for user-typed input).
    """
    note = model_vs_counter(samples)
    samples = [s for s in samples if not is_shadow(s.domain)]  # comparison-only domains never enter totals
    energy = domain_totals(samples)
    totals = counter_totals(counters)
    if location and g_per_kwh is None:
        from wattwise.grid import footprint_for

        spans = [(h.t_start, h.t_end, h.kwh) for h in hourly_energy(samples)]
        fp = footprint_for(energy, location, samples=spans, pue=pue, strict=strict, duration_s=duration_s,
                           counters=totals)
        if note:
            fp.notes.append(note)
        return fp
    intensity = (Intensity(g_per_kwh, "user-supplied intensity", "user", location=location)
                 if g_per_kwh is not None else WORLD_AVERAGE)
    fp = Footprint(energy=energy, intensity=intensity, duration_s=duration_s, counters=totals)
    if pue is not None:
        fp.pue, fp.pue_source = pue, "user-supplied PUE"
    if note:
        fp.notes.append(note)
    return fp


class RunSource(Protocol):
    """What :func:`run_footprint` needs of a store."""

    def samples(self, run_id: str) -> list[SampleRow]: ...

    def counters(self, run_id: str) -> list[CounterRow]: ...


def run_footprint(store: RunSource, rec: RunRecord, *, location: str | None = None,
                  intensity: float | None = None, pue: float | None = None) -> Footprint:
    """The one stored run -> :class:`Footprint` function: every command and export reads a run through it.

    Given ``location``/``intensity``/``pue`` override what the run recorded.
    """
    g = intensity if intensity is not None else rec.config.get("intensity_g_per_kwh")
    p = pue if pue is not None else rec.config.get("pue")
    return footprint_from_samples(store.samples(rec.id), store.counters(rec.id), rec.duration_s,
                                  location or rec.location, g, pue=p, strict=location is not None)
