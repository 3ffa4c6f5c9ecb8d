"""Meter: phases, counters, decorator, restart, live energy, cost of start/stop."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import wattwise
from wattwise.accounting import phase_energy_j
from wattwise.errors import WattwiseError
from wattwise.footprint import Method
from wattwise.sensors.base import Availability, Counter, Sensor
from wattwise.store import open_store


class ClockSensor(Sensor):
    """10 W exactly: joules = 10 x seconds since open (measured, so the arithmetic is checkable)."""

    name = "clock"

    def available(self) -> Availability:
        return Availability(True, "test")

    def open(self) -> None:
        self.t0 = time.monotonic()

    def read(self) -> list[Counter]:
        return [Counter("cpu:0", 10.0 * (time.monotonic() - self.t0), Method.MEASURED, "test", 0.01)]


def busy(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def test_phases_and_counters_split_energy(tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite"
    with wattwise.track("t", interval=0.05, store=store, sensors=[ClockSensor()]) as run:
        with run.phase("train"):
            busy(0.3)
            run.step(tokens=1000)
            with run.phase("eval"):
                busy(0.1)
        run.add(tokens=500, samples=3)
        busy(0.05)
    fp = run.footprint()
    assert fp.it_kwh * 3.6e6 == pytest.approx(10.0 * run.elapsed_s, rel=0.05)
    assert fp.counters == {"tokens": 1500.0, "steps": 1.0, "samples": 3.0}
    assert fp.per("tokens") == pytest.approx(fp.it_kwh * 3.6e6 / 1500)
    s = open_store(store)
    phases = phase_energy_j(s.samples(run.id))
    assert phases["train"] == pytest.approx(4.0, abs=0.5)  # 0.4 s at 10 W, eval included
    assert phases["train/eval"] == pytest.approx(1.0, abs=0.3)
    assert [p.name for p in s.phases(run.id)] == ["train", "train/eval"]
    assert all(p.ended_at for p in s.phases(run.id))
    rec = s.get_run(run.id)
    assert rec.status == "finished"
    # nothing double counted: the sum over samples equals the counter's total
    assert sum(x.joules for x in s.samples(run.id)) == pytest.approx(fp.it_kwh * 3.6e6)


def test_energy_j_is_live(tmp_path: Path) -> None:
    with wattwise.track("live", interval=0.05, store=tmp_path / "s.sqlite", sensors=[ClockSensor()]) as run:
        busy(0.2)
        first = run.energy_j()
        busy(0.2)
        assert run.energy_j() > first > 0


def test_decorator_makes_one_run_per_call(tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite"

    @wattwise.track(interval=0.05, store=store, sensors=[ClockSensor()])
    def work(x: int) -> int:
        busy(0.05)
        return x * 2

    assert work(2) == 4 and work(3) == 6
    runs = open_store(store).list_runs()
    assert len(runs) == 2 and all(r.name.endswith("work") for r in runs)


def test_exception_marks_run_failed_and_run_can_restart(tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite"
    run = wattwise.track("r", interval=0.05, store=store, sensors=[ClockSensor()])
    with pytest.raises(ValueError), run:
        raise ValueError("boom")
    first = run.id
    assert open_store(store).get_run(first).status == "failed"
    with run:  # lifecycle: a stopped run starts again as a new run
        busy(0.05)
    assert run.id != first and open_store(store).get_run(run.id).status == "finished"


def test_bad_arguments_are_clear(tmp_path: Path) -> None:
    with pytest.raises(WattwiseError, match="interval must be > 0"):
        wattwise.track("x", interval=0)
    with wattwise.track("x", interval=0.05, store=tmp_path / "s.sqlite", sensors=[ClockSensor()]) as run:
        with pytest.raises(WattwiseError, match="non-negative"):
            run.add(tokens=-1)
        with pytest.raises(WattwiseError, match="phase name"), run.phase("a/b"):
            pass
        with pytest.raises(WattwiseError, match="already running"):
            run.start()


def test_start_and_stop_are_cheap(tmp_path: Path) -> None:
    costs = []
    for _ in range(5):
        run = wattwise.track("cheap", interval=1.0, store=tmp_path / "s.sqlite")
        t0 = time.perf_counter()
        run.start()
        run.stop()
        costs.append(time.perf_counter() - t0)
    assert sorted(costs)[2] < 0.5, costs  # a sanity bound (a blocked store or sensor read): timings are in bench/


def test_sampler_does_not_block_tracked_code(tmp_path: Path) -> None:
    """A slow sensor read happens in the sampler thread, not in the caller."""

    class Slow(ClockSensor):
        def read(self) -> list[Counter]:
            time.sleep(0.2)
            return super().read()

    with wattwise.track("slow", interval=0.01, store=tmp_path / "s.sqlite", sensors=[Slow()]) as run:
        time.sleep(0.05)  # the sampler is now inside a 0.2 s read
        t0 = time.perf_counter()
        for _ in range(100):
            run.step(tokens=10)
        assert time.perf_counter() - t0 < 0.05
    assert run.counters()["steps"] == 100
