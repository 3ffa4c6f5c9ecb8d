"""Core value types and footprint arithmetic (no I/O).

Every report, export and comparison reads a :class:`Footprint`. Measured runs and planning estimates
produce the same type; each energy figure says whether it was *measured* (hardware counter) or
*modelled* (with the model's name and its stated relative uncertainty).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from enum import Enum

J_PER_KWH = 3.6e6

#: World-average grid carbon intensity used until a location is given.
#: Ember, "Global Electricity Review 2024": 480 gCO2/kWh for 2023 (Ember's lifecycle emission factors).
WORLD_AVERAGE_G_PER_KWH = 480.0
WORLD_AVERAGE_SOURCE = "world average 2023, Ember Global Electricity Review 2024 (no location given)"


class Method(str, Enum):
    """How an energy figure was obtained."""

    MEASURED = "measured"
    MODELLED = "modelled"


@dataclass(frozen=True)
class EnergyReading:
    """Energy of one domain over an interval.

    ``domain`` names the component: ``cpu`` (package), ``dram``, ``ram`` (modelled memory), ``gpu:0`` ...
    ``source`` says where the figure came from (``rapl``, ``nvml-energy-counter``, ``nvml-power-sampling``,
    ``cpu-tdp-model`` ...); ``uncertainty`` is the relative 1-sigma-ish error the source states (0.05 = 5 %).
    """

    sensor: str
    domain: str
    joules: float
    t_start: float
    t_end: float
    method: Method
    source: str
    uncertainty: float = 0.0

    @property
    def seconds(self) -> float:
        return max(self.t_end - self.t_start, 0.0)

    @property
    def watts(self) -> float:
        return self.joules / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class Intensity:
    """Grid carbon intensity in gCO2e/kWh with where it came from."""

    g_per_kwh: float
    source: str = WORLD_AVERAGE_SOURCE
    resolution: str = "annual"  # annual | hourly | typical-hourly | live | user
    kind: str = "lifecycle"  # lifecycle | direct
    signal: str = "average"  # average | marginal
    location: str | None = None

    def __post_init__(self) -> None:
        if not math.isfinite(self.g_per_kwh) or self.g_per_kwh < 0:
            raise ValueError(f"carbon intensity must be a non-negative number, got {self.g_per_kwh}")


WORLD_AVERAGE = Intensity(WORLD_AVERAGE_G_PER_KWH, WORLD_AVERAGE_SOURCE, "annual", "lifecycle", "average")


@dataclass(frozen=True)
class DomainEnergy:
    """Total energy of one domain with how it was obtained."""

    domain: str
    kwh: float
    method: Method
    source: str
    uncertainty: float = 0.0

    @property
    def joules(self) -> float:
        return self.kwh * J_PER_KWH


@dataclass
class Footprint:
    """Energy and carbon of a run or an estimate.

    ``energy`` holds IT energy per domain (before PUE). ``operational_kg`` = IT energy x PUE x intensity
    (or the hour-by-hour integral when given); ``embodied_kg`` is the amortised hardware lifecycle share.
    ``low``/``high`` bound the total from the stated uncertainties (or from the estimate's ranges).
    """

    energy: list[DomainEnergy]
    intensity: Intensity = WORLD_AVERAGE
    pue: float = 1.0
    pue_source: str = "none applied (1.0)"
    embodied_kg: float = 0.0
    embodied_source: str | None = None
    operational_kg_override: float | None = None
    low_kg: float | None = None
    high_kg: float | None = None
    duration_s: float | None = None
    counters: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    scope: str | None = None  # what the energy covers: "process tree" or "whole machine" (None: not stated)
    phases: dict[str, Footprint] = field(default_factory=dict)  # per phase path (train, eval, train/fwd ...)

    @property
    def it_kwh(self) -> float:
        return sum(d.kwh for d in self.energy)

    @property
    def facility_kwh(self) -> float:
        return self.it_kwh * self.pue

    @property
    def measured_kwh(self) -> float:
        return sum(d.kwh for d in self.energy if d.method is Method.MEASURED)

    @property
    def measured_share(self) -> float:
        total = self.it_kwh
        return self.measured_kwh / total if total > 0 else 0.0

    @property
    def uncertainty(self) -> float:
        """Relative uncertainty of the IT energy, weighted by energy: modelled domains come from one node model
        (their errors move together) and add linearly; that sum and the independent counters' errors add in
        quadrature."""
        total = self.it_kwh
        if total <= 0:
            return 0.0
        modelled = sum(d.kwh * d.uncertainty for d in self.energy if d.method is Method.MODELLED)
        measured = sum((d.kwh * d.uncertainty) ** 2 for d in self.energy if d.method is Method.MEASURED)
        return math.sqrt(modelled**2 + measured) / total

    @property
    def operational_kg(self) -> float:
        if self.operational_kg_override is not None:
            return self.operational_kg_override
        return carbon_kg(self.it_kwh, self.intensity.g_per_kwh, self.pue)

    @property
    def methods(self) -> str:
        """``measured``, ``modelled (<sources>)`` or ``x% measured, rest modelled (...)``: the honest word."""
        modelled = sorted({d.source.split(" (")[0] for d in self.energy if d.method is Method.MODELLED})
        share = self.measured_share
        if share >= 1.0 or (self.energy and not modelled):
            return "measured"
        if share <= 0.0:
            return f"modelled ({', '.join(modelled)})" if modelled else "modelled"
        return f"{share:.0%} measured, rest modelled ({', '.join(modelled)})"

    @property
    def total_kg(self) -> float:
        return self.operational_kg + self.embodied_kg

    @property
    def range_kg(self) -> tuple[float, float]:
        if self.low_kg is not None and self.high_kg is not None:
            return self.low_kg, self.high_kg
        u = self.uncertainty
        op = self.operational_kg
        return op * max(1 - u, 0) + self.embodied_kg, op * (1 + u) + self.embodied_kg

    def per(self, counter: str) -> float | None:
        """Facility energy in joules per unit of ``counter`` (tokens, samples, steps), if counted.

        With phases, prefer ``fp.phases["train"].per("tokens")``: a whole-run figure divides the energy of every
        phase by the units counted in all of them.
        """
        n = self.counters.get(counter)
        return self.facility_kwh * J_PER_KWH / n if n else None

    def per_unit(self) -> dict[str, dict[str, float]]:
        """``{phase: {counter: J per unit}}`` over the top-level phases that counted something, or ``{"run": ...}``
        for a run without phases: the per-unit figures that never mix phases."""
        top = {k: v for k, v in self.phases.items() if "/" not in k and k != "-"}
        groups = top or {"run": self}
        out: dict[str, dict[str, float]] = {}
        for name, fp in groups.items():
            units = {c: j for c in fp.counters if (j := fp.per(c)) is not None}
            if units:
                out[name] = units
        return out

    def to_dict(self) -> dict:
        lo, hi = self.range_kg
        return {
            "energy_kwh": {d.domain: d.kwh for d in self.energy},
            "energy": [
                {**asdict(d), "method": d.method.value} for d in self.energy
            ],
            "it_kwh": self.it_kwh,
            "pue": self.pue,
            "pue_source": self.pue_source,
            "facility_kwh": self.facility_kwh,
            "measured_share": self.measured_share,
            "uncertainty": self.uncertainty,
            "intensity": asdict(self.intensity),
            "operational_kg": self.operational_kg,
            "embodied_kg": self.embodied_kg,
            "embodied_source": self.embodied_source,
            "total_kg": self.total_kg,
            "total_kg_low": lo,
            "total_kg_high": hi,
            "duration_s": self.duration_s,
            "counters": dict(self.counters),
            "notes": list(self.notes),
            "scope": self.scope,
            "methods": self.methods,
            "phases": {k: v.to_dict() for k, v in self.phases.items()},
            "per_unit_j": self.per_unit(),
        }


def sum_by_domain(readings: Iterable[EnergyReading]) -> list[DomainEnergy]:
    """Add readings per domain; the method/source of a domain is that of its readings."""
    acc: dict[str, list[EnergyReading]] = {}
    for r in readings:
        acc.setdefault(r.domain, []).append(r)
    out = []
    for domain, rs in sorted(acc.items()):
        joules = sum(r.joules for r in rs)
        unc = max((r.uncertainty for r in rs), default=0.0)
        first = rs[0]
        out.append(DomainEnergy(domain, joules / J_PER_KWH, first.method, first.source, unc))
    return out


def carbon_kg(kwh: float, intensity_g_per_kwh: float, pue: float = 1.0) -> float:
    """kg CO2e of ``kwh`` IT energy at an intensity and a PUE."""
    return kwh * pue * intensity_g_per_kwh / 1000.0


def domain_energy(energies: Mapping[str, tuple[float, Method, str, float]]) -> list[DomainEnergy]:
    """Build DomainEnergy rows from ``{domain: (kwh, method, source, uncertainty)}``."""
    return [DomainEnergy(k, *v) for k, v in sorted(energies.items())]
