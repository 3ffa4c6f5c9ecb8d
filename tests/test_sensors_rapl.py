"""RAPL sensor against fake powercap trees built in tmp dirs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from wattwise.footprint import Method
from wattwise.sensors.discover import choose_sensors
from wattwise.sensors.rapl import RaplSensor


def zone(root: Path, name: str, label: str, uj: int, max_uj: int = 2**32) -> Path:
    z = root / name
    z.mkdir(parents=True)
    (z / "name").write_text(label + "\n")
    (z / "energy_uj").write_text(f"{uj}\n")
    (z / "max_energy_range_uj").write_text(f"{max_uj}\n")
    return z


def set_uj(z: Path, uj: int) -> None:
    (z / "energy_uj").write_text(f"{uj}\n")


def by_domain(sensor: RaplSensor) -> dict[str, float]:
    return {c.domain: c.joules for c in sensor.read()}


def test_two_sockets_package_and_dram_no_double_counting(tmp_path: Path) -> None:
    p0 = zone(tmp_path, "intel-rapl:0", "package-0", 1_000_000)
    core = zone(p0, "intel-rapl:0:0", "core", 500_000)
    dram0 = zone(p0, "intel-rapl:0:1", "dram", 100_000)
    p1 = zone(tmp_path, "intel-rapl:1", "package-1", 2_000_000)
    psys = zone(tmp_path, "intel-rapl:2", "psys", 9_000_000)
    mmio = zone(tmp_path, "intel-rapl-mmio:0", "package-0", 5_000_000)
    s = RaplSensor(tmp_path)
    assert s.available().ok
    s.open()
    set_uj(p0, 4_000_000)  # +3 J
    set_uj(core, 2_500_000)  # inside the package: never added
    set_uj(dram0, 600_000)  # +0.5 J
    set_uj(p1, 3_000_000)  # +1 J
    set_uj(psys, 99_000_000)  # platform total: never added
    set_uj(mmio, 8_000_000)  # duplicate of the package: never added
    got = by_domain(s)
    assert got == pytest.approx({"cpu:0": 3.0, "dram:0": 0.5, "cpu:1": 1.0})
    assert all(c.method is Method.MEASURED and c.source == "rapl" for c in s.read())


def test_wraparound_uses_max_energy_range(tmp_path: Path) -> None:
    p0 = zone(tmp_path, "intel-rapl:0", "package-0", 990_000, max_uj=1_000_000)
    s = RaplSensor(tmp_path)
    s.open()
    set_uj(p0, 10_000)  # wrapped: 10_000 uJ to the top + 10_000 after it
    assert by_domain(s)["cpu:0"] == pytest.approx(0.02)
    set_uj(p0, 510_000)
    assert by_domain(s)["cpu:0"] == pytest.approx(0.52)  # cumulative


def test_missing_domains_and_no_powercap(tmp_path: Path) -> None:
    assert not RaplSensor(tmp_path / "absent").available().ok
    (tmp_path / "empty").mkdir()
    a = RaplSensor(tmp_path / "empty").available()
    assert not a.ok and "no RAPL package zones" in a.reason
    zone(tmp_path / "nodram", "intel-rapl:0", "package-0", 0)  # no dram sub-zone
    s = RaplSensor(tmp_path / "nodram")
    s.open()
    assert [c.domain for c in s.read()] == ["cpu:0"]
    sel = choose_sensors(rapl_root=tmp_path / "nodram")
    used = [s.name for s in sel.sensors]
    assert "rapl" in used and "cpu-model" not in used and "ram-model" in used  # RAM modelled: no DRAM counter


def test_dram_counter_replaces_ram_model(tmp_path: Path) -> None:
    p0 = zone(tmp_path, "intel-rapl:0", "package-0", 0)
    zone(p0, "intel-rapl:0:0", "dram", 0)
    used = [s.name for s in choose_sensors(rapl_root=tmp_path).sensors]
    assert "rapl" in used and "ram-model" not in used and "cpu-model" not in used


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_permission_denied_falls_back_with_a_notice(tmp_path: Path) -> None:  # pragma: no cover - non-root only
    p0 = zone(tmp_path, "intel-rapl:0", "package-0", 0)
    (p0 / "energy_uj").chmod(0)
    sel = choose_sensors(rapl_root=tmp_path)
    assert "cpu-model" in [s.name for s in sel.sensors]
    assert any("chmod" in n for n in sel.notices)


def test_permission_denied_reason_via_access(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    zone(tmp_path, "intel-rapl:0", "package-0", 0)
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    sel = choose_sensors(rapl_root=tmp_path)
    names = [s.name for s in sel.sensors]
    assert "rapl" not in names and "cpu-model" in names
    assert sel.notices and "permission denied" in sel.notices[0] and "chmod" in sel.notices[0]
