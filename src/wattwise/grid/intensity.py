"""Carbon intensity for a location and time, and emissions of energy spread over time.

Order of preference: a live provider when the user asked for one (falling back to embedded data with a
visible notice when it fails), else the embedded hourly trace of the location's zone when a time is given
(a trace of another year is used as a *typical profile* and labelled ``typical-hourly``), else the embedded
annual figure. Every :class:`~wattwise.footprint.Intensity` says its source, resolution, kind and signal.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from wattwise.errors import WattwiseError
from wattwise.footprint import J_PER_KWH, WORLD_AVERAGE, DomainEnergy, Footprint, Intensity, carbon_kg
from wattwise.grid import tables, traces
from wattwise.grid.locations import Location, default_location, resolve_location
from wattwise.grid.timeparse import parse_time

log = logging.getLogger("wattwise.grid")
UNIT = "gCO2e/kWh"
#: Notices about provider fall-backs from the latest calls (the CLI prints them); newest last.
NOTICES: list[str] = []


def _notice(msg: str) -> None:
    NOTICES.append(msg)
    del NOTICES[:-20]
    log.warning(msg)


def _loc(location: str | Location | None) -> Location | None:
    if location is None:
        return default_location()
    return resolve_location(location)


def trace_for(loc: Location | None) -> traces.HourlyTrace | None:
    """The embedded hourly trace of a location's zone, if any."""
    if loc is None or not loc.zone or loc.zone not in traces.available_zones():
        return None
    return traces.load_trace(loc.zone)


def annual_intensity(location: str | Location | None) -> Intensity:
    """The embedded annual figure: zone mean (Electricity Maps) for zones and cloud regions whose zone is
    known, country mean (Ember) for countries and other cloud regions, world average without a location."""
    loc = _loc(location)
    if loc is None:
        return WORLD_AVERAGE
    zones = tables.zones()
    countries = tables.countries()
    # a zone that is a whole country takes the country's figure, so FR, a zone FR and a cloud region in France
    # all give one annual number (the most recent: Ember 2023); sub-national zones keep their own
    whole_country = loc.zone == loc.country and loc.country in countries and countries[loc.country].lca is not None
    if loc.kind in ("zone", "cloud") and loc.zone in zones and not whole_country:
        z = zones[loc.zone]
        where = f"zone {z.zone}" + (f" for {loc.code}" if loc.kind == "cloud" else "")
        return Intensity(z.lca, f"{z.source}; {where}", "annual", "lifecycle", "average", loc.code)
    c = countries.get(loc.country) if loc.country else None
    if c is not None and c.lca is not None:
        where = f"country {c.alpha2}" + (
            f" for {loc.code} (no figure for its zone {loc.zone})"
            if loc.kind == "cloud" and loc.zone and loc.zone != c.alpha2
            else ""
        )
        return Intensity(c.lca, f"{c.source}; {where}", "annual", "lifecycle", "average", loc.code)
    return Intensity(
        WORLD_AVERAGE.g_per_kwh,
        f"world average 2023, Ember Global Electricity Review 2024: no figure for {loc.code} in the "
        "embedded tables",
        WORLD_AVERAGE.resolution,
        WORLD_AVERAGE.kind,
        WORLD_AVERAGE.signal,
        loc.code,
    )


def hourly_intensity(loc: Location, when: datetime) -> Intensity | None:
    tr = trace_for(loc)
    if tr is None:
        return None
    v = tr.value_at(when)
    return Intensity(
        v.g_per_kwh, v.label, "typical-hourly" if v.typical else "hourly", "lifecycle", "average", loc.code
    )


def _live(loc: Location, when: datetime | None, p: Any) -> Intensity:
    now = datetime.now(timezone.utc)
    if when is None or abs((when - now).total_seconds()) <= 3600:
        pt = p.latest(loc)
    elif when > now:
        pts = p.forecast(loc)
        if not pts:
            raise WattwiseError(f"{p.name}: empty forecast")
        pt = min(pts, key=lambda x: abs((x.when - when).total_seconds()))
        if abs((pt.when - when).total_seconds()) > 3600:
            raise WattwiseError(f"{p.name}: forecast does not reach {when:%Y-%m-%d %H:%M} UTC")
    else:
        if not hasattr(p, "history"):
            raise WattwiseError(f"{p.name}: no history endpoint", "use --provider electricitymaps")
        pts = p.history(loc, when - timedelta(hours=1), when + timedelta(hours=1))
        if not pts:
            raise WattwiseError(f"{p.name}: no history for {when:%Y-%m-%d %H:%M} UTC")
        pt = min(pts, key=lambda x: abs((x.when - when).total_seconds()))
    src = f"{pt.source}, {pt.when:%Y-%m-%d %H:%M} UTC" + (" (estimated)" if pt.estimated else "")
    return Intensity(pt.g_per_kwh, src, "live", pt.kind, pt.signal, loc.code)


def intensity(
    location: str | Location | None = None,
    when: datetime | str | float | None = None,
    provider: str | None = None,
) -> Intensity:
    """Carbon intensity for ``location`` (text, Location, or the configured default) at ``when``.

    ``provider`` (``electricitymaps``, ``watttime``, ``ukgrid``; default: config ``grid_provider``, else none)
    asks a live service; if it fails the embedded data are returned and a notice is logged and kept in
    :data:`NOTICES`, and the source says ``fallback``.
    """
    from wattwise.config import setting

    loc = _loc(location)
    t = None if when is None else parse_time(when)
    provider = provider or setting("grid_provider")
    if loc is None:
        if provider:
            _notice(f"no location configured: live provider {provider} not asked, world average used")
        return WORLD_AVERAGE
    if provider:
        from wattwise.grid.providers import get_provider

        p = get_provider(provider)  # an unknown provider name is the user's error: raised
        try:
            return _live(loc, t, p)
        except WattwiseError as exc:
            _notice(f"live intensity unavailable ({exc.message}); using embedded data for {loc.code}")
            emb = (hourly_intensity(loc, t) if t else None) or annual_intensity(loc)
            return Intensity(
                emb.g_per_kwh,
                f"{emb.source} [fallback: {exc.message}]",
                emb.resolution,
                emb.kind,
                emb.signal,
                emb.location,
            )
    if t is not None:
        h = hourly_intensity(loc, t)
        if h is not None:
            return h
    return annual_intensity(loc)


