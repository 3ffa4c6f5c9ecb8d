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


def _in_phase(phase: str | None, path: str) -> bool:
    return bool(phase) and (phase == path or phase.startswith(path + "/"))  # type: ignore[union-attr]


def footprint_from_samples(
    samples: list[SampleRow],
    counters: Iterable[CounterRow] = (),
    duration_s: float | None = None,
    location: str | None = None,
    g_per_kwh: float | None = None,
    pue: float | None = None,
    strict: bool = False,
    scope: str | None = None,
    with_phases: bool = False,
) -> Footprint:
    """The footprint of a run's samples: the one energy -> CO2e path of stored and live runs alike.

    An explicit ``g_per_kwh`` wins; else with a location the grid data give the intensity (hour by hour
    where a trace covers the run's hours) and the location's default PUE; else the world average, labelled so.
    ``pue`` overrides the location's PUE. ``strict`` raises on a bad location instead of falling back with a
    note (for user-typed input). ``with_phases`` adds a footprint per phase path (same arithmetic, its own
    samples and counters) in ``fp.phases``.
    """
    note = model_vs_counter(samples)
    samples = [s for s in samples if not is_shadow(s.domain)]  # comparison-only domains never enter totals
    counters = list(counters)
    fp = _footprint(samples, counters, duration_s, location, g_per_kwh, pue, strict)
    fp.scope = scope
    if note:
        fp.notes.append(note)
    if with_phases:
        paths = sorted({p for s in samples for p in _prefixes(s.phase)} | {p for c in counters for p in
                                                                           _prefixes(c.phase)})
        for path in paths:
            sub = _footprint([s for s in samples if _in_phase(s.phase, path)],
                             [c for c in counters if _in_phase(c.phase, path)], None, location, g_per_kwh, pue,
                             strict)
            sub.scope, sub.duration_s = scope, _phase_seconds(samples, path)
            fp.phases[path] = sub
    return fp


def _prefixes(phase: str | None) -> list[str]:
    parts = phase.split("/") if phase else []
    return ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _phase_seconds(samples: list[SampleRow], path: str) -> float:
    return sum(max(s.t_end - s.t_start, 0.0) for s in {(s.t_start, s.t_end): s for s in samples
                                                        if _in_phase(s.phase, path)}.values())


def _footprint(samples: list[SampleRow], counters: list[CounterRow], duration_s: float | None,
               location: str | None, g_per_kwh: float | None, pue: float | None, strict: bool) -> Footprint:
    energy = domain_totals(samples)
    totals = counter_totals(counters)
    if location and g_per_kwh is None:
        from wattwise.grid import footprint_for

        spans = [(h.t_start, h.t_end, h.kwh) for h in hourly_energy(samples)]
        return footprint_for(energy, location, samples=spans, pue=pue, strict=strict, duration_s=duration_s,
                             counters=totals)
    intensity = (Intensity(g_per_kwh, "user-supplied intensity", "user", location=location)
                 if g_per_kwh is not None else WORLD_AVERAGE)
    fp = Footprint(energy=energy, intensity=intensity, duration_s=duration_s, counters=totals)
    if pue is not None:
        fp.pue, fp.pue_source = pue, "user-supplied PUE"
    elif location:  # a given intensity replaces the grid's figure, not the data centre's overhead
        from wattwise.errors import WattwiseError
        from wattwise.grid.pue import default_pue

        try:
            fp.pue, fp.pue_source = default_pue(location)
        except WattwiseError as exc:
            if strict:
                raise
            fp.notes.append(f"location not usable for a PUE ({exc}); PUE 1.0")
    return fp


class RunSource(Protocol):
    """What :func:`run_footprint` needs of a store."""

    def samples(self, run_id: str) -> list[SampleRow]: ...

    def counters(self, run_id: str) -> list[CounterRow]: ...


def run_footprint(store: RunSource, rec: RunRecord, *, location: str | None = None,
                  intensity: float | None = None, pue: float | None = None,
                  samples: list[SampleRow] | None = None, counters: list[CounterRow] | None = None) -> Footprint:
    """The one stored run -> :class:`Footprint` function: every command and export reads a run through it.

    Given ``location``/``intensity``/``pue`` override what the run recorded. ``samples``/``counters``: the
    run's rows when the caller has them already (or has them aggregated per hour and phase, as the exporter
    does); otherwise they are read from ``store``.
    """
    from wattwise import validate
    from wattwise.context import stored_context

    ctx = stored_context(rec.config, rec.location)
    # given values are checked; stored ones are read defensively (a NaN stored before validation is ignored)
    g = validate.intensity(intensity) if intensity is not None else validate.finite_or_none(ctx.intensity)
    p = validate.pue(pue) if pue is not None else validate.finite_or_none(ctx.pue)
    rows = store.samples(rec.id) if samples is None else samples
    counts = store.counters(rec.id) if counters is None else counters
    return footprint_from_samples(rows, counts, rec.duration_s,
                                  location or rec.location, g, pue=p, strict=location is not None,
                                  scope=ctx.scope, with_phases=True)
