"""The node power model: CPU, memory and platform watts from what a tracker can know, with earned intervals.

    wall(u) = cpu(u) + ram + platform(u)
    cpu(u)      = S x TDP x (idle + dynamic x u^gamma)           idle/dynamic per CPU generation group
    ram         = W/GB x GB + W/DIMM x DIMMs                     per memory generation; DIMMs unknown:
                                                                 S x DIMMs per socket of the CPU generation
    platform(u) = S x base + psu_loss x (cpu + ram + S x base)   fans, disks, NIC, board; PSU losses

``S`` is the share of sockets this machine sees: the chip count on bare metal, the threads a VM sees over the
threads of one chip in a VM. The coefficients and the 80 % interval of wall power (quantiles of the relative
error on machines the fit did not see) come from ``data/cpu/power_model.json``, written by
``bench/power_model.py`` from SPECpower_ssj2008 results (see ``data/cpu/SOURCES.md`` and docs/power_model.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

COEFFICIENTS = "data/cpu/power_model.json"


@lru_cache(maxsize=1)
def coefficients() -> dict[str, Any]:
    """The fitted coefficients shipped with the package."""
    return json.loads(resources.files("wattwise").joinpath(COEFFICIENTS).read_text())


@dataclass(frozen=True)
class Interval:
    """80 % interval of measured / modelled - 1 (``low`` < 0 < ``high``), from cross-validated residuals."""

    low: float
    high: float

    @property
    def half_width(self) -> float:
        """The symmetric relative uncertainty stored with a figure: the wider side, so both sides are covered."""
        return max(-self.low, self.high)

    def label(self) -> str:
        return f"80 % interval {self.low:+.0%}/{self.high:+.0%}"


def interval(kind: str = "catalogued", load: float | None = None, coeffs: dict[str, Any] | None = None) -> Interval:
    """The interval for a catalogued CPU (``catalogued``) or one modelled from its generation (``unknown_cpu``);
    with ``load`` (0..1) the interval fitted at the nearest SPECpower load level, else over all levels."""
    q = (coeffs or coefficients())["interval"][kind]
    if load is None or "by_load" not in q:
        return Interval(q["q10"], q["q90"])
    levels = sorted(int(k) for k in q["by_load"])
    nearest = min(levels, key=lambda lv: abs(lv - 100 * load))
    low, high = q["by_load"][str(nearest)]
    return Interval(low, high)


@dataclass(frozen=True)
class NodePower:
    cpu: float
    ram: float
    platform: float

    @property
    def total(self) -> float:
        return self.cpu + self.ram + self.platform


def group_params(group: str, coeffs: dict[str, Any] | None = None) -> dict[str, float]:
    c = coeffs or coefficients()
    return c["groups"].get(group) or c["groups"][c["fallback_group"]]


def memory_params(memory: str, coeffs: dict[str, Any] | None = None) -> dict[str, float]:
    c = coeffs or coefficients()
    return c["memory"].get(memory) or c["memory"][c["fallback_memory"]]


def cpu_watts(group: str, tdp_w: float, sockets: float, load: float, coeffs: dict[str, Any] | None = None) -> float:
    """CPU watts at ``load`` (0..1) for ``sockets`` (fractional in a VM) chips of ``tdp_w`` each."""
    c = coeffs or coefficients()
    g = group_params(group, c)
    u = min(max(load, 0.0), 1.0)
    return sockets * tdp_w * (g["cpu_idle"] + g["cpu_dynamic"] * u ** c["gamma"])


def dimms_per_socket(generation: str, default: float, coeffs: dict[str, Any] | None = None) -> float:
    """DIMMs per socket of a generation: the fitted data's median, else one DIMM per memory channel."""
    return float((coeffs or coefficients()).get("dimms_per_socket", {}).get(generation, default))


def ram_watts(memory: str, gb: float, dimms: float, coeffs: dict[str, Any] | None = None) -> float:
    """Memory watts for ``gb`` of memory on ``dimms`` DIMMs (a VM: its socket share of the host's DIMMs)."""
    m = memory_params(memory, coeffs)
    return m["w_per_gb"] * gb + m["w_per_dimm"] * dimms


def platform_watts(group: str, sockets: float, cpu_w: float, ram_w: float,
                   coeffs: dict[str, Any] | None = None) -> float:
    """Platform watts: the per-socket base plus PSU losses on everything."""
    c = coeffs or coefficients()
    base = sockets * group_params(group, c)["platform_w_per_socket"]
    return base + c["psu_loss"] * (cpu_w + ram_w + base)


def node_power(group: str, memory: str, tdp_w: float, sockets: float, gb: float, load: float, dimms: float,
               coeffs: dict[str, Any] | None = None) -> NodePower:
    """The three parts of a node's (or a VM's share of its host's) wall power at ``load``."""
    cpu = cpu_watts(group, tdp_w, sockets, load, coeffs)
    ram = ram_watts(memory, gb, dimms, coeffs)
    return NodePower(cpu, ram, platform_watts(group, sockets, cpu, ram, coeffs))
