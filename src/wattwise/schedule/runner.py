"""``wattwise run --within/--deadline/--pause-above/--pause-dirtiest``: wait for the chosen start, pause during
dirty hours, and record the intensity the job actually ran under.

All the logic lives here; the ``run`` command calls :func:`wait_then_start` before starting the child,
:meth:`ScheduledRun.attach` once the child runs and :meth:`ScheduledRun.finish` instead of ``run.stop``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from rich.console import Console

from wattwise.console import make_console
from wattwise.errors import WattwiseError
from wattwise.schedule.forecast import DEFAULT_METHOD, Place, resolve
from wattwise.schedule.pause import MODES, PAUSE_FILE_ENV, PauseController, PauseFile, ProcessTree
from wattwise.schedule.timeutil import fmt_hours, fmt_utc, hour_floor, parse_duration, parse_instant
from wattwise.schedule.window import Plan, Window, best_window, plan_interruptible

DEFAULT_DURATION_H = 1.0
#: The clock and the wait used by ``wattwise run`` (tests replace them to skip real waiting).
CLOCK: Callable[[], float] = time.time
SLEEP: Callable[[float], None] = time.sleep
TICK_S = 15.0  # seconds between pause decisions


class Cancelled(WattwiseError):
    """The user cancelled while waiting for the start."""

    exit_code = 130


def parse_share(text: str | float) -> float:
    """``25%``, ``25`` or ``0.25`` -> 0.25."""
    s = str(text).strip()
    try:
        v = float(s.rstrip("%"))
    except ValueError:
        raise WattwiseError(f"malformed share {text!r}", "use a percentage such as 25%") from None
    if s.endswith("%") or v > 1:
        v /= 100.0
    if not 0 < v < 1:
        raise WattwiseError(f"the share must be between 0 and 100 % (exclusive), got {text!r}", "e.g. 25%")
    return v


@dataclass
class ScheduledRun:
    """A scheduled start (and optional pause plan) for one ``wattwise run``."""

    place: Place
    start: float
    deadline: float
    work_s: float
    window: Window | None = None
    plan: Plan | None = None
    pause_above: float | None = None
    pause_mode: str = "signal"
    duration_given: bool = True
    console: Console = field(default_factory=lambda: make_console(stderr=True))
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    tick_s: float = 15.0
    controller: PauseController | None = None
    pause_file: str | None = None
    forecast_method: str = DEFAULT_METHOD
    replan: bool = True  # contiguous jobs: re-forecast at every new hour while waiting
    replans: int = 0
    _planned_hour: float | None = None
    _child: subprocess.Popen | None = None
    _t_started: float | None = None

    @property
    def forecast(self):
        return (self.window or self.plan).forecast  # type: ignore[union-attr]

    @property
    def expected_g_per_kwh(self) -> float:
        return (self.window or self.plan).mean_g_per_kwh  # type: ignore[union-attr]

    # -- waiting ----------------------------------------------------------------------------------------
    def _replan(self) -> None:
        """Once per new UTC hour while waiting for a contiguous job: a fresh forecast (made now, from the data
        known now) picks the best start among those left before the deadline. Starting as soon as it says "now"
        keeps more of the saving than trusting the first forecast for the whole window (see the scheduling bench,
        ``replan``). A failing forecast keeps the current plan."""
        if not self.replan or self.window is None:
            return
        now = self.clock()
        hour = hour_floor(now)
        if self._planned_hour is None:
            self._planned_hour = hour
        if hour <= self._planned_hour or now >= self.start:
            return
        self._planned_hour = hour
        try:
            w = best_window(self.place.code, timedelta(seconds=self.work_s), now, self.deadline,
                            forecast=self.forecast_method, now=now)
        except WattwiseError:
            return
        new = w.start.timestamp()
        if abs(new - self.start) >= 1:
            self.replans += 1
            self.console.print(f"wattwise: re-planned at {fmt_utc(now)} with a fresh forecast: start "
                               f"{fmt_utc(new)} instead of {fmt_utc(self.start)}, expected {w.mean_g_per_kwh:.0f} "
                               "gCO2e/kWh", highlight=False)
            self.window, self.start = w, new

    def wait(self) -> None:
        """Wait until the start (re-planned every hour for a contiguous job), showing a countdown; Ctrl-C cancels
        (nothing was started)."""
        left = self.start - self.clock()
        if left <= 0:
            return
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        total = left
        if not self.console.is_terminal:  # logs: a plain line now and every 15 minutes
            try:
                next_note: float | None = None
                while True:
                    self._replan()
                    if (left := self.start - self.clock()) <= 0:
                        break
                    if next_note is None or left <= next_note:
                        self.console.print(f"wattwise: waiting until {fmt_utc(self.start)} ({fmt_hours(left)} left; "
                                           "Ctrl-C cancels)", highlight=False)
                        next_note = left - 900
                    self.sleep(min(left, 1.0))
            except KeyboardInterrupt:
                raise Cancelled("cancelled while waiting for the scheduled start; nothing was run") from None
            return
        try:
            with Progress(TextColumn("[bold]waiting for a cleaner hour[/] until " + fmt_utc(self.start)),
                          BarColumn(), TimeRemainingColumn(), console=self.console, transient=True) as prog:
                task = prog.add_task("wait", total=total)
                t_begin = self.clock()
                while True:
                    self._replan()
                    if (left := self.start - self.clock()) <= 0:
                        break
                    prog.update(task, total=self.start - t_begin, completed=self.clock() - t_begin)
                    self.sleep(min(left, 1.0))
        except KeyboardInterrupt:
            raise Cancelled("cancelled while waiting for the scheduled start; nothing was run") from None

    # -- running ----------------------------------------------------------------------------------------
    def attach(self, child: subprocess.Popen) -> None:
        """Start pausing/resuming ``child`` per the plan; Ctrl-C or SIGTERM resumes it before passing the signal
        on. Call from the main thread after the child started."""
        self._child = child
        self._t_started = self.clock()
        if self.plan is None and self.pause_above is None:
            return
        target = PauseFile(self.pause_file) if self.pause_mode == "hook" and self.pause_file else ProcessTree(child.pid)

        def said(paused: bool, t: float, why: str) -> None:
            self.console.print(f"wattwise: {'pausing' if paused else 'resuming'} the job at {fmt_utc(t)} ({why})",
                               highlight=False)

        self.controller = PauseController(target, deadline=self.deadline, work_s=self.work_s, plan=self.plan,
                                          forecast=self.forecast, pause_above=self.pause_above,
                                          tick_s=self.tick_s, clock=self.clock, on_change=said)
        self.controller.start()
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, self._on_signal)

    def _on_signal(self, signum: int, _frame: Any) -> None:
        if self.controller is not None:
            self.controller.release()
        if self._child is not None and signum != signal.SIGINT:  # Ctrl-C reaches the child from the terminal
            self._child.send_signal(signum)

    def spans(self, t_start: float, t_end: float) -> list[tuple[float, float]]:
        if self.controller is None:
            return [(t_start, t_end)]
        return self.controller.stop()

    def finish(self, run: Any, status: str, exit_code: int | None) -> Any:
        """Stop pausing, stop the run, store the schedule and the intensity actually run under; returns the
        run's footprint."""
        started = self._t_started if self._t_started is not None else (run.started_at or self.start)
        spans = self.spans(started, self.clock())
        fp = run.stop(status, exit_code)
        ran_g, ran_label = ran_under(self.place, spans)
        info = {
            "location": self.place.code, "zone": self.place.zone, "scheduled_start": fmt_utc(self.start),
            "deadline": fmt_utc(self.deadline), "expected_work": fmt_hours(self.work_s),
            "expected_g_per_kwh": round(self.expected_g_per_kwh, 2), "forecast": self.forecast.label,
            "ran_g_per_kwh": None if ran_g is None else round(ran_g, 2), "ran_source": ran_label,
            "running_spans": [[fmt_utc(a), fmt_utc(b)] for a, b in spans],
        }
        if self.window is not None and self.replan:
            info["replans"] = self.replans
        if self.window is not None:
            info["window"] = self.window.to_dict()
        if self.plan is not None:
            info["plan"] = self.plan.to_dict()
        if self.controller is not None:
            info.update(pauses=self.controller.pauses, pause_mode=self.pause_mode,
                        forced_to_finish=self.controller.forced)
        try:
            rec = run.store.get_run(run.id)
            run.store.finish_run(run.id, rec.status, rec.ended_at, rec.exit_code,
                                 config={**rec.config, "schedule": info})
        except Exception as exc:  # the run itself is recorded; only the schedule note is lost
            self.console.print(f"wattwise: could not store the schedule details: {exc}")
        if ran_g is not None:
            self.console.print(f"wattwise: ran under {ran_g:.0f} gCO2e/kWh on average ({ran_label}); expected "
                               f"{self.expected_g_per_kwh:.0f}", highlight=False)
        if self.pause_file:
            PauseFile(self.pause_file).resume()
            if os.environ.get(PAUSE_FILE_ENV) == self.pause_file:
                del os.environ[PAUSE_FILE_ENV]
        return fp


