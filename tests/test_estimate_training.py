"""Training estimates: FLOPs, planning and accounting modes, power, embodied, Footprint output."""

from __future__ import annotations

import pytest

import wattwise
from wattwise.errors import WattwiseError
from wattwise.estimate import estimate, estimate_training, flops
from wattwise.estimate import location as where
from wattwise.footprint import Footprint, Intensity, Method


def test_flops_formulas():
    assert flops.training_flops(7e9, 2e12) == pytest.approx(8.4e22)
    moe = flops.training_flops(600e9, 1e12, active_params=2e9)
    assert moe == pytest.approx(6 * 2e9 * 1e12)
    assert flops.training_flops(11e9, 1e12, architecture="encoder-decoder") == pytest.approx(3 * 11e9 * 1e12)
    with_attn = flops.training_flops(1e9, 1e9, n_layers=24, seq_len=2048, d_model=2048)
    assert with_attn == pytest.approx(6e18 + 3 * 2 * 24 * 2048 * 2048 * 1e9)
    assert flops.inference_flops_per_token(7e9) == 14e9
    with pytest.raises(WattwiseError):
        flops.training_flops(1e9, 1e9, active_params=2e9)
    with pytest.raises(WattwiseError):
        flops.training_flops(1e9, 1e9, architecture="rnn")


def test_planning_device_hours_and_energy():
    e = estimate_training(
        params="7B", tokens="2T", hardware="a100-80gb", devices=1024, mfu=0.4, intensity=400, pue=1.1
    )
    hours = 8.4e22 / (312e12 * 0.4) / 3600
    assert e.mode == "planning"
    assert e.device_hours.central == pytest.approx(hours)
    assert e.wall_days == pytest.approx(hours / 1024 / 24)
    power = 0.76 * (400 + 412.5)
    assert e.power.total.central == pytest.approx(power)
    fp = e.footprint
    assert isinstance(fp, Footprint)
    assert all(d.method is Method.MODELLED for d in fp.energy)
    assert fp.facility_kwh == pytest.approx(hours * power / 1000 * 1.1)
    assert fp.operational_kg == pytest.approx(fp.facility_kwh * 0.4)
    lo, hi = fp.range_kg
    assert lo <= fp.total_kg <= hi
    assert fp.embodied_kg > 0 and fp.counters["flops"] == pytest.approx(8.4e22)


def test_default_mfu_range_widens_device_hours():
    e = estimate_training(params="7B", tokens="2T", hardware="h100-sxm", intensity=100, pue=1.1)
    dh = e.device_hours
    assert dh.low < dh.central < dh.high
    assert "Llama 3" in e.mfu.source


def test_accounting_tdp_basis_reproduces_paper_bookkeeping():
    # BLOOM: 1,082,990 GPU-hours x 400 W = 433,196 kWh (Luccioni et al. 2023)
    e = estimate_training(
        device_hours=1_082_990, hardware="a100-80gb", power_basis="tdp", intensity=57, pue=1.0
    )
    assert e.mode == "accounting"
    assert e.footprint.it_kwh == pytest.approx(433_196, rel=1e-6)
    assert e.footprint.operational_kg == pytest.approx(24_692, rel=1e-3)


def test_device_power_override_and_unknown_tdp():
    with pytest.raises(WattwiseError, match="TDP"):
        estimate_training(device_hours=1000, hardware="tpu-v5p", intensity=100, pue=1.1)
    e = estimate_training(device_hours=1000, hardware="tpu-v5p", device_power_w=300, intensity=100, pue=1.1)
    assert e.footprint.it_kwh == pytest.approx(300)


def test_api_returns_footprint_lazily_from_package():
    fp = wattwise.estimate(params="1B", tokens="20B", hardware="l4", intensity=50, pue=1.2)
    assert isinstance(fp, Footprint)
    assert estimate(
        params="1B", tokens="20B", hardware="l4", intensity=50, pue=1.2
    ).total_kg == pytest.approx(fp.total_kg)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"params": "0", "tokens": "2T"},
        {"params": "-7B", "tokens": "2T"},
        {"params": "7B", "tokens": "2X"},
        {"params": "7B", "tokens": "2T", "mfu": 1.5},
        {"params": "7B", "tokens": "2T", "mfu": 0},
        {"params": "7B"},
        {"params": "7B", "tokens": "2T", "pue": 0.9},
        {"params": "7B", "tokens": "2T", "devices": 0},
        {"params": "7B", "tokens": "2T", "power_basis": "magic"},
        {"device_hours": "-1"},
    ],
)
def test_bad_input_is_a_clear_error(kwargs):
    with pytest.raises(WattwiseError):
        estimate_training(hardware="a100-80gb", intensity=100, **kwargs)


def test_planning_refuses_cpu_without_peak():
    with pytest.raises(WattwiseError, match="throughput"):
        estimate_training(params="1B", tokens="1B", hardware="epyc-9654", intensity=100, pue=1.1)


def test_location_uses_grid_lookup_when_available(monkeypatch):
    monkeypatch.setattr(
        where, "grid_lookup", lambda loc: (Intensity(123.0, "fake grid", location=loc), (1.09, "fake pue"))
    )
    e = estimate_training(params="7B", tokens="2T", hardware="a100-80gb", location="gcp:x")
    assert e.footprint.intensity.g_per_kwh == 123.0 and e.footprint.pue == 1.09
    e2 = estimate_training(params="7B", tokens="2T", hardware="a100-80gb", location="gcp:x", pue=1.3)
    assert e2.footprint.pue == 1.3


def test_no_location_uses_world_average_and_documented_pue():
    e = estimate_training(params="7B", tokens="2T", hardware="a100-80gb")
    assert e.footprint.intensity.g_per_kwh == 480.0
    assert e.footprint.pue == pytest.approx(1.58) and "Uptime" in e.footprint.pue_source
