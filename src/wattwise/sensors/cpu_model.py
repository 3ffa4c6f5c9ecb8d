"""Modelled CPU power for machines without RAPL: the node model's CPU part at the measured utilisation.

Power = S x TDP x (idle + dynamic x u^gamma) with the coefficients of the CPU's generation group, fitted on
SPECpower_ssj2008 results (``sensors/node_model.py``, ``data/cpu/power_model.json``). ``S`` is the chip count on
bare metal and, in a VM, the threads the VM sees over the threads of one host chip: a VM gets its share of the
host CPU instead of the whole socket's TDP. A CPU not in the catalogue is modelled from the median CPU of its
generation (from CPUID family/model), labelled so, with the wider interval fitted for that case. With ``pids``
the energy is attributed to those processes (and their children) in proportion to their share of CPU time.
"""

from __future__ import annotations

import csv
import re
import statistics
import time
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import psutil

from wattwise.footprint import Method
from wattwise.sensors import node_model
from wattwise.sensors.base import Availability, Counter, Sensor
from wattwise.sensors.proctree import tree_sum

CPUINFO = Path("/proc/cpuinfo")
FALLBACK_GROUP = "recent"  # the node model group of CPUs newer than the fitted data


@dataclass(frozen=True)
class Generation:
    name: str
    vendor: str
    year: int
    group: str  # the node model's coefficient group
    memory: str  # ddr2 .. ddr5
    cpuid: tuple[tuple[int, int | None], ...]  # (family, model or None for any)
    label: str
    dimms_per_socket: float = 2.0


@dataclass(frozen=True)
class CpuSpec:
    name: str
    tdp_w: float
    cores: int
    threads: int
    source: str
    generation: str = ""

    @property
    def w_per_thread(self) -> float:
        return self.tdp_w / self.threads


@dataclass(frozen=True)
class CpuInfo:
    """What ``/proc/cpuinfo`` says: model name, vendor, CPUID family/model, chips, whether under a hypervisor."""

    model_name: str = "unknown CPU"
    vendor: str = ""
    family: int | None = None
    model: int | None = None
    chips: int | None = None
    virtual: bool = False


def normalise(name: str) -> str:
    """A CPU name reduced for matching: 'Intel(R) Xeon(R) CPU E5-2686 v4 @ 2.30GHz' -> 'intel xeon e52686v4'."""
    s = re.sub(r"\((r|tm)\)", " ", name.lower())
    s = re.sub(r"@.*$|\(.*?\)|\[.*?\]|,.*$", " ", s)
    s = re.sub(r"\b\d+(\.\d+)?\s*ghz\b|\b(cpu|processor)\b", " ", s)
    s = s.replace("-", "")
    s = re.sub(r"\s+(v\d|he|ee|se)\b", r"\1", s)
    return " ".join(s.split())


@lru_cache(maxsize=1)
def generations() -> dict[str, Generation]:
    text = resources.files("wattwise").joinpath("data/cpu/generations.csv").read_text()
    out = {}
    for r in csv.DictReader(text.splitlines()):
        ids = []
        for tok in r["cpuid"].split():
            fam, mod = tok.split(":")
            ids.append((int(fam), None if mod == "*" else int(mod)))
        out[r["generation"]] = Generation(r["generation"], r["vendor"], int(r["year"]), r["group"], r["memory"],
                                          tuple(ids), r["label"], float(r["dimms_per_socket"]))
    return out


@lru_cache(maxsize=1)
def catalogue() -> tuple[tuple[str, CpuSpec], ...]:
    """(normalised pattern, spec) rows of the CPU catalogue, longest pattern first."""
    text = resources.files("wattwise").joinpath("data/cpu/cpus.csv").read_text()
    rows = []
    for r in csv.DictReader(text.splitlines()):
        spec = CpuSpec(r["name"], float(r["tdp_w"]), int(r["cores"]), int(r["threads"]), r["source"],
                       r["generation"])
        rows.append((normalise(r["pattern"]), spec))
    return tuple(sorted(rows, key=lambda row: -len(row[0])))


def lookup(model_name: str) -> CpuSpec | None:
    """The catalogued CPU whose model number appears (as whole words) in ``model_name``."""
    name = normalise(model_name)
    for pattern, spec in catalogue():
        if re.search(rf"(?<![a-z0-9]){re.escape(pattern)}(?![a-z0-9])", name):
            return spec
    return None