def ran_under(place: Place, spans: list[tuple[float, float]]) -> tuple[float | None, str]:
    """Time-weighted mean intensity over the running spans, with its source: the live provider's values when one
    is configured, else the embedded data hour by hour (the grid package's ``emissions_kg``)."""
    spans = [(a, b) for a, b in spans if b > a]
    if not spans:
        return None, "the job did not run"
    from wattwise.config import setting
    from wattwise.grid import emissions_kg, intensity

    try:
        if setting("grid_provider"):
            total = weighted = 0.0
            sources: list[str] = []
            for a, b in spans:
                t = a
                while t < b:
                    nxt = min(hour_floor(t) + 3600, b)
                    i = intensity(place.code, t)
                    weighted += i.g_per_kwh * (nxt - t)
                    total += nxt - t
                    sources.append(f"{i.resolution}: {i.source}")
                    t = nxt
            more = f" (+{len(sources) - 1} more hours)" if len(sources) > 1 else ""
            return weighted / total, sources[0] + more
        _kg, i = emissions_kg([(a, b, (b - a) / 3600.0) for a, b in spans], place.code)
        return i.g_per_kwh, f"{i.resolution}: {i.source}"
    except WattwiseError as exc:
        return None, f"no intensity: {exc.message}"


def _check_options(location: str | None, within: str | None, deadline: str | None, pause_above: float | None,
                   pause_dirtiest: str | None, pause_mode: str) -> str:
    """The location, once the scheduling options are known to fit together."""
    if within and deadline:
        raise WattwiseError("give --within or --deadline, not both")
    if pause_above is not None and pause_dirtiest:
        raise WattwiseError("give --pause-above or --pause-dirtiest, not both")
    if pause_mode not in MODES:
        raise WattwiseError(f"unknown pause mode {pause_mode!r}", f"use one of: {', '.join(MODES)}")
    if not location:
        raise WattwiseError("scheduling needs a location", "add --location FR (a country, zone or cloud region) or "
                                                           "set WATTWISE_LOCATION")
    return location


