"""Electricity Maps API v3 (https://api.electricitymap.org): latest, history (last 24 h, or a past range)
and forecast of carbon intensity for a zone. Needs the user's token: ``ELECTRICITYMAPS_TOKEN`` /
``WATTWISE_ELECTRICITYMAPS_TOKEN`` or ``wattwise config set electricitymaps_token ...``."""

from __future__ import annotations

import os
from datetime import datetime

from wattwise.grid.http import ProviderError, get_json
from wattwise.grid.providers import cache
from wattwise.grid.providers.points import LivePoint, parse_utc

BASE = "https://api.electricitymap.org/v3"
NAME = "electricitymaps"
TTL = {"latest": 300, "history": 3600, "forecast": 1800, "past-range": 86400}


def token() -> str | None:
    from wattwise.config import setting

    return os.environ.get("ELECTRICITYMAPS_TOKEN") or setting("electricitymaps_token")


class ElectricityMaps:
    name = NAME

    def __init__(self, api_token: str | None = None) -> None:
        self._token = api_token

    def _zone(self, location) -> str:
        zone = getattr(location, "zone", None) or getattr(location, "country", None)
        if not zone:
            raise ProviderError(NAME, f"no grid zone known for {location}", "give a zone such as US-CAL-CISO")
        return zone

    def _get(self, endpoint: str, params: dict) -> dict:
        key = f"{NAME}:{endpoint}:{sorted(params.items())}"
        hit = cache.get(key, TTL.get(endpoint, 300))
        if hit is not None:
            return hit
        tok = self._token or token()
        if not tok:
            raise ProviderError(
                NAME,
                "no API token configured",
                "set ELECTRICITYMAPS_TOKEN or `wattwise config set electricitymaps_token TOKEN`",
            )
        data = get_json(NAME, f"{BASE}/carbon-intensity/{endpoint}", params, headers={"auth-token": tok})
        if not isinstance(data, dict):
            raise ProviderError(NAME, "unexpected response shape")
        cache.put(key, data)
        return data

    @staticmethod
    def _point(d: dict) -> LivePoint:
        try:
            kind = "direct" if d.get("emissionFactorType") == "direct" else "lifecycle"
            return LivePoint(
                parse_utc(d["datetime"]),
                float(d["carbonIntensity"]),
                kind,
                "average",
                "Electricity Maps API (live)",
                bool(d.get("isEstimated", False)),
            )
        except (KeyError, TypeError, ValueError):
            raise ProviderError(NAME, "unexpected response shape (no carbonIntensity/datetime)") from None

    def latest(self, location) -> LivePoint:
        return self._point(self._get("latest", {"zone": self._zone(location)}))

    def history(
        self, location, start: datetime | None = None, end: datetime | None = None
    ) -> list[LivePoint]:
        zone = self._zone(location)
        if start is None:
            data = self._get("history", {"zone": zone})
            rows = data.get("history", [])
        else:
            params = {"zone": zone, "start": start.isoformat(), "end": (end or start).isoformat()}
            data = self._get("past-range", params)
            rows = data.get("data", [])
        return [self._point(r) for r in rows if r.get("carbonIntensity") is not None]

    def forecast(self, location) -> list[LivePoint]:
        data = self._get("forecast", {"zone": self._zone(location)})
        return [
            LivePoint(
                parse_utc(r["datetime"]),
                float(r["carbonIntensity"]),
                "lifecycle",
                "average",
                "Electricity Maps API (forecast)",
            )
            for r in data.get("forecast", [])
        ]
