"""GPU energy per generated token of LLM serving, from how decoding works.

One decode step produces one token for each of the ``B`` sequences in the running batch. It reads the weights
once (shared by the batch; an MoE layer only the experts the batch routes to) and every sequence's KV cache,
and does 2·N_active FLOPs per sequence, all split over the ``D`` tensor-parallel devices::

    step_s   = c_step + c_seq·B + bytes / (D · bandwidth · eta_mem) + 2·N_act·B / (D · peak · eta_compute)
    power_w  = TDP · (p_low + (p_high - p_low) · busy),   busy = (memory + compute time) / step_s
    J/token  = power_w · D · step_s / B  +  prefill J per request / output tokens
    prefill  = 2·N_act·input_tokens / (peak · eta_compute) · TDP · p_high     (compute-bound)

``c_step`` (per-step overhead: scheduling, kernel launches, TP all-reduce), ``c_seq`` (per-sequence work per
step: sampling, KV bookkeeping), the two efficiencies and the two power fractions are fitted per hardware
family on measured vLLM serving (ML.ENERGY Leaderboard v2, A100 and H100; ``bench/serving.py``); the stated
range comes from the leave-one-model-out residuals. Coefficients and sources: ``data/estimate/serving.json``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from wattwise.errors import WattwiseError, unknown
from wattwise.estimate import assumptions
from wattwise.estimate import location as where
from wattwise.estimate.assumptions import Span
from wattwise.estimate.units import parse_count
from wattwise.footprint import J_PER_KWH, Intensity, carbon_kg
from wattwise.hardware import Device, lookup

METHOD = "wattwise-serving-v1"
PRECISION_BYTES = {"bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0, "int4": 0.5}
MEMORY_HEADROOM = 0.9  # share of device memory the weights may take (the rest: activations, KV cache)


@dataclass(frozen=True)
class Coefficients:
    """Fitted constants of one hardware family."""

    eta_mem: float
    eta_compute: float
    step_s: float
    seq_step_s: float
    power_low: float
    power_high: float
    log_q_low: float  # residual quantiles of log(measured / modelled), leave-one-model-out
    log_q_high: float
    source: str

    def as_list(self) -> list[float]:
        return [self.eta_mem, self.eta_compute, self.step_s, self.seq_step_s, self.power_low, self.power_high]


@dataclass(frozen=True)
class Hardware:
    """What the model needs of a device."""

    name: str
    mem_bw_gbs: float
    peak_tflops: float
    tdp_w: float
    memory_gb: float | None = None
    host_w: float | None = None


@dataclass(frozen=True)
class DecodeStep:
    """One decode step of a batch (whole model, all devices)."""

    weight_bytes: float
    kv_bytes: float
    memory_s: float
    compute_s: float
    step_s: float
    power_w: float  # per device

    @property
    def busy(self) -> float:
        return (self.memory_s + self.compute_s) / self.step_s


@lru_cache(maxsize=1)
def data() -> dict:
    path = resources.files("wattwise") / "data" / "estimate" / "serving.json"
    return json.loads(path.read_text(encoding="utf-8"))


def kv_bytes_per_token(total_params: float, kv_bytes_coef: float | None = None) -> float:
    """KV cache bytes per token of context (16-bit cache), from the parameter count alone: coef·sqrt(N)."""
    coef = float(data()["kv_cache"]["coef"]) if kv_bytes_coef is None else kv_bytes_coef
    return coef * math.sqrt(total_params)


def weight_bytes_per_step(total: float, active: float, batch: float, bytes_per_param: float) -> float:
    """Weight bytes one decode step reads: dense models all; MoE the experts at least one sequence uses.

    Each sequence uses the share f = active/total of the weights; a weight is read when at least one of the B
    sequences routes to it: total·(1 - (1 - f)^B) (active at B = 1, all weights for large B).
    """
    if active >= total:
        return total * bytes_per_param
    share = active / total
    return total * (1.0 - (1.0 - share) ** batch) * bytes_per_param


def decode_step(
    coef: list[float],
    hw: Hardware,
    *,
    total: float,
    active: float,
    batch: float,
    context: float,
    devices: int,
    bytes_per_param: float = 2.0,
    kv_per_token: float | None = None,
) -> DecodeStep:
    """Time and power of one decode step; ``coef`` = [eta_mem, eta_compute, c_step, c_seq, p_low, p_high]."""
    eta_m, eta_c, c_step, c_seq, p_lo, p_hi = coef
    wb = weight_bytes_per_step(total, active, batch, bytes_per_param)
    kv = batch * context * (kv_bytes_per_token(total) if kv_per_token is None else kv_per_token)
    mem_s = (wb + kv) / (devices * hw.mem_bw_gbs * 1e9 * eta_m)
    comp_s = compute_seconds(hw, active=active, tokens=batch, devices=devices, eta=eta_c)
    step = c_step + c_seq * batch + mem_s + comp_s
    busy = (mem_s + comp_s) / step
    return DecodeStep(wb, kv, mem_s, comp_s, step, hw.tdp_w * (p_lo + (p_hi - p_lo) * busy))


def compute_seconds(hw: Hardware, *, active: float, tokens: float, devices: int, eta: float) -> float:
    """Time of the matrix work for ``tokens`` tokens (2 FLOPs per active parameter) at ``eta`` of peak."""
    return 2.0 * active * tokens / (devices * hw.peak_tflops * 1e12 * eta)


def prefill_seconds(coef: list[float], hw: Hardware, *, active: float, input_tokens: float, devices: int) -> float:
    """Wall time of one request's prefill on ``devices`` (compute-bound)."""
    return compute_seconds(hw, active=active, tokens=input_tokens, devices=devices, eta=coef[1])


