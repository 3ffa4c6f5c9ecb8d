"""Modelled CPU power for machines without RAPL: TDP share x utilisation curve.

Power = (watts per hardware thread x threads this machine sees) x curve(utilisation), where curve is the
Teads/Boavizta SPECpower-derived profile (see ``data/cpu/SOURCES.md``). Scaling by the threads the machine
sees gives a VM its share of the host CPU instead of the whole socket's TDP. With ``pids`` the energy is
attributed to those processes (and their children) in proportion to their share of the CPU time used.
"""

from __future__ import annotations

import csv
import itertools
import re
import statistics
import time
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import psutil

from wattwise.footprint import Method
from wattwise.sensors.base import Availability, Counter, Sensor
from wattwise.sensors.proctree import tree_sum

CURVE = ((0.0, 0.12), (10.0, 0.32), (50.0, 0.75), (100.0, 1.02))
CATALOGUED_UNCERTAINTY = 0.30
UNKNOWN_UNCERTAINTY = 0.50


@dataclass(frozen=True)
class CpuSpec:
    name: str
    tdp_w: float
    cores: int
    threads: int
    source: str

    @property
    def w_per_thread(self) -> float:
        return self.tdp_w / self.threads


@lru_cache(maxsize=1)
def catalogue() -> tuple[tuple[str, CpuSpec], ...]:
    """(pattern, spec) rows of the CPU catalogue shipped with the package."""
    text = resources.files("wattwise").joinpath("data/cpu/cpus.csv").read_text()
    rows = []
    for r in csv.DictReader(text.splitlines()):
        spec = CpuSpec(r["name"], float(r["tdp_w"]), int(r["cores"]), int(r["threads"]), r["source"])
        rows.append((r["pattern"].lower(), spec))
    return tuple(rows)


def _normal(name: str) -> str:
    """Lower case without trademark marks and extra spaces: 'Intel(R) Xeon(R)' -> 'intel xeon'."""
    return " ".join(re.sub(r"\((r|tm)\)", " ", name.lower()).split())


def lookup(model_name: str) -> CpuSpec | None:
    name = _normal(model_name)
    for pattern, spec in catalogue():
        if _normal(pattern) in name:
            return spec
    return None


def default_w_per_thread() -> float:
    """Median W per thread over the catalogue's server CPUs (EPYC and Xeon rows)."""
    server = [s.w_per_thread for p, s in catalogue() if re.search(r"epyc|xeon", p)]
    return statistics.median(server)


def cpu_model_name(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    try:
        for line in cpuinfo.read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or "unknown CPU"


def utilisation_share(percent: float) -> float:
    """Share of TDP drawn at ``percent`` utilisation (piecewise linear through CURVE)."""
    p = min(max(percent, 0.0), 100.0)
    for (x0, y0), (x1, y1) in itertools.pairwise(CURVE):
        if p <= x1:
            return y0 + (y1 - y0) * (p - x0) / (x1 - x0)
    return CURVE[-1][1]


def _own_cpu(p: psutil.Process) -> float:
    t = p.cpu_times()
    return t.user + t.system


def _reaped_cpu(root: psutil.Process) -> float:
    t = root.cpu_times()
    return t.children_user + t.children_system


def _tree_cpu_seconds(pids: list[int]) -> float:
    """CPU seconds of the process trees: live processes plus children the roots already reaped."""
    return tree_sum(pids, _own_cpu, _reaped_cpu)


class CpuModelSensor(Sensor):
    """Modelled CPU energy (``cpu`` domain)."""

    name = "cpu-model"
    node_level = True

    def __init__(self, model_name: str | None = None, threads: int | None = None,
                 pids: list[int] | None = None) -> None:
        self.model_name = model_name or cpu_model_name()
        self.threads = threads or psutil.cpu_count(logical=True) or 1
        self.spec = lookup(self.model_name)
        self.pids = pids if pids is not None else []
        self.per_process = pids is not None
        if self.spec:
            self.w_per_thread = self.spec.w_per_thread
            self.uncertainty = CATALOGUED_UNCERTAINTY
            self.source = f"cpu-tdp-model ({self.spec.name}, {self.spec.tdp_w:g} W TDP)"
        else:
            self.w_per_thread = default_w_per_thread()
            self.uncertainty = UNKNOWN_UNCERTAINTY
            self.source = f"cpu-tdp-model (unknown CPU {self.model_name!r}: {self.w_per_thread:.2f} W/thread)"
        if self.per_process:
            self.source += ", process share"
            self.node_level = False
        self.joules = 0.0
        self._t = 0.0
        self._busy = 0.0
        self._total = 0.0
        self._proc = 0.0

    @property
    def max_watts(self) -> float:
        return self.w_per_thread * self.threads

    def available(self) -> Availability:
        label = "catalogued" if self.spec else "not in catalogue, median server W/thread used"
        return Availability(True, f"{self.model_name} ({label}), {self.threads} threads, "
                                  f"{self.max_watts:.1f} W at 100 %")

    @staticmethod
    def _cpu_times() -> tuple[float, float]:
        t = psutil.cpu_times()
        idle = t.idle + getattr(t, "iowait", 0.0)
        total = sum(t)
        guest = getattr(t, "guest", 0.0) + getattr(t, "guest_nice", 0.0)  # already counted in user/nice
        total -= guest
        return total - idle, total

    def open(self) -> None:
        self.joules = 0.0
        self._t = time.monotonic()
        self._busy, self._total = self._cpu_times()
        self._proc = _tree_cpu_seconds(self.pids) if self.per_process else 0.0

    def read(self) -> list[Counter]:
        now = time.monotonic()
        busy, total = self._cpu_times()
        d_busy, d_total, dt = busy - self._busy, total - self._total, now - self._t
        if dt > 0:
            percent = 100.0 * d_busy / d_total if d_total > 0 else 0.0
            joules = self.max_watts * utilisation_share(percent) * dt
            if self.per_process:
                proc = _tree_cpu_seconds(self.pids)
                d_proc = max(proc - self._proc, 0.0)
                self._proc = proc
                # busy time is counted across all threads; the process share is its part of it
                joules *= min(d_proc / d_busy, 1.0) if d_busy > 0 else 0.0
            self.joules += joules
        self._t, self._busy, self._total = now, busy, total
        return [Counter("cpu", self.joules, Method.MODELLED, self.source, self.uncertainty)]

    def describe(self) -> dict[str, str]:
        d = {"model": self.model_name, "threads": str(self.threads), "w_per_thread": f"{self.w_per_thread:.2f}"}
        if self.spec:
            d["source"] = self.spec.source
        return d
