"""Plain-language equivalents of an energy or CO2e figure, each constant with its source.

Written for the report because ``wattwise.equivalents`` did not exist yet on this branch; the report uses
``wattwise.equivalents`` when it is there (see :func:`equivalents_for`). The lead may unify the two at merge.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reference:
    """One everyday quantity: ``amount`` of ``basis`` (``energy_j`` or ``co2e_g``) per ``unit``."""

    key: str
    basis: str  # energy_j | co2e_g
    amount: float
    unit: str  # what one of it is, for "N <unit>"
    source: str


REFERENCES: list[Reference] = [
    Reference("car_km", "co2e_g", 400.0 / 1.609344, "km driven in a typical US petrol car",
              "US EPA, 'Greenhouse Gas Emissions from a Typical Passenger Vehicle', EPA-420-F-23-014 (June 2023): "
              "about 400 g CO2 per mile"),
    Reference("google_search_co2", "co2e_g", 0.2, "web searches (CO2e)",
              "Google Official Blog, U. Hölzle, 'Powering a Google search' (2009-01-11): about 0.2 g CO2 per search"),
    Reference("google_search_energy", "energy_j", 0.0003 * 3.6e6, "web searches (energy)",
              "Google Official Blog, U. Hölzle, 'Powering a Google search' (2009-01-11): 0.0003 kWh (1 kJ) per "
              "search"),
    Reference("kettle", "energy_j", 4186.0 * 1.0 * 80.0, "litres of water heated from 20 °C to boiling",
              "physics: specific heat of water 4.186 kJ/(kg·K) x 80 K = 335 kJ per litre, heat losses ignored"),
    Reference("led_hours", "energy_j", 10.0 * 3600.0, "hours of a 10 W LED bulb",
              "arithmetic: 10 W x 1 h = 36 kJ (10 W is an assumed bulb rating, about a 60 W-incandescent "
              "replacement)"),
]


@dataclass(frozen=True)
class Equivalent:
    value: float
    unit: str
    source: str
    basis: str = "co2e_g"

    def text(self) -> str:
        v = self.value
        num = f"{v:,.0f}" if v >= 100 else f"{v:,.1f}" if v >= 1 else f"{v:.2g}"
        return f"{num} {self.unit}"


def equivalents(energy_j: float, co2e_g: float) -> list[Equivalent]:
    """Everyday equivalents of a facility energy (J) and a CO2e mass (g)."""
    out = []
    for ref in REFERENCES:
        base = energy_j if ref.basis == "energy_j" else co2e_g
        out.append(Equivalent(base / ref.amount, ref.unit, ref.source, ref.basis))
    return out


def equivalents_for(energy_j: float, co2e_g: float) -> list[Equivalent]:
    """CO2e equivalents from the shared ``wattwise.equivalents`` (``equivalents(kg) -> [{value, label, source}]``)
    when it is installed, plus this module's energy equivalents; else all of this module's."""
    ours = equivalents(energy_j, co2e_g)
    try:
        from wattwise import equivalents as shared  # type: ignore[attr-defined]

        items = shared.equivalents(co2e_g / 1000.0)
        co2 = [Equivalent(float(d["value"]), str(d["label"]), str(d["source"])) for d in items]
    except Exception:  # not installed, or another interface: keep ours rather than fail the report
        return ours
    return co2 + [e for e in ours if e.basis == "energy_j"]
