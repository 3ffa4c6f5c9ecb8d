"""CPU and RAM model arithmetic."""

from __future__ import annotations

import pytest

from wattwise.footprint import Method
from wattwise.sensors import cpu_model
from wattwise.sensors.cpu_model import CpuModelSensor, default_w_per_thread, lookup, utilisation_share
from wattwise.sensors.ram_model import W_PER_GB, RamModelSensor


def test_curve_points_and_interpolation() -> None:
    assert utilisation_share(0) == pytest.approx(0.12)
    assert utilisation_share(10) == pytest.approx(0.32)
    assert utilisation_share(50) == pytest.approx(0.75)
    assert utilisation_share(100) == pytest.approx(1.02)
    assert utilisation_share(30) == pytest.approx(0.32 + (0.75 - 0.32) * 0.5)
    assert utilisation_share(-5) == pytest.approx(0.12) and utilisation_share(250) == pytest.approx(1.02)


def test_catalogue_rows_have_sources_and_lookup_matches_kernel_names() -> None:
    for _, spec in cpu_model.catalogue():
        assert spec.source.startswith("https://") and spec.tdp_w > 0 and spec.threads >= spec.cores
    spec = lookup("AMD EPYC 7763 64-Core Processor")
    assert spec is not None and spec.tdp_w == 280 and spec.threads == 128
    assert lookup("Intel(R) Xeon(R) Platinum 8380 CPU @ 2.30GHz").tdp_w == 270
    assert lookup("Some Unknown CPU") is None


def test_vm_gets_its_thread_share_not_the_socket_tdp() -> None:
    s = CpuModelSensor("AMD EPYC 7763 64-Core Processor", threads=4)
    assert s.max_watts == pytest.approx(280 / 128 * 4)
    assert s.uncertainty == cpu_model.CATALOGUED_UNCERTAINTY
    u = CpuModelSensor("Mystery CPU", threads=2)
    assert u.max_watts == pytest.approx(default_w_per_thread() * 2)
    assert u.uncertainty == cpu_model.UNKNOWN_UNCERTAINTY and "unknown CPU" in u.source


def test_energy_is_power_at_utilisation_times_time(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = {"t": 100.0}
    times = {"busy": 0.0, "total": 0.0}
    monkeypatch.setattr(cpu_model.time, "monotonic", lambda: clock["t"])
    monkeypatch.setattr(CpuModelSensor, "_cpu_times", staticmethod(lambda: (times["busy"], times["total"])))
    s = CpuModelSensor("AMD EPYC 7763", threads=2)
    s.open()
    clock["t"] += 10.0
    times["busy"], times["total"] = 10.0, 20.0  # 50 % busy
    (c,) = s.read()
    assert c.method is Method.MODELLED
    assert c.joules == pytest.approx(280 / 128 * 2 * 0.75 * 10.0)


def test_process_share_attributes_by_cpu_time(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = {"t": 0.0}
    times = {"busy": 0.0, "total": 0.0, "proc": 0.0}
    monkeypatch.setattr(cpu_model.time, "monotonic", lambda: clock["t"])
    monkeypatch.setattr(CpuModelSensor, "_cpu_times", staticmethod(lambda: (times["busy"], times["total"])))
    monkeypatch.setattr(cpu_model, "_tree_cpu_seconds", lambda pids: times["proc"])
    s = CpuModelSensor("AMD EPYC 7763", threads=2, pids=[1])
    assert not s.node_level
    s.open()
    clock["t"] = 10.0
    times.update(busy=20.0, total=20.0, proc=5.0)  # machine fully busy, our process a quarter of it
    (c,) = s.read()
    assert c.joules == pytest.approx(280 / 128 * 2 * 1.02 * 10.0 * 0.25)


def test_ram_model_uses_w_per_gb(monkeypatch: pytest.MonkeyPatch) -> None:
    from wattwise.sensors import ram_model

    clock = {"t": 0.0}
    monkeypatch.setattr(ram_model.time, "monotonic", lambda: clock["t"])
    s = RamModelSensor(total_bytes=16 * 10**9)
    s.open()
    clock["t"] = 100.0
    (c,) = s.read()
    assert c.joules == pytest.approx(W_PER_GB * 16 * 100)
    assert c.domain == "ram" and c.method is Method.MODELLED
