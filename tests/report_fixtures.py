"""Runs for the report, dashboard and integration tests, written straight through the store API."""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

import psutil

from wattwise.store.connect import open_store
from wattwise.store.records import CounterRow, RunRecord, SampleRow
from wattwise.store.sql import SqlStore

CPU_SOURCE = "cpu-tdp-model (test CPU, 100 W TDP)"


def make_run(store: SqlStore, name: str = "train", run_id: str | None = None, n: int = 20, dt: float = 0.5,
             watts: dict[str, float] | None = None, status: str = "finished", counters: dict[str, float] | None = None,
             phases: bool = True, location: str | None = None, intensity: float | None = None,
             measured: tuple[str, ...] = (), wobble: bool = False) -> str:
    """A run of ``n`` samples of ``dt`` seconds at ``watts`` per domain (constant unless ``wobble``); its id."""
    watts = watts if watts is not None else {"cpu": 20.0, "ram": 4.0}
    now = time.time()
    t0 = now - n * dt - 1.0
    if status == "running":  # a live run must not look dead: same pid, started after this process
        t0 = max(t0, psutil.Process().create_time() + 1.5)
        dt = min(dt, max((now - t0) / max(n, 1), 0.001))
    rid = run_id or f"{name}-{int(now * 1e6) % 10**9:09d}"
    sensors = ["nvml"] if any(d.startswith("gpu") for d in watts) else []
    cfg = {"sensors": [*sensors, "cpu-model", "ram-model"], "intensity_g_per_kwh": intensity}
    store.create_run(RunRecord(id=rid, name=name, status="running", started_at=t0, interval=dt,
                               location=location, command="python train.py", config=cfg, pid=os.getpid()))
    rows = []
    for k in range(n):
        a, b = t0 + k * dt, t0 + (k + 1) * dt
        phase = ("train" if k < n * 3 // 4 else "eval") if phases else None
        shape = (0.8 + 0.2 * math.sin(k / 3.0)) * (1.0 if k < n * 3 // 4 else 0.55) if wobble else 1.0
        for dom, w0 in watts.items():
            w = w0 * (shape if dom.startswith("gpu") or dom == "cpu" else 1.0)
            m = "measured" if dom in measured else "modelled"
            if m == "measured":
                src = "nvml-energy-counter" if dom.startswith("gpu") else "rapl"
            else:
                src = CPU_SOURCE if dom == "cpu" else "ram-model (0.375 W/GB)"
            rows.append(SampleRow(rid, a, b, dom, w * dt, m, src, 0.05 if m == "measured" else 0.3, phase))
    counted = counters if counters is not None else {"tokens": 1000.0}
    cnt = [CounterRow(rid, t0 + dt, k, v) for k, v in counted.items()]
    store.record(rid, rows, cnt, heartbeat=now if status == "running" else t0 + n * dt)
    if phases:
        store.start_phase(rid, "train", t0)
        store.end_phase(rid, "train", t0 + (n * 3 // 4) * dt)
        store.start_phase(rid, "eval", t0 + (n * 3 // 4) * dt)
        if status != "running":
            store.end_phase(rid, "eval", t0 + n * dt)
    if status != "running":
        store.finish_run(rid, status, t0 + n * dt, 0 if status == "finished" else 1)
    return rid


def make_empty_run(store: SqlStore, name: str = "empty") -> str:
    rid = f"{name}-{int(time.time() * 1e6) % 10**9:09d}"
    t0 = time.time() - 5
    store.create_run(RunRecord(id=rid, name=name, status="running", started_at=t0, interval=1.0))
    store.finish_run(rid, "finished", t0 + 0.2, 0)
    return rid


def new_store(tmp: Path) -> SqlStore:
    return open_store(tmp / "runs.sqlite")
