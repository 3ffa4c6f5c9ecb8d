import logging
import urllib.error
from datetime import datetime, timezone

import pytest

from tests import grid_fakes
from wattwise import grid
from wattwise.errors import NotFoundError
from wattwise.grid.intensity import NOTICES
from wattwise.grid.providers import cache, get_provider
from wattwise.grid.providers.watttime import LBS_PER_MWH_TO_G_PER_KWH

TOKEN = "secret-token-123"


@pytest.fixture
def net(tmp_path, monkeypatch):
    grid_fakes.isolate(tmp_path, monkeypatch)
    return grid_fakes.fake_net(monkeypatch)


def _no_secret_anywhere(home, caplog, *objs):
    for f in (home / "cache").rglob("*"):
        if f.is_file():
            assert TOKEN not in f.read_text()
    assert TOKEN not in caplog.text
    for o in objs:
        assert TOKEN not in str(o)


def test_electricitymaps_latest(net, monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("ELECTRICITYMAPS_TOKEN", TOKEN)
    net.add("carbon-intensity/latest?zone=FR", "em_latest_FR.json")
    i = grid.intensity("FR", provider="electricitymaps")
    assert (i.g_per_kwh, i.resolution, i.kind, i.signal) == (42.0, "live", "lifecycle", "average")
    assert "Electricity Maps API" in i.source and "(estimated)" in i.source
    assert net.requests[0].get_header("Auth-token") == TOKEN
    # cached: a second call makes no request
    grid.intensity("FR", provider="electricitymaps")
    assert len(net.requests) == 1
    _no_secret_anywhere(tmp_path, caplog, i)


def test_electricitymaps_history_and_forecast(net, monkeypatch):
    monkeypatch.setenv("ELECTRICITYMAPS_TOKEN", TOKEN)
    net.add("carbon-intensity/past-range", "em_past_range_FR.json")
    net.add("carbon-intensity/forecast", "em_forecast_FR.json")
    net.add("carbon-intensity/history", "em_history_FR.json")
    past = grid.intensity("FR", "2026-01-10T12:10Z", provider="em")
    assert past.g_per_kwh == 53 and past.resolution == "live"
    fut = grid.intensity("aws:eu-west-3", "2030-01-01T01:20Z", provider="electricitymaps")
    assert fut.g_per_kwh == 47 and "forecast" in fut.source
    hist = get_provider("electricitymaps").history(grid.resolve_location("FR"))
    assert [p.g_per_kwh for p in hist] == [40, 44]


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (401, False),
        (403, False),
        (429, True),
        (503, True),
        (TimeoutError("timed out"), True),
        (urllib.error.URLError("unreachable"), True),
    ],
)
def test_failures_fall_back_with_notice(net, monkeypatch, tmp_path, caplog, error, retried):
    monkeypatch.setenv("ELECTRICITYMAPS_TOKEN", TOKEN)
    net.add("electricitymap.org", error)
    n0 = len(NOTICES)
    with caplog.at_level(logging.WARNING, logger="wattwise.grid"):
        i = grid.intensity("FR", provider="electricitymaps")
    assert i.resolution == "annual" and "fallback" in i.source
    assert len(NOTICES) == n0 + 1 and "using embedded data" in NOTICES[-1]
    assert len(net.requests) == (3 if retried else 1)
    if retried:
        assert len(net.sleeps) == 2
    _no_secret_anywhere(tmp_path, caplog, i, NOTICES[-1])


def test_fallback_keeps_hourly_when_time_given(net, monkeypatch):
    monkeypatch.setenv("ELECTRICITYMAPS_TOKEN", TOKEN)
    net.add("electricitymap.org", 500)
    i = grid.intensity("FR", "2023-06-01T12:00Z", provider="electricitymaps")
    assert i.resolution == "hourly" and "fallback" in i.source


def test_missing_token_and_unknown_provider(net):
    i = grid.intensity("FR", provider="electricitymaps")
    assert "no API token" in i.source and not net.requests
    with pytest.raises(NotFoundError):
        grid.intensity("FR", provider="nosuchprovider")


def test_bad_json_falls_back(net, monkeypatch):
    monkeypatch.setenv("ELECTRICITYMAPS_TOKEN", TOKEN)
    net.add("electricitymap.org", b"<html>oops</html>")
    assert "not valid JSON" in grid.intensity("FR", provider="electricitymaps").source


