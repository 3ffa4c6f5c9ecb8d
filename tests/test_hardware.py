"""Hardware catalogue: coverage, sources, lookup and close-match errors."""

from __future__ import annotations

import pytest

from wattwise.errors import NotFoundError, WattwiseError
from wattwise.hardware import all_devices, lookup, names

REQUIRED = [
    "v100",
    "a100-40gb",
    "a100-80gb",
    "h100-sxm",
    "h100-pcie",
    "h200",
    "b200",
    "l4",
    "t4",
    "a10g",
    "rtx-4090",
    "mi250x",
    "mi300x",
    "tpu-v3",
    "tpu-v4",
    "tpu-v5e",
    "tpu-v5p",
    "gaudi2",
    "inferentia2",
    "trainium",
]


def test_catalogue_covers_the_issue_list_and_cpus():
    have = set(names())
    assert set(REQUIRED) <= have
    assert sum(1 for d in all_devices() if d.kind == "cpu") >= 3


def test_every_row_has_a_source_and_sane_numbers():
    for d in all_devices():
        assert d.spec_source.strip(), d.name
        assert d.verified.strip(), d.name
        if d.tdp_w is not None:
            assert 10 < d.tdp_w < 2000, d.name
        if d.kind != "cpu":
            assert d.peak_tflops and d.peak_tflops > 0, d.name
            assert d.memory_gb and d.memory_gb > 0, d.name
        if d.embodied_kg is not None:
            assert d.embodied_method and d.embodied_source, d.name
        if d.host_w:
            assert d.host_source, d.name


def test_lookup_by_alias_case_and_vendor_prefix():
    assert lookup("A100-80GB").name == "a100-80gb"
    assert lookup("nvidia h100").name == "h100-sxm"
    assert lookup("TPUv4").name == "tpu-v4"
    assert lookup("a100").name == "a100-40gb"


def test_unknown_hardware_suggests_close_matches():
    with pytest.raises(NotFoundError) as exc:
        lookup("a100-80g")
    assert "a100-80gb" in (exc.value.hint or "")
    with pytest.raises(WattwiseError):
        lookup("  ")


def test_missing_tdp_asks_for_device_power():
    dev = lookup("tpu-v5p")
    with pytest.raises(WattwiseError) as exc:
        dev.require_tdp()
    assert "--device-power" in (exc.value.hint or "")