def _intervals(energy_by_time: Iterable[Any]) -> list[tuple[float, float, float]]:
    out = []
    for item in energy_by_time:
        if isinstance(item, (tuple, list)):
            t0, t1, kwh = item
        else:  # an EnergyReading-like object
            t0, t1, kwh = item.t_start, item.t_end, item.joules / J_PER_KWH
        t0, t1, kwh = float(t0), float(t1), float(kwh)
        if not (math.isfinite(t0) and math.isfinite(t1) and math.isfinite(kwh)) or kwh < 0:
            raise WattwiseError(f"bad energy interval ({t0}, {t1}, {kwh})", "need finite times and kWh >= 0")
        out.append((t0, max(t1, t0), kwh))
    return out


def emissions_kg(
    energy_by_time: Sequence[Any], location: str | Location | None, kind: str = "lifecycle",
    typical: bool = True,
) -> tuple[float, Intensity]:
    """kg CO2e of energy given as ``(t_start_epoch, t_end_epoch, kwh)`` intervals (or EnergyReading-like
    objects), hour by hour when the location's zone has an hourly trace, else at the annual figure.

    Returns (kg, Intensity) where the Intensity's ``g_per_kwh`` is the energy-weighted mean actually applied
    and its resolution is ``hourly``, ``typical-hourly`` (trace of another year) or ``annual``.
    ``typical=False`` (a run's footprint): a trace of another year is not used; the annual figure is.
    """
    loc = _loc(location)
    spans = _intervals(energy_by_time)
    total = sum(k for _, _, k in spans)
    tr = trace_for(loc)
    if tr is None:
        ann = annual_intensity(loc)
        return carbon_kg(total, ann.g_per_kwh), ann
    grams = 0.0
    typical_used = False
    for t0, t1, kwh in spans:
        g, typ = tr.integrate(t0, t1, kwh, kind)
        grams += g
        typical_used |= typ
    assert loc is not None
    if typical_used and not typical:
        ann = annual_intensity(loc)
        return carbon_kg(total, ann.g_per_kwh), ann
    mean = grams / total if total > 0 else tr.mean(kind)
    label = f"{tr.source}, zone {tr.zone}, hour by hour"
    if typical_used:
        label += f"; typical profile: the {tr.year} trace stands in for the run's dates"
    return grams / 1000.0, Intensity(
        mean, label, "typical-hourly" if typical_used else "hourly", kind, "average", loc.code
    )


def footprint_for(
    energy: list[DomainEnergy],
    location: str | Location | None = None,
    samples: Sequence[Any] | None = None,
    pue: float | None = None,
    provider: str | None = None,
    strict: bool = False,
    **footprint_fields: Any,
) -> Footprint:
    """A Footprint for a run's IT energy at its location, for ``wattwise show`` and exports.

    ``samples``: the run's energy over time (``(t_start, t_end, kwh)`` or EnergyReading-like); with them the
    intensity is integrated hour by hour where a trace exists. Without them, a live ``provider`` (opt-in) or
    the annual figure is used. ``pue`` overrides the location's default PUE (:func:`pue.default_pue`).
    Extra keyword arguments go to :class:`Footprint` (``embodied_kg``, ``duration_s``, ``counters`` ...).
    Unless ``strict``, a bad stored location, provider or setting never loses the run: the embedded data or
    the world average are used and a note says why.
    """
    from wattwise.grid.pue import default_pue, parse_pue

    notes = list(footprint_fields.pop("notes", []))
    try:
        loc = _loc(location)
    except WattwiseError as exc:
        if strict:
            raise
        notes.append(f"location not usable ({exc}); world average used")
        loc = None
    inten = annual_intensity(loc)
    try:
        if samples:  # hour by hour where the trace covers the run's hours, else the annual figure
            _, inten = emissions_kg(samples, loc, typical=False)
        elif provider:
            inten = intensity(loc, None, provider)
    except WattwiseError as exc:
        if strict:
            raise
        notes.append(f"{exc}; annual figure used")
    try:
        if pue is not None:
            pue_v, pue_src = parse_pue(pue), "user override"
        else:
            pue_v, pue_src = default_pue(loc)
    except WattwiseError as exc:
        if strict:
            raise
        pue_v, pue_src = 1.0, f"none applied: {exc}"
    notes.append(
        f"intensity: {inten.g_per_kwh:.1f} {UNIT} ({inten.resolution}, {inten.kind}, {inten.signal}) "
        f"- {inten.source}"
    )
    notes.append(f"PUE {pue_v:.2f} applied: {pue_src}")
    return Footprint(energy, intensity=inten, pue=pue_v, pue_source=pue_src, notes=notes, **footprint_fields)


def describe(i: Intensity) -> dict[str, Any]:
    """An Intensity as a plain dict with its unit (for JSON output)."""
    return {
        "g_per_kwh": round(i.g_per_kwh, 3),
        "unit": UNIT,
        "kind": i.kind,
        "signal": i.signal,
        "resolution": i.resolution,
        "source": i.source,
        "location": i.location,
    }
