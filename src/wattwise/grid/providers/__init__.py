"""Live carbon-intensity providers (opt-in, user credentials): Electricity Maps, WattTime, UK Carbon
Intensity API. Each module exposes a class with ``name``, ``latest(location)``, ``forecast(location)`` (and
``history`` where the service has it), returning :class:`LivePoint` lists; failures raise
:class:`wattwise.grid.http.ProviderError`."""

from __future__ import annotations

from wattwise.errors import unknown
from wattwise.grid.providers.points import LivePoint, parse_utc

__all__ = ["LivePoint", "get_provider", "parse_utc"]


NAMES = {
    "electricitymaps": "electricitymaps",
    "electricitymap": "electricitymaps",
    "em": "electricitymaps",
    "watttime": "watttime",
    "wt": "watttime",
    "ukgrid": "ukgrid",
    "carbonintensity": "ukgrid",
    "uk": "ukgrid",
}


def get_provider(name: str):
    """A provider by name: ``electricitymaps``, ``watttime``, ``ukgrid`` or ``ukgrid:<region id>``."""
    base, _, arg = name.strip().lower().partition(":")
    key = NAMES.get(base)
    if key is None:
        raise unknown("provider", name, sorted(set(NAMES.values())))
    if key == "electricitymaps":
        from wattwise.grid.providers.electricitymaps import ElectricityMaps

        return ElectricityMaps()
    if key == "watttime":
        from wattwise.grid.providers.watttime import WattTime

        return WattTime()
    from wattwise.grid.providers.ukgrid import UKGrid

    return UKGrid(region_id=int(arg) if arg.isdigit() else None)