def gpu_j_per_output_token(
    coef: list[float],
    hw: Hardware,
    *,
    total: float,
    active: float,
    batch: float,
    input_tokens: float,
    output_tokens: float,
    devices: int,
    bytes_per_param: float = 2.0,
    kv_per_token: float | None = None,
) -> tuple[float, DecodeStep, float]:
    """(GPU J per output token over all devices, the average decode step, prefill s per request)."""
    context = input_tokens + output_tokens / 2.0
    st = decode_step(
        coef,
        hw,
        total=total,
        active=active,
        batch=batch,
        context=context,
        devices=devices,
        bytes_per_param=bytes_per_param,
        kv_per_token=kv_per_token,
    )
    pre_s = prefill_seconds(coef, hw, active=active, input_tokens=input_tokens, devices=devices)
    decode_j = st.power_w * devices * st.step_s / batch
    prefill_j = hw.tdp_w * coef[5] * devices * pre_s / output_tokens
    return decode_j + prefill_j, st, pre_s


def coefficients(family: str) -> tuple[Coefficients, str]:
    """Fitted coefficients of ``family``; other families get the fallback family's, with a wider range."""
    d = data()
    fams = d["families"]
    note = ""
    if family not in fams:
        fb = d["fallback"]
        widen = math.log(float(d["transfer_widen"]))
        f = fams[fb]
        note = f"not calibrated on {family}: {fb} coefficients transferred, range widened x{d['transfer_widen']}"
        q_lo, q_hi = float(f["log_q_low"]) - widen, float(f["log_q_high"]) + widen
    else:
        f = fams[family]
        q_lo, q_hi = float(f["log_q_low"]), float(f["log_q_high"])
    c = Coefficients(
        float(f["eta_mem"]),
        float(f["eta_compute"]),
        float(f["step_s"]),
        float(f["seq_step_s"]),
        float(f["power_low"]),
        float(f["power_high"]),
        q_lo,
        q_hi,
        str(f["source"]),
    )
    return c, note


@dataclass
class ServingPoint:
    """The estimate at one batch size (energy spans in joules)."""

    batch: int
    gpu_j_per_output_token: Span
    gpu_j_per_request: Span
    node_j_per_output_token: Span
    facility_j_per_request: Span
    co2_g_per_request: Span
    tokens_per_s: float  # output tokens/s of the whole batch
    time_per_output_token_s: float
    prefill_s: float
    kv_fits: bool

    def to_dict(self) -> dict:
        out: dict = {"batch": self.batch}
        for k in (
            "gpu_j_per_output_token",
            "gpu_j_per_request",
            "node_j_per_output_token",
            "facility_j_per_request",
            "co2_g_per_request",
        ):
            s = getattr(self, k)
            out[k] = {"central": s.central, "low": s.low, "high": s.high}
        out.update(
            tokens_per_s=self.tokens_per_s,
            time_per_output_token_s=self.time_per_output_token_s,
            prefill_s=self.prefill_s,
            kv_cache_fits=self.kv_fits,
        )
        return out


