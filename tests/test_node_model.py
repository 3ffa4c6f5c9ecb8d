"""Node model: memory and platform parts, earned intervals, the platform sensor, shadow CPU beside RAPL."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from wattwise.accounting import footprint_from_samples
from wattwise.footprint import Method
from wattwise.sensors import node_model, platform_model, ram_model
from wattwise.sensors.base import SHADOW_CPU
from wattwise.sensors.cpu_model import CpuInfo, CpuModelSensor
from wattwise.sensors.discover import choose_sensors
from wattwise.sensors.platform_model import PlatformModelSensor
from wattwise.sensors.ram_model import RamModelSensor
from wattwise.store.records import SampleRow

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))


def test_shipped_intervals_are_earned_and_asymmetric_sides_are_kept() -> None:
    for kind in ("catalogued", "unknown_cpu"):
        iv = node_model.interval(kind)
        assert -0.6 < iv.low < 0 < iv.high < 1.0
        assert iv.half_width == max(-iv.low, iv.high)
        assert f"{iv.low:+.0%}" in iv.label() and f"{iv.high:+.0%}" in iv.label()
    assert node_model.coefficients()["provenance"]["fitted_by"] == "bench/power_model.py"


def test_parts_add_up_and_platform_carries_psu_losses() -> None:
    c = node_model.coefficients()
    p = node_model.node_power("recent", "ddr4", 280, 2, 512, 0.5, dimms=16)
    base = 2 * c["groups"]["recent"]["platform_w_per_socket"]
    assert p.platform == pytest.approx(base + c["psu_loss"] * (p.cpu + p.ram + base))
    assert p.total == pytest.approx(p.cpu + p.ram + p.platform)
    m = c["memory"]["ddr4"]
    assert p.ram == pytest.approx(m["w_per_gb"] * 512 + m["w_per_dimm"] * 16)


def test_vm_memory_is_its_gb_and_its_socket_share_of_dimms(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = {"t": 0.0}
    monkeypatch.setattr(ram_model.time, "monotonic", lambda: clock["t"])
    vm = CpuModelSensor(threads=2, info=CpuInfo("AMD EPYC 7B13", "AuthenticAMD", 25, 1, 1, True))
    dimms = vm.cpu.dimms
    assert dimms == pytest.approx(2 / 128 * node_model.dimms_per_socket("zen3", 8))
    s = RamModelSensor(total_bytes=16 * 10**9, memory=vm.cpu.memory, catalogued=True, dimms=dimms)
    s.open()
    clock["t"] = 100.0
    (c,) = s.read()
    assert c.joules == pytest.approx(node_model.ram_watts("ddr4", 16, dimms) * 100)
    assert c.domain == "ram" and c.method is Method.MODELLED and c.uncertainty == node_model.interval().half_width


def test_platform_sensor_is_base_plus_psu_share_of_cpu_and_ram(monkeypatch: pytest.MonkeyPatch) -> None:
    from wattwise.sensors import cpu_model

    clock = {"t": 0.0}
    times = {"busy": 0.0, "total": 0.0}
    for mod in (cpu_model, ram_model, platform_model):
        monkeypatch.setattr(mod.time, "monotonic", lambda: clock["t"])
    monkeypatch.setattr(CpuModelSensor, "_cpu_times", staticmethod(lambda: (times["busy"], times["total"])))
    cpu = CpuModelSensor(threads=64, info=CpuInfo("Intel Xeon Platinum 8180", "GenuineIntel", 6, 85, 1, False))
    ram = RamModelSensor(total_bytes=96 * 10**9, memory="ddr4", catalogued=True, dimms=6)
    s = PlatformModelSensor(cpu=cpu, ram=ram)
    s.open()
    clock["t"] = 10.0
    times.update(busy=5.0, total=10.0)
    (c,) = s.read()
    cpu_j = cpu.watts(50) * 10
    ram_j = node_model.ram_watts("ddr4", 96, 6) * 10
    base = s.base_w * 10
    assert c.domain == "platform" and c.method is Method.MODELLED
    assert c.joules == pytest.approx(base + s.psu_loss * (cpu_j + ram_j + base))


def test_discovery_adds_platform_and_shadows_rapl_with_the_model(tmp_path: Path) -> None:
    used = [s.name for s in choose_sensors(rapl_root=tmp_path / "none").sensors]
    assert {"cpu-model", "ram-model", "platform-model"} <= set(used) and "cpu-model-shadow" not in used
    z = tmp_path / "intel-rapl:0"
    z.mkdir()
    (z / "name").write_text("package-0\n")
    (z / "energy_uj").write_text("0\n")
    used = [s.name for s in choose_sensors(rapl_root=tmp_path).sensors]
    assert "rapl" in used and "cpu-model" not in used and {"cpu-model-shadow", "platform-model"} <= set(used)


def test_shadow_cpu_is_stored_but_never_totalled() -> None:
    def row(domain: str, j: float, method: str) -> SampleRow:
        return SampleRow("r", 0.0, 10.0, domain, j, method, "x", 0.05)

    samples = [row("cpu:0", 100.0, "measured"), row(SHADOW_CPU, 80.0, "modelled"), row("platform", 20.0, "modelled")]
    fp = footprint_from_samples(samples, g_per_kwh=100.0)
    assert {d.domain for d in fp.energy} == {"cpu:0", "platform"}
    assert fp.it_kwh * 3.6e6 == pytest.approx(120.0)
    assert any("model / counter = 0.80" in n for n in fp.notes)


def _synthetic_servers(coeffs: dict) -> list:
    import power_model as pm
    from wattwise.sensors import cpu_model

    servers = []
    for i, (name, chips, gb, dimms) in enumerate([
        ("Intel Xeon X5670", 2, 12, 6), ("Intel Xeon X5670", 1, 24, 6), ("Intel Xeon E5-2660", 2, 32, 8),
        ("Intel Xeon E5-2470", 2, 48, 12), ("Intel Xeon E5-2699 v4", 2, 64, 8), ("Intel Xeon E5-2699 v3", 2, 128, 8),
        ("Intel Xeon Platinum 8180", 2, 192, 12), ("Intel Xeon Gold 6140", 2, 384, 24),
        ("AMD EPYC 7601", 2, 128, 16), ("AMD EPYC 7351", 1, 64, 8), ("Intel Xeon L5420", 2, 8, 4),
        ("AMD Opteron 2384", 2, 16, 8), ("Intel Xeon E5-4650", 4, 128, 32), ("AMD Opteron 6276", 2, 64, 16),
        ("Intel Xeon Platinum 8176", 4, 384, 48), ("AMD EPYC 7501", 2, 256, 32), ("Intel Xeon E5345", 2, 8, 4),
        ("AMD Opteron 6174", 4, 96, 24), ("Intel Xeon E5-2640", 1, 16, 4), ("Intel Xeon L5530", 2, 24, 6)]):
        spec = cpu_model.lookup(name)
        s = pm.Server(str(i), f"v{i % 5}-{2008 + i % 7}", 2008 + i % 7, name, chips, spec.cores * chips,
                      spec.threads * chips, gb, dimms, "", spec, True, spec.generation,
                      cpu_model.generation_median(spec.generation), [])
        s.watts = pm.predict(coeffs, s, use_dimms=True)
        servers.append(s)
    return servers


def test_bench_fit_recovers_the_wall_power_of_servers_made_from_known_coefficients() -> None:
    import power_model as pm

    truth = pm.fit_coefficients(_synthetic_servers(node_model.coefficients()))  # a consistent set of coefficients
    servers = _synthetic_servers(truth)
    fitted = pm.fit_coefficients(servers)
    err = pm.rel_errors(fitted, servers, use_dimms=True, unknown=False)
    assert abs(err).max() < 0.03
    assert pm.summary(err)["overall"]["median_abs_error"] < 0.01
