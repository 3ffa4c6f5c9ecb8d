"""Offline forecasters (no peeking at the future, labelled), the live-provider adapter, the bench's twin."""

from __future__ import annotations

import math

import pytest

import wattwise.grid as grid
from tests.bench_loader import load_bench
from wattwise.errors import WattwiseError
from wattwise.schedule.forecast import (
    ADAPTIVE_TAUS_H,
    ANOMALY_TAU_H,
    OFFLINE_DEFAULT,
    PROFILE_DAYS,
    Forecast,
    adaptive_tau,
    make_forecast,
    offline_values,
    trace_forecast,
)

SERIES = [float((i * 37) % 101 + (i % 24) * 3) for i in range(24 * 30)]


@pytest.fixture(scope="module")
def bench():
    """bench/scheduling.py as a module (it is a script, not part of the package)."""
    pytest.importorskip("numpy")
    return load_bench("scheduling")


def test_persistence_forecasts():
    i0 = 24 * 20 + 5
    assert offline_values(SERIES, i0, 30, "yesterday")[:24] == SERIES[i0 - 24: i0]
    assert offline_values(SERIES, i0, 30, "yesterday")[24:] == SERIES[i0 - 24: i0 - 18]  # day 2 repeats day 1
    assert offline_values(SERIES, i0, 5, "last-week") == SERIES[i0 - 168: i0 - 163]
    prof = offline_values(SERIES, i0, 48, "profile")
    want = sum(SERIES[i0 - 24 * (k + 1)] for k in range(PROFILE_DAYS)) / PROFILE_DAYS
    assert prof[0] == pytest.approx(want) and prof[24] == pytest.approx(prof[0])


def test_blend_adds_a_decaying_anomaly():
    i0 = 24 * 25
    prof = offline_values(SERIES, i0, 10, "profile")
    blend = offline_values(SERIES, i0, 10, "blend")
    last = i0 - 1
    anomaly = SERIES[last] - sum(SERIES[last - 24 * (k + 1)] for k in range(PROFILE_DAYS)) / PROFILE_DAYS
    for h in range(10):
        assert blend[h] == pytest.approx(max(prof[h] + anomaly * math.exp(-(h + 1) / ANOMALY_TAU_H), 0))


@pytest.mark.parametrize("method", ["yesterday", "last-week", "profile", "blend", "adaptive"])
def test_no_peeking_at_the_future(method):
    i0 = 24 * 22 + 7
    changed = SERIES[:i0] + [9999.0] * (len(SERIES) - i0)
    assert offline_values(SERIES, i0, 36, method) == offline_values(changed, i0, 36, method)
    if method == "adaptive":
        assert adaptive_tau(SERIES, i0) == adaptive_tau(changed, i0)


def _daily(i: int) -> float:
    return 200.0 + 80.0 * math.sin(2 * math.pi * (i % 24) / 24)


def test_adaptive_is_exact_on_a_daily_periodic_series():
    x = [_daily(i) for i in range(24 * 40)]
    i0 = 24 * 30 + 5
    assert offline_values(x, i0, 48, "adaptive") == pytest.approx(x[i0: i0 + 48], abs=1e-9)


