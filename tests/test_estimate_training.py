"""Training estimates: FLOPs, planning and accounting modes, power, embodied, Footprint output."""

from __future__ import annotations

import math

import pytest

import wattwise
from wattwise.errors import WattwiseError
from wattwise.estimate import estimate, estimate_training, flops, mfu
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
    e = estimate_training(params="7B", tokens="2T", hardware="a100-80gb", devices=1024, mfu=0.4, intensity=400, pue=1.1)
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


def test_default_mfu_comes_from_the_fitted_model_and_widens_ranges():
    e = estimate_training(params="7B", tokens="2T", hardware="h100-sxm", intensity=100, pue=1.1)
    m = mfu.shipped()
    c = m["coefficients"]
    z = c["intercept"] + c["log_active_params"] * math.log(7e9 / 1e10) + c["log_peak_tflops"] * math.log(989 / 312)
    assert e.mfu.central == pytest.approx(math.exp(z))
    assert e.mfu.low == pytest.approx(math.exp(z + m["interval"]["log_residual_low"]))
    assert e.mfu.high == pytest.approx(math.exp(z + m["interval"]["log_residual_high"]))
    dh = e.device_hours
    assert dh.low < dh.central < dh.high
    assert dh.high / dh.low == pytest.approx(e.mfu.high / e.mfu.low)
    kwh = e.facility_kwh()
    assert kwh.high / kwh.low > dh.high / dh.low  # energy range = MFU interval x power range
    lo, hi = e.footprint.range_kg
    assert lo < e.footprint.total_kg < hi
    assert "leave-one-family-out" in e.mfu.source and not e.warnings


def test_moe_and_peak_move_the_mfu_the_way_the_fit_says():
    c = mfu.shipped()["coefficients"]
    dense = estimate_training(params="37B", tokens="1T", hardware="h800", intensity=100, pue=1.1)
    moe = estimate_training(params="671B", active_params="37B", tokens="1T", hardware="h800", intensity=100, pue=1.1)
    assert moe.mfu.central / dense.mfu.central == pytest.approx(math.exp(c["moe"]))
    a100 = estimate_training(params="37B", tokens="1T", hardware="a100-80gb", intensity=100, pue=1.1)
    assert dense.mfu.central / a100.mfu.central == pytest.approx((989 / 312) ** c["log_peak_tflops"])
    d = moe.to_dict()["mfu"]
    assert d["model"]["inputs"]["moe"] is True and d["model"]["inputs"]["active_params"] == 37e9


def test_user_mfu_still_wins():
    e = estimate_training(params="7B", tokens="2T", hardware="h100-sxm", mfu=0.5, intensity=100, pue=1.1)
    assert e.mfu.central == e.mfu.low == e.mfu.high == 0.5 and e.mfu_model is None
    assert e.device_hours.central == pytest.approx(8.4e22 / (989e12 * 0.5) / 3600)


def test_far_outside_fitted_range_says_so():
    m = mfu.shipped()["ranges"]
    e = estimate_training(
        params="7B", tokens="2T", hardware="h100-sxm", devices=int(m["devices"][1] * 1000), intensity=100, pue=1.1
    )
    assert any("devices" in w and "far outside" in w for w in e.warnings)
    assert e.to_dict()["warnings"] == e.warnings
    small = estimate_training(params="10M", tokens="1B", hardware="rtx-4090", intensity=100, pue=1.1)
    assert any("active parameters" in w for w in small.warnings)
    assert any("consumer-gpu" in w for w in small.warnings)
    assert small.mfu.source.startswith("assumption")
    inside = estimate_training(params="7B", tokens="2T", hardware="a100-80gb", devices=512, intensity=100, pue=1.1)
    assert inside.warnings == []


def test_mfu_fit_recovers_known_coefficients():
    truth = [-1.0, 0.1, -0.3, -0.2]
    samples = []
    for i, (n, p, moe) in enumerate(
        [
            (1e9, 312, False),
            (1e11, 312, False),
            (1e10, 989, False),
            (3e10, 123, True),
            (5e9, 989, True),
            (2e11, 125, False),
        ]
    ):
        z = sum(c * f for c, f in zip(truth, mfu.features(n, p, moe), strict=True))
        samples.append(mfu.Sample(str(i), f"f{i}", "lab", "x", n, p, moe, math.exp(z)))
    assert mfu.fit(samples) == pytest.approx(truth, abs=1e-9)
    assert mfu.quantile([0.0, 1.0, 2.0, 3.0, 4.0], 0.1) == pytest.approx(0.4)


def test_accounting_tdp_basis_reproduces_paper_bookkeeping():
    # BLOOM: 1,082,990 GPU-hours x 400 W = 433,196 kWh (Luccioni et al. 2023)
    e = estimate_training(device_hours=1_082_990, hardware="a100-80gb", power_basis="tdp", intensity=57, pue=1.0)
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
    assert estimate(params="1B", tokens="20B", hardware="l4", intensity=50, pue=1.2).total_kg == pytest.approx(
        fp.total_kg
    )


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
        {"params": "7B", "tokens": "2T", "seq_len": 0},
        {"params": "7B", "tokens": "2T", "devices": "2.5"},
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


def _cli(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    import typer

    import wattwise.cli.app as cli_app
    from wattwise.cli import estimate as estimate_cli

    app = typer.Typer(pretty_exceptions_enable=False)

    @app.callback()
    def _root() -> None:
        """wattwise"""

    estimate_cli.register(app)
    monkeypatch.setattr(cli_app, "app", app)
    rc = cli_app.main(["estimate", *args])
    return rc, capsys.readouterr().out


def test_cli_json_keeps_ranges_and_mfu_model_inputs(monkeypatch, capsys):
    import json

    rc, out = _cli(
        monkeypatch,
        capsys,
        "--params",
        "70B",
        "--tokens",
        "15T",
        "--hardware",
        "h100-sxm",
        "--devices",
        "20000000",
        "--seq-len",
        "8192",
        "--intensity",
        "400",
        "--pue",
        "1.1",
        "--json",
    )
    assert rc == 0
    t = json.loads(out)["training"]
    assert t["device_hours"]["low"] < t["device_hours"]["central"] < t["device_hours"]["high"]
    assert t["mfu"]["low"] < t["mfu"]["central"] < t["mfu"]["high"]
    inputs = t["mfu"]["model"]["inputs"]
    assert inputs["active_params"] == 70e9 and inputs["peak_tflops"] == 989 and inputs["devices"] == 20_000_000
    assert any("far outside" in w for w in t["warnings"])
    rc, out = _cli(
        monkeypatch,
        capsys,
        "--params",
        "70B",
        "--tokens",
        "15T",
        "--hardware",
        "h100-sxm",
        "--devices",
        "20000000",
        "--intensity",
        "400",
        "--pue",
        "1.1",
    )
    assert rc == 0 and "device-hours (!)" in out and "far outside the fitted range" in out
