"""Prometheus exporter: energy counters (joules) per component, power gauges (watts), CO2e (grams).

Metric names follow the Prometheus conventions (base units, ``_total`` on counters):

- ``wattwise_energy_joules_total{run_id,run_name,host,device,method}``: IT energy per component
- ``wattwise_power_watts{...}``: mean power of the component over the run's last stored sampling interval
  (live runs): a property of the stored samples, so any number of scrapers read the same value
- ``wattwise_co2e_grams_total{run_id,run_name,host}``: operational + embodied CO2e
- ``wattwise_tokens_total``, ``wattwise_steps_total``, ``wattwise_samples_total`` (and
  ``wattwise_work_<name>_total`` for other counters) ``{run_id,run_name,host}``: counted work, one metric per unit
- ``wattwise_run_running{...}``, ``wattwise_run_duration_seconds{...}``

:class:`StoreCollector` reads the run store (the ``wattwise exporter`` command); :class:`RunCollector` reads a
live :class:`~wattwise.meter.Run` in the same process (:func:`start_exporter` with ``run=``).
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from wattwise.accounting import run_footprint
from wattwise.errors import WattwiseError
from wattwise.footprint import Footprint
from wattwise.store.records import CounterRow, RunRecord, SampleRow
from wattwise.store.sql import SqlStore

if TYPE_CHECKING:
    from wattwise.meter import Run

RUN_LABELS = ["run_id", "run_name", "host"]
#: Counters with a metric of their own; any other counter ``x`` becomes ``wattwise_work_x_total``.
UNIT_METRICS = {"tokens": "wattwise_tokens", "steps": "wattwise_steps", "samples": "wattwise_samples"}


def _client() -> Any:
    try:
        import prometheus_client
    except ImportError as exc:
        raise WattwiseError("the Prometheus exporter needs prometheus-client, which is not installed",
                            "pip install 'wattwise[prometheus]'") from exc
    return prometheus_client


def _families() -> dict[str, Any]:
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    dev = [*RUN_LABELS, "device", "method"]
    return {
        "energy": CounterMetricFamily("wattwise_energy_joules", "IT energy of the component since the run "
                                      "started, in joules (before PUE)", labels=dev),
        "power": GaugeMetricFamily("wattwise_power_watts", "Mean power of the component in watts over the run's "
                                   "last stored sampling interval (energy of that sample / its duration); live "
                                   "runs only; the same for every scraper", labels=dev),
        "co2": CounterMetricFamily("wattwise_co2e_grams", "Emissions of the run so far in grams CO2e: IT energy "
                                   "x PUE x grid intensity, plus embodied", labels=RUN_LABELS),
        "running": GaugeMetricFamily("wattwise_run_running", "1 while the run is in progress, else 0",
                                     labels=RUN_LABELS),
        "duration": GaugeMetricFamily("wattwise_run_duration_seconds", "Seconds from the run's start to its end "
                                      "(or to now while running)", labels=RUN_LABELS),
    }


def _work_family(name: str) -> Any:
    from prometheus_client.core import CounterMetricFamily

    metric = UNIT_METRICS.get(name) or "wattwise_work_" + (re.sub(r"[^a-zA-Z0-9_]", "_", name).strip("_") or "x")
    return CounterMetricFamily(metric, f"Work counted by the run: {name} (run.add / run.step)", labels=RUN_LABELS)


class _HourlySamples:
    """A run source for :func:`run_footprint` with samples summed per domain and hour (same footprint, fewer
    rows: hour-by-hour carbon integration needs no finer grain)."""

    def __init__(self, store: SqlStore, hour_expr: str) -> None:
        self.store, self.hour_expr = store, hour_expr

    def samples(self, run_id: str) -> list[SampleRow]:
        s = self.store
        meta = {r[0]: r for r in s._rows(
            "SELECT domain, method, source, uncertainty FROM samples WHERE id IN "
            "(SELECT MAX(id) FROM samples WHERE run_id = ? GROUP BY domain)", (run_id,))}
        hourly = s._rows(f"SELECT domain, {self.hour_expr} AS h, SUM(joules), MIN(t_start), MAX(t_end) FROM "
                         "samples WHERE run_id = ? GROUP BY domain, h ORDER BY h", (run_id,))
        return [SampleRow(run_id, t0, t1, d, float(j), meta[d][1], meta[d][2], meta[d][3] or 0.0)
                for d, _h, j, t0, t1 in hourly]

    def counters(self, run_id: str) -> list[CounterRow]:
        return [CounterRow(run_id, 0.0, n, float(v)) for n, v in self.store._rows(
            "SELECT name, SUM(value) FROM counters WHERE run_id = ? GROUP BY name", (run_id,))]


def last_power(store: SqlStore, run_id: str) -> dict[str, tuple[float, str]]:
    """(watts, method) per domain over the run's last stored sample of that domain (zero-length ones skipped)."""
    return store.last_power(run_id)


