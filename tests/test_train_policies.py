"""Budgets, energy-aware early stopping, forecast arithmetic and the plain-loop monitor, with fake meters."""

from __future__ import annotations

import math
import warnings

import pytest

from wattwise.errors import WattwiseError
from wattwise.footprint import J_PER_KWH
from wattwise.train import (
    BudgetWarning,
    EnergyAwareEarlyStopping,
    EnergyBudget,
    RunForecaster,
    TrainingMonitor,
)


class FakeMeter:
    """Energy that grows by ``per_call`` joules each time a step is taken."""

    def __init__(self) -> None:
        self.j = 0.0

    def __call__(self) -> float:
        return self.j


# --------------------------------------------------------------------------------------------- budget
def test_budget_warns_at_80_then_stops_and_saves() -> None:
    m = FakeMeter()
    saved: list[float] = []
    b = EnergyBudget(m, limit_kwh=1.0, on_limit=lambda ev: saved.append(ev.fraction))
    b.start()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        stops = []
        for _ in range(12):
            m.j += 0.1 * J_PER_KWH
            stops.append(b.check())
    kinds = [e.kind for e in b.events]
    assert kinds == ["warn", "limit"]
    assert b.events[0].fraction == pytest.approx(0.8)
    assert stops.index(True) == 9  # the 10th step reaches 100 %
    assert saved == [pytest.approx(1.0)]
    assert sum(issubclass(w.category, BudgetWarning) for w in caught) == 2


def test_budget_warn_only_and_carbon_limit() -> None:
    m = FakeMeter()
    # 100 g at 500 g/kWh and PUE 2 -> 0.1 kWh IT energy
    b = EnergyBudget(m, limit_g=100, intensity_g_per_kwh=500, pue=2.0, action="warn")
    assert b.limit_j == pytest.approx(0.1 * J_PER_KWH)
    m.j = 0.2 * J_PER_KWH
    with pytest.warns(BudgetWarning, match="warn only"):
        assert b.check() is False
    assert b.exceeded
    both = EnergyBudget(m, limit_kwh=0.05, limit_g=100, intensity_g_per_kwh=500)
    assert both.limit_j == pytest.approx(0.05 * J_PER_KWH)  # tightest limit wins


def test_budget_baseline_and_bad_input() -> None:
    m = FakeMeter()
    m.j = 5 * J_PER_KWH
    b = EnergyBudget(m, limit_kwh=1.0)
    b.start()
    assert b.fraction() == 0
    with pytest.raises(WattwiseError):
        EnergyBudget(m)
    with pytest.raises(WattwiseError, match="did you mean"):
        EnergyBudget(m, limit_kwh=1, action="stopp")
    with pytest.raises(WattwiseError):
        EnergyBudget(m, limit_kwh=-1)


# ------------------------------------------------------------------------------------- early stopping
def curve(n: int) -> list[float]:
    """A loss curve that improves fast then flattens: 3 + 2·exp(-i/5)."""
    return [3 + 2 * math.exp(-i / 5) for i in range(n)]


def test_early_stopping_on_gain_per_kwh() -> None:
    m = FakeMeter()
    es = EnergyAwareEarlyStopping(m, min_gain_per_kwh=0.05, window=3, patience=None)
    es.start()
    stop_at = None
    for i, loss in enumerate(curve(60)):
        m.j += 1.0 * J_PER_KWH  # 1 kWh per evaluation interval
        if es.update(i, loss):
            stop_at = i
            break
    assert stop_at is not None
    # gain over the last 3 evals per kWh (3 kWh) first falls below 0.05 at the first i where it is < 0.15
    rates = [(curve(60)[i - 3] - curve(60)[i]) / 3 for i in range(3, 60)]
    expected = next(i for i, r in zip(range(3, 60), rates, strict=False) if r < 0.05)
    assert stop_at == expected
    rep = es.report(planned_j=60 * J_PER_KWH)
    assert rep["stopped"] and rep["used_kwh"] == pytest.approx(stop_at + 1)
    assert rep["saved_fraction"] == pytest.approx(1 - (stop_at + 1) / 60)


