"""NVIDIA GPUs through NVML (``nvidia-ml-py``).

Prefers the cumulative energy counter (``nvmlDeviceGetTotalEnergyConsumption``, Volta and newer); for GPUs
without it (older GPUs, some vGPUs) it integrates ``nvmlDeviceGetPowerUsage`` samples over time (trapezoid),
labelled ``nvml-power-sampling`` with a larger uncertainty: on A100/H100 the power reading covers only part of
each interval (Yang et al., "Part-time Power Measurements: nvidia-smi's Lack of Attention", 2024).
``CUDA_VISIBLE_DEVICES`` is respected (indices, ``GPU-`` and ``MIG-`` UUIDs); a MIG instance is read through
its parent GPU, whose energy is shared by all its instances (said in the domain's source).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from wattwise.footprint import Method
from wattwise.sensors.base import Availability, Counter, Sensor

#: NVIDIA documents board power readings as accurate to +/-5 % (nvidia-smi documentation, "power.draw").
COUNTER_UNCERTAINTY = 0.05
SAMPLING_UNCERTAINTY = 0.25


@dataclass
class Gpu:
    handle: Any
    index: int
    name: str
    uuid: str
    counter: bool
    mig: bool = False
    base_mj: float = 0.0
    last_t: float = 0.0
    last_w: float = 0.0
    sampled_j: float = 0.0

    @property
    def domain(self) -> str:
        return f"gpu:{self.index}"


def _load_nvml() -> ModuleType | None:
    try:
        import pynvml
    except ImportError:
        return None
    return pynvml


def _text(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


class NvmlSensor(Sensor):
    """Per-GPU energy from NVML."""

    name = "nvml"

    def __init__(self, nvml: ModuleType | None = None, visible: str | None = None) -> None:
        self.nvml: Any = nvml if nvml is not None else _load_nvml()  # pynvml or a stand-in (None: not installed)
        self.visible = os.environ.get("CUDA_VISIBLE_DEVICES") if visible is None else visible
        self.gpus: list[Gpu] = []
        self._inited = False

    def _init(self) -> None:
        if not self._inited:
            self.nvml.nvmlInit()
            self._inited = True

    def _handles(self) -> list[tuple[Any, bool]]:
        nv = self.nvml
        if self.visible is None or self.visible.strip() == "":
            if self.visible is not None and self.visible.strip() == "":
                return []
            return [(nv.nvmlDeviceGetHandleByIndex(i), False) for i in range(nv.nvmlDeviceGetCount())]
        out = []
        for item in (s.strip() for s in self.visible.split(",")):
            if not item:
                continue
            if item.startswith("MIG-"):
                mig = nv.nvmlDeviceGetHandleByUUID(item)
                out.append((nv.nvmlDeviceGetDeviceHandleFromMigDeviceHandle(mig), True))
            elif item.startswith("GPU-"):
                out.append((nv.nvmlDeviceGetHandleByUUID(item), False))
            elif item.lstrip("-").isdigit():
                if int(item) < 0:
                    break  # CUDA stops at the first invalid index
                out.append((nv.nvmlDeviceGetHandleByIndex(int(item)), False))
            else:
                raise ValueError(f"cannot parse CUDA_VISIBLE_DEVICES entry {item!r}")
        return out

    def _discover(self) -> list[Gpu]:
        nv = self.nvml
        gpus: dict[str, Gpu] = {}
        for handle, mig in self._handles():
            uuid = _text(nv.nvmlDeviceGetUUID(handle))
            if uuid in gpus:
                continue  # two MIG instances of one GPU: read the GPU once
            try:
                nv.nvmlDeviceGetTotalEnergyConsumption(handle)
                counter = True
            except nv.NVMLError:
                counter = False
            gpus[uuid] = Gpu(
                handle, int(nv.nvmlDeviceGetIndex(handle)), _text(nv.nvmlDeviceGetName(handle)), uuid, counter, mig
            )
        return list(gpus.values())

    def available(self) -> Availability:
        if self.nvml is None:
            return Availability(False, "nvidia-ml-py is not installed")
        try:
            self._init()
            gpus = self._discover()
        except Exception as exc:  # NVMLError_LibraryNotFound, DriverNotLoaded, bad CUDA_VISIBLE_DEVICES
            return Availability(False, f"NVML not usable: {exc}")
        if not gpus:
            return Availability(False, "NVML found no visible NVIDIA GPU")
        kinds = ", ".join(
            f"{g.domain} {g.name} ({'energy counter' if g.counter else 'power sampling'})" for g in gpus
        )
        return Availability(True, kinds)

    def open(self) -> None:
        self._init()
        self.gpus = self._discover()
        now = time.monotonic()
        for g in self.gpus:
            if g.counter:
                g.base_mj = float(self.nvml.nvmlDeviceGetTotalEnergyConsumption(g.handle))
            else:
                g.last_w = float(self.nvml.nvmlDeviceGetPowerUsage(g.handle)) / 1000.0
                g.last_t = now
                g.sampled_j = 0.0

    def read(self) -> list[Counter]:
        nv = self.nvml
        out = []
        now = time.monotonic()
        for g in self.gpus:
            suffix = " (MIG: whole GPU, shared by its instances)" if g.mig else ""
            if g.counter:
                mj = float(nv.nvmlDeviceGetTotalEnergyConsumption(g.handle)) - g.base_mj
                out.append(
                    Counter(g.domain, mj / 1000.0, Method.MEASURED, "nvml-energy-counter" + suffix,
                            COUNTER_UNCERTAINTY)
                )
            else:
                w = float(nv.nvmlDeviceGetPowerUsage(g.handle)) / 1000.0
                g.sampled_j += (w + g.last_w) / 2.0 * (now - g.last_t)
                g.last_w, g.last_t = w, now
                out.append(
                    Counter(g.domain, g.sampled_j, Method.MEASURED, "nvml-power-sampling" + suffix,
                            SAMPLING_UNCERTAINTY)
                )
        return out

    def close(self) -> None:
        if self._inited:
            try:
                self.nvml.nvmlShutdown()
            except Exception:  # shutting down must never fail a run
                pass
            self._inited = False

    def describe(self) -> dict[str, str]:
        return {g.domain: f"{g.name} {g.uuid}" for g in self.gpus}
