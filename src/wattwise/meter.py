"""The meter: a background sampler that never blocks the tracked code, with phases and counters.

``with wattwise.track("finetune") as run:`` opens the store, picks the sensors, writes a run row and starts
a daemon thread that reads every sensor each ``interval`` seconds and commits the energy of that interval to
the store at once (a killed process loses at most one interval). Writes go through
:class:`~wattwise.store.writer.StoreWriter`: queued, never blocking the tracked code, journaled when the store
cannot take them, and never raising store errors into it. ``run.phase("eval")`` splits energy by
named phase; ``run.add(tokens=...)`` / ``run.step()`` count work so reports give energy per token or step.
"""

from __future__ import annotations

import functools
import math
import os
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from wattwise import validate
from wattwise.accounting import footprint_from_samples
from wattwise.context import Context, resolve_context
from wattwise.errors import WattwiseError
from wattwise.footprint import Footprint
from wattwise.hostinfo import UsageProbe, host_info
from wattwise.sensors.base import Counter, Sensor, is_shadow
from wattwise.sensors.discover import Selection, choose_sensors
from wattwise.store.records import CounterRow, RunRecord, SampleRow
from wattwise.store.sql import SqlStore
from wattwise.store.writer import StoreWriter

F = TypeVar("F", bound=Callable[..., Any])
#: Longest sampling interval accepted (a day): longer ones overflow the sampler's timer.
MAX_INTERVAL_S = 86400.0
#: Shortest sample that sets the power used to interpolate energy to "now".
MIN_RATE_WINDOW_S = 0.05
#: When the sampler takes its first sample (then every ``interval``).
FIRST_SAMPLE_S = 0.1


