"""Pausing and resuming a running job during dirty hours.

Two mechanisms:

- ``signal`` (default): SIGSTOP / SIGCONT to the child's whole process tree (psutil). Works for any program; a
  stopped process keeps its memory (and GPU memory) while paused.
- ``hook``: cooperative, for training loops. While a pause is wanted the controller creates the file named by
  ``WATTWISE_PAUSE_FILE`` in the child's environment; the loop calls :func:`pause_point` between steps, which
  runs a checkpoint callback once and waits until the file is gone.

:class:`PauseController` decides once per tick whether the job should be paused (by a :class:`Plan` or a
threshold), never pausing when the remaining work would no longer fit before the deadline.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from wattwise.schedule.forecast import Forecast
from wattwise.schedule.window import Plan

PAUSE_FILE_ENV = "WATTWISE_PAUSE_FILE"
MODES = ("signal", "hook")


class ProcessTree:
    """SIGSTOP / SIGCONT for a process and all its descendants."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def _tree(self) -> list[psutil.Process]:
        try:
            root = psutil.Process(self.pid)
            return [root, *root.children(recursive=True)]
        except psutil.Error:
            return []

    def _send(self, procs: list[psutil.Process], sig: int) -> None:
        for p in procs:
            try:
                p.send_signal(sig)
            except psutil.Error:
                pass

    def pause(self) -> None:
        tree = self._tree()
        self._send(tree, signal.SIGSTOP)  # parent first: it cannot start new children meanwhile
        self._send([p for p in self._tree() if p not in tree], signal.SIGSTOP)

    def resume(self) -> None:
        self._send(list(reversed(self._tree())), signal.SIGCONT)


class PauseFile:
    """The cooperative pause flag: a file that exists while a pause is wanted."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def pause(self) -> None:
        self.path.touch()

    def resume(self) -> None:
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass


def pause_point(on_pause: Callable[[], None] | None = None, poll_s: float = 5.0,
                sleep: Callable[[float], None] = time.sleep) -> bool:
    """Call between training steps: when wattwise asks for a pause, run ``on_pause`` (save a checkpoint) once
    and wait until the pause ends. Returns True if it paused. A no-op outside ``wattwise run --pause-mode hook``."""
    path = os.environ.get(PAUSE_FILE_ENV)
    if not path or not os.path.exists(path):
        return False
    if on_pause is not None:
        on_pause()
    while os.path.exists(path):
        sleep(poll_s)
    return True


class PauseController:
    """Pauses a running job when the plan (or a threshold on the intensity) says so, and resumes it after.

    ``work_s`` is the expected running time of the job; when the time left before ``deadline`` is no more than the
    work still to do, the job runs regardless (and is never paused again). The wall clock and the wait are
    injectable for tests.
    """

    def __init__(self, target: ProcessTree | PauseFile, *, deadline: float, work_s: float,
                 plan: Plan | None = None, forecast: Forecast | None = None, pause_above: float | None = None,
                 intensity_at: Callable[[float], float] | None = None, tick_s: float = 15.0,
                 clock: Callable[[], float] = time.time, on_change: Callable[[bool, float, str], None] | None = None,
                 ) -> None:
        if plan is None and pause_above is None:
            raise ValueError("give a plan or a pause threshold")
        self.target = target
        self.deadline = deadline
        self.work_s = work_s
        self.plan = plan
        self.pause_above = pause_above
        self.intensity_at = intensity_at or (forecast.value_at if forecast else None)
        self.tick_s = tick_s
        self.clock = clock
        self.on_change = on_change
        self.paused = False
        self.forced = False
        self.pauses = 0
        self.running: list[list[float]] = []  # [start, end] of running spans
        self._t_start: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- decisions ------------------------------------------------------------------------------------------
    def run_s(self, now: float) -> float:
        return sum((b if b is not None else now) - a for a, b in self.running)

    def want_pause(self, now: float) -> tuple[bool, str]:
        remaining = max(self.work_s - self.run_s(now), 0.0)
        if self.forced:
            return False, "no more pauses"
        if self.deadline - now <= remaining + self.tick_s:  # the next decision would come too late
            self.forced = True
            return False, "must run now to finish before the deadline"
        if self.pause_above is not None and self.intensity_at is not None:
            try:
                g = self.intensity_at(now)
            except Exception:  # no value for this hour: keep running
                return False, "no intensity for this hour"
            return g > self.pause_above, f"{g:.0f} gCO2e/kWh {'>' if g > self.pause_above else '<='} " \
                                         f"{self.pause_above:g}"
        assert self.plan is not None
        if now >= self.plan.finish:
            return False, "after the planned hours"
        if self.plan.running_at(now):
            return False, "planned clean hour"
        return True, "planned dirty hour"

    def step(self) -> bool:
        """One decision; returns whether the job is paused afterwards."""
        now = self.clock()
        if self._t_start is None:
            self._t_start = now
            self.running.append([now, None])  # type: ignore[list-item]
        pause, why = self.want_pause(now)
        if pause and not self.paused:
            self.target.pause()
            self.paused = True
            self.pauses += 1
            self.running[-1][1] = now
            if self.on_change:
                self.on_change(True, now, why)
        elif not pause and self.paused:
            self.target.resume()
            self.paused = False
            self.running.append([now, None])  # type: ignore[list-item]
            if self.on_change:
                self.on_change(False, now, why)
        return self.paused

    # -- thread ---------------------------------------------------------------------------------------------
    def start(self) -> PauseController:
        self.step()
        self._thread = threading.Thread(target=self._loop, name="wattwise-pause", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.tick_s):
            self.step()

    def stop(self) -> list[tuple[float, float]]:
        """Stop deciding, resume the job if paused; returns the running spans."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        now = self.clock()
        if self.paused:
            self.target.resume()
            self.paused = False
        elif self.running and self.running[-1][1] is None:
            self.running[-1][1] = now
        return [(a, b) for a, b in self.running if b is not None]

    def release(self) -> None:
        """Resume for good (e.g. the user pressed Ctrl-C): no more pauses."""
        self.forced = True
        if self.paused:
            self.target.resume()
            self.paused = False
            self.running.append([self.clock(), None])  # type: ignore[list-item]
