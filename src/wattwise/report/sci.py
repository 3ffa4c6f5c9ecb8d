"""Green Software Foundation Software Carbon Intensity: SCI = ((E x I) + M) per R.

E is the energy of the software in kWh: the run's facility energy, i.e. the IT energy of the components it
metered (CPU package or model, DRAM or RAM model, GPUs) x PUE; network, storage and idle reserved capacity are
outside the boundary. I is the carbon intensity of that electricity in gCO2e/kWh (the run's effective intensity,
hour-weighted where hourly data were used). M is the embodied emissions of the hardware share in gCO2e:
TE x TS x RS with TE from the hardware catalogue (accelerators, LLMCarbon-style, plus their host share) or, for a
CPU-only server, its CPU packages and DRAM; TS = the run's duration / the hardware lifetime; RS = the GPUs the run
metered (accelerators) or the whole machine. R is the functional unit: a counter the run recorded (tokens,
steps, samples, ...) or the whole run. Specification: https://github.com/Green-Software-Foundation/sci (SPEC.md;
also ISO/IEC 21031:2024).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from wattwise.errors import WattwiseError
from wattwise.footprint import Footprint
from wattwise.store.records import RunRecord

#: Functional units that are not counters: the whole run is one unit.
RUN_UNITS = {"run", "runs", "training run", "training-run", "training_run", "job", "training"}
#: What E covers (stated with every score).
E_BOUNDARY = ("E: facility energy (IT energy of the metered components x PUE); network, storage and idle "
              "reserved capacity are outside the boundary")
_SCALE = {"": 1.0, "k": 1e3, "m": 1e6, "b": 1e9}


@dataclass(frozen=True)
class FunctionalUnit:
    """R: ``count`` units named ``name``; ``counter`` is None for the whole run."""

    count: float
    name: str
    counter: str | None

    @property
    def label(self) -> str:
        if self.counter is None:
            return self.name
        n = f"{self.count:,.0f}" if self.count != 1 else ""
        return f"{n} {self.name}".strip()


@dataclass(frozen=True)
class SciScore:
    value_g: float
    unit: FunctionalUnit
    e_kwh: float
    i_g_per_kwh: float
    m_g: float
    r: float
    intensity_source: str
    m_source: str = "no embodied estimate"
    boundary: str = E_BOUNDARY

    def text(self) -> str:
        return f"{_g(self.value_g)} CO2e per {self.unit.label}"

    def formula(self) -> str:
        return (f"(E {self.e_kwh:.4g} kWh x I {self.i_g_per_kwh:.4g} g/kWh + M {self.m_g:.4g} g) / "
                f"R {self.r:,.6g}")


def _g(grams: float) -> str:
    if grams == 0:
        return "0 g"
    if grams < 1e-3:
        return f"{grams * 1e3:.3g} mg"
    if grams < 1000:
        return f"{grams:.3g} g"
    return f"{grams / 1000:.3g} kg"


def parse_unit(text: str, counters: dict[str, float]) -> FunctionalUnit:
    """Parse ``token``, ``1000 inferences``, ``1k tokens``, ``training run`` against the run's counters."""
    raw = " ".join(text.strip().lower().replace(",", "").split())
    raw = raw.removeprefix("per ").strip()
    if raw in RUN_UNITS:
        return FunctionalUnit(1.0, "training run" if "train" in raw else "run", None)
    m = re.fullmatch(r"(?:(\d+(?:\.\d+)?)\s*([kmb]?)\s+)?([a-z_][\w\- ]*)", raw)
    if not m:
        raise WattwiseError(f"cannot read the functional unit {text!r}",
                            "use e.g. 'token', '1000 inferences', '1k tokens' or 'training run'")
    count = float(m.group(1) or 1.0) * _SCALE[m.group(2) or ""]
    name = m.group(3).strip()
    if count <= 0:
        raise WattwiseError(f"the functional unit count must be > 0, got {text!r}")
    singular = name[:-1] if name.endswith("s") and len(name) > 1 else name
    for c in dict.fromkeys([name, singular, singular + "s"]):  # R only from a counter of that very name
        if counters.get(c):
            return FunctionalUnit(count, name if count != 1 else singular, c)
    have = ", ".join(sorted(counters)) or "none"
    raise WattwiseError(f"the run counted no {name!r} (counters: {have})",
                        "count them with run.add(tokens=...) / run.step(), or choose --per 'training run'")