def test_adaptive_chooses_the_decay_time_from_past_errors():
    # level shifts lasting 5 days: a deviation persists for days, a long decay time forecasts best
    steps = [_daily(i) + (100.0 if (i // 120) % 2 else 0.0) for i in range(24 * 40)]
    tau = adaptive_tau(steps, 24 * 35)
    assert tau >= 48
    # 6-hour bumps every 53 h: a deviation lasts a few hours, the shortest decay time forecasts the shape best
    bumps = [_daily(i) + (100.0 if i % 53 < 6 else 0.0) for i in range(24 * 40)]
    assert adaptive_tau(bumps, 24 * 35) == min(ADAPTIVE_TAUS_H)
    i0 = 24 * 35
    assert offline_values(steps, i0, 30, "adaptive") == offline_values(steps, i0, 30, "blend", tau_h=tau)


def test_bench_vectorised_forecasts_match_the_library(bench):
    import numpy as np

    x = np.array(grid.traces.load_trace("GB").lca)
    for method in ("yesterday", "last-week", "profile", "blend", "adaptive", "actual"):
        f = bench.forecast_matrix(x, 30, method)
        for i0 in (0, 5, 1000, 8759):
            assert f[i0] == pytest.approx(offline_values(list(x), i0, 30, method), rel=1e-9, abs=1e-9)
    small = bench.simulate(x[: 24 * 40], 6, 8)
    assert small["oracle_pct"] >= small["forecast_pct"] and small["oracle_pct"] >= 0
    assert small["pause_resume_oracle_pct"] >= small["oracle_pct"] - 1e-9


def test_bench_synthetic_provider_sensitivity(bench):
    """The synthetic provider-like forecast is the oracle at zero error and loses capture as its error grows."""
    import numpy as np

    x = np.array(grid.traces.load_trace("DE").lca)[: 24 * 60]
    caps = [bench.synthetic_capture(x, sigma, seeds=1) for sigma in (0.0, 0.1, 0.5)]
    assert caps[0] == 1.0
    assert caps[0] > caps[1] > caps[2] > 0
    assert bench.rel_rmse(x, 24, "actual") == 0.0
    assert 0.05 < bench.rel_rmse(x, 24) < 1.0


def test_trace_forecast_labels():
    f = trace_forecast("FR", "2023-05-02T10:30Z", 24, "profile")
    assert f.start % 3600 == 0 and len(f.values) == 24
    assert "as known at 2023-05-02 10:30 UTC" in f.label and not f.extra["typical"]
    t = trace_forecast("FR", "2026-05-02T10:30Z", 24, "profile")
    assert "typical profile from the 2023 trace" in t.label and t.extra["typical"]
    assert t.values == f.values  # the same month/day/hour of the trace year
    a = trace_forecast("DE", "2023-05-02T10:00Z", 3, "actual")
    assert "not a forecast" in a.label
    assert a.values[0] == grid.traces.load_trace("DE").value_at("2023-05-02T10:00Z").g_per_kwh


def test_auto_falls_back_offline_and_live_errors_clearly(monkeypatch):
    f = make_forecast("FR", "2023-02-01T00:00Z", 12, "auto")
    assert f.method == OFFLINE_DEFAULT == "adaptive" and "chosen hourly" in f.label
    with pytest.raises(WattwiseError, match="no live forecast provider"):
        make_forecast("FR", "2023-02-01T00:00Z", 12, "live")


def test_live_provider_adapter(monkeypatch):
    from datetime import datetime, timezone

    import wattwise.grid.providers as providers
    from wattwise.grid.providers import LivePoint

    calls = []

    class HalfHourly:  # like the UK API: one value per half hour
        name = "halfhourly"

        def forecast(self, location):
            calls.append(location.code)
            t0 = 1_700_000_000 - 1_700_000_000 % 3600
            return [LivePoint(datetime.fromtimestamp(t0 + 1800 * i, tz=timezone.utc), 100.0 + i, "lifecycle",
                              "average", "Half API") for i in range(12)]

    monkeypatch.setenv("WATTWISE_GRID_PROVIDER", "halfhourly")
    monkeypatch.setattr(providers, "get_provider", lambda name: HalfHourly())
    f = make_forecast("FR", 1_700_000_000, 6, "auto")
    assert f.method == "live" and calls == ["FR"]
    assert len(f.values) == 6 and f.values[:2] == (100.0, 102.0)  # half-hourly points: the hour's first value


def test_forecast_value_checks():
    with pytest.raises(ValueError):
        Forecast(1800, (1.0,), "x", "x")
    with pytest.raises(ValueError):
        Forecast(3600, (-1.0,), "x", "x")
    f = Forecast(3600, (10.0, 20.0), "x", "x")
    assert f.mean(3600, 3600 * 3) == pytest.approx(15.0)
    with pytest.raises(WattwiseError, match="no forecast"):
        f.value_at(3600 * 5)


class FakeProvider:
    name = "fakeprov"

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail

    def forecast(self, location):
        from datetime import datetime, timezone

        from wattwise.grid.providers import LivePoint

        if self.fail:
            raise WattwiseError("fakeprov: HTTP 503")
        t0 = 1_700_000_000 - 1_700_000_000 % 3600
        return [LivePoint(datetime.fromtimestamp(t0 + 3600 * i, tz=timezone.utc), 50.0 + i, "lifecycle", "average",
                          "Fake API") for i in range(48)]


def test_configured_provider_forecast_and_fallback(monkeypatch):
    import wattwise.grid.providers as providers

    monkeypatch.setenv("WATTWISE_GRID_PROVIDER", "fakeprov")
    monkeypatch.setattr(providers, "get_provider", lambda name: FakeProvider())
    f = make_forecast("DE", 1_700_000_000, 12, "auto")
    assert f.method == "live" and f.values[:2] == (50.0, 51.0) and "fakeprov forecast" in f.label
    assert "Fake API" in f.label
    monkeypatch.setattr(providers, "get_provider", lambda name: FakeProvider(fail=True))
    f = make_forecast("DE", 1_700_000_000, 12, "auto")
    assert f.method == OFFLINE_DEFAULT and "live forecast unavailable: fakeprov: HTTP 503" in f.label
    with pytest.raises(WattwiseError, match="503"):
        make_forecast("DE", 1_700_000_000, 12, "live")


def test_library_and_bench_choose_the_same_start(bench):
    np = pytest.importorskip("numpy")
    from numpy.lib.stride_tricks import sliding_window_view

    from wattwise.schedule import best_window

    tr = grid.traces.load_trace("GB")
    x = np.array(tr.lca)
    d, w = 6, 24
    for method in ("blend", "adaptive"):
        f = bench.forecast_matrix(x, w + d, method)
        k = sliding_window_view(f, d, axis=1).mean(axis=-1).argmin(axis=1)
        for i0 in (400, 3000, 6123):
            t0 = tr.timestamps[i0]
            win = best_window("GB", f"{d}h", t0, t0 + (w + d) * 3600, forecast=method, now=t0)
            assert win.start.timestamp() == t0 + 3600 * int(k[i0])


def test_runner_replans_hourly_like_the_bench(bench):
    """``wattwise run --within`` re-forecasts at every new hour while waiting; the start it reaches equals the
    bench's ``replan_starts`` (and uses, at each hour, only the data before that hour)."""
    import io

    np = pytest.importorskip("numpy")
    from rich.console import Console

    from wattwise.schedule.runner import wait_then_start

    tr = grid.traces.load_trace("DE")
    x = np.array(tr.lca)
    d, w = 3, 12
    want = bench.replan_starts(bench.forecast_matrix(x, w + d, "adaptive"), d, w)
    replanned = 0
    for i0 in (1008, 1500, 4000):  # at 1008 the fresh forecasts start it an hour earlier than the first one
        t = [float(tr.timestamps[i0])]

        def sleep(_s: float, t=t) -> None:
            t[0] += 900.0  # fake time, a quarter of an hour per tick

        out = io.StringIO()
        sched = wait_then_start("DE", within=f"{w}h", duration=f"{d}h", forecast="adaptive", now=t[0],
                                clock=lambda t=t: t[0], sleep=sleep, console=Console(file=out))
        assert sched is not None and sched.start == tr.timestamps[i0] + 3600 * int(want[i0])
        replanned += sched.replans
    assert replanned > 0
    i0 = 1500
    t = [float(tr.timestamps[i0])]
    once = wait_then_start("DE", within=f"{w}h", duration=f"{d}h", forecast="adaptive", now=t[0],
                           clock=lambda: t[0], sleep=lambda _s: t.__setitem__(0, t[0] + 900.0),
                           console=Console(file=io.StringIO()), replan=False)
    f = bench.forecast_matrix(x, w + d, "adaptive")[i0]
    k = int(np.argmin([f[j: j + d].mean() for j in range(w + 1)]))
    assert once is not None and once.replans == 0 and once.start == tr.timestamps[i0] + 3600 * k