@dataclass
class ServingEstimate:
    """Serving energy at one or more batch sizes (modelled, never measured)."""

    inputs: dict
    points: list[ServingPoint]
    pue: float
    pue_source: str
    intensity: Intensity
    method: str = METHOD
    assumptions: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        first = self.points[0].to_dict()
        return {
            "method": self.method,
            "label": "modelled",
            "inputs": self.inputs,
            **{k: v for k, v in first.items() if k != "batch"},
            "by_batch": [p.to_dict() for p in self.points],
            "pue": self.pue,
            "pue_source": self.pue_source,
            "intensity": vars(self.intensity),
            "assumptions": self.assumptions,
        }


def parse_batches(batch: int | str | list[int]) -> list[int]:
    """``64``, ``"8,32,128"`` or a list -> batch sizes (each >= 1)."""
    if isinstance(batch, int):
        vals = [batch]
    elif isinstance(batch, list):
        vals = [int(b) for b in batch]
    else:
        try:
            vals = [int(x) for x in str(batch).split(",") if x.strip()]
        except ValueError:
            raise WattwiseError(f"batch sizes must be whole numbers, got {batch!r}", "e.g. --batch 8,32,128") from None
    if not vals or any(b < 1 for b in vals):
        raise WattwiseError(f"batch sizes must be >= 1, got {batch!r}", "e.g. --batch 64 or --batch 8,32,128")
    return vals


def hardware_of(device: Device, precision: str) -> Hardware:
    """The device's serving figures in ``precision``; clear errors where the catalogue lacks them."""
    if precision not in PRECISION_BYTES:
        raise unknown("precision", precision, list(PRECISION_BYTES))
    peak = device.peak_for(precision)
    if not peak:
        have = [p for p in PRECISION_BYTES if device.peak_for(p)]
        raise WattwiseError(
            f"{device.name} has no {precision} throughput in the catalogue",
            f"choose one of: {', '.join(have) or 'none'}",
        )
    if not device.mem_bw_gbs:
        raise WattwiseError(f"{device.name} has no memory bandwidth in the catalogue", "choose another --hardware")
    tdp = device.require_tdp()
    return Hardware(device.name, device.mem_bw_gbs, peak, tdp, device.memory_gb, device.host_w)