def test_corrupt_cache_is_a_miss(net, monkeypatch):
    monkeypatch.setenv("ELECTRICITYMAPS_TOKEN", TOKEN)
    net.add("carbon-intensity/latest", "em_latest_FR.json")
    grid.intensity("FR", provider="electricitymaps")
    files = list((grid_fakes.Path(str(cache._path("x"))).parent).glob("*.json"))
    assert files
    for f in files:
        f.write_text("{not json")
    i = grid.intensity("FR", provider="electricitymaps")
    assert i.g_per_kwh == 42 and len(net.requests) == 2
    assert cache.clear() >= 1


def test_watttime(net, monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("WATTTIME_USERNAME", "me")
    monkeypatch.setenv("WATTTIME_PASSWORD", TOKEN)
    net.add("api.watttime.org/login", "wt_login.json")
    net.add("/v3/forecast", "wt_forecast_CAISO_NORTH.json")
    net.add("/v3/signal-index", "wt_signal_index_CAISO_NORTH.json")
    loc = grid.resolve_location("aws:us-west-1")  # table gives WattTime region CAISO_NORTH
    i = grid.intensity(loc, provider="watttime")
    assert i.signal == "marginal" and i.kind == "direct" and i.resolution == "live"
    assert i.g_per_kwh == pytest.approx(870.0 * LBS_PER_MWH_TO_G_PER_KWH)
    assert "region=CAISO_NORTH" in net.requests[-1].full_url
    assert net.requests[-1].get_header("Authorization") == "Bearer fixture-bearer-token"
    value, _ = get_provider("watttime").signal_index(loc)
    assert value == 37.0
    _no_secret_anywhere(tmp_path, caplog, i)
    # a location without a WattTime region falls back with a hint
    assert "no WattTime region" in grid.intensity("FR", provider="watttime").source


def test_ukgrid_national_regional_forecast(net):
    net.add("carbonintensity.org.uk/intensity", "uk_intensity.json")
    net.add("/intensity/2030-01-01T00:00Z/fw48h", "uk_forecast.json")
    net.add("/regional/regionid/13", "uk_regional_13.json")
    i = grid.intensity("GB", provider="ukgrid")
    assert (i.g_per_kwh, i.kind, i.resolution) == (176.0, "direct", "live")
    r = grid.intensity("GB", provider="ukgrid:13")
    assert r.g_per_kwh == 210.0 and "region 13" in r.source and "(estimated)" in r.source
    pts = get_provider("ukgrid").forecast(None, datetime(2030, 1, 1, tzinfo=timezone.utc))
    assert [p.g_per_kwh for p in pts] == [120.0, 118.0]
    # outside Great Britain: embedded data with a notice, no request
    n = len(net.requests)
    assert "Great Britain only" in grid.intensity("FR", provider="ukgrid").source
    assert len(net.requests) == n


def test_configured_provider_is_opt_in(net, monkeypatch):
    assert grid.intensity("FR").resolution == "annual" and not net.requests
    monkeypatch.setenv("WATTWISE_GRID_PROVIDER", "ukgrid")
    net.add("carbonintensity.org.uk/intensity", "uk_intensity.json")
    assert grid.intensity("GB").resolution == "live"


def test_watttime_relogin_after_expired_token(net, monkeypatch):
    from wattwise.grid.providers import watttime

    monkeypatch.setenv("WATTTIME_USERNAME", "me")
    monkeypatch.setenv("WATTTIME_PASSWORD", "pw")
    monkeypatch.setattr(watttime, "_TOKEN", {"me": "expired"})
    net.add("api.watttime.org/login", "wt_login.json")
    calls = {"n": 0}

    def forecast(req, timeout):
        calls["n"] += 1
        if req.get_header("Authorization") == "Bearer expired":
            raise urllib.error.HTTPError(req.full_url, 401, "expired", None, None)
        return 200, (grid_fakes.FIXTURES / "wt_forecast_CAISO_NORTH.json").read_bytes()

    original = net.__call__

    def router(req, timeout):
        if "/v3/forecast" in req.full_url:
            net.requests.append(req)
            return forecast(req, timeout)
        return original(req, timeout)

    from wattwise.grid import http

    monkeypatch.setattr(http, "OPENER", router)
    i = grid.intensity("aws:us-west-1", provider="watttime")
    assert i.resolution == "live" and calls["n"] == 2
