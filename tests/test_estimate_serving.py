"""Serving energy model: decode bytes, batch sharing, TP split, prefill, ranges, bad input, CLI JSON."""

from __future__ import annotations

import json
import math
import statistics

import pytest

from tests.bench_loader import load_bench
from wattwise.cli import app as cli_app
from wattwise.errors import WattwiseError
from wattwise.estimate import serving
from wattwise.estimate.inference import estimate_inference
from wattwise.hardware import lookup

HW = serving.Hardware("toy", mem_bw_gbs=1000.0, peak_tflops=100.0, tdp_w=100.0)
PURE = [1.0, 1.0, 0.0, 0.0, 0.5, 0.5]  # eta_mem, eta_compute, c_step, c_seq, p_low, p_high


def test_weight_bytes_dense_and_moe():
    assert serving.weight_bytes_per_step(7e9, 7e9, 64, 2.0) == 14e9
    # MoE: one sequence reads only its active share; a large batch touches every expert
    assert serving.weight_bytes_per_step(47e9, 13e9, 1, 2.0) == pytest.approx(26e9)
    assert serving.weight_bytes_per_step(47e9, 13e9, 512, 2.0) == pytest.approx(94e9)
    share = 13 / 47
    assert serving.weight_bytes_per_step(47e9, 13e9, 4, 1.0) == pytest.approx(47e9 * (1 - (1 - share) ** 4))


def test_decode_step_by_hand():
    st = serving.decode_step(
        PURE, HW, total=1e9, active=1e9, batch=4, context=100, devices=1, bytes_per_param=2.0, kv_per_token=1000.0
    )
    assert st.weight_bytes == 2e9
    assert st.kv_bytes == 4 * 100 * 1000
    assert st.memory_s == pytest.approx((2e9 + 4e5) / 1e12)
    assert st.compute_s == pytest.approx(2 * 1e9 * 4 / 1e14)
    assert st.step_s == pytest.approx(st.memory_s + st.compute_s)
    assert st.power_w == pytest.approx(50.0)
    # fitted overheads add per step and per sequence
    st2 = serving.decode_step(
        [1, 1, 0.01, 0.001, 0.5, 0.5], HW, total=1e9, active=1e9, batch=4, context=100, devices=1, kv_per_token=1000.0
    )
    assert st2.step_s == pytest.approx(st.step_s + 0.01 + 4 * 0.001)


def test_tensor_parallel_split_and_batch_sharing():
    kw = dict(total=1e9, active=1e9, context=0, kv_per_token=0.0)
    one = serving.decode_step(PURE, HW, batch=1, devices=1, **kw)
    two = serving.decode_step(PURE, HW, batch=1, devices=2, **kw)
    assert two.memory_s == pytest.approx(one.memory_s / 2)
    assert two.compute_s == pytest.approx(one.compute_s / 2)

    # weights are read once per step for the whole batch: memory-bound J/token falls ~1/B
    def jt(b: int, d: int = 1) -> float:
        j, _, _ = serving.gpu_j_per_output_token(
            PURE, HW, total=1e9, active=1e9, batch=b, input_tokens=0, output_tokens=100, devices=d, kv_per_token=0.0
        )
        return j

    mem_only = 2e9 / 1e12 * 50  # J per step at batch 1, compute share aside
    assert jt(1) == pytest.approx(mem_only + 2e9 / 1e14 * 50)
    assert jt(8) == pytest.approx(mem_only / 8 + 2e9 / 1e14 * 50)
    # TP on a bandwidth-bound step: half the time on twice the devices, same energy
    assert jt(8, 2) == pytest.approx(jt(8, 1))


def test_prefill_by_hand():
    j0, _, _ = serving.gpu_j_per_output_token(
        PURE, HW, total=1e9, active=1e9, batch=1, input_tokens=0, output_tokens=10, devices=1, kv_per_token=0.0
    )
    j1, _, pre_s = serving.gpu_j_per_output_token(
        PURE, HW, total=1e9, active=1e9, batch=1, input_tokens=500, output_tokens=10, devices=1, kv_per_token=0.0
    )
    assert pre_s == pytest.approx(2 * 1e9 * 500 / 1e14)
    # kv_per_token=0, so only the prefill term differs (power x p_high x prefill s / output tokens)
    assert j1 - j0 == pytest.approx(pre_s * 100 * 0.5 / 10)


def test_estimate_ranges_batches_and_co2():
    est = serving.estimate_serving(params="8B", hardware="h100-sxm", batch="8,64,256", intensity=400, pue=1.2)
    pts = est.points
    assert [p.batch for p in pts] == [8, 64, 256]
    js = [p.gpu_j_per_output_token for p in pts]
    assert js[0].central > js[1].central > js[2].central  # larger batches share the weight reads
    for p, s in zip(pts, js, strict=True):
        assert s.low < s.central < s.high
        assert p.gpu_j_per_request.central == pytest.approx(s.central * 600)
        assert p.node_j_per_output_token.central > s.central  # host share added
        kwh = p.node_j_per_output_token.central * 600 / 3.6e6
        assert p.co2_g_per_request.central == pytest.approx(kwh * 1.2 * 400)
    assert est.to_dict()["label"] == "modelled"


