"""What-if rows and equivalents with the optional grid/schedule/equivalents modules plugged in (faked here)."""

from __future__ import annotations

import datetime
import sys
import types
from types import SimpleNamespace

import pytest

import wattwise
from tests.report_fixtures import make_run, new_store
from wattwise import equivalents as everyday
from wattwise.errors import WattwiseError
from wattwise.footprint import Footprint, Intensity
from wattwise.report.data import load_run
from wattwise.report.whatif import whatif_rows

TABLE = {"FR": 50.0, "DE": 400.0, "NO": 30.0}


def _plug(monkeypatch, name: str, module: types.ModuleType) -> None:
    monkeypatch.setitem(sys.modules, f"wattwise.{name}", module)
    monkeypatch.setattr(wattwise, name, module, raising=False)
    monkeypatch.setattr(f"wattwise.report.whatif.{name}", module)


@pytest.fixture()
def fake_grid(monkeypatch):
    grid = types.ModuleType("wattwise.grid")

    def intensity(location, when=None):
        if location not in TABLE:
            raise WattwiseError(f"unknown location {location!r}")
        return Intensity(TABLE[location], f"fake table {location}", location=location)

    def footprint_for(energy, location, samples=None, pue=None, strict=False, duration_s=None, counters=None):
        return Footprint(energy=energy, intensity=intensity(location), duration_s=duration_s,
                         counters=dict(counters or {}))

    grid.intensity = intensity
    grid.footprint_for = footprint_for  # the interface main's accounting uses
    grid.traces = SimpleNamespace(available_zones=lambda: ["DE", "FR"])
    _plug(monkeypatch, "grid", grid)
    sched = types.ModuleType("wattwise.schedule")
    sched.best_window = lambda loc, duration, earliest, deadline, now=None: SimpleNamespace(
        start=datetime.datetime(2026, 11, 24, 2, 0), mean_g_per_kwh=TABLE[loc] * 0.2, now_g_per_kwh=TABLE[loc] * 0.8,
        forecast=SimpleNamespace(label="fake forecast"))
    _plug(monkeypatch, "schedule", sched)


def test_rows_with_grid_and_schedule(tmp_path, fake_grid):
    s = new_store(tmp_path)
    view = load_run(s, make_run(s, location="DE"))
    assert view.fp.intensity.g_per_kwh == 400.0
    region, window, compressed = whatif_rows(view)  # no regions given: the grid's zones
    assert region.label.endswith("FR") and region.change(view.fp.total_kg) == pytest.approx(50 / 400 - 1)
    assert window.change(view.fp.total_kg) == pytest.approx(-0.75) and "2026-11-24 02:00" in window.detail
    assert compressed.co2e_kg is None and "--compressed-run" in compressed.detail
    region, *_ = whatif_rows(view, ["FR", "NO", "PL=900"])
    assert region.label.endswith("NO")
    with pytest.raises(WattwiseError, match="--compare-region 'XX'"):
        whatif_rows(view, ["XX"])
    region, *_ = whatif_rows(view, ["FR=40"])  # explicit intensities need no grid data
    assert region.co2e_kg == pytest.approx(view.fp.facility_kwh * 40 / 1000)


def test_equivalents_have_sources_and_right_scale():
    eq = everyday.equivalents(0.4) + everyday.energy_equivalents(334_880.0)
    assert all(e["source"] for e in eq)
    kettle = next(e for e in eq if "litres" in e["label"])
    assert kettle["value"] == pytest.approx(1.0, rel=1e-3)
    car = next(e for e in eq if "km" in e["label"])
    assert car["value"] == pytest.approx(1.6097, rel=1e-3)
    assert everyday.text(car).startswith("1.6 km")
