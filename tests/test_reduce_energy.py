"""The lab's energy function: measured through wattwise.track when present, else a labelled model."""

from __future__ import annotations

import contextlib
from types import SimpleNamespace

import wattwise
from wattwise.footprint import DomainEnergy, Footprint, Method
from wattwise.reduce import energy


def _spin() -> int:
    return sum(i * i for i in range(200_000))


def test_fallback_is_labelled_modelled(monkeypatch) -> None:
    monkeypatch.setenv("WATTWISE_REDUCE_MODEL_ENERGY", "1")
    r = energy.measure_energy(_spin)
    assert r.method == "modelled" and "CPU time" in r.source
    assert r.value == _spin() and r.joules > 0 and r.cpu_seconds > 0
    assert r.joules == r.cpu_seconds * energy.w_per_core()


def test_uses_wattwise_track(monkeypatch) -> None:
    monkeypatch.delenv("WATTWISE_REDUCE_MODEL_ENERGY", raising=False)
    fp = Footprint([DomainEnergy("cpu", 2e-6, Method.MEASURED, "rapl")])

    @contextlib.contextmanager
    def fake_track(name, interval=1.0, **_):
        yield SimpleNamespace(footprint=lambda: fp)

    monkeypatch.setattr(wattwise, "track", fake_track, raising=False)
    r = energy.measure_energy(_spin)
    assert r.method == "measured" and "rapl" in r.source
    assert abs(r.joules - 7.2) < 1e-9
