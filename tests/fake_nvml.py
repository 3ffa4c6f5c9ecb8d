"""A fake ``pynvml`` module: GPUs with an energy counter and power-only GPUs, MIG instances."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace


class NVMLError(Exception):
    pass


class NVMLError_NotSupported(NVMLError):
    pass


@dataclass
class FakeGpu:
    index: int
    name: str
    counter: bool
    energy_mj: float = 0.0
    power_mw: float = 100_000.0
    migs: list[str] = field(default_factory=list)

    @property
    def uuid(self) -> str:
        return f"GPU-{self.index:04d}"


def make_nvml(gpus: list[FakeGpu], fail_init: Exception | None = None) -> SimpleNamespace:
    by_uuid = {g.uuid: g for g in gpus}
    mig_parent = {m: g for g in gpus for m in g.migs}
    state = {"init": 0, "shutdown": 0}

    def init() -> None:
        if fail_init:
            raise fail_init
        state["init"] += 1

    def energy(h: FakeGpu) -> float:
        if not h.counter:
            raise NVMLError_NotSupported("Not Supported")
        return h.energy_mj

    def by_uuid_fn(u: str) -> object:
        if u in by_uuid:
            return by_uuid[u]
        if u in mig_parent:
            return ("mig", u)
        raise NVMLError(f"Not Found {u}")

    return SimpleNamespace(
        NVMLError=NVMLError,
        state=state,
        nvmlInit=init,
        nvmlShutdown=lambda: state.__setitem__("shutdown", state["shutdown"] + 1),
        nvmlDeviceGetCount=lambda: len(gpus),
        nvmlDeviceGetHandleByIndex=lambda i: gpus[i],
        nvmlDeviceGetHandleByUUID=by_uuid_fn,
        nvmlDeviceGetDeviceHandleFromMigDeviceHandle=lambda m: mig_parent[m[1]],
        nvmlDeviceGetUUID=lambda h: h.uuid.encode(),
        nvmlDeviceGetName=lambda h: h.name,
        nvmlDeviceGetIndex=lambda h: h.index,
        nvmlDeviceGetTotalEnergyConsumption=energy,
        nvmlDeviceGetPowerUsage=lambda h: h.power_mw,
    )