def estimate_serving(
    *,
    params: float | str,
    hardware: str | Device,
    active_params: float | str | None = None,
    devices: int | str = 1,
    batch: int | str | list[int] = 64,
    input_tokens: int = 600,
    output_tokens: int = 600,
    precision: str = "bf16",
    location: str | None = None,
    intensity: float | Intensity | None = None,
    pue: float | None = None,
) -> ServingEstimate:
    """GPU and node energy per output token and per request, with a calibrated range, at each batch size."""
    total = parse_count(params, "parameters")
    active = total if active_params is None else parse_count(active_params, "active parameters")
    if active > total:
        raise WattwiseError(
            f"active parameters ({active:.3g}) exceed total parameters ({total:.3g})",
            "--active-params is the share an MoE uses per token: at most --params",
        )
    batches = parse_batches(batch)
    n_dev = int(parse_count(devices, "devices"))
    if n_dev < 1 or n_dev != float(parse_count(devices, "devices")):
        raise WattwiseError(f"devices must be a whole number >= 1, got {devices!r}")
    if input_tokens < 0 or output_tokens < 1:
        raise WattwiseError("input tokens must be >= 0 and output tokens >= 1", "e.g. --output-tokens 600")
    device = hardware if isinstance(hardware, Device) else lookup(hardware)
    hw = hardware_of(device, precision)
    bpp = PRECISION_BYTES[precision]
    weights_gb = total * bpp / 1e9
    if hw.memory_gb and weights_gb > hw.memory_gb * n_dev * MEMORY_HEADROOM:
        need = math.ceil(weights_gb / (hw.memory_gb * MEMORY_HEADROOM))
        raise WattwiseError(
            f"{weights_gb:,.0f} GB of {precision} weights do not fit on {n_dev} x {hw.name} ({hw.memory_gb:g} GB)",
            f"use --devices {2 ** math.ceil(math.log2(need))} or a smaller --precision",
        )
    inten, pue_v, pue_src = where.resolve(location, intensity, pue)
    coef, note = coefficients(device.family)
    host_pf = assumptions.serving_power_factor()
    host_w = (hw.host_w or 0.0) * host_pf.central
    kv_tok = kv_bytes_per_token(total)
    points = []
    for b in batches:
        j, st, pre_s = gpu_j_per_output_token(
            coef.as_list(),
            hw,
            total=total,
            active=active,
            batch=b,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            devices=n_dev,
            bytes_per_param=bpp,
        )
        lo, hi = j * math.exp(coef.log_q_low), j * math.exp(coef.log_q_high)
        src = f"{METHOD} ({coef.source})"
        gpu_tok = Span(j, lo, hi, src)
        gpu_req = Span(j * output_tokens, lo * output_tokens, hi * output_tokens, src)
        # host share: the node's non-GPU power for the device-time each output token occupies
        host_j = host_w * n_dev * (st.step_s / b + pre_s / output_tokens)
        node = Span(j + host_j, lo + host_j, hi + host_j, f"GPU + host share {host_w:g} W per device")
        kwh_req = [v * output_tokens / J_PER_KWH for v in (node.central, node.low, node.high)]
        fac_j = [k * J_PER_KWH * pue_v for k in kwh_req]
        fac = Span(fac_j[0], fac_j[1], fac_j[2], f"node x PUE {pue_v:g}")
        co2_g = [carbon_kg(k, inten.g_per_kwh, pue_v) * 1000 for k in kwh_req]
        co2 = Span(co2_g[0], co2_g[1], co2_g[2], inten.source)
        kv_room = (hw.memory_gb or math.inf) * n_dev * 1e9 - total * bpp
        fits = b * (input_tokens + output_tokens) * kv_tok <= kv_room
        points.append(ServingPoint(b, gpu_tok, gpu_req, node, fac, co2, b / st.step_s, st.step_s, pre_s, fits))
    notes = [
        f"decode memory-bound: weights {weight_bytes_per_step(total, active, batches[0], bpp) / 1e9:,.3g} GB + "
        f"KV cache {kv_tok / 1e3:,.0f} kB/token (coef x sqrt(N), see data/estimate/serving.json) read per step, "
        f"split over {n_dev} device(s)",
        "prefill compute-bound at the fitted compute efficiency; GPU power a fitted function of load",
        f"coefficients fitted for the {device.family} family on ML.ENERGY v2 (vLLM, bf16); range from "
        "leave-one-model-out residual quantiles",
        f"host share: {hw.host_w or 0:g} W per device x {host_pf.central:g} ({host_pf.source})",
    ]
    if precision not in ("bf16", "fp16"):
        notes.append(f"{precision}: extrapolated (calibrated on bf16 only): fewer weight bytes, {precision} peak")
    if note:
        notes.append(note)
    if not all(p.kv_fits for p in points):
        notes.append("at some batch sizes the KV cache does not fit in device memory: a server would cap the batch")
    inputs = {
        "params": total,
        "active_params": active,
        "hardware": device.name,
        "family": device.family,
        "devices": n_dev,
        "batch": batches,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "precision": precision,
        "location": location,
    }
    return ServingEstimate(inputs, points, pue_v, pue_src, inten, METHOD, notes)


def j_per_output_token(
    *,
    params: float,
    hardware: Device,
    active_params: float | None = None,
    batch: int | None = None,
    input_tokens: int | None = None,
    output_tokens: int | None = None,
    devices: int | None = None,
) -> Span:
    """GPU + host J per output token at the serving defaults, for lifetime estimates (``estimate_inference``).

    ``devices`` defaults to the fewest power of two that holds the weights.
    """
    d = data()["defaults"]
    if devices is None:
        per = (hardware.memory_gb or math.inf) * MEMORY_HEADROOM * 1e9
        devices = 2 ** math.ceil(math.log2(max(1.0, params * 2.0 / per)))
    est = estimate_serving(
        params=params,
        hardware=hardware,
        active_params=active_params,
        devices=devices,
        batch=batch or int(d["batch"]),
        input_tokens=int(d["input_tokens"] if input_tokens is None else input_tokens),
        output_tokens=int(output_tokens or d["output_tokens"]),
        intensity=0.0,
        pue=1.0,
    )
    p = est.points[0]
    n = p.node_j_per_output_token
    return Span(
        n.central,
        n.low,
        n.high,
        f"{METHOD}: batch {p.batch}, {est.inputs['input_tokens']} input / {est.inputs['output_tokens']} output "
        f"tokens per request, {devices} x {hardware.name}, GPU + host share",
    )
