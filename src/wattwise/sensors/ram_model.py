"""Modelled memory power (W per GB), used only when no RAPL DRAM counter exists.

0.392 W/GB (Cloud Carbon Footprint methodology; see ``data/cpu/SOURCES.md``) times the memory this machine
(or VM) sees, or with ``pids`` the resident memory of those processes and their children.
"""

from __future__ import annotations

import time

import psutil

from wattwise.footprint import Method
from wattwise.sensors.base import Availability, Counter, Sensor
from wattwise.sensors.proctree import tree_sum

W_PER_GB = 0.392
UNCERTAINTY = 0.50
GB = 1e9


def _tree_rss(pids: list[int]) -> float:
    return tree_sum(pids, lambda p: p.memory_info().rss)


class RamModelSensor(Sensor):
    """Modelled memory energy (``ram`` domain)."""

    name = "ram-model"

    def __init__(self, pids: list[int] | None = None, total_bytes: int | None = None) -> None:
        self.pids = pids if pids is not None else []
        self.per_process = pids is not None
        self.total_bytes = total_bytes or psutil.virtual_memory().total
        self.node_level = not self.per_process
        self.joules = 0.0
        self._t = 0.0
        self.source = f"ram-model ({W_PER_GB} W/GB{', process RSS' if self.per_process else ', all memory'})"

    def watts(self) -> float:
        size = _tree_rss(self.pids) if self.per_process else self.total_bytes
        return W_PER_GB * size / GB

    def available(self) -> Availability:
        return Availability(True, f"{self.total_bytes / GB:.1f} GB memory x {W_PER_GB} W/GB "
                                  f"= {W_PER_GB * self.total_bytes / GB:.1f} W")

    def open(self) -> None:
        self.joules = 0.0
        self._t = time.monotonic()

    def read(self) -> list[Counter]:
        now = time.monotonic()
        self.joules += self.watts() * (now - self._t)
        self._t = now
        return [Counter("ram", self.joules, Method.MODELLED, self.source, UNCERTAINTY)]
