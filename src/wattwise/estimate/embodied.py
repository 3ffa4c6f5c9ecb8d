"""Embodied (manufacturing) carbon amortised over hardware lifetime, LLMCarbon-style.

share = (device embodied + host embodied per accelerator) x device-hours / lifetime-hours
(Faiz et al. 2023, "LLMCarbon"; constants and sources in data/estimate/assumptions.json and the catalogue).
"""

from __future__ import annotations

from wattwise.estimate import assumptions
from wattwise.estimate.assumptions import Span
from wattwise.hardware import Device

HOURS_PER_YEAR = 8766.0


def per_device_kg(device: Device) -> tuple[float, str]:
    """Embodied kgCO2e of one accelerator plus its host share, with a description of the method."""
    emb = assumptions.embodied()
    host = float(emb["host_kg_per_accelerator"]) if device.kind != "cpu" else 0.0
    dev = device.embodied_kg or 0.0
    method = device.embodied_method or "none (no embodied figure for this device)"
    note = f"{device.name}: {dev:.1f} kg ({method}) + host share {host:.1f} kg"
    return dev + host, note


def amortised_kg(device: Device, device_hours: float, lifetime_years: float | None = None) -> Span:
    """Embodied kgCO2e charged to ``device_hours`` of use (central, low, high)."""
    emb = assumptions.embodied()
    from wattwise import validate

    years = float(emb["lifetime_years"]) if lifetime_years is None else validate.number(
        lifetime_years, "lifetime_years", validate.YEARS)  # 0 or NaN is an error, not silently the default
    kg, note = per_device_kg(device)
    central = kg * device_hours / (years * HOURS_PER_YEAR)
    f = float(emb["uncertainty_factor"])
    source = (
        f"LLMCarbon-style amortisation over {years:g} years: {note}; "
        f"{emb['lifetime_source']}; host: {emb['host_source']}; "
        f"range x1/{f:g}..x{f:g}: {emb['uncertainty_source']}"
    )
    return Span(central, central / f, central * f, source)
