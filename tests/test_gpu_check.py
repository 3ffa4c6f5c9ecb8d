"""bench/gpu_check.py: says why and skips without an NVIDIA GPU; maps NVML names to catalogue devices."""

from __future__ import annotations

import pytest

from tests.bench_loader import load_bench


def test_catalogue_names():
    g = load_bench("gpu_check")
    names = {
        "NVIDIA H100 80GB HBM3": "h100-sxm",
        "NVIDIA A100-SXM4-40GB": "a100-40gb",
        "NVIDIA A100 80GB PCIe": "a100-80gb",
        "NVIDIA H100 PCIe": "h100-pcie",
        "Tesla T4": "t4",
    }
    for nvml_name, dev in names.items():
        assert g.catalogue_device(nvml_name).name == dev
    assert g.catalogue_device("Some Unknown Board") is None
    assert g.trapezoid([(0.0, 100.0), (1.0, 300.0), (3.0, 300.0)]) == pytest.approx(200.0 + 600.0)


def test_skips_cleanly_without_gpu(tmp_path, capsys):
    g = load_bench("gpu_check")
    reason = g.why_no_gpu()
    if reason is None:
        pytest.skip("an NVIDIA GPU is present: run bench/gpu_check.py itself")
    out = tmp_path / "gpu_check.json"
    assert g.main(["--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "skipped" in printed and reason in printed
    assert not out.exists()