def check_interval(value: Any, what: str = "sampling interval") -> float:
    """A sampling interval in seconds: a finite number in (0, MAX_INTERVAL_S], else a clear error."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or not 0 < value <= MAX_INTERVAL_S:
        raise WattwiseError(f"{what} must be > 0 and at most {MAX_INTERVAL_S:g} seconds, got {value!r}",
                            "use for example 1.0 (seconds)")
    return float(value)


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:8]


@dataclass(frozen=True)
class RunOptions:
    """Everything a :class:`Run` is configured with; a decorator's per-call run is a copy with a new name.

    ``location``/``intensity``/``pue``/``whole_machine`` are resolved at start by
    :func:`wattwise.context.resolve_context` (argument > environment > config file > default).
    ``parent``: the id of the user's run this one belongs to (internal runs of ``reduce`` and
    ``compare-training``); ``internal`` keeps a run out of ``last`` and the default ``runs`` listing.
    """

    name: str = "run"
    interval: float = 1.0
    store: SqlStore | str | Path | None = None
    location: str | None = None
    intensity: float | None = None
    pue: float | None = None
    whole_machine: bool | None = None
    pids: tuple[int, ...] | None = None
    sensors: tuple[Sensor, ...] | None = None
    node_sensors: bool = True
    run_id: str | None = None
    node: str | None = None
    command: str | None = None
    config: dict = field(default_factory=dict)
    quiet: bool = True
    parent: str | None = None
    internal: bool = False


class Run:
    """One tracked run. Use as a context manager, a decorator, or with ``start()``/``stop()``.

    A stopped run may be started again: it then records a new run (new id). By default the modelled CPU/RAM
    energy is that of this process and its children (the same default as ``wattwise run``);
    ``whole_machine=True`` counts the whole machine.
    """

    def __init__(self, name: str = "run", interval: float = 1.0, **options: Any) -> None:
        interval = check_interval(interval)
        for key in ("pids", "sensors"):
            if options.get(key) is not None:
                options[key] = tuple(options[key])
        options["config"] = dict(options.get("config") or {})
        self.options = RunOptions(name=name, interval=float(interval), **options)
        o = self.options
        self.name = name
        self.interval = o.interval
        self._store_arg = o.store
        self.location = o.location
        self.intensity = o.intensity
        self.pue = o.pue
        self.pids = None if o.pids is None else list(o.pids)
        self._sensors_arg = None if o.sensors is None else list(o.sensors)
        self.node_sensors = o.node_sensors
        self._run_id_arg = o.run_id
        self.node = o.node
        self.rank: int | None = None  # set by distributed runs
        self.command = o.command
        self.config = dict(o.config)
        self.quiet = o.quiet
        self.context: Context | None = None
        self.id: str | None = None
        self.store: StoreWriter | None = None  # the store's writing calls, queued (reads pass through)
        self.selection: Selection | None = None
        self.started_at: float | None = None
        self.ended_at: float | None = None
        self.status = "new"
        self._lock = threading.RLock()  # serialises sampling (sensor reads, store writes)
        self._count_lock = threading.Lock()  # counters only: held for microseconds, never during I/O
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._phases: list[str] = []
        self._last: dict[str, float] = {}
        self._last_t = 0.0
        self._rate_w = 0.0
        self._counters: list[CounterRow] = []
        self._unsaved: list[SampleRow] = []
        self._unsaved_counters: list[CounterRow] = []
        self._hourly: dict[tuple[str | None, str, int], list[Any]] = {}
        self._total_j = 0.0
        self._counter_totals: dict[str, float] = defaultdict(float)
        self._phase_counters: dict[tuple[str | None, str], float] = defaultdict(float)
        self._warned: set[str] = set()

    # -- lifecycle ------------------------------------------------------------------------------------
    def start(self) -> Run:
        if self.status == "running":
            raise WattwiseError(f"run {self.id} is already running", "stop it before starting it again")
        # one resolution of the context (an unknown location or a bad number fails now, before the job)
        self.context = resolve_context(self.location, self.intensity, self.pue, self.options.whole_machine)
        self.location, self.intensity, self.pue = self.context.location, self.context.intensity, self.context.pue
        if self.pids is None and self._sensors_arg is None and not self.context.whole_machine:
            self.pids = [os.getpid()]  # the tracked process and its children, as `wattwise run` counts
        self.store = StoreWriter(self._store_arg, warn=self._warn).start()
        self.selection = (
            Selection(self._sensors_arg, [(s.name, s.available(), True) for s in self._sensors_arg])
            if self._sensors_arg is not None
            else choose_sensors(pids=self.pids, node_sensors=self.node_sensors)
        )
        for notice in self.selection.notices:
            self._warn(notice)
        self.id = self._run_id_arg if self._run_id_arg and self.id is None else new_run_id()
        self.started_at = time.time()
        self.status = "running"
        self._stop.clear()
        self._phases, self._last, self._hourly, self._total_j = [], {}, {}, 0.0
        self._counter_totals, self._phase_counters, self._rate_w = defaultdict(float), defaultdict(float), 0.0
        for s in self.selection.sensors:
            s.open()
        self._last_t = self.started_at
        cfg = {**self.config, **self.context.as_config(), "interval": self.interval,
               "sensors": [s.name for s in self.selection.sensors], "host_info": host_info()}
        if self.options.parent or self.options.internal:
            cfg.update(parent=self.options.parent, internal=True)
        self._record_config = cfg
        self._usage = UsageProbe(self.pids)
        self._usage.start()
        self._open_record(RunRecord(
            id=self.id, name=self.name, status="running", started_at=self.started_at, interval=self.interval,
            location=self.location, command=self.command, config=cfg))
        self._thread = threading.Thread(target=self._loop, name=f"wattwise-{self.id}", daemon=True)
        self._thread.start()
        return self

    def stop(self, status: str = "finished", exit_code: int | None = None) -> Footprint:
        if self.status != "running":
            raise WattwiseError(f"run {self.id} is not running", "start it first")
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        while self._phases:
            self._end_phase()
        self.sample()
        self.ended_at = time.time()
        self.status = status
        assert self.store is not None and self.id is not None
        self._close_record(status, self.ended_at, exit_code)
        for s in self.selection.sensors if self.selection else []:
            s.close()
        self.store.close()  # at most a bounded wait; what the store did not take stays in a journal
        return self.footprint()

    def _open_record(self, record: RunRecord) -> None:
        """Write the run row (a distributed run joins a shared one instead)."""
        assert self.store is not None
        self.store.create_run(record)

    def _close_record(self, status: str, ended_at: float, exit_code: int | None) -> None:
        assert self.store is not None and self.id is not None
        usage = self._usage.finish() if getattr(self, "_usage", None) is not None else {}
        cfg = {**getattr(self, "_record_config", {}), "usage": usage} if usage else None
        self.store.finish_run(self.id, status, ended_at, exit_code, config=cfg)

    def __enter__(self) -> Run:
        return self.start()

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self.status == "running":
            interrupted = exc_type is not None and issubclass(exc_type, KeyboardInterrupt)
            self.stop("interrupted" if interrupted else "failed" if exc_type else "finished")

    def __call__(self, func: F) -> F:
        """Use the run's settings to track every call of ``func`` (one run per call)."""

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self._clone(self.name if self.name != "run" else func.__qualname__):
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    def _clone(self, name: str) -> Run:
        return type(self)(**self._clone_kwargs(name))

    def _clone_kwargs(self, name: str) -> dict[str, Any]:
        """The options of a per-call copy: every option as given, a new name and no fixed run id."""
        return {f.name: getattr(self.options, f.name) for f in fields(self.options)} | {"name": name, "run_id": None}

    # -- sampling -------------------------------------------------------------------------------------
    def _loop(self) -> None:
        # a fixed schedule (not interval + the time a sample takes), skipping ticks only when over one behind
        # the first sample comes early, so energy interpolated to "now" has a power to go on from the start
        due = time.monotonic() + min(self.interval, FIRST_SAMPLE_S)
        while not self._stop.wait(min(max(due - time.monotonic(), 0.0), threading.TIMEOUT_MAX)):
            self.sample()
            due += self.interval
            now = time.monotonic()
            if now - due > self.interval:
                due = now

    def sample(self) -> None:
        """Read every sensor now and commit the energy since the last sample (thread-safe)."""
        with self._lock:
            if self.selection is None or self.id is None:
                return
            phase = "/".join(self._phases) or None
            counters: list[Counter] = []
            for sensor in self.selection.sensors:
                try:
                    counters += sensor.read()
                except Exception as exc:  # a sensor failure must never break the tracked code
                    self._warn(f"sensor {sensor.name} failed to read: {exc}")
            now = time.time()  # the sample ends when its counters were read (reads can take tens of ms)
            rows = []
            for c in counters:
                delta = c.joules - self._last.get(c.domain, 0.0)
                self._last[c.domain] = c.joules
                row = SampleRow(self.id, self._last_t, now, c.domain, max(delta, 0.0), c.method.value,
                                c.source, c.uncertainty, phase, self.node, self.rank)
                rows.append(row)
                self._accumulate(row)
            if now - self._last_t >= MIN_RATE_WINDOW_S:  # a zero-length sample (phase edge) says nothing of power
                self._rate_w = sum(r.joules for r in rows) / (now - self._last_t)
            self._last_t = now
            self._unsaved.extend(rows)
            with self._count_lock:
                self._unsaved_counters.extend(self._counters)
                self._counters = []
            self._flush(now)

    def _accumulate(self, row: SampleRow) -> None:
        if not is_shadow(row.domain):  # the CPU model beside RAPL is stored, never counted
            self._total_j += row.joules
        key = (row.phase, row.domain, int(row.t_start // 3600))
        acc = self._hourly.get(key)
        if acc is None:
            self._hourly[key] = [row, row.joules]
        else:
            acc[0], acc[1] = row, acc[1] + row.joules

    def _flush(self, now: float) -> None:
        assert self.store is not None and self.id is not None
        self.store.record(self.id, self._unsaved, self._unsaved_counters, heartbeat=now)  # queued, never raises
        self._unsaved, self._unsaved_counters = [], []

    def _warn(self, msg: str) -> None:
        if msg not in self._warned:
            self._warned.add(msg)
            print(f"wattwise: {msg}", file=sys.stderr)

    # -- phases and counters --------------------------------------------------------------------------
    @contextmanager
    def phase(self, name: str) -> Iterator[Run]:
        """Attribute the energy used inside the block to phase ``name`` (phases nest: ``train/eval``)."""
        if "/" in name or not name:
            raise WattwiseError(f"invalid phase name {name!r}", "use a non-empty name without '/'")
        self.sample()
        with self._lock:
            self._phases.append(name)
            path = "/".join(self._phases)
        if self.store is not None and self.id is not None and self.status == "running":
            self.store.start_phase(self.id, path, time.time())
        try:
            yield self
        finally:
            self._end_phase()

    def _end_phase(self) -> None:
        self.sample()
        with self._lock:
            path = "/".join(self._phases)
            self._phases.pop()
        if self.store is not None and self.id is not None:
            self.store.end_phase(self.id, path, time.time())

    def add(self, **counts: float) -> None:
        """Count work done (``tokens=``, ``samples=``, ``steps=`` or any name); saved with the next sample."""
        t = time.time()
        phase = "/".join(self._phases) or None
        with self._count_lock:
            checked = [validate.counter(name, value) for name, value in counts.items()]  # all or nothing
            for name, value in checked:
                self._counters.append(CounterRow(self.id or "", t, name, value, phase))
                self._counter_totals[name] += value
                self._phase_counters[(phase, name)] += value

    def step(self, **counts: float) -> None:
        """Count one training/inference step, plus optional counters (``run.step(tokens=4096)``)."""
        self.add(steps=1, **counts)

    # -- figures --------------------------------------------------------------------------------------
    def energy_j(self, max_age: float | None = None) -> float:
        """IT energy so far, all domains, in joules, as of the last sample.

        With ``max_age`` (seconds), a sample older than that is taken now, in the caller's thread (about a
        millisecond), for callers such as training policies that need a fresh figure.
        """
        if max_age is not None and self.status == "running" and time.time() - self._last_t > max_age:
            self.sample()
        return self._total_j  # a float attribute: read atomically, without waiting for the sampler

    def energy_now_j(self) -> float:
        """IT energy interpolated to now: the last sample plus the sensors' latest power times the time since.

        Never waits for a sensor or the store, so a 10 ms training step sees energy that changes every step
        (budgets, early stopping and forecasts read this).
        """
        total, t, rate = self._total_j, self._last_t, self._rate_w
        if self.status != "running" or not t:
            return total
        return total + rate * max(time.time() - t, 0.0)

    @property
    def last_sample_at(self) -> float:
        """Wall-clock time (epoch s) of the last sample: the time ``energy_j()`` refers to."""
        return self._last_t

    @property
    def elapsed_s(self) -> float:
        if self.started_at is None:
            return 0.0
        return (self.ended_at or time.time()) - self.started_at

    def counters(self) -> dict[str, float]:
        return dict(self._counter_totals)

    def footprint(self) -> Footprint:
        """The run's footprint so far (hour-bucketed energy per domain, CO2 at the run's location)."""
        with self._lock:
            rows = [
                SampleRow(r.run_id, hour * 3600.0 if hour * 3600.0 > (self.started_at or 0) else r.t_start,
                          r.t_end, r.domain, j, r.method, r.source, r.uncertainty, phase, r.node)
                for (phase, _, hour), (r, j) in sorted(self._hourly.items(), key=lambda kv: kv[0][2])
            ]
        with self._count_lock:
            counters = [CounterRow(self.id or "", 0.0, k, v, phase) for (phase, k), v in self._phase_counters.items()]
        ctx = self.context or resolve_context(self.location, self.intensity, self.pue, self.options.whole_machine)
        return footprint_from_samples(rows, counters, self.elapsed_s, ctx.location, ctx.intensity, pue=ctx.pue,
                                      scope=ctx.scope, with_phases=True)