def sci(fp: Footprint, unit: FunctionalUnit, embodied: tuple[float, str] | None = None) -> SciScore:
    """SCI of a footprint per the functional unit; ``embodied`` (kg, source) is M when the footprint has none."""
    e = fp.facility_kwh
    op_g = fp.operational_kg * 1000.0
    i = op_g / e if e > 0 else fp.intensity.g_per_kwh
    if fp.embodied_kg > 0 or embodied is None:
        m, m_source = fp.embodied_kg * 1000.0, fp.embodied_source or "no embodied estimate"
    else:
        m, m_source = embodied[0] * 1000.0, embodied[1]
    r = unit.count if unit.counter is None else fp.counters.get(unit.counter, 0.0) / unit.count
    if r <= 0:
        raise WattwiseError(f"the run has no {unit.name} to divide by")
    value = (e * i + m) / r
    return SciScore(value, unit, e, i, m, r, fp.intensity.source, m_source)


def catalogue_device(name: str) -> Any:
    """The catalogue device for a driver's name ("NVIDIA H100 80GB HBM3" -> h100-sxm): the longest leading run
    of its words that the catalogue knows, else the longest trailing one; None when none matches."""
    from wattwise.hardware import lookup

    parts = re.sub(r"[\s_]+", "-", name.strip().lower()).split("-")
    keys = ["-".join(parts[:i]) for i in range(len(parts), 0, -1)] + ["-".join(parts[i:]) for i in
                                                                       range(1, len(parts))]
    for key in keys:
        if key in ("", "nvidia", "amd", "tesla", "geforce"):
            continue
        try:
            return lookup(key)
        except WattwiseError:
            continue
    return None


def run_embodied(rec: RunRecord, fp: Footprint) -> tuple[float, str]:
    """M in kg for a stored run: TE x TS x RS from the host it recorded (see the module docstring)."""
    from wattwise.estimate import assumptions
    from wattwise.estimate.embodied import HOURS_PER_YEAR, amortised_kg
    from wattwise.export import run_host

    host = run_host(rec)
    hours = (fp.duration_s if fp.duration_s is not None else rec.duration_s) / 3600.0
    gpus = sorted({d.domain for d in fp.energy if d.domain.split(":")[0] in ("gpu", "amdgpu")})
    if gpus:
        name = str(host.get("gpu_model") or "").split(",")[0].strip()
        device = catalogue_device(name)
        if device is None:
            return 0.0, f"none: GPU {name or 'model unknown'} is not in the hardware catalogue"
        span = amortised_kg(device, hours * len(gpus))
        return span.central, f"{len(gpus)} GPU(s) x {hours:.4g} h: {span.source}"
    emb = assumptions.embodied()
    if not host.get("ram_total_gb") and not host.get("cpu_model"):
        return 0.0, "none: the run recorded no host (recorded before wattwise stored it)"
    sockets = int(host.get("cpu_sockets") or 1)
    te = sockets * float(emb["cpu_kg_per_socket"]) + float(host.get("ram_total_gb") or 0.0) * float(
        emb["dram_kg_per_gb"])
    years = float(emb["lifetime_years"])
    kg = te * hours / (years * HOURS_PER_YEAR)
    return kg, (f"CPU-only server: TE {te:.3g} kg ({sockets} CPU package(s), {host.get('ram_total_gb', 0):.0f} GB "
                f"DRAM) x TS {hours:.4g} h / {years:g} years x RS 1 (whole machine); {emb['server_source']}")
