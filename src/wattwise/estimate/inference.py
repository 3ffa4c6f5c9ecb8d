"""Serving footprint over a model's life and when it overtakes training.

Energy per 1,000 (generated) tokens comes from, in order of precedence:
- a measured J/token (e.g. ``Footprint.per("tokens")`` of a wattwise run);
- a given FLOP utilisation or average power: 1,000 x 2·N FLOPs / (peak x utilisation) x power / 3.6e6;
- otherwise the calibrated serving model of :mod:`wattwise.estimate.serving` (GPU + host share at its default
  batch and request shape), as ``wattwise estimate serve`` uses it.
Facility energy x PUE.
"""

from __future__ import annotations

from dataclasses import dataclass

from wattwise.errors import WattwiseError
from wattwise.estimate import assumptions, flops
from wattwise.estimate import location as where
from wattwise.estimate.assumptions import Span
from wattwise.estimate.units import parse_count, parse_fraction
from wattwise.footprint import J_PER_KWH, Footprint, Intensity, carbon_kg
from wattwise.hardware import Device, lookup


@dataclass
class InferenceEstimate:
    """Serving energy and CO2 (facility energy, operational only)."""

    hardware: str
    kwh_per_1k_tokens: Span  # IT energy
    tokens_per_day: float
    days: float
    pue: float
    intensity: Intensity
    source: str

    @property
    def facility_kwh_per_day(self) -> float:
        return self.kwh_per_1k_tokens.central * self.tokens_per_day / 1000 * self.pue

    @property
    def facility_kwh(self) -> Span:
        k = self.tokens_per_day / 1000 * self.days * self.pue
        s = self.kwh_per_1k_tokens
        return Span(s.central * k, s.low * k, s.high * k, s.source)

    @property
    def operational_kg(self) -> Span:
        k = self.tokens_per_day / 1000 * self.days  # IT kWh per kWh-per-1k-tokens
        s, g = self.kwh_per_1k_tokens, self.intensity.g_per_kwh
        return Span(carbon_kg(s.central * k, g, self.pue), carbon_kg(s.low * k, g, self.pue),
                    carbon_kg(s.high * k, g, self.pue), self.intensity.source)

    def breakeven_days(self, training_facility_kwh: float) -> float | None:
        """Days of serving after which serving energy exceeds ``training_facility_kwh``."""
        per_day = self.facility_kwh_per_day
        return training_facility_kwh / per_day if per_day > 0 else None

    def to_dict(self) -> dict:
        return {
            "hardware": self.hardware,
            "kwh_per_1k_tokens": vars(self.kwh_per_1k_tokens),
            "wh_per_1k_tokens": self.kwh_per_1k_tokens.central * 1000,
            "tokens_per_day": self.tokens_per_day,
            "days": self.days,
            "pue": self.pue,
            "facility_kwh": vars(self.facility_kwh),
            "operational_kg": vars(self.operational_kg),
            "intensity": vars(self.intensity),
            "source": self.source,
        }


def estimate_inference(
    *,
    params: float | str,
    tokens_per_day: float | str,
    days: float | str,
    hardware: str | Device,
    active_params: float | str | None = None,
    utilisation: float | str | None = None,
    device_power_w: float | None = None,
    measured_j_per_token: float | None = None,
    measured: Footprint | None = None,
    location: str | None = None,
    intensity: float | Intensity | None = None,
    pue: float | None = None,
) -> InferenceEstimate:
    """Serving energy over ``days`` at ``tokens_per_day``.

    ``measured`` (a Footprint of a wattwise run that counted ``tokens``) or ``measured_j_per_token`` replaces
    the FLOP-based model with a measured figure (facility J per token; PUE is then applied once more, so pass
    ``pue=1.0`` when the run's footprint already includes it).
    """
    if measured is not None:
        per = measured.per("tokens")
        if per is None:
            raise WattwiseError(
                "the measured run counted no tokens", "call run.add(tokens=n) while measuring"
            )
        measured_j_per_token = per
    device = hardware if isinstance(hardware, Device) else lookup(hardware)
    n = parse_count(params, "parameters")
    tpd = parse_count(tokens_per_day, "tokens per day")
    nd = parse_count(days, "days")
    inten, pue_v, _ = where.resolve(location, intensity, pue)
    if measured_j_per_token is not None:
        if measured_j_per_token <= 0:
            raise WattwiseError(f"measured energy per token must be > 0, got {measured_j_per_token}")
        kwh = measured_j_per_token * 1000 / J_PER_KWH
        per_1k = Span.fixed(kwh, f"measured {measured_j_per_token:g} J/token")
        return InferenceEstimate(device.name, per_1k, tpd, nd, pue_v, inten, per_1k.source)
    act = None if active_params is None else parse_count(active_params, "active parameters")
    if utilisation is None and device_power_w is None and device.mem_bw_gbs:
        from wattwise.estimate import serving

        jt = serving.j_per_output_token(params=n, hardware=device, active_params=act)
        k = 1000 / J_PER_KWH
        per_1k = Span(jt.central * k, jt.low * k, jt.high * k, jt.source)
        return InferenceEstimate(device.name, per_1k, tpd, nd, pue_v, inten, per_1k.source)
    fpt = flops.inference_flops_per_token(n, act)
    util = (
        Span.fixed(parse_fraction(utilisation, "serving utilisation"), "given by the user")
        if utilisation is not None
        else assumptions.serving_utilisation()
    )
    peak = device.require_peak() * 1e12
    if device_power_w is not None:
        power = Span.fixed(device_power_w, "average power given by the user")
    else:
        pf = assumptions.serving_power_factor()
        rated = device.require_tdp() + (device.host_w or 0.0)
        power = Span(rated * pf.central, rated * pf.low, rated * pf.high, f"{pf.source}; rated {rated:g} W")
    sec_c = 1000 * fpt / (peak * util.central)
    sec_lo = 1000 * fpt / (peak * util.high)
    sec_hi = 1000 * fpt / (peak * util.low)
    per_1k = Span(
        sec_c * power.central / J_PER_KWH,
        sec_lo * power.low / J_PER_KWH,
        sec_hi * power.high / J_PER_KWH,
        f"2·N FLOPs/token at {util.central:g} of {device.peak_tflops:g} TFLOPS ({util.source}); "
        f"power {power.source}",
    )
    return InferenceEstimate(device.name, per_1k, tpd, nd, pue_v, inten, per_1k.source)