def generation_of(info: CpuInfo) -> Generation | None:
    """The generation from the CPUID family/model (how an unnamed cloud CPU such as 'AMD EPYC' is placed)."""
    if info.family is None:
        return None
    vendor = "amd" if "amd" in info.vendor.lower() else "intel" if "intel" in info.vendor.lower() else ""
    for gen in generations().values():
        if vendor and gen.vendor != vendor:
            continue
        for fam, mod in gen.cpuid:
            if fam == info.family and (mod is None or mod == info.model):
                return gen
    return None


FAMILIES = ("epyc", "xeon", "opteron", "ryzen", "threadripper", "core", "pentium")


def generation_median(generation: str | None, name: str = "") -> CpuSpec:
    """The median CPU of a generation (and of the family ``name`` names: EPYC, Xeon, Ryzen ...); else of its group;
    else of current server CPUs. TDP is the median TDP, threads make W per thread the median W per thread."""
    gens = generations()
    family = next((f for f in FAMILIES if f in name.lower()), "")

    def pick(rows: list[CpuSpec]) -> list[CpuSpec]:
        same = [s for s in rows if family and family in s.name.lower()]
        return same or rows

    rows = pick([s for _, s in catalogue() if s.generation == generation]) if generation else []
    label = f"median {gens[generation].label} CPU" if rows and generation else ""
    if not rows and generation in gens:
        same = {g.name for g in gens.values() if g.group == gens[generation].group}
        rows = pick([s for _, s in catalogue() if s.generation in same])
        label = f"median CPU of the {gens[generation].group} group ({gens[generation].label} not catalogued)"
    if not rows:
        newest = {g.name for g in gens.values() if g.group == FALLBACK_GROUP}
        rows = [s for _, s in catalogue() if s.generation in newest and re.search(r"epyc|xeon", s.name.lower())]
        generation, label = "", "median current server CPU"
    tdp = statistics.median(s.tdp_w for s in rows)
    threads = max(1, round(tdp / statistics.median(s.w_per_thread for s in rows)))
    return CpuSpec(label, tdp, max(1, threads // 2), threads, f"median of {len(rows)} catalogue rows", generation or "")


def default_w_per_thread() -> float:
    return generation_median(None).w_per_thread


def read_cpuinfo(path: Path = CPUINFO) -> CpuInfo:
    try:
        text = path.read_text()
    except OSError:
        import platform

        return CpuInfo(platform.processor() or "unknown CPU")
    fields: dict[str, str] = {}
    chips: set[str] = set()
    flags = ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key, value = key.strip().lower(), value.strip()
        if key == "physical id":
            chips.add(value)
        elif key == "flags" and not flags:
            flags = value
        elif key and key not in fields:
            fields[key] = value

    def num(k: str) -> int | None:
        return int(fields[k]) if fields.get(k, "").isdigit() else None

    return CpuInfo(fields.get("model name", "unknown CPU"), fields.get("vendor_id", ""), num("cpu family"),
                   num("model"), len(chips) or None, "hypervisor" in flags.split())


def cpu_model_name(cpuinfo: Path = CPUINFO) -> str:
    return read_cpuinfo(cpuinfo).model_name


def socket_share(spec: CpuSpec, threads: int, chips: int | None = None, virtual: bool = False) -> float:
    """Sockets this machine sees: its chip count on bare metal, threads seen / threads per chip in a VM."""
    if chips and not virtual:
        return float(chips)
    return threads / spec.threads


def _own_cpu(p: psutil.Process) -> float:
    t = p.cpu_times()
    return t.user + t.system


def _reaped_cpu(root: psutil.Process) -> float:
    t = root.cpu_times()
    return t.children_user + t.children_system


def _tree_cpu_seconds(pids: list[int]) -> float:
    """CPU seconds of the process trees: live processes plus children the roots already reaped."""
    return tree_sum(pids, _own_cpu, _reaped_cpu)


@dataclass(frozen=True)
class ResolvedCpu:
    """A machine's CPU as the node model sees it."""

    info: CpuInfo
    spec: CpuSpec
    catalogued: bool
    generation: Generation | None
    threads: int
    sockets: float

    @property
    def group(self) -> str:
        return self.generation.group if self.generation else FALLBACK_GROUP

    @property
    def memory(self) -> str:
        return self.generation.memory if self.generation else node_model.coefficients()["fallback_memory"]

    @property
    def dimms(self) -> float:
        """DIMMs this machine sees when their count is unknown: its socket share of the host's DIMMs."""
        gen = self.generation
        per = node_model.dimms_per_socket(gen.name, gen.dimms_per_socket) if gen else 8.0
        return self.sockets * per

    @property
    def interval(self) -> node_model.Interval:
        return node_model.interval("catalogued" if self.catalogued else "unknown_cpu")

    def interval_at(self, load: float) -> node_model.Interval:
        return node_model.interval("catalogued" if self.catalogued else "unknown_cpu", load)

    def describe_share(self) -> str:
        if self.info.virtual or not self.info.chips:
            return f"{self.threads}/{self.spec.threads} threads of a chip"
        return f"{self.sockets:g} chip(s)"


def resolve_cpu(model_name: str | None = None, threads: int | None = None, info: CpuInfo | None = None) -> ResolvedCpu:
    """Catalogue entry (or generation median), generation and socket share of this machine's CPU."""
    info = info or read_cpuinfo()
    if model_name:
        info = CpuInfo(model_name, info.vendor, info.family, info.model, info.chips, info.virtual)
    n = threads or psutil.cpu_count(logical=True) or 1
    found = lookup(info.model_name)
    if found:
        gen = generations().get(found.generation)
        spec = found
    else:
        gen = generation_of(info)
        spec = generation_median(gen.name if gen else None, info.model_name)
    return ResolvedCpu(info, spec, found is not None, gen, n, socket_share(spec, n, info.chips, info.virtual))


class CpuModelSensor(Sensor):
    """Modelled CPU energy (``cpu`` domain; ``model:cpu`` when it shadows a RAPL counter)."""

    name = "cpu-model"
    node_level = True

    def __init__(self, model_name: str | None = None, threads: int | None = None,
                 pids: list[int] | None = None, info: CpuInfo | None = None, domain: str = "cpu") -> None:
        if model_name is not None and info is None:
            info = CpuInfo(model_name)  # a given name: nothing else of this machine is assumed
        self.cpu = resolve_cpu(model_name, threads, info)
        self.model_name = self.cpu.info.model_name
        self.threads = self.cpu.threads
        self.spec = self.cpu.spec if self.cpu.catalogued else None
        self.domain = domain
        self.pids = pids if pids is not None else []
        self.per_process = pids is not None
        iv = self.cpu.interval
        self.uncertainty = iv.half_width
        what = (f"{self.cpu.spec.name}, {self.cpu.spec.tdp_w:g} W TDP" if self.cpu.catalogued else
                f"unknown CPU {self.model_name!r}: {self.cpu.spec.name}, {self.cpu.spec.tdp_w:g} W TDP")
        self.source = f"node-model cpu ({what}, {self.cpu.describe_share()}; {iv.label()})"
        if self.per_process:
            self.source += ", process share"
            self.node_level = False
        self.joules = 0.0
        self.last_share = 1.0  # the process share of the last interval (1 for the whole machine)
        self.last_percent = 0.0
        self._t = 0.0
        self._busy = 0.0
        self._total = 0.0
        self._proc = 0.0

    def watts(self, percent: float) -> float:
        """Modelled CPU watts at ``percent`` utilisation for the share of the host this machine sees."""
        return node_model.cpu_watts(self.cpu.group, self.cpu.spec.tdp_w, self.cpu.sockets, percent / 100.0)

    @property
    def max_watts(self) -> float:
        return self.watts(100.0)

    @property
    def w_per_thread(self) -> float:
        return self.cpu.spec.w_per_thread

    def available(self) -> Availability:
        label = "catalogued" if self.cpu.catalogued else f"not in catalogue, {self.cpu.spec.name} used"
        return Availability(True, f"{self.model_name} ({label}), {self.cpu.describe_share()}, "
                                  f"{self.watts(0):.1f}-{self.max_watts:.1f} W (idle-100 %)")

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
            self.last_percent = percent
            self.uncertainty = self.cpu.interval_at(percent / 100).half_width
            joules = self.watts(percent) * dt
            if self.per_process:
                proc = _tree_cpu_seconds(self.pids)
                d_proc = max(proc - self._proc, 0.0)
                self._proc = proc
                # busy time is counted across all threads; the process share is its part of it
                self.last_share = min(d_proc / d_busy, 1.0) if d_busy > 0 else 0.0
                joules *= self.last_share
            self.joules += joules
        self._t, self._busy, self._total = now, busy, total
        return [Counter(self.domain, self.joules, Method.MODELLED, self.source, self.uncertainty)]

    def describe(self) -> dict[str, str]:
        c = self.cpu
        d = {"model": self.model_name, "threads": str(self.threads), "sockets": f"{c.sockets:.3g}",
             "generation": c.generation.label if c.generation else "unknown", "group": c.group,
             "tdp_w": f"{c.spec.tdp_w:g}", "interval": c.interval.label()}
        d["source"] = c.spec.source
        return d
