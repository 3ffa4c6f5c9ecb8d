"""What a run ran on, recorded with the run (so exports describe the run's host, not the exporting machine).

:func:`host_info` is stored in the run's config at start (``config["host_info"]``); :class:`UsageProbe`
adds the mean CPU utilisation and the memory in use at the end (``config["usage"]``).
"""

from __future__ import annotations

import os
import platform
import sys
import time
from functools import lru_cache
from typing import Any

import psutil

GIB = 2**30


@lru_cache(maxsize=1)
def gpu_names() -> tuple[str, ...]:
    """Names of the NVIDIA GPUs NVML sees (empty without a driver); never raises; once per process."""
    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception:
        return ()
    try:
        names: list[str] = []
        for i in range(pynvml.nvmlDeviceGetCount()):
            n = pynvml.nvmlDeviceGetName(pynvml.nvmlDeviceGetHandleByIndex(i))
            names.append(n.decode() if isinstance(n, bytes) else str(n))
        return tuple(names)
    except Exception:
        return ()
    finally:
        try:
            pynvml.nvmlShutdown()
        except Exception:
            pass


def cpu_sockets() -> int:
    """Physical CPU packages (distinct ``physical id`` in /proc/cpuinfo; 1 where unknown)."""
    try:
        with open("/proc/cpuinfo") as f:
            ids = {line.split(":", 1)[1].strip() for line in f if line.startswith("physical id")}
        return max(len(ids), 1)
    except OSError:
        return 1


def hardware_text(info: dict[str, Any]) -> str:
    """Hub-style ``hardware_used``: "8 x NVIDIA H100 80GB HBM3, 2 x AMD EPYC 9654 (CPU)"; "" when unknown."""
    parts = []
    names = [n.strip() for n in str(info.get("gpu_model") or "").split(",") if n.strip()]
    if info.get("gpu_count") and names:
        parts.append(f"{int(info['gpu_count'])} x {names[0]}" if len(names) == 1 else
                     f"{int(info['gpu_count'])} GPUs ({', '.join(names)})")
    if info.get("cpu_model"):
        parts.append(f"{int(info.get('cpu_sockets') or 1)} x {info['cpu_model']} (CPU)")
    return ", ".join(parts)


def host_info() -> dict[str, Any]:
    """OS, Python, CPU, RAM and GPUs of this machine, as plain JSON values (read once per process)."""
    return dict(_host_info())


@lru_cache(maxsize=1)
def _host_info() -> dict[str, Any]:
    from wattwise.sensors.cpu_model import cpu_model_name

    gpus = gpu_names()
    return {
        "os": platform.platform(),
        "python_version": platform.python_version(),
        "cpu_count": psutil.cpu_count() or os.cpu_count() or 0,
        "cpu_model": cpu_model_name(),
        "cpu_sockets": cpu_sockets(),
        "ram_total_gb": psutil.virtual_memory().total / GIB,
        "gpu_count": len(gpus),
        "gpu_model": ", ".join(sorted(set(gpus))),
        "platform": sys.platform,
    }


class UsageProbe:
    """Mean CPU utilisation between :meth:`start` and :meth:`finish` (machine-wide, from ``/proc/stat``-style
    CPU times) and the memory in use at the end; for process trees (``pids``) nothing: their processes have
    ended by then (the mean RSS is in the RAM model's samples, see :func:`wattwise.export.ram_used_gib`)."""

    def __init__(self, pids: list[int] | None = None) -> None:
        self.pids = pids
        self._t0: Any = None
        self._wall0 = 0.0

    def start(self) -> None:
        try:
            self._t0 = psutil.cpu_times()
        except Exception:
            self._t0 = None
        self._wall0 = time.time()

    def finish(self) -> dict[str, float | None]:
        out: dict[str, float | None] = {"cpu_utilization_percent": None, "ram_used_gb": None,
                                        "ram_utilization_percent": None}
        try:
            if self._t0 is not None and self.pids is None:
                t1 = psutil.cpu_times()
                busy = (sum(t1) - t1.idle - getattr(t1, "iowait", 0.0)) - (
                    sum(self._t0) - self._t0.idle - getattr(self._t0, "iowait", 0.0))
                total = sum(t1) - sum(self._t0)
                if total > 0:
                    out["cpu_utilization_percent"] = round(100.0 * min(max(busy / total, 0.0), 1.0), 2)
            if self.pids is None:  # process trees: their mean RSS comes from the RAM model's samples
                vm = psutil.virtual_memory()
                out["ram_used_gb"] = (vm.total - vm.available) / GIB
                out["ram_utilization_percent"] = vm.percent
        except Exception:  # a probe never fails a run
            pass
        return out
