"""Modelled memory power, used only when no RAPL DRAM counter exists: the node model's memory part.

W per GB and per DIMM of this CPU generation's memory (DDR2..DDR5), fitted on SPECpower_ssj2008 results
(``sensors/node_model.py``). The DIMMs are the socket share this machine sees times the generation's DIMMs per
socket (one per memory channel), so a VM carries its share of the host's DIMMs and its own GB. With ``pids``:
the resident memory of those process trees, and their share of the machine's DIMM power by memory share.
"""

from __future__ import annotations

import time

import psutil

from wattwise.footprint import Method
from wattwise.sensors import node_model
from wattwise.sensors.base import Availability, Counter, Sensor
from wattwise.sensors.proctree import tree_sum

GB = 1e9


def _tree_rss(pids: list[int]) -> float:
    return tree_sum(pids, lambda p: p.memory_info().rss)


class RamModelSensor(Sensor):
    """Modelled memory energy (``ram`` domain)."""

    name = "ram-model"

    def __init__(self, pids: list[int] | None = None, total_bytes: int | None = None, memory: str | None = None,
                 catalogued: bool | None = None, dimms: float | None = None) -> None:
        self.pids = pids if pids is not None else []
        self.per_process = pids is not None
        self.total_bytes = total_bytes or psutil.virtual_memory().total
        self.node_level = not self.per_process
        if memory is None or catalogued is None or dimms is None:
            from wattwise.sensors.cpu_model import resolve_cpu

            cpu = resolve_cpu()
            memory = memory or cpu.memory
            catalogued = cpu.catalogued if catalogued is None else catalogued
            dimms = cpu.dimms if dimms is None else dimms
        self.memory = memory
        self.dimms = dimms
        total_gb = self.total_bytes / GB
        # everything per GB of this machine's memory, so a process share is its resident GB
        self.w_per_gb = node_model.ram_watts(memory, total_gb, dimms) / total_gb if total_gb > 0 else 0.0
        iv = node_model.interval("catalogued" if catalogued else "unknown_cpu")
        self.uncertainty = iv.half_width
        self.joules = 0.0
        self._t = 0.0
        self.source = (f"node-model ram ({memory.upper()}, {dimms:.3g} DIMM(s), {self.w_per_gb:.3f} W/GB"
                       f"{', process RSS' if self.per_process else ', all memory'}; {iv.label()})")

    def watts(self) -> float:
        size = _tree_rss(self.pids) if self.per_process else self.total_bytes
        return self.w_per_gb * size / GB

    def available(self) -> Availability:
        return Availability(True, f"{self.total_bytes / GB:.1f} GB {self.memory.upper()} on {self.dimms:.3g} DIMM(s) "
                                  f"= {self.w_per_gb * self.total_bytes / GB:.1f} W")

    def open(self) -> None:
        self.joules = 0.0
        self._t = time.monotonic()

    def read(self) -> list[Counter]:
        now = time.monotonic()
        self.joules += self.watts() * (now - self._t)
        self._t = now
        return [Counter("ram", self.joules, Method.MODELLED, self.source, self.uncertainty)]
