"""One truth: the same stored run gives the same kWh, gCO2e, intensity (value and source) and PUE in every output.

Real runs (CLI ``run``, ``track()`` with phases, ``TrainingMonitor``) with no location, a country, a cloud region
(PUE != 1) and with ``--intensity``/``--pue`` overrides; each read back through ``show --json``, ``export``
(JSON and CodeCarbon CSV), ``modelcard``, the report's data, the Prometheus exporter, MLflow's metrics, the
dashboard API and SCI.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from wattwise.footprint import J_PER_KWH

if TYPE_CHECKING:
    from wattwise.train.monitor import TrainingMonitor

WORK = [sys.executable, "-c", "sum(i * i for i in range(2_500_000))"]
CASES = {
    "no location": [],
    "country": ["-l", "FR"],
    "cloud region": ["-l", "gcp:europe-west1"],
    "overrides": ["-l", "gcp:europe-west1", "--intensity", "123.4", "--pue", "1.3"],
}


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "300"}
    r = subprocess.run([sys.executable, "-m", "wattwise", *args], capture_output=True, text=True, env=env,
                       timeout=120)
    if check:
        assert r.returncode == 0, r.stderr
    return r


def figures_everywhere(run_id: str) -> dict[str, dict[str, float | str]]:
    """kWh (facility), gCO2e, intensity and PUE of one run as each output states them."""
    from wattwise.integrations.mlflow import metrics_of
    from wattwise.report.data import load_run
    from wattwise.report.sci import parse_unit, sci
    from wattwise.store.connect import open_store

    out: dict[str, dict[str, float | str]] = {}
    show = json.loads(cli("show", run_id, "--json").stdout)["footprint"]
    out["show"] = {"kwh": show["facility_kwh"], "g": show["total_kg"] * 1000,
                   "intensity": show["intensity"]["g_per_kwh"], "source": show["intensity"]["source"],
                   "pue": show["pue"]}
    exp = json.loads(cli("export", run_id, "-f", "json").stdout)["footprint"]
    out["export json"] = {"kwh": exp["facility_kwh"], "g": exp["total_kg"] * 1000,
                          "intensity": exp["intensity"]["g_per_kwh"], "source": exp["intensity"]["source"],
                          "pue": exp["pue"]}
    rows = list(csv.DictReader(io.StringIO(cli("export", run_id, "-f", "codecarbon-csv").stdout)))
    out["codecarbon csv"] = {"kwh": sum(float(r["energy_consumed"]) for r in rows),
                             "g": sum(float(r["emissions"]) for r in rows) * 1000, "pue": float(rows[0]["pue"])}
    card = cli("modelcard", run_id).stdout
    emissions = next(line.split(":", 1)[1] for line in card.splitlines() if line.strip().startswith("emissions:"))
    out["model card"] = {"g": float(emissions.strip().strip("'\""))}  # a plain-decimal string when small
    store = open_store(None)
    view = load_run(store, run_id)
    fp = view.fp
    out["report data"] = {"kwh": fp.facility_kwh, "g": fp.total_kg * 1000, "intensity": fp.intensity.g_per_kwh,
                          "source": fp.intensity.source, "pue": fp.pue}
    m = metrics_of(view)
    out["mlflow"] = {"kwh": m["wattwise.energy_kwh"], "g": m["wattwise.co2e_kg"] * 1000,
                     "intensity": m["wattwise.intensity_g_per_kwh"]}
    from fastapi.testclient import TestClient

    from wattwise.dashboard.app import create_app

    api = TestClient(create_app(store)).get(f"/api/runs/{run_id}", headers={"host": "127.0.0.1"}).json()
    afp = api["footprint"]
    out["dashboard api"] = {"kwh": afp["facility_kwh"], "g": afp["total_kg"] * 1000,
                            "intensity": afp["intensity"]["g_per_kwh"], "source": afp["intensity"]["source"],
                            "pue": afp["pue"]}
    score = sci(fp, parse_unit("run", fp.counters))
    out["sci"] = {"kwh": score.e_kwh, "g": score.value_g}
    from prometheus_client import generate_latest
    from prometheus_client.core import CollectorRegistry

    from wattwise.integrations.prometheus import StoreCollector

    reg = CollectorRegistry()
    reg.register(StoreCollector(store))
    text = generate_latest(reg).decode()
    co2 = [ln for ln in text.splitlines() if ln.startswith("wattwise_co2e_grams_total{") and run_id in ln]
    out["prometheus"] = {"g": float(co2[0].rsplit(" ", 1)[1])}
    return out


def assert_agree(figs: dict[str, dict[str, float | str]]) -> None:
    ref = figs["show"]
    for name, f in figs.items():
        for key, value in f.items():
            if isinstance(value, str):
                assert value == ref[key], (name, key)
            elif key == "g" and name == "model card":  # written to 6 decimals of a gram
                assert value == pytest.approx(ref["g"], abs=1e-6), (name, value, ref["g"])
            else:
                assert value == pytest.approx(ref[key], rel=1e-6, abs=1e-12), (name, key, value, ref[key])


def wait_for_first_sample(mon: TrainingMonitor, timeout_s: float = 20.0) -> None:
    """Busy until the monitor's meter has taken its first sample (before it, the meter reads 0 J and has no
    power). No steps meanwhile: beside a busy loop the first sample can take ~1 s, and steps counted during it
    could pass total_steps (those are not forecast)."""
    import time

    run = mon.run
    deadline = time.monotonic() + timeout_s
    while run.last_sample_at <= run.started_at and time.monotonic() < deadline:
        sum(range(100_000))


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_cli_run_agrees_everywhere(case: str) -> None:
    r = cli("run", *CASES[case], "--", *WORK)
    run_id = r.stderr.split("wattwise show ")[-1].split()[0]
    figs = figures_everywhere(run_id)
    assert_agree(figs)
    show = figs["show"]
    if case == "no location":
        assert show["intensity"] == 480.0 and show["pue"] == 1.0
    if case == "cloud region":
        assert show["pue"] > 1.0  # the region's PUE applies, in every output
    if case == "overrides":
        assert show["intensity"] == 123.4 and show["pue"] == 1.3
    # the summary line on stderr states the scope and the honest method word
    assert "process tree" in r.stderr and "modelled" in r.stderr


def test_track_with_phases_agrees_with_stored_run() -> None:
    import wattwise
    from wattwise.accounting import run_footprint
    from wattwise.store.connect import open_store

    with wattwise.track("phases", interval=0.05, location="gcp:europe-west1") as run:
        with run.phase("train"):
            for _ in range(4):
                sum(range(200_000))
                run.step(tokens=100)
        with run.phase("eval"):
            sum(range(200_000))
            run.add(tokens=30)
    live = run.footprint()
    store = open_store(None)
    stored = run_footprint(store, store.get_run(run.id or ""))
    assert live.scope == stored.scope == "process tree"
    assert live.it_kwh == pytest.approx(stored.it_kwh, rel=1e-9)
    assert live.pue == stored.pue > 1.0
    assert live.total_kg == pytest.approx(stored.total_kg, rel=1e-6)
    assert set(stored.phases) == {"train", "eval"}
    # per-unit figures never mix phases: train tokens divide train energy only
    train = stored.phases["train"]
    assert train.counters["tokens"] == 400 and stored.phases["eval"].counters["tokens"] == 30
    assert stored.per_unit()["train"]["tokens"] == pytest.approx(train.facility_kwh * J_PER_KWH / 400)
    assert stored.phases["train"].total_kg + stored.phases["eval"].total_kg <= stored.total_kg * (1 + 1e-9)
    assert_agree(figures_everywhere(run.id or ""))


def test_training_monitor_budget_uses_the_reported_intensity() -> None:
    from wattwise.accounting import run_footprint
    from wattwise.store.connect import open_store
    from wattwise.train.monitor import TrainingMonitor

    with TrainingMonitor("budgeted", location="DE", budget_g=1e6, total_steps=40) as mon:
        wait_for_first_sample(mon)
        for _ in range(40):
            sum(range(50_000))
            mon.step(tokens=10)
    summary = mon.summary()
    store = open_store(None)
    fp = run_footprint(store, store.get_run("last"))
    assert summary["intensity_g_per_kwh"] == pytest.approx(fp.intensity.g_per_kwh)
    assert summary["intensity_source"] == fp.intensity.source
    assert mon.budget is not None and mon.budget.g_per_it_kwh() == pytest.approx(fp.intensity.g_per_kwh * fp.pue)
    assert mon.forecast is not None  # a loop with total_steps known gets a forecast once energy is reported


def test_fast_loop_sees_energy_change_every_step() -> None:
    from wattwise.train.monitor import TrainingMonitor

    seen = []
    with TrainingMonitor("fast", total_steps=2000) as mon:
        wait_for_first_sample(mon)
        for _ in range(200):
            sum(range(100_000))  # a few ms per step, far below the 1 s sampling interval
            mon.step()
            seen.append(mon.energy_j())
    assert mon.run.last_sample_at > mon.run.started_at
    changes = sum(1 for a, b in itertools.pairwise(seen) if b != a)
    assert changes >= 0.9 * (len(seen) - 1), changes
    assert mon.forecast is not None


def test_internal_runs_never_become_last(tmp_path: Path) -> None:
    import wattwise
    from wattwise.store.connect import open_store

    with wattwise.track("mine", interval=0.05):
        sum(range(100_000))
    with wattwise.track("reduce-eval", interval=0.05, internal=True):
        sum(range(100_000))
    store = open_store(None)
    assert store.get_run("last").name == "mine"
    assert [r.name for r in store.list_runs(internal=False)] == ["mine"]
    assert "reduce-eval" not in cli("runs").stdout and "reduce-eval" in cli("runs", "--all").stdout


def test_command_that_cannot_start_records_nothing() -> None:
    r = cli("run", "--", "no-such-command-xyz", check=False)
    assert r.returncode != 0 and r.stderr.startswith("error:") and "Traceback" not in r.stderr
    assert "no runs" in cli("runs").stdout


def test_api_and_cli_attribute_the_same_scope() -> None:
    import wattwise

    with wattwise.track("api", interval=0.05) as run:
        sum(range(100_000))
    assert run.pids is not None and run.pids[0] == os.getpid()
    assert run.footprint().scope == "process tree"
    with wattwise.track("machine", interval=0.05, whole_machine=True) as run2:
        sum(range(100_000))
    assert run2.pids is None and run2.footprint().scope == "whole machine"


def test_decorator_and_distributed_copies_keep_every_option() -> None:
    from wattwise.integrations.distributed import DistEnv, DistributedRun
    from wattwise.meter import Run
    from wattwise.sensors.cpu_model import CpuModelSensor

    sensors = [CpuModelSensor(pids=[os.getpid()])]
    base = Run("x", interval=0.3, pids=[1, 2], sensors=sensors, node_sensors=False, pue=1.2, location="FR")
    copy = base._clone("y")
    assert (copy.pids, copy._sensors_arg, copy.node_sensors, copy.pue, copy.location, copy.interval) == (
        [1, 2], sensors, False, 1.2, "FR", 0.3)
    d = DistributedRun("d", dist_env=DistEnv(), pids=[3], sensors=sensors, node_sensors=False)
    dc = d._clone("e")
    assert isinstance(dc, DistributedRun)
    assert (dc.pids, dc._sensors_arg, dc.node_sensors) == ([3], sensors, False)


def test_one_annual_figure_per_grid() -> None:
    """France is one number for a run outside the traces' year, whichever way it is named or reached."""
    import wattwise.grid as grid
    from wattwise.accounting import footprint_from_samples
    from wattwise.estimate.location import resolve
    from wattwise.store.records import SampleRow

    fr = grid.intensity("FR").g_per_kwh
    assert grid.intensity("aws:eu-west-3").g_per_kwh == fr  # a cloud region in the zone FR
    assert resolve("FR")[0].g_per_kwh == fr  # the planner
    t0 = 1_796_000_000.0  # 2026: the 2023 trace does not cover it
    run = footprint_from_samples([SampleRow("r", t0, t0 + 60, "cpu", 3600.0, "modelled", "m", 0.1)], (), 60, "FR")
    assert run.intensity.g_per_kwh == fr and run.intensity.resolution == "annual"
    hourly = footprint_from_samples([SampleRow("r", 1_688_227_200.0, 1_688_227_260.0, "cpu", 3600.0, "modelled",
                                               "m", 0.1)], (), 60, "FR")
    assert hourly.intensity.resolution == "hourly"  # 2023-07-01: the trace covers it


def test_reduce_lab_uses_the_context_and_pue() -> None:
    """`reduce` follows `config set location` and applies the location's PUE exactly as `show` does."""
    import wattwise.grid as grid
    from wattwise.accounting import footprint_from_samples
    from wattwise.config import load_config, save_config
    from wattwise.reduce.lab import LabOptions, co2_g_per_1k, intensity_context
    from wattwise.store.records import SampleRow

    save_config({**load_config(), "location": "FR"})
    fr = intensity_context(LabOptions())
    assert fr["location"] == "FR" and fr["g_per_kwh"] == grid.intensity("FR").g_per_kwh
    cloud = intensity_context(LabOptions(location="gcp:europe-west1"))
    assert cloud["pue"] > 1.0
    t0 = 1_796_000_000.0
    shown = footprint_from_samples([SampleRow("r", t0, t0 + 60, "cpu", 3600.0, "modelled", "m", 0.1)], (), 60,
                                   "gcp:europe-west1")
    assert co2_g_per_1k(3600.0, cloud) == pytest.approx(shown.operational_kg * 1000)
