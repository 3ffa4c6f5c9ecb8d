"""Pick the sensors for this machine: counters where they work, models where they do not."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from wattwise.sensors.amdgpu import AmdGpuSensor
from wattwise.sensors.base import SHADOW_CPU, Availability, Sensor
from wattwise.sensors.cpu_model import CpuModelSensor
from wattwise.sensors.nvml import NvmlSensor
from wattwise.sensors.platform_model import PlatformModelSensor
from wattwise.sensors.ram_model import RamModelSensor
from wattwise.sensors.rapl import POWERCAP, RaplSensor


@dataclass
class Selection:
    """The sensors in use, and for every sensor considered, whether it works and why (not)."""

    sensors: list[Sensor]
    status: list[tuple[str, Availability, bool]] = field(default_factory=list)  # name, availability, used
    notices: list[str] = field(default_factory=list)


def model_sensors(pids: list[int] | None = None) -> list[Sensor]:
    """The node model's sensors for this machine (one CPU resolution shared by all): CPU, memory, platform,
    and the CPU model's shadow (``model:cpu``, stored beside a RAPL reading, excluded from totals)."""
    cpu = CpuModelSensor(pids=pids)
    ram = RamModelSensor(pids=pids, memory=cpu.cpu.memory, catalogued=cpu.cpu.catalogued, dimms=cpu.cpu.dimms)
    shadow = CpuModelSensor(pids=pids, domain=SHADOW_CPU)
    shadow.name = "cpu-model-shadow"
    return [cpu, ram, PlatformModelSensor(pids=pids), shadow]


def all_sensors(rapl_root: Path | str = POWERCAP, pids: list[int] | None = None) -> list[Sensor]:
    """Every sensor wattwise knows, in order of preference."""
    return [RaplSensor(rapl_root), NvmlSensor(), AmdGpuSensor(), *model_sensors(pids)]


def choose_sensors(
    rapl_root: Path | str = POWERCAP,
    pids: list[int] | None = None,
    node_sensors: bool = True,
    candidates: list[Sensor] | None = None,
) -> Selection:
    """Counters where available; the CPU model replaces RAPL and the RAM model replaces a DRAM counter.

    The platform model (fans, disks, NIC, PSU losses) is always used: no counter covers it. Next to RAPL the CPU
    model also runs as a shadow (domain ``model:cpu``) so model and counter can be compared for the same interval.

    ``node_sensors=False`` (a distributed rank that does not own the node) skips sensors that see the whole
    machine. ``pids`` attribute modelled CPU/RAM energy to those process trees.
    """
    cands = candidates if candidates is not None else all_sensors(rapl_root, pids)
    by_name = {s.name: s for s in cands}
    sel = Selection([])
    status = {s.name: s.available() for s in cands}
    rapl = by_name.get("rapl")
    rapl_ok = bool(rapl and status["rapl"])
    if rapl and not rapl_ok and "permission denied" in status["rapl"].reason:
        sel.notices.append(status["rapl"].reason)
    has_dram = rapl_ok and any(z.domain.startswith("dram") for z in rapl._discover())  # type: ignore[union-attr]
    for s in cands:
        use = bool(status[s.name])
        if s.name == "cpu-model":
            use = use and not rapl_ok
        elif s.name == "cpu-model-shadow":
            use = use and rapl_ok
        elif s.name == "ram-model":
            use = use and not has_dram
        if use and s.node_level and not node_sensors:
            use = False
            status[s.name] = Availability(True, status[s.name].reason + " (read by the node's owner process)")
        sel.status.append((s.name, status[s.name], use))
        if use:
            sel.sensors.append(s)
    return sel
