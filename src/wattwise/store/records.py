"""Rows of the run store as plain dataclasses."""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass, field

#: A running run whose heartbeat is older than this many sampling intervals (and at least STALE_MIN_S) is
#: shown as interrupted: its process died without closing it.
STALE_INTERVALS = 3
STALE_MIN_S = 10.0


@dataclass
class RunRecord:
    id: str
    name: str
    status: str  # running | finished | failed | interrupted
    started_at: float
    ended_at: float | None = None
    last_seen: float | None = None
    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)
    interval: float = 1.0
    location: str | None = None
    command: str | None = None
    exit_code: int | None = None
    config: dict = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        end = self.ended_at or self.last_seen or self.started_at
        return max(end - self.started_at, 0.0)

    def is_dead(self, now: float | None = None) -> bool:
        """A 'running' run whose process is gone (same host) or silent for too long (any host)."""
        if self.status != "running":
            return False
        now = now or time.time()
        if self.host == socket.gethostname():
            import psutil

            try:
                # a reused pid belongs to a process created after the run started
                return psutil.Process(self.pid).create_time() > self.started_at + 1.0
            except psutil.NoSuchProcess:
                return True
            except psutil.Error:
                pass
        last = self.last_seen or self.started_at
        return now - last > max(STALE_INTERVALS * self.interval, STALE_MIN_S)

    def config_json(self) -> str:
        return json.dumps(self.config, sort_keys=True)


@dataclass(frozen=True)
class SampleRow:
    run_id: str
    t_start: float
    t_end: float
    domain: str
    joules: float
    method: str
    source: str
    uncertainty: float
    phase: str | None = None
    node: str | None = None
    rank: int | None = None  # the distributed rank that read it (None outside distributed runs)


@dataclass(frozen=True)
class MemberRow:
    """A process (rank) that joined a distributed run; ``owner``: it read the node-level sensors."""

    run_id: str
    member: str
    node: str | None
    rank: int | None
    host: str | None
    pid: int | None
    owner: bool
    status: str
    joined_at: float
    left_at: float | None = None


@dataclass(frozen=True)
class PhaseRow:
    run_id: str
    name: str
    started_at: float
    ended_at: float | None


@dataclass(frozen=True)
class CounterRow:
    run_id: str
    t: float
    name: str
    value: float
    phase: str | None = None
