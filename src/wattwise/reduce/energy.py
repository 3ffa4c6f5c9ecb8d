"""Energy of a piece of work: through ``wattwise.track`` when the meter is available, else a labelled model.

Everything the lab measures goes through :func:`measure_energy`, so swapping the sensor stack is one edit.
The fallback is a *modelled* figure (never labelled measured): this process's CPU time (user + system,
all threads) x watts per busy core. CPU time already folds in utilisation and core count,
so it is the "TDP share x utilisation x time" model restricted to this process.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: Watts drawn per fully busy core in the fallback model. AMD EPYC 9654 (Zen 4): 360 W TDP over 96 cores
#: = 3.75 W per core (AMD product page, "AMD EPYC 9654", default TDP 360 W, 96 cores). CodeCarbon uses a
#: similar 4 W per thread for unknown CPUs (see shared/design/MEASURED.md). Override: WATTWISE_W_PER_CORE.
W_PER_CORE = 3.75
W_PER_CORE_SOURCE = "AMD EPYC 9654 TDP 360 W / 96 cores (AMD product page); override WATTWISE_W_PER_CORE"
MODEL_UNCERTAINTY = 0.5


@dataclass(frozen=True)
class EnergyResult:
    """Energy of one call with how it was obtained (``method`` is ``measured`` or ``modelled``)."""

    joules: float
    method: str
    source: str
    seconds: float
    cpu_seconds: float
    value: Any = None

    @property
    def label(self) -> str:
        return f"{self.method} ({self.source})"


def w_per_core() -> float:
    raw = os.environ.get("WATTWISE_W_PER_CORE")
    if raw:
        try:
            return float(raw)
        except ValueError:
            pass
    return W_PER_CORE


def _tracker() -> Callable[..., Any] | None:
    if os.environ.get("WATTWISE_REDUCE_MODEL_ENERGY"):
        return None
    import wattwise  # the public ``wattwise.track`` (tests swap it)

    return wattwise.track


def _cpu_seconds() -> float:
    """CPU seconds of this process, all threads (CLOCK_PROCESS_CPUTIME_ID: ns resolution, unlike psutil)."""
    return time.process_time()


def measure_energy(fn: Callable[[], Any], name: str = "reduce") -> EnergyResult:
    """Run ``fn()`` once and return its energy (joules), method label, wall and CPU seconds and its value."""
    track = _tracker()
    c0, t0 = _cpu_seconds(), time.perf_counter()
    if track is not None:
        with track(name, interval=0.5, pids=[os.getpid()], internal=True,
                   parent=os.environ.get("WATTWISE_RUN_ID")) as run:  # this process's share of the machine
            value = fn()
        seconds, cpu = time.perf_counter() - t0, _cpu_seconds() - c0
        fp = run.footprint()
        joules = fp.it_kwh * 3.6e6
        methods = {d.method.value for d in fp.energy}
        method = "measured" if methods == {"measured"} else "modelled"
        source = "+".join(sorted({d.source for d in fp.energy})) or "wattwise.track"
        return EnergyResult(joules, method, f"wattwise.track: {source}", seconds, cpu, value)
    value = fn()
    seconds, cpu = time.perf_counter() - t0, _cpu_seconds() - c0
    return EnergyResult(cpu * w_per_core(), "modelled", "process CPU time x W per core", seconds, cpu, value)


def fallback_note() -> str:
    return f"modelled: process CPU seconds x {w_per_core():.2f} W per busy core ({W_PER_CORE_SOURCE})"
