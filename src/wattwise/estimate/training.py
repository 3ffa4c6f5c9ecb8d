"""Training footprint before (planning) or after (accounting) the run.

planning:   device-hours = FLOPs / (peak x MFU), MFU from the fitted MFU model (estimate/mfu.py) unless given
accounting: device-hours as published
energy      = device-hours x average power per device (device + host share) x PUE
CO2         = facility energy x intensity + embodied share (LLMCarbon-style)

Power basis ``system`` (default): average power = power factor x (TDP + host share per accelerator),
the factor measured on training nodes (see data/estimate/assumptions.json). ``tdp``: the device's TDP only,
the convention of papers that report "GPU-hours x TDP" (LLaMA, Llama 2, BLOOM). ``device_power_w``
overrides both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from wattwise.errors import WattwiseError
from wattwise.estimate import assumptions, embodied, flops
from wattwise.estimate import location as where
from wattwise.estimate import mfu as mfu_model
from wattwise.estimate.assumptions import Span
from wattwise.estimate.units import parse_count, parse_fraction
from wattwise.footprint import DomainEnergy, Footprint, Intensity, Method, carbon_kg
from wattwise.hardware import Device, lookup

POWER_BASES = ("system", "tdp")


@dataclass
class PowerModel:
    """Average power per device in W: accelerator and host parts (central, low, high)."""

    device_w: Span
    host_w: Span
    basis: str

    @property
    def total(self) -> Span:
        d, h = self.device_w, self.host_w
        return Span(d.central + h.central, d.low + h.low, d.high + h.high, f"{d.source}; {h.source}")


def power_model(
    device: Device,
    basis: str = "system",
    device_power_w: float | None = None,
    power_factor: float | None = None,
) -> PowerModel:
    """Average training power per device under a basis (see module docstring)."""
    if basis not in POWER_BASES:
        raise WattwiseError(f"unknown power basis {basis!r}", f"choose one of: {', '.join(POWER_BASES)}")
    if device_power_w is not None:
        if not math.isfinite(device_power_w) or device_power_w <= 0:
            raise WattwiseError(f"device power must be greater than zero, got {device_power_w}")
        return PowerModel(
            Span.fixed(device_power_w, "average power per device given by the user"),
            Span.fixed(0.0, "host power not modelled (device power given)"),
            "user",
        )
    tdp = device.require_tdp()
    if basis == "tdp":
        return PowerModel(
            Span.fixed(tdp, f"{device.name} TDP {tdp:g} W (TDP-only convention, no host)"),
            Span.fixed(0.0, "host not counted (TDP-only convention)"),
            "tdp",
        )
    f = assumptions.training_power_factor()
    if power_factor is not None:
        f = Span.fixed(parse_fraction(power_factor, "power factor"), "power factor given by the user")
    host = device.host_w or 0.0
    host_src = (
        f"host share {host:g} W per accelerator at full load ({device.host_source})"
        if host
        else f"host share of {device.name} unknown: not counted"
    )
    return PowerModel(
        Span(tdp * f.central, tdp * f.low, tdp * f.high, f"{f.central:g} x TDP {tdp:g} W ({f.source})"),
        Span(host * f.central, host * f.low, host * f.high, host_src),
        "system",
    )


@dataclass
class TrainingEstimate:
    """All figures of a training estimate; ``footprint`` is the shared Footprint type."""

    mode: str
    device: Device
    devices: int | None
    flops: float | None
    mfu: Span | None
    device_hours: Span
    power: PowerModel
    pue: float
    pue_source: str
    intensity: Intensity
    embodied: Span
    footprint: Footprint
    assumptions: list[str] = field(default_factory=list)
    mfu_model: mfu_model.MfuEstimate | None = None

    @property
    def warnings(self) -> list[str]:
        """Notes that belong beside the figures (estimate outside the fitted range of the MFU model)."""
        return list(self.mfu_model.warnings) if self.mfu_model else []

    @property
    def wall_days(self) -> float | None:
        return self.device_hours.central / self.devices / 24 if self.devices else None

    def it_kwh(self) -> Span:
        dh, p = self.device_hours, self.power.total
        return Span(dh.central * p.central / 1000.0, dh.low * p.low / 1000.0, dh.high * p.high / 1000.0, "")

    def facility_kwh(self) -> Span:
        e = self.it_kwh()
        return Span(e.central * self.pue, e.low * self.pue, e.high * self.pue, "")

    def operational_kg(self) -> Span:
        e, g = self.it_kwh(), self.intensity.g_per_kwh
        return Span(carbon_kg(e.central, g, self.pue), carbon_kg(e.low, g, self.pue), carbon_kg(e.high, g, self.pue),
                    self.intensity.source)

    def to_dict(self) -> dict:
        e, op = self.facility_kwh(), self.operational_kg()
        return {
            "mode": self.mode,
            "hardware": self.device.name,
            "devices": self.devices,
            "flops": self.flops,
            "mfu": None
            if self.mfu is None
            else {**vars(self.mfu), "model": self.mfu_model.to_dict() if self.mfu_model else None},
            "device_hours": vars(self.device_hours),
            "wall_days": self.wall_days,
            "power_w_per_device": {
                **vars(self.power.total),
                "basis": self.power.basis,
                "device_w": self.power.device_w.central,
                "host_w": self.power.host_w.central,
            },
            "facility_kwh": {"central": e.central, "low": e.low, "high": e.high},
            "operational_kg": {"central": op.central, "low": op.low, "high": op.high},
            "embodied_kg": vars(self.embodied),
            "footprint": self.footprint.to_dict(),
            "assumptions": list(self.assumptions),
            "warnings": self.warnings,
        }


def _positive_int(value: int | str | None, what: str) -> int | None:
    if value is None:
        return None
    n = parse_count(value, what)
    if n != int(n):
        raise WattwiseError(f"{what} must be a whole number, got {value!r}")
    return int(n)


def estimate_training(
    *,
    hardware: str | Device,
    params: float | str | None = None,
    tokens: float | str | None = None,
    device_hours: float | str | None = None,
    devices: int | str | None = None,
    active_params: float | str | None = None,
    architecture: str = "decoder",
    n_layers: int | None = None,
    seq_len: int | None = None,
    d_model: int | None = None,
    mfu: float | str | None = None,
    flops_per_param_token: float = 6.0,
    power_basis: str = "system",
    device_power_w: float | None = None,
    power_factor: float | None = None,
    location: str | None = None,
    intensity: float | Intensity | None = None,
    pue: float | None = None,
    lifetime_years: float | None = None,
) -> TrainingEstimate:
    """Estimate a training run: planning with ``params`` + ``tokens``, accounting with ``device_hours``.

    Sizes accept human units ("7B", "2T"). Returns a :class:`TrainingEstimate` whose ``footprint`` is a
    :class:`~wattwise.footprint.Footprint` (energy marked *modelled*).
    """
    device = hardware if isinstance(hardware, Device) else lookup(hardware)
    n_dev = _positive_int(devices, "number of devices")
    notes: list[str] = []
    mfu_span: Span | None = None
    mfu_est: mfu_model.MfuEstimate | None = None
    total_flops: float | None = None
    if device_hours is not None:
        mode = "accounting"
        dh = parse_count(device_hours, "device-hours")
        hours = Span.fixed(dh, "device-hours as given")
        if params is not None and tokens is not None:
            total_flops = flops.training_flops(
                parse_count(params, "parameters"),
                parse_count(tokens, "tokens"),
                active_params=None if active_params is None else parse_count(active_params, "active parameters"),
                architecture=architecture,
                n_layers=n_layers,
                seq_len=seq_len,
                d_model=d_model,
                flops_per_param_token=flops_per_param_token,
            )
    else:
        mode = "planning"
        if params is None or tokens is None:
            raise WattwiseError(
                "planning needs the model size and the number of training tokens",
                "give --params and --tokens (e.g. --params 7B --tokens 2T), or --device-hours for accounting",
            )
        n = parse_count(params, "parameters")
        d = parse_count(tokens, "tokens")
        act = None if active_params is None else parse_count(active_params, "active parameters")
        if seq_len is not None and seq_len <= 0:
            raise WattwiseError(f"sequence length must be greater than zero, got {seq_len}")
        total_flops = flops.training_flops(
            n,
            d,
            active_params=act,
            architecture=architecture,
            n_layers=n_layers,
            seq_len=seq_len,
            d_model=d_model,
            flops_per_param_token=flops_per_param_token,
        )
        peak_tflops = device.require_peak()
        if mfu is not None:
            mfu_span = Span.fixed(parse_fraction(mfu, "MFU"), "MFU given by the user")
        else:
            mfu_est = mfu_model.predict(
                active_params=flops.params_per_token(n, act, architecture),
                peak_tflops=peak_tflops,
                moe=bool(act and act < n),
                hardware_family=device.family,
                devices=n_dev,
                seq_len=seq_len,
            )
            mfu_span = Span(mfu_est.central, mfu_est.low, mfu_est.high, mfu_est.source)
        peak = peak_tflops * 1e12
        hours = Span(
            total_flops / (peak * mfu_span.central) / 3600,
            total_flops / (peak * mfu_span.high) / 3600,
            total_flops / (peak * mfu_span.low) / 3600,
            f"FLOPs / ({device.peak_tflops:g} TFLOPS x MFU)",
        )
        notes.append(
            f"FLOPs {total_flops:.3g} = {flops_per_param_token:g}·N·D"
            + (" + attention" if n_layers and seq_len and d_model else "")
            + (" (active parameters)" if act else "")
            + (" (encoder-decoder: N/2 per token)" if architecture == "encoder-decoder" else "")
        )
        notes.append(f"MFU {mfu_span.central:.3g} (range {mfu_span.low:.3g}-{mfu_span.high:.3g}): {mfu_span.source}")
        if mfu_est:
            notes.extend(mfu_est.warnings)

    power = power_model(device, power_basis, device_power_w, power_factor)
    inten, pue_v, pue_src = where.resolve(location, intensity, pue)
    emb = embodied.amortised_kg(device, hours.central, lifetime_years)
    emb_low = embodied.amortised_kg(device, hours.low, lifetime_years).low
    emb_high = embodied.amortised_kg(device, hours.high, lifetime_years).high
    emb = Span(emb.central, emb_low, emb_high, emb.source)

    notes.append(f"power per device {power.total.central:.0f} W ({power.basis}): {power.total.source}")
    notes.append(f"PUE {pue_v:g}: {pue_src}")
    notes.append(f"intensity {inten.g_per_kwh:g} gCO2e/kWh: {inten.source}")

    unc_dev = _rel_halfwidth(hours, power.device_w)
    unc_host = _rel_halfwidth(hours, power.host_w)
    energy = [
        DomainEnergy(
            f"accelerator:{device.name}",
            hours.central * power.device_w.central / 1000.0,
            Method.MODELLED,
            f"{mode} estimate: {power.device_w.source}",
            unc_dev,
        ),
    ]
    if power.host_w.central > 0:
        energy.append(
            DomainEnergy(
                "host",
                hours.central * power.host_w.central / 1000.0,
                Method.MODELLED,
                f"{mode} estimate: {power.host_w.source}",
                unc_host,
            )
        )
    est = TrainingEstimate(
        mode,
        device,
        n_dev,
        total_flops,
        mfu_span,
        hours,
        power,
        pue_v,
        pue_src,
        inten,
        Span(emb.central, emb.low, emb.high, emb.source),
        Footprint(energy=[]),
        notes,
        mfu_est,
    )
    op = est.operational_kg()
    counters = {"device_hours": hours.central}
    if total_flops:
        counters["flops"] = total_flops
    if tokens is not None:
        counters["tokens"] = parse_count(tokens, "tokens")
    est.footprint = Footprint(
        energy=energy,
        intensity=inten,
        pue=pue_v,
        pue_source=pue_src,
        embodied_kg=emb.central,
        embodied_source=emb.source,
        low_kg=op.low + emb.low,
        high_kg=op.high + emb.high,
        duration_s=(est.wall_days * 86400 if est.wall_days else None),
        counters=counters,
        notes=[f"{mode} estimate (modelled, not measured)", *notes],
    )
    return est


def _rel_halfwidth(hours: Span, power: Span) -> float:
    c = hours.central * power.central
    if c <= 0:
        return 0.0
    return (hours.high * power.high - hours.low * power.low) / 2 / c
