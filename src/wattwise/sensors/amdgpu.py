"""AMD Instinct / Radeon GPUs through AMD SMI (``amdsmi`` Python package, shipped with ROCm).

Reads the accumulated energy counter (``amdsmi_get_energy_count``: accumulator x counter resolution in uJ).
On multi-die parts (MI250X) each die is its own processor handle; both are read, so none reports 0 W.
"""

from __future__ import annotations

import contextlib
from types import ModuleType
from typing import Any

from wattwise.footprint import Method
from wattwise.sensors.base import Availability, Counter, Sensor

UNCERTAINTY = 0.05


def _load() -> ModuleType | None:
    try:
        import amdsmi
    except ImportError:
        return None
    return amdsmi


class AmdGpuSensor(Sensor):
    """Per-GPU (per-die) energy from AMD SMI counters."""

    name = "amdgpu"

    def __init__(self, amdsmi: ModuleType | None = None) -> None:
        self.smi: Any = amdsmi if amdsmi is not None else _load()  # the amdsmi module (None: not installed)
        self.handles: list[Any] = []
        self.base: list[float] = []

    def _uj(self, handle: Any) -> float:
        e = self.smi.amdsmi_get_energy_count(handle)
        return float(e["energy_accumulator"]) * float(e["counter_resolution"])

    def available(self) -> Availability:
        if self.smi is None:
            return Availability(False, "amdsmi is not installed (it ships with ROCm)")
        try:
            self.smi.amdsmi_init()
            handles = self.smi.amdsmi_get_processor_handles()
            for h in handles:
                self._uj(h)
        except Exception as exc:
            return Availability(False, f"AMD SMI not usable: {exc}")
        if not handles:
            return Availability(False, "AMD SMI found no GPU")
        return Availability(True, f"{len(handles)} AMD GPU processor(s) with energy counters")

    def open(self) -> None:
        self.smi.amdsmi_init()
        self.handles = list(self.smi.amdsmi_get_processor_handles())
        self.base = [self._uj(h) for h in self.handles]

    def read(self) -> list[Counter]:
        return [
            Counter(f"amdgpu:{i}", (self._uj(h) - b) / 1e6, Method.MEASURED, "amdsmi-energy-counter", UNCERTAINTY)
            for i, (h, b) in enumerate(zip(self.handles, self.base, strict=True))
        ]

    def close(self) -> None:
        if self.smi is not None:
            with contextlib.suppress(Exception):
                self.smi.amdsmi_shut_down()