def wait_then_start(location: str | None, *, within: str | None = None, deadline: str | None = None,
                    duration: str | None = None, pause_above: float | None = None,
                    pause_dirtiest: str | None = None, pause_mode: str = "signal", forecast: str = DEFAULT_METHOD,
                    now: float | None = None, clock: Callable[[], float] | None = None,
                    sleep: Callable[[float], None] | None = None, tick_s: float | None = None,
                    console: Console | None = None, replan: bool = True) -> ScheduledRun | None:
    """Plan the run, print the plan, wait for the start (a contiguous job re-plans every hour with a fresh
    forecast unless ``replan`` is false); ``None`` when no scheduling option was given."""
    if pause_mode not in MODES:  # checked even when nothing pauses: a typo is never silently ignored
        raise WattwiseError(f"unknown pause mode {pause_mode!r}", f"use one of: {', '.join(MODES)}")
    if not (within or deadline or pause_above is not None or pause_dirtiest):
        if duration:
            raise WattwiseError("--duration only makes sense with --within, --deadline or a pause option")
        return None
    con = console or make_console(stderr=True)
    clock, sleep, tick_s = clock or CLOCK, sleep or SLEEP, tick_s or TICK_S
    place = resolve(_check_options(location, within, deadline, pause_above, pause_dirtiest, pause_mode))
    t_now = clock() if now is None else now
    work = parse_duration(duration if duration else DEFAULT_DURATION_H, "--duration").total_seconds()
    if within:
        t_deadline = t_now + parse_duration(within, "--within").total_seconds() + work
    elif deadline:
        t_deadline = parse_instant(deadline, "--deadline").timestamp()
    elif pause_above is not None:
        raise WattwiseError("--pause-above needs a deadline", "add --within 8h or --deadline 2026-11-24T06:00Z so "
                                                              "the job is sure to finish")
    else:
        t_deadline = None
    share = parse_share(pause_dirtiest) if pause_dirtiest else None
    sched = ScheduledRun(place, t_now, t_deadline or t_now, work, pause_above=pause_above, pause_mode=pause_mode,
                         duration_given=bool(duration), console=con, clock=clock, sleep=sleep, tick_s=tick_s,
                         forecast_method=forecast, replan=replan)
    if pause_above is not None or share is not None:
        plan = plan_interruptible(place.code, timedelta(seconds=work), t_now, t_deadline, forecast=forecast, now=t_now,
                                  pause_above=pause_above, pause_dirtiest=share)
        sched.plan, sched.start, sched.deadline = plan, plan.intervals[0][0], plan.deadline
        con.print(f"wattwise: {plan.policy} in {place.code}: start {fmt_utc(sched.start)}, run "
                  f"{len(plan.intervals)} span(s), finish by {fmt_utc(plan.deadline)}; expected "
                  f"{plan.mean_g_per_kwh:.0f} gCO2e/kWh vs {plan.now_g_per_kwh:.0f} now "
                  f"({plan.saving_pct:+.0f} % saving)", highlight=False)
    else:
        w = best_window(place.code, timedelta(seconds=work), t_now, t_deadline, forecast=forecast, now=t_now)
        sched.window, sched.start = w, w.start.timestamp()
        con.print(f"wattwise: best start in {place.code}: {fmt_utc(w.start)} (in {fmt_hours(sched.start - t_now)}), "
                  f"expected {w.mean_g_per_kwh:.0f} gCO2e/kWh vs {w.now_g_per_kwh:.0f} now "
                  f"({w.saving_pct:.0f} % saving)", highlight=False)
    con.print(f"  forecast: {sched.forecast.label}", highlight=False)
    if not duration:
        con.print(f"  assuming a {DEFAULT_DURATION_H:g} h job; give --duration for a better plan", highlight=False)
    if pause_mode == "hook" and sched.plan is not None:
        fd, sched.pause_file = tempfile.mkstemp(prefix="wattwise-pause-")
        os.close(fd)
        os.unlink(sched.pause_file)
        os.environ[PAUSE_FILE_ENV] = sched.pause_file  # the child inherits it
    sched.wait()
    return sched


__all__ = ["Cancelled", "ScheduledRun", "parse_share", "ran_under", "wait_then_start"]
