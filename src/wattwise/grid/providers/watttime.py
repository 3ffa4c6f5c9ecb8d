"""WattTime API v3 (https://api.watttime.org): marginal operating emissions rate (MOER). ``signal_index``
gives the 0-100 percentile of the current MOER; ``forecast`` the MOER forecast (lbs CO2/MWh converted to
g/kWh). Needs the user's account: ``WATTTIME_USERNAME``/``WATTTIME_PASSWORD`` (or config keys
``watttime_username``/``watttime_password``). The WattTime region comes from the cloud-region table, from
``watttime_region`` in the config, or is the location's zone."""

from __future__ import annotations

import base64
import os

from wattwise.grid.http import ProviderError, get_json
from wattwise.grid.providers import cache
from wattwise.grid.providers.points import LivePoint, parse_utc

BASE = "https://api.watttime.org"
NAME = "watttime"
LBS_PER_MWH_TO_G_PER_KWH = 453.59237 / 1000.0  # 1 lb = 453.59237 g; 1 MWh = 1000 kWh
SIGNAL = "co2_moer"
_TOKEN: dict[str, str] = {}


def _credentials() -> tuple[str | None, str | None]:
    from wattwise.config import setting

    return (
        os.environ.get("WATTTIME_USERNAME") or setting("watttime_username"),
        os.environ.get("WATTTIME_PASSWORD") or setting("watttime_password"),
    )


class WattTime:
    name = NAME

    def _region(self, location) -> str:
        from wattwise.config import setting
        from wattwise.grid import tables

        if getattr(location, "kind", None) == "cloud":
            row = tables.cloud_regions().get(location.code)
            if row and row.watttime_region:
                return row.watttime_region
        configured = setting("watttime_region")
        if configured:
            return configured
        raise ProviderError(
            NAME,
            f"no WattTime region known for {location}",
            "set one with `wattwise config set watttime_region CAISO_NORTH`",
        )

    def _login(self) -> str:
        user, pw = _credentials()
        if not user or not pw:
            raise ProviderError(
                NAME,
                "no account configured",
                "set WATTTIME_USERNAME and WATTTIME_PASSWORD (or `wattwise config set ...`)",
            )
        if user in _TOKEN:
            return _TOKEN[user]
        basic = base64.b64encode(f"{user}:{pw}".encode()).decode()
        data = get_json(NAME, f"{BASE}/login", headers={"Authorization": f"Basic {basic}"})
        tok = data.get("token") if isinstance(data, dict) else None
        if not tok:
            raise ProviderError(NAME, "login returned no token")
        _TOKEN[user] = tok
        return tok

    def _get(self, endpoint: str, params: dict, ttl: float) -> dict:
        key = f"{NAME}:{endpoint}:{sorted(params.items())}"
        hit = cache.get(key, ttl)
        if hit is not None:
            return hit
        url = f"{BASE}/v3/{endpoint}"
        try:
            data = get_json(NAME, url, params, headers={"Authorization": f"Bearer {self._login()}"})
        except ProviderError as exc:
            if exc.status != 401 or not _TOKEN:
                raise
            _TOKEN.clear()  # the cached token expired (WattTime tokens last 30 minutes): log in again once
            data = get_json(NAME, url, params, headers={"Authorization": f"Bearer {self._login()}"})
        if not isinstance(data, dict) or not isinstance(data.get("data"), list):
            raise ProviderError(NAME, "unexpected response shape")
        cache.put(key, data)
        return data

    def signal_index(self, location) -> tuple[float, str]:
        """(percentile 0-100 of the current marginal emissions, point time ISO string)."""
        data = self._get("signal-index", {"region": self._region(location), "signal_type": SIGNAL}, 300)
        if not data["data"]:
            raise ProviderError(NAME, "empty signal index")
        p = data["data"][0]
        return float(p["value"]), str(p["point_time"])

    def forecast(self, location) -> list[LivePoint]:
        data = self._get("forecast", {"region": self._region(location), "signal_type": SIGNAL}, 300)
        units = (data.get("meta") or {}).get("units", "lbs_co2_per_mwh")
        if units != "lbs_co2_per_mwh":
            raise ProviderError(NAME, f"unexpected units {units!r}")
        return [
            LivePoint(
                parse_utc(p["point_time"]),
                float(p["value"]) * LBS_PER_MWH_TO_G_PER_KWH,
                "direct",
                "marginal",
                "WattTime MOER forecast",
            )
            for p in data["data"]
        ]

    def latest(self, location) -> LivePoint:
        points = self.forecast(location)
        if not points:
            raise ProviderError(NAME, "empty forecast")
        p = points[0]
        return LivePoint(p.when, p.g_per_kwh, p.kind, p.signal, "WattTime MOER (live, first forecast point)")
