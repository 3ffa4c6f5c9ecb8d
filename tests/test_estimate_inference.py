"""Serving energy per 1,000 tokens, lifetime totals and break-even with training."""

from __future__ import annotations

import pytest

from wattwise.errors import WattwiseError
from wattwise.estimate import estimate_training
from wattwise.estimate.inference import estimate_inference


def test_energy_per_1k_tokens_formula():
    inf = estimate_inference(
        params="7B",
        tokens_per_day="1B",
        days=365,
        hardware="h100-sxm",
        utilisation=0.1,
        device_power_w=700,
        intensity=400,
        pue=1.2,
    )
    seconds = 1000 * 2 * 7e9 / (989e12 * 0.1)
    assert inf.kwh_per_1k_tokens.central == pytest.approx(seconds * 700 / 3.6e6)
    assert inf.facility_kwh.central == pytest.approx(inf.kwh_per_1k_tokens.central * 1e6 * 365 * 1.2)
    assert inf.operational_kg.central == pytest.approx(inf.facility_kwh.central * 0.4)


def test_default_ranges_and_measured_override():
    inf = estimate_inference(
        params="7B", tokens_per_day="1B", days=30, hardware="a100-80gb", intensity=100, pue=1.1
    )
    s = inf.kwh_per_1k_tokens
    assert s.low < s.central < s.high
    m = estimate_inference(
        params="7B",
        tokens_per_day="1M",
        days=1,
        hardware="a100-80gb",
        measured_j_per_token=3.6,
        intensity=100,
        pue=1.0,
    )
    assert m.facility_kwh.central == pytest.approx(1.0)  # 1e6 tokens x 3.6 J = 1 kWh


def test_breakeven_with_training():
    train = estimate_training(params="7B", tokens="2T", hardware="a100-80gb", intensity=100, pue=1.1)
    inf = estimate_inference(
        params="7B", tokens_per_day="10B", days=365, hardware="a100-80gb", intensity=100, pue=1.1
    )
    days = inf.breakeven_days(train.footprint.facility_kwh)
    assert days == pytest.approx(train.footprint.facility_kwh / inf.facility_kwh_per_day)


def test_bad_inference_input():
    with pytest.raises(WattwiseError):
        estimate_inference(params="7B", tokens_per_day="0", days=1, hardware="l4", intensity=1, pue=1.1)
    with pytest.raises(WattwiseError):
        estimate_inference(
            params="7B", tokens_per_day="1B", days=1, hardware="l4", utilisation=2, intensity=1, pue=1.1
        )


def test_measured_footprint_from_a_run():
    from wattwise.footprint import DomainEnergy, Footprint, Method

    fp = Footprint(
        energy=[DomainEnergy("gpu:0", 1.0, Method.MEASURED, "nvml")], pue=1.0, counters={"tokens": 1e6}
    )
    inf = estimate_inference(
        params="7B", tokens_per_day="1M", days=10, hardware="a100-80gb", measured=fp, intensity=100, pue=1.0
    )
    assert inf.facility_kwh.central == pytest.approx(10.0)
    with pytest.raises(WattwiseError, match="tokens"):
        estimate_inference(
            params="7B",
            tokens_per_day="1M",
            days=1,
            hardware="a100-80gb",
            measured=Footprint(energy=[]),
            intensity=100,
            pue=1.0,
        )