class StoreCollector:
    """Collects the most recent ``max_runs`` runs of a store (finished runs are cached)."""

    def __init__(self, store: SqlStore, max_runs: int = 20) -> None:
        self.store = store
        self.max_runs = max_runs
        self._cache: dict[str, tuple[Footprint, dict[str, tuple[float, str]]]] = {}

    def _hour_expr(self) -> str:
        return "CAST(t_start / 3600 AS INTEGER)" if self.store.dialect.name == "sqlite" else "FLOOR(t_start / 3600)"

    def _load(self, rec: RunRecord) -> tuple[Footprint, dict[str, tuple[float, str]]]:
        """The run's footprint (through run_footprint, from hour-summed samples) and its last-interval power."""
        if rec.status != "running" and rec.id in self._cache:
            return self._cache[rec.id]
        fp = run_footprint(_HourlySamples(self.store, self._hour_expr()), rec)
        power = last_power(self.store, rec.id) if rec.status == "running" else {}
        if rec.status != "running":
            self._cache[rec.id] = (fp, power)
        return fp, power

    def collect(self) -> Iterator[Any]:
        fam = _families()
        for rec in self.store.list_runs(limit=self.max_runs):
            fp, power = self._load(rec)
            _emit(fam, [rec.id, rec.name, rec.host or ""], fp, power if rec.status == "running" else {},
                  rec.status == "running", rec.duration_s if rec.status != "running" else time.time() - rec.started_at)
        yield from fam.values()


class RunCollector:
    """Collects a live in-process run (power over its last stored sampling interval, as the store exporter)."""

    def __init__(self, run: Run) -> None:
        self.run = run

    def collect(self) -> Iterator[Any]:
        fam = _families()
        run = self.run
        if run.id is not None:
            fp = run.footprint()
            running = run.status == "running"
            db = run.store.store if running and run.store is not None else None  # the writer's open SqlStore
            power = last_power(db, run.id) if db is not None else {}
            _emit(fam, [run.id, run.name, socket.gethostname()], fp, power, running, run.elapsed_s)
        yield from fam.values()


def _emit(fam: dict[str, Any], labels: list[str], fp: Footprint, power: dict[str, tuple[float, str]],
          running: bool, duration_s: float) -> None:
    for d in fp.energy:
        fam["energy"].add_metric([*labels, d.domain, d.method.value], d.joules)
    for domain, (watts, method) in power.items():
        fam["power"].add_metric([*labels, domain, method], watts)
    fam["co2"].add_metric(labels, fp.total_kg * 1000.0)
    for unit, n in sorted(fp.counters.items()):
        key = f"work:{unit}"
        if key not in fam:
            fam[key] = _work_family(unit)
        fam[key].add_metric(labels, n)
    fam["running"].add_metric(labels, 1.0 if running else 0.0)
    fam["duration"].add_metric(labels, max(duration_s, 0.0))


def registry_for(store: SqlStore | None = None, run: Run | None = None, max_runs: int = 20) -> Any:
    """A fresh CollectorRegistry holding the store's and/or the run's collector."""
    client = _client()
    reg = client.CollectorRegistry(auto_describe=False)
    if store is not None:
        reg.register(StoreCollector(store, max_runs))
    if run is not None:
        reg.register(RunCollector(run))
    if store is None and run is None:
        raise WattwiseError("nothing to export", "give a store or a run")
    return reg


def metrics_text(store: SqlStore | None = None, run: Run | None = None, max_runs: int = 20) -> str:
    """The exposition text once (for ``--once`` and tests)."""
    return _client().generate_latest(registry_for(store, run, max_runs)).decode()


def start_exporter(port: int = 9464, addr: str = "127.0.0.1", store: SqlStore | None = None,
                   run: Run | None = None, max_runs: int = 20) -> tuple[Any, int]:
    """Serve ``/metrics`` in a background thread; returns (server, port). ``port=0`` picks a free port.

    In-process use: ``server, port = start_exporter(port=9464, run=run)`` inside ``with wattwise.track(...)``;
    stop with ``server.shutdown()``.
    """
    client = _client()
    reg = registry_for(store, run, max_runs)
    try:
        server, _thread = client.start_http_server(port, addr=addr, registry=reg)
    except OSError as exc:
        raise WattwiseError(f"cannot listen on {addr}:{port}: {exc.strerror or exc}",
                            "choose another --port") from exc
    return server, int(server.server_port)
