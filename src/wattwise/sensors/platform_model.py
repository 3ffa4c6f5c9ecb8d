"""Modelled platform power (``platform`` domain): fans, disks, NIC, board and PSU losses.

The node model's third part (``sensors/node_model.py``): a fitted base per socket (times the share of the
host's sockets this machine sees, so a VM carries its share of the host) plus the PSU loss share of CPU, memory
and base. Always modelled, also next to RAPL counters, so whole-machine totals include what the counters miss.
With ``pids`` it is attributed like the CPU model: by the processes' share of the busy CPU time.
"""

from __future__ import annotations

import time

from wattwise.footprint import Method
from wattwise.sensors import node_model
from wattwise.sensors.base import Availability, Counter, Sensor
from wattwise.sensors.cpu_model import CpuModelSensor
from wattwise.sensors.ram_model import RamModelSensor


class PlatformModelSensor(Sensor):
    """Modelled platform energy (``platform`` domain)."""

    name = "platform-model"

    def __init__(self, pids: list[int] | None = None, cpu: CpuModelSensor | None = None,
                 ram: RamModelSensor | None = None) -> None:
        self.cpu = cpu or CpuModelSensor(pids=pids)
        self.ram = ram or RamModelSensor(pids=pids, memory=self.cpu.cpu.memory, catalogued=self.cpu.cpu.catalogued,
                                         dimms=self.cpu.cpu.dimms)
        self.per_process = self.cpu.per_process
        self.node_level = not self.per_process
        c = self.cpu.cpu
        self.base_w = c.sockets * node_model.group_params(c.group)["platform_w_per_socket"]
        self.psu_loss = node_model.coefficients()["psu_loss"]
        iv = c.interval
        self.uncertainty = iv.half_width
        self.source = (f"node-model platform ({self.base_w:.1f} W base for {c.describe_share()} + "
                       f"{self.psu_loss:.1%} PSU loss; {iv.label()})")
        self.joules = 0.0
        self._t = 0.0
        self._cpu_j = 0.0
        self._ram_j = 0.0

    def watts(self, cpu_w: float, ram_w: float) -> float:
        return node_model.platform_watts(self.cpu.cpu.group, self.cpu.cpu.sockets, cpu_w, ram_w)

    def available(self) -> Availability:
        idle = self.watts(self.cpu.watts(0), self.ram.watts() if not self.ram.per_process else 0.0)
        return Availability(True, f"{self.base_w:.1f} W base + {self.psu_loss:.1%} PSU loss "
                                  f"(about {idle:.1f} W at idle)")

    def open(self) -> None:
        self.cpu.open()
        self.ram.open()
        self.joules = self._cpu_j = self._ram_j = 0.0
        self._t = time.monotonic()

    def read(self) -> list[Counter]:
        now = time.monotonic()
        (cpu,) = self.cpu.read()
        (ram,) = self.ram.read()
        d_cpu, d_ram, dt = cpu.joules - self._cpu_j, ram.joules - self._ram_j, now - self._t
        base = self.base_w * dt * (self.cpu.last_share if self.per_process else 1.0)
        self.joules += base + self.psu_loss * (d_cpu + d_ram + base)
        self._t, self._cpu_j, self._ram_j = now, cpu.joules, ram.joules
        self.uncertainty = self.cpu.uncertainty  # the node's interval at this load (one model, one error)
        return [Counter("platform", self.joules, Method.MODELLED, self.source, self.uncertainty)]

    def describe(self) -> dict[str, str]:
        return {"base_w": f"{self.base_w:.2f}", "psu_loss": f"{self.psu_loss:.3f}"}
