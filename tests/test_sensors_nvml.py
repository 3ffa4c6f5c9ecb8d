"""NVML sensor against a fake NVML: energy-counter GPUs, power-only GPUs, CUDA_VISIBLE_DEVICES, MIG."""

from __future__ import annotations

import time

import pytest

from tests.fake_nvml import FakeGpu, make_nvml
from wattwise.footprint import Method
from wattwise.meter import Run
from wattwise.sensors.nvml import NvmlSensor


def test_energy_counter_gpus_are_measured_per_gpu() -> None:
    gpus = [FakeGpu(0, "NVIDIA H100", True, 1_000_000), FakeGpu(1, "NVIDIA H100", True, 5_000_000)]
    s = NvmlSensor(make_nvml(gpus), visible="")  # "" hides every GPU, like CUDA
    assert not s.available().ok
    s = NvmlSensor(make_nvml(gpus), visible=None)
    s.visible = None
    assert s.available().ok
    s.open()
    gpus[0].energy_mj += 250_000  # 250 J
    gpus[1].energy_mj += 1_000
    got = {c.domain: c for c in s.read()}
    assert got["gpu:0"].joules == pytest.approx(250.0)
    assert got["gpu:1"].joules == pytest.approx(1.0)
    assert got["gpu:0"].method is Method.MEASURED and got["gpu:0"].source == "nvml-energy-counter"


def test_power_only_gpu_integrates_power_samples() -> None:
    g = FakeGpu(0, "Tesla K80", counter=False, power_mw=100_000)
    s = NvmlSensor(make_nvml([g]), visible="0")
    assert "power sampling" in s.available().reason
    s.open()
    time.sleep(0.2)
    g.power_mw = 300_000
    c = s.read()[0]
    # trapezoid between 100 W and 300 W over ~0.2 s = ~40 J, never 0 (CodeCarbon reads 0 here)
    assert 30 < c.joules < 80
    assert c.source == "nvml-power-sampling" and c.uncertainty > 0.05


def test_cuda_visible_devices_selects_gpus_by_index_and_uuid() -> None:
    gpus = [FakeGpu(i, "A100", True) for i in range(4)]
    s = NvmlSensor(make_nvml(gpus), visible="2,GPU-0003")
    s.open()
    assert [c.domain for c in s.read()] == ["gpu:2", "gpu:3"]
    s = NvmlSensor(make_nvml(gpus), visible="1,-1,3")  # CUDA stops at the first invalid index
    s.open()
    assert [c.domain for c in s.read()] == ["gpu:1"]


def test_mig_instances_read_parent_gpu_once() -> None:
    g = FakeGpu(0, "A100", True, migs=["MIG-a", "MIG-b"])
    s = NvmlSensor(make_nvml([g]), visible="MIG-a,MIG-b")
    assert s.available().ok
    s.open()
    g.energy_mj += 10_000
    (c,) = s.read()
    assert c.domain == "gpu:0" and c.joules == pytest.approx(10.0) and "MIG" in c.source


def test_no_library_or_bad_env_is_not_available_with_reason() -> None:
    s = NvmlSensor(make_nvml([]))
    s.nvml = None  # as when nvidia-ml-py is missing
    assert "not installed" in s.available().reason
    s = NvmlSensor(make_nvml([], fail_init=RuntimeError("NVML Shared Library Not Found")))
    a = s.available()
    assert not a.ok and "Library Not Found" in a.reason
    s = NvmlSensor(make_nvml([FakeGpu(0, "A100", True)]), visible="banana")
    assert not s.available().ok


def test_meter_records_gpu_energy_from_fake_nvml(tmp_path) -> None:
    g = FakeGpu(0, "H100", True)
    sensor = NvmlSensor(make_nvml([g]), visible="0")
    with Run("gpu", interval=0.05, store=tmp_path / "s.sqlite", sensors=[sensor]) as run:
        for _ in range(5):
            g.energy_mj += 20_000  # 20 J
            time.sleep(0.03)
    fp = run.footprint()
    (d,) = fp.energy
    assert d.domain == "gpu:0" and d.method is Method.MEASURED
    assert d.joules == pytest.approx(100.0)
    assert fp.measured_share == 1.0