def test_precisions_and_transfer():
    bf = serving.estimate_serving(params="8B", hardware="h100-sxm", batch=8, intensity=0, pue=1)
    f8 = serving.estimate_serving(params="8B", hardware="h100-sxm", batch=8, precision="fp8", intensity=0, pue=1)
    assert f8.points[0].gpu_j_per_output_token.central < bf.points[0].gpu_j_per_output_token.central
    l4 = serving.estimate_serving(params="7B", hardware="l4", batch=8, intensity=0, pue=1)
    assert any("not calibrated" in a for a in l4.assumptions)
    g = l4.points[0].gpu_j_per_output_token
    assert math.log(g.high / g.central) > math.log(1.5)  # widened range


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"batch": 0}, "batch"),
        ({"batch": "8,x"}, "batch"),
        ({"precision": "fp8", "hardware": "a100-40gb"}, "fp8"),
        ({"precision": "fp3"}, "precision"),
        ({"active_params": "20B"}, "active"),
        ({"devices": 0}, "devices"),
        ({"params": "70B"}, "do not fit"),
        ({"output_tokens": 0}, "output tokens"),
    ],
)
def test_bad_input(kw, match):
    args = {"params": "14B", "hardware": "h100-sxm", "intensity": 0, **kw}
    with pytest.raises(WattwiseError, match=match):
        serving.estimate_serving(**args)


def test_cli_json_keys(capsys):
    rc = cli_app.main(
        ["estimate", "serve", "--params", "14B", "--hardware", "h100-sxm", "--batch", "8,32", "--intensity", "100",
         "--json"]
    )  # fmt: skip
    assert rc == 0
    out = json.loads(capsys.readouterr().out)["serve"]
    for key in ("gpu_j_per_output_token", "gpu_j_per_request"):
        s = out[key]
        assert s["low"] < s["central"] < s["high"]
    assert out["inputs"]["batch"] == [8, 32]
    assert out["inputs"]["hardware"] == "h100-sxm"
    assert [b["batch"] for b in out["by_batch"]] == [8, 32]


def test_cli_bad_input_is_one_error_line(capsys):
    rc = cli_app.main(["estimate", "serve", "--params", "14B", "--hardware", "a100", "--batch", "0"])
    assert rc != 0
    err = capsys.readouterr().err
    assert "error:" in err and "Traceback" not in err


def test_lifetime_serving_uses_the_serving_model():
    dev = lookup("a100-80gb")
    inf = estimate_inference(params="7B", tokens_per_day="1M", days=1, hardware=dev, intensity=0, pue=1.0)
    jt = serving.j_per_output_token(params=7e9, hardware=dev)
    assert inf.kwh_per_1k_tokens.central == pytest.approx(jt.central * 1000 / 3.6e6)
    assert "wattwise-serving-v1" in inf.source


def test_shipped_coefficients_fit_the_calibration_data():
    bench = load_bench("serving")
    rows = bench.load_rows()
    assert len(rows) == 312
    for gpu, (_, fam) in bench.GPU.items():
        c, _ = serving.coefficients(fam)
        errs = [abs(bench.predict(c.as_list(), r) / r["measured"] - 1) for r in rows if r["gpu"] == gpu]
        assert statistics.median(errs) < 0.25


def test_lm_profile_shows_the_same_model(tmp_path):
    from wattwise.cli.app import main

    js = tmp_path / "p.json"
    rc = main(["lm-profile", "tiny-gpt2", "--batch-sizes", "1,4", "--precisions", "fp32,bf16", "--new-tokens", "3",
               "--prompt-tokens", "4", "--json", str(js), "--estimate-on", "h100-sxm"])  # fmt: skip
    assert rc == 0
    rows = json.loads(js.read_text())
    bf16_kv = [r for r in rows if r["precision"] == "bf16" and r["kv_cache"]]
    assert all(r["modelled_j_per_1k_tokens"] is None for r in rows if r["precision"] == "fp32" or not r["kv_cache"])
    for r in bf16_kv:
        n = r["modelled_on"] and r["modelled_j_per_1k_tokens"]
        est = serving.estimate_serving(params=_params_of_tiny_gpt2(), hardware="h100-sxm", batch=r["batch"],
                                       input_tokens=4, output_tokens=3, intensity=0, pue=1)  # fmt: skip
        assert n == pytest.approx(est.points[0].gpu_j_per_output_token.central * 1000)


def _params_of_tiny_gpt2() -> float:
    from wattwise.reduce.models import load

    return float(sum(p.numel() for p in load("tiny-gpt2", "causal-lm").model.parameters()))
