"""Green Software Foundation Software Carbon Intensity: SCI = ((E x I) + M) per R.

E is the energy of the software in kWh (here the run's facility energy, IT x PUE), I the carbon intensity of
that electricity in gCO2e/kWh (the run's effective intensity, hour-weighted where hourly data were used),
M the embodied emissions of the hardware share in gCO2e, and R the functional unit the user chooses: per
token, per 1,000 inferences, per training run ... Specification: https://github.com/Green-Software-Foundation/sci
(SPEC.md; also ISO/IEC 21031:2024).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from wattwise.errors import WattwiseError
from wattwise.footprint import Footprint

#: Functional units that are not counters: the whole run is one unit.
RUN_UNITS = {"run", "runs", "training run", "training-run", "training_run", "job", "training"}
#: Other names a counter may have been recorded under.
ALIASES = {
    "inference": ["inferences", "samples", "requests", "queries"],
    "request": ["requests", "inferences", "samples"],
    "query": ["queries", "requests", "inferences", "samples"],
    "sample": ["samples", "inferences"],
    "token": ["tokens"],
    "step": ["steps"],
}
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
    candidates = [name, singular, singular + "s", *ALIASES.get(singular, [])]
    for c in candidates:
        if counters.get(c):
            return FunctionalUnit(count, name if count != 1 else singular, c)
    have = ", ".join(sorted(counters)) or "none"
    raise WattwiseError(f"the run counted no {name!r} (counters: {have})",
                        "count them with run.add(tokens=...) / run.step(), or choose --per 'training run'")


def sci(fp: Footprint, unit: FunctionalUnit) -> SciScore:
    """SCI of a footprint per the functional unit."""
    e = fp.facility_kwh
    op_g = fp.operational_kg * 1000.0
    i = op_g / e if e > 0 else fp.intensity.g_per_kwh
    m = fp.embodied_kg * 1000.0
    r = unit.count if unit.counter is None else fp.counters.get(unit.counter, 0.0) / unit.count
    if r <= 0:
        raise WattwiseError(f"the run has no {unit.name} to divide by")
    value = (e * i + m) / r
    return SciScore(value, unit, e, i, m, r, fp.intensity.source)