def test_early_stopping_relative_rate_and_patience() -> None:
    m = FakeMeter()
    es = EnergyAwareEarlyStopping(m, min_rate_fraction=0.1, window=2, patience=None)
    for i, loss in enumerate(curve(60)):
        m.j += 100.0
        if es.update(i, loss):
            break
    assert es.stopped and "of the best rate" in (es.reason or "")
    best_rate = max(r.rate_per_kwh for r in es.history if r.rate_per_kwh is not None)
    assert es.history[-1].rate_per_kwh < 0.1 * best_rate

    m2 = FakeMeter()
    classic = EnergyAwareEarlyStopping(m2, patience=3)
    losses = [2.0, 1.5, 1.4, 1.45, 1.41, 1.42]
    results = []
    for i, v in enumerate(losses):
        m2.j += 1
        results.append(classic.update(i, v))
    assert results == [False, False, False, False, False, True]
    assert "no improvement in 3" in (classic.reason or "")
    assert classic.update(9, 0.1) is True  # stays stopped


def test_early_stopping_max_mode_and_errors() -> None:
    m = FakeMeter()
    es = EnergyAwareEarlyStopping(m, mode="max", patience=2)
    for i, acc in enumerate([0.5, 0.6, 0.6, 0.59]):
        m.j += 1
        es.update(i, acc)
    assert es.stopped and es.report()["best"] == 0.6
    with pytest.raises(WattwiseError):
        EnergyAwareEarlyStopping(m, window=0)
    with pytest.raises(WattwiseError):
        EnergyAwareEarlyStopping(m, mode="up")


# ------------------------------------------------------------------------------------------- forecast
def test_forecast_constant_rate_is_exact() -> None:
    f = RunForecaster(1000, warmup_steps=10, intensity_g_per_kwh=400, pue=1.5)
    f.observe(0, 0.0, 0.0)
    # warm-up: expensive first steps, then exactly 2 J and 0.1 s per step
    for s in range(1, 11):
        f.observe(s, 50.0 * s, 1.0 * s)
    assert f.forecast() is None
    for s in range(11, 101):
        f.observe(s, 500 + 2.0 * (s - 10), 10 + 0.1 * (s - 10))
    fc = f.forecast()
    assert fc is not None
    assert fc.j_per_step == pytest.approx(2.0)
    assert fc.energy_j == pytest.approx(500 + 2.0 * 990)
    assert fc.seconds == pytest.approx(10 + 0.1 * 990)
    assert fc.energy_low_j == pytest.approx(fc.energy_j) and fc.energy_high_j == pytest.approx(fc.energy_j)
    assert fc.co2_g == pytest.approx(fc.energy_j / J_PER_KWH * 1.5 * 400)
    assert f.first_at(0.05).at_step == 50


def test_forecast_interval_covers_noisy_truth() -> None:
    import random

    rng = random.Random(1)
    total = 2000
    inc = [max(0.0, rng.gauss(3.0, 1.0)) for _ in range(total)]
    f = RunForecaster(total, warmup_steps=0)
    f.observe(0, 0.0, 0.0)
    e = 0.0
    for s in range(1, 201):
        e += inc[s - 1]
        f.observe(s, e, s * 0.1)
    fc = f.forecast()
    truth = sum(inc)
    assert abs(fc.energy_j / truth - 1) < 0.05
    assert fc.energy_low_j <= truth <= fc.energy_high_j
    assert fc.energy_high_j - fc.energy_low_j > 0


def test_no_forecast_before_the_meter_reports_energy() -> None:
    f = RunForecaster(120, warmup_steps=2)
    f.observe(0, 0.0, 0.0)
    for s in range(1, 14):  # a fast start: 13 steps before the meter's first sample
        f.observe(s, 0.0, 0.01 * s)
    assert f.forecast() is None and f.first_at(0.1) is None
    for s in range(14, 30):
        f.observe(s, 0.5 * (s - 13), 0.01 * s)
    fc = f.first_at(0.1)
    assert fc is not None and fc.energy_j > 0


def test_forecast_per_epoch_and_errors() -> None:
    f = RunForecaster(10, warmup_steps=1)  # epochs
    for ep, e in enumerate([0, 120, 220, 320, 420]):
        f.observe(ep, float(e), ep * 60.0)
    fc = f.forecast()
    assert fc.energy_j == pytest.approx(420 + 6 * 100)
    assert fc.seconds == pytest.approx(240 + 6 * 60)
    with pytest.raises(WattwiseError):
        f.observe(3, 1.0, 1.0)
    with pytest.raises(WattwiseError):
        RunForecaster(0)


