"""TEMPORARY stand-in for the measuring API (``wattwise.track``) until it lands in main; remove at merge.

:func:`open_run` returns ``wattwise.track(...)`` when it exists. Otherwise a :class:`ShimRun` models the
CPU energy of this process as *CPU-seconds x 4 W per busy thread* (CodeCarbon's fallback for an unknown CPU,
see /work/shared/design/MEASURED.md) — a modelled figure, labelled as such, with the same surface:
``step(tokens=)``, ``add(**counters)``, ``energy_j()``, ``footprint()``, ``phase(name)``, ``id``.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from typing import Any

import psutil

from wattwise.footprint import J_PER_KWH, WORLD_AVERAGE, DomainEnergy, Footprint, Intensity, Method

SHIM_W_PER_THREAD = 4.0
SHIM_SOURCE = "cpu-time model: 4 W per busy thread (CodeCarbon's fallback for an unknown CPU)"


class ShimRun:
    """A minimal run: modelled CPU energy of this process, step and counters."""

    def __init__(self, name: str, intensity: Intensity | None = None) -> None:
        self.name = name
        self.id = uuid.uuid4().hex[:12]
        self.intensity = intensity or WORLD_AVERAGE
        self.counters: dict[str, float] = {}
        self._proc = psutil.Process()
        self._t0 = time.time()
        self._cpu0 = self._cpu()
        self._end: tuple[float, float] | None = None

    def _cpu(self) -> float:
        t = self._proc.cpu_times()
        return t.user + t.system

    def __enter__(self) -> ShimRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._end is None:
            self._end = (time.time(), self._cpu())

    def energy_j(self) -> float:
        cpu = self._end[1] if self._end else self._cpu()
        return (cpu - self._cpu0) * SHIM_W_PER_THREAD

    def add(self, **counters: float) -> None:
        for k, v in counters.items():
            self.counters[k] = self.counters.get(k, 0.0) + float(v)

    def step(self, **counters: float) -> None:
        self.add(steps=1, **counters)

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        yield

    def footprint(self) -> Footprint:
        end = self._end[0] if self._end else time.time()
        kwh = self.energy_j() / J_PER_KWH
        return Footprint(
            energy=[DomainEnergy("cpu", kwh, Method.MODELLED, SHIM_SOURCE, 0.5)],
            intensity=self.intensity,
            duration_s=end - self._t0,
            counters=dict(self.counters),
            notes=["temporary meter shim: modelled from process CPU time"],
        )


def open_run(name: str, **kwargs: Any) -> Any:
    """``wattwise.track(name, **kwargs)`` if available, else a :class:`ShimRun` (a context manager)."""
    import wattwise

    track = getattr(wattwise, "track", None)
    if track is not None:
        return track(name, **kwargs)
    return ShimRun(name)


def enter(run: Any) -> Any:
    """Enter ``run`` (a context manager) and return the object to use (what ``with`` would bind)."""
    return run.__enter__() if hasattr(run, "__enter__") else run
