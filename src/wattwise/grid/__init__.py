"""Grid carbon intensity: embedded tables and hourly traces (offline), opt-in live providers, PUE.

Public API (kept stable for other modules)::

    resolve_location(text) -> Location        # .code .kind (country|zone|cloud) .zone .country .label
    intensity(location, when=None, provider=None) -> wattwise.footprint.Intensity
    emissions_kg([(t_start, t_end, kwh), ...], location) -> (kg, Intensity)
    footprint_for(energy, location, samples=None, pue=None) -> Footprint
    traces.load_trace(zone) -> HourlyTrace; traces.available_zones()
    pue.default_pue(location) -> (value, source)
"""

from __future__ import annotations

from wattwise.grid import pue, traces
from wattwise.grid.intensity import (
    UNIT,
    annual_intensity,
    describe,
    emissions_kg,
    footprint_for,
    intensity,
)
from wattwise.grid.locations import Location, default_location, resolve_location

__all__ = [
    "UNIT",
    "Location",
    "annual_intensity",
    "default_location",
    "describe",
    "emissions_kg",
    "footprint_for",
    "intensity",
    "pue",
    "resolve_location",
    "traces",
]
