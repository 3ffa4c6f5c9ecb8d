"""Live carbon-intensity providers (opt-in, user credentials): Electricity Maps, WattTime, UK Carbon
Intensity API. Each module exposes a class with ``name``, ``latest(location)``, ``forecast(location)`` (and
``history`` where the service has it), returning :class:`LivePoint` lists; failures raise
:class:`wattwise.grid.http.ProviderError`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from wattwise.errors import unknown


@dataclass(frozen=True)
class LivePoint:
    """One provider value: gCO2e/kWh at a UTC time, with its kind/signal and source."""

    when: datetime
    g_per_kwh: float
    kind: str  # lifecycle | direct
    signal: str  # average | marginal
    source: str
    estimated: bool = False


def parse_utc(text: str) -> datetime:
    s = text.strip().replace("Z", "+00:00")
    d = datetime.fromisoformat(s)
    return d if d.tzinfo else d.replace(tzinfo=timezone.utc)


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
