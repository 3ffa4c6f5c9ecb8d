"""Prometheus exporter: energy counters (joules) per component, power gauges (watts), CO2e (grams).

Metric names follow the Prometheus conventions (base units, ``_total`` on counters):

- ``wattwise_energy_joules_total{run_id,run_name,host,device,method}``: IT energy per component
- ``wattwise_power_watts{...}``: mean power of the component over the last sampling interval (live runs)
- ``wattwise_co2e_grams_total{run_id,run_name,host}``: operational + embodied CO2e
- ``wattwise_work_units_total{run_id,run_name,host,unit}``: counted work (tokens, samples, steps)
- ``wattwise_run_running{...}``, ``wattwise_run_duration_seconds{...}``

:class:`StoreCollector` reads the run store (the ``wattwise exporter`` command); :class:`RunCollector` reads a
live :class:`~wattwise.meter.Run` in the same process (:func:`start_exporter` with ``run=``).
"""

from __future__ import annotations

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
        "energy": CounterMetricFamily("wattwise_energy_joules", "IT energy per component in joules", labels=dev),
        "power": GaugeMetricFamily("wattwise_power_watts", "Mean power of the component over the last sampling "
                                   "interval", labels=dev),
        "co2": CounterMetricFamily("wattwise_co2e_grams", "Emissions in grams CO2e (operational + embodied)",
                                   labels=RUN_LABELS),
        "work": CounterMetricFamily("wattwise_work_units", "Work counted by the run (tokens, samples, steps)",
                                    labels=[*RUN_LABELS, "unit"]),
        "running": GaugeMetricFamily("wattwise_run_running", "1 while the run is in progress", labels=RUN_LABELS),
        "duration": GaugeMetricFamily("wattwise_run_duration_seconds", "Duration of the run so far",
                                      labels=RUN_LABELS),
    }


class StoreCollector:
    """Collects the most recent ``max_runs`` runs of a store (finished runs are cached)."""

    def __init__(self, store: SqlStore, max_runs: int = 20) -> None:
        self.store = store
        self.max_runs = max_runs
        self._cache: dict[str, tuple[Footprint, dict[str, tuple[float, str]]]] = {}

    def _hour_expr(self) -> str:
        return "CAST(t_start / 3600 AS INTEGER)" if self.store.dialect.name == "sqlite" else "FLOOR(t_start / 3600)"

    def _load(self, rec: RunRecord) -> tuple[Footprint, dict[str, tuple[float, str]]]:
        """The run's footprint from hour-aggregated samples, and (watts, method) of each domain's last sample."""
        if rec.status != "running" and rec.id in self._cache:
            return self._cache[rec.id]
        s = self.store
        last = s._rows("SELECT domain, joules, t_start, t_end, method, source, uncertainty FROM samples WHERE id IN "
                       "(SELECT MAX(id) FROM samples WHERE run_id = ? GROUP BY domain)", (rec.id,))
        meta = {r[0]: r for r in last}
        hourly = s._rows(f"SELECT domain, {self._hour_expr()} AS h, SUM(joules), MIN(t_start), MAX(t_end) FROM "
                         "samples WHERE run_id = ? GROUP BY domain, h ORDER BY h", (rec.id,))
        rows = [SampleRow(rec.id, t0, t1, d, float(j), meta[d][4], meta[d][5], meta[d][6] or 0.0)
                for d, _h, j, t0, t1 in hourly]
        counters = [CounterRow(rec.id, 0.0, n, float(v)) for n, v in
                    s._rows("SELECT name, SUM(value) FROM counters WHERE run_id = ? GROUP BY name", (rec.id,))]
        fp = run_footprint(s, rec, samples=rows, counters=counters)  # a bad stored location: noted, not raised
        power = {d: ((j / (t1 - t0)) if t1 > t0 else 0.0, m) for d, j, t0, t1, m, _s, _u in last}
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
    """Collects a live in-process run (power from the energy between scrapes)."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self._prev: tuple[float, dict[str, float]] | None = None

    def collect(self) -> Iterator[Any]:
        fam = _families()
        run = self.run
        if run.id is not None:
            fp = run.footprint()
            now = time.time()
            joules = {d.domain: d.joules for d in fp.energy}
            t_prev, j_prev = self._prev or (run.started_at or now, {})
            dt = now - t_prev
            power = {d.domain: (max(joules[d.domain] - j_prev.get(d.domain, 0.0), 0.0) / dt if dt > 0 else 0.0,
                                d.method.value) for d in fp.energy}
            self._prev = (now, joules)
            running = run.status == "running"
            _emit(fam, [run.id, run.name, socket.gethostname()], fp, power if running else {}, running, run.elapsed_s)
        yield from fam.values()


def _emit(fam: dict[str, Any], labels: list[str], fp: Footprint, power: dict[str, tuple[float, str]],
          running: bool, duration_s: float) -> None:
    for d in fp.energy:
        fam["energy"].add_metric([*labels, d.domain, d.method.value], d.joules)
    for domain, (watts, method) in power.items():
        fam["power"].add_metric([*labels, domain, method], watts)
    fam["co2"].add_metric(labels, fp.total_kg * 1000.0)
    for unit, n in sorted(fp.counters.items()):
        fam["work"].add_metric([*labels, unit], n)
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
