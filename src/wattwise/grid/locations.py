"""Resolve a location given as text, offline: a country (``FR``, ``FRA``, ``France``), a grid zone
(``US-CAL-CISO``, or a US balancing-authority code such as ``CISO``) or a cloud region (``gcp:europe-west1``,
``aws:eu-west-3``, ``azure:francecentral``, ``cloud:gcp:europe-west1`` or a bare unique region name).

Nothing here touches the network. ``default_location()`` reads ``WATTWISE_LOCATION`` or the config file; the
cloud instance-metadata lookup (:mod:`wattwise.grid.cloud_detect`) runs only when the user enabled it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from wattwise.errors import WattwiseError, unknown
from wattwise.grid import tables, traces

#: Older or alternative names of zones.
ZONE_ALIASES = {
    "DE-LU": "DE",
    "AUS-NSW": "AU-NSW",
    "AUS-VIC": "AU-VIC",
    "AUS-QLD": "AU-QLD",
    "AUS-SA": "AU-SA",
    "AUS-TAS": "AU-TAS",
    "AUS-WA": "AU-WA",
    "CL-SIC": "CL-SEN",
    "UK": "GB",
}


@dataclass(frozen=True)
class Location:
    """A resolved location.

    ``kind`` is ``country``, ``zone`` or ``cloud``; ``code`` the canonical id (``FR``, ``US-CAL-CISO``,
    ``gcp:europe-west1``); ``zone`` the grid zone used for hourly and live data (``None`` when the location
    spans several zones, e.g. the US); ``country`` the ISO alpha-2 code; ``label`` a human-readable name.
    """

    code: str
    kind: str
    zone: str | None
    country: str | None
    label: str

    def __str__(self) -> str:
        return self.code


def _known_zones() -> set[str]:
    return set(tables.zones()) | set(traces.available_zones())


@lru_cache(maxsize=1)
def _ba_codes() -> dict[str, str]:
    """US balancing-authority code (last part of the zone id) -> zone, when unambiguous and not a country."""
    seen: dict[str, list[str]] = {}
    for z in _known_zones():
        parts = z.split("-")
        if parts[0] == "US" and len(parts) == 3:
            seen.setdefault(parts[2], []).append(z)
    a3 = tables.alpha3_index()
    return {
        ba: zs[0] for ba, zs in seen.items() if len(zs) == 1 and ba not in a3 and ba not in tables.countries()
    }


def all_names() -> list[str]:
    """Every accepted canonical name (for 'did you mean' hints and listings)."""
    c = tables.countries()
    return (
        sorted(c)
        + sorted(r.alpha3 for r in c.values())
        + sorted(_known_zones())
        + sorted(tables.cloud_regions())
    )


def _country(a2: str) -> Location:
    row = tables.countries()[a2]
    zone = a2 if a2 in _known_zones() else None
    return Location(a2, "country", zone, a2, row.name)


def _zone(z: str) -> Location:
    row = tables.zones().get(z)
    if row is None:
        tr = traces.load_trace(z)
        return Location(z, "zone", z, z.split("-")[0], tr.zone_name or z)
    return Location(z, "zone", z, row.country, row.name)


def _cloud(key: str) -> Location:
    r = tables.cloud_regions()[key]
    prov = {"aws": "AWS", "gcp": "Google Cloud", "azure": "Azure"}[r.provider]
    return Location(key, "cloud", r.zone or None, r.country, f"{prov} {r.region} ({r.location})")


def resolve_location(text: str | Location) -> Location:
    """Parse a location; raises a NotFoundError listing the closest valid names when unknown."""
    if isinstance(text, Location):
        return text
    if text is None or not str(text).strip():
        raise WattwiseError(
            "empty location", "give a country (FR), a zone (US-CAL-CISO) or a cloud region (gcp:europe-west1)"
        )
    raw = str(text).strip()
    s = raw.upper()
    if s == "AUTO":
        from wattwise.grid.cloud_detect import detect_cloud_region

        return resolve_location(detect_cloud_region())
    low = raw.lower()
    if low.startswith("cloud:"):
        low = low[len("cloud:") :]
    if ":" in low:
        return _provider_region(raw, low)
    return _grid_or_bare_region(raw, s, low)


def _provider_region(raw: str, low: str) -> Location:
    """``provider:region`` (lower case)."""
    regions = tables.cloud_regions()
    name, _, region = low.partition(":")
    prov = tables.PROVIDERS.get(name.strip())
    key = f"{prov}:{region.strip()}"
    if prov and key in regions:
        return _cloud(key)
    raise unknown("cloud region", raw, [k for k in regions if prov is None or k.startswith(prov + ":")])


def _grid_or_bare_region(raw: str, s: str, low: str) -> Location:
    """A country (alpha-2, alpha-3 or name), a grid zone or balancing authority, or a cloud region without its
    provider; ``s`` is ``raw`` in upper case, ``low`` in lower case."""
    regions = tables.cloud_regions()
    zones = _known_zones()
    countries = tables.countries()
    if s in ZONE_ALIASES:
        s = ZONE_ALIASES[s]
    if len(s) == 2 and s in countries:
        return _country(s)
    if len(s) == 3 and s in tables.alpha3_index():
        return _country(tables.alpha3_index()[s])
    if s in zones:
        return _zone(s)
    if s in _ba_codes():
        return _zone(_ba_codes()[s])
    bare = [k for k in regions if k.split(":", 1)[1] == low]
    if len(bare) == 1:
        return _cloud(bare[0])
    if len(bare) > 1:
        raise WattwiseError(f"ambiguous cloud region {raw!r}", f"say which cloud: {', '.join(bare)}")
    by_name = [c.alpha2 for c in countries.values() if c.name.lower() == low]
    if by_name:
        return _country(by_name[0])
    names = all_names() + [c.name for c in countries.values()]
    raise unknown("location", raw, names)


def default_location() -> Location | None:
    """The configured location (``WATTWISE_LOCATION`` or ``wattwise config set location ...``), else the
    cloud region from the instance metadata service when ``cloud_detect`` is enabled, else ``None``."""
    from wattwise.config import setting

    value = setting("location")
    if value:
        return resolve_location(value)
    from wattwise.grid.cloud_detect import detect_enabled

    if detect_enabled():
        try:
            return resolve_location("auto")
        except WattwiseError:
            return None
    return None