# -------------------------------------------------------------------------------------------- monitor
def test_monitor_plain_loop_budget_forecast_and_summary() -> None:
    m = FakeMeter()
    clock = iter(range(10_000)).__next__
    with TrainingMonitor(
        "loop", energy_j=m, total_steps=100, budget_kwh=50 / J_PER_KWH * 1000, clock=lambda: float(clock())
    ) as mon:
        steps = 0
        for _ in range(100):
            m.j += 10.0
            steps += 1
            if mon.step(tokens=128):
                break
    # budget 50 kJ at 10 J per step -> stops at step... 5000 steps > 100; so never stops
    assert steps == 100 and not mon.should_stop
    s = mon.summary()
    assert s["tokens"] == 12_800 and s["energy_kwh"] == pytest.approx(1000 / J_PER_KWH)
    assert s["forecast"]["energy_j"] == pytest.approx(1000.0)
    assert mon.log_fields()["energy_j_per_step"] == pytest.approx(10.0)


def test_monitor_stops_on_budget_and_early_stopping() -> None:
    m = FakeMeter()
    mon = TrainingMonitor("b", energy_j=m, total_steps=100, budget_kwh=100 / J_PER_KWH).start()
    n = 0
    with pytest.warns(BudgetWarning):
        while not mon.step():
            m.j += 10.0
            n += 1
    assert n == 10 and "budget" in (mon.stop_reason or "")
    m2 = FakeMeter()
    mon2 = TrainingMonitor("e", energy_j=m2, total_steps=50, early_stopping={"patience": 2}).start()
    for i, v in enumerate([3.0, 2.0, 2.1, 2.2]):
        m2.j += 5
        stop = mon2.evaluate(v, step=i)
    assert stop and mon2.summary()["early_stopping"]["stopped"]


def test_monitor_step_answers_only_for_the_budget() -> None:
    m = FakeMeter()
    mon = TrainingMonitor("x", energy_j=m, total_steps=20, early_stopping={"patience": 1}).start()
    m.j += 1
    mon.evaluate(2.0)
    assert mon.evaluate(2.5) is True and mon.should_stop
    assert mon.step() is False  # early stopping must not cut a cool-down short through step()


def test_monitor_intensity_from_location_config_or_given(monkeypatch) -> None:
    import wattwise.grid as grid
    from wattwise.footprint import WORLD_AVERAGE

    fr = grid.intensity("FR").g_per_kwh
    mon = TrainingMonitor("fr", energy_j=FakeMeter(), location="FR", budget_g=1.0).start()
    assert mon.intensity.g_per_kwh == fr and mon.intensity.location == "FR"
    assert mon.co2_g(J_PER_KWH) == pytest.approx(fr)  # 1 kWh at PUE 1
    assert mon.budget is not None and mon.budget.g_per_it_kwh() == fr
    assert TrainingMonitor("w", energy_j=FakeMeter()).intensity == WORLD_AVERAGE
    monkeypatch.setenv("WATTWISE_LOCATION", "DE")
    assert TrainingMonitor("cfg", energy_j=FakeMeter()).intensity.location == "DE"
    assert TrainingMonitor("given", energy_j=FakeMeter(), intensity=12.0, location="FR").intensity.g_per_kwh == 12.0
    with pytest.raises(WattwiseError, match="unknown location 'Atlantis'"):
        TrainingMonitor("bad", energy_j=FakeMeter(), location="Atlantis")


def test_monitor_records_its_run_at_the_location() -> None:
    with TrainingMonitor("loc", location="FR") as mon:
        mon.step(tokens=4)
    assert mon.run.location == "FR"
    assert mon.footprint is not None and mon.footprint.intensity.location == "FR"
    # the monitor's CO2 (budgets, forecast, model card) is the run footprint's, at the same intensity and PUE
    fp = mon.footprint
    assert mon.intensity == fp.intensity
    assert mon.co2_g(fp.it_kwh * J_PER_KWH) == pytest.approx(fp.operational_kg * 1000)
