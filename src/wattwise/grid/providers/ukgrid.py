"""UK Carbon Intensity API (https://api.carbonintensity.org.uk, National Grid ESO; no key): national or
regional (region ids 1-17) current intensity and 48 h forecast, gCO2/kWh of direct emissions."""

from __future__ import annotations

from datetime import datetime, timezone

from wattwise.grid.http import ProviderError, get_json
from wattwise.grid.providers import cache
from wattwise.grid.providers.points import LivePoint, parse_utc

BASE = "https://api.carbonintensity.org.uk"
NAME = "ukgrid"
SOURCE = "UK Carbon Intensity API (National Grid ESO)"


class UKGrid:
    name = NAME

    def __init__(self, region_id: int | None = None) -> None:
        if region_id is None:
            from wattwise.config import setting

            r = setting("ukgrid_region")
            region_id = int(r) if r and r.isdigit() else None
        if region_id is not None and not 1 <= region_id <= 17:
            raise ProviderError(
                NAME, f"region id {region_id} out of range", "UK regions are numbered 1 to 17"
            )
        self.region_id = region_id

    def _check(self, location) -> None:
        country = getattr(location, "country", None)
        if country not in (None, "GB"):
            raise ProviderError(
                NAME, f"covers Great Britain only, not {location}", "use --provider electricitymaps"
            )

    def _get(self, path: str, ttl: float) -> dict:
        key = f"{NAME}:{path}"
        hit = cache.get(key, ttl)
        if hit is not None:
            return hit
        data = get_json(NAME, f"{BASE}{path}", headers={"Accept": "application/json"})
        if not isinstance(data, dict) or "data" not in data:
            raise ProviderError(NAME, "unexpected response shape")
        cache.put(key, data)
        return data

    @staticmethod
    def _points(rows: list[dict], label: str) -> list[LivePoint]:
        out = []
        for r in rows:
            ci = r.get("intensity") or {}
            value = ci.get("actual") if ci.get("actual") is not None else ci.get("forecast")
            if value is None:
                continue
            out.append(
                LivePoint(
                    parse_utc(r["from"]),
                    float(value),
                    "direct",
                    "average",
                    label,
                    estimated=ci.get("actual") is None,
                )
            )
        return out

    def _rows(self, data: dict) -> list[dict]:
        d = data["data"]
        if self.region_id is None:
            return d
        block = d[0] if isinstance(d, list) else d
        return block.get("data", [])

    def latest(self, location=None) -> LivePoint:
        self._check(location)
        path = "/intensity" if self.region_id is None else f"/regional/regionid/{self.region_id}"
        pts = self._points(self._rows(self._get(path, 300)), SOURCE + self._where())
        if not pts:
            raise ProviderError(NAME, "no value in response")
        return pts[0]

    def forecast(self, location=None, start: datetime | None = None) -> list[LivePoint]:
        self._check(location)
        t = (start or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%MZ")
        path = (
            f"/intensity/{t}/fw48h"
            if self.region_id is None
            else f"/regional/intensity/{t}/fw48h/regionid/{self.region_id}"
        )
        return self._points(self._rows(self._get(path, 1800)), SOURCE + self._where() + " forecast")

    def _where(self) -> str:
        return "" if self.region_id is None else f", region {self.region_id}"
