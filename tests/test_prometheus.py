"""Prometheus exporter: scrape it over HTTP on 127.0.0.1 and check names, labels and values."""

from __future__ import annotations

import time
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

import wattwise
from tests.report_fixtures import make_run, new_store
from wattwise.cli.app import main
from wattwise.integrations.prometheus import metrics_text, start_exporter


def _scrape(port: int) -> dict[str, list]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as r:
        assert r.status == 200
        text = r.read().decode()
    return {f.name: f.samples for f in text_string_to_metric_families(text)}


def test_store_exporter(tmp_path):
    s = new_store(tmp_path)
    done = make_run(s, "done", intensity=100.0, counters={"tokens": 500})
    live = make_run(s, "live", status="running", watts={"cpu": 30.0})
    server, port = start_exporter(0, store=s)
    try:
        fams = _scrape(port)
    finally:
        server.shutdown()
    energy = {(x.labels["run_id"], x.labels["device"]): x for x in fams["wattwise_energy_joules"]}
    assert energy[(done, "cpu")].name == "wattwise_energy_joules_total"
    assert energy[(done, "cpu")].value == pytest.approx(200.0)
    assert energy[(done, "ram")].value == pytest.approx(40.0)
    assert energy[(done, "cpu")].labels["method"] == "modelled" and energy[(done, "cpu")].labels["host"]
    co2 = {x.labels["run_id"]: x.value for x in fams["wattwise_co2e_grams"]}
    assert co2[done] == pytest.approx(240 / 3.6e6 * 100)
    power = {(x.labels["run_id"], x.labels["device"]): x.value for x in fams["wattwise_power_watts"]}
    assert power[(live, "cpu")] == pytest.approx(30.0, rel=1e-3) and (done, "cpu") not in power
    running = {x.labels["run_id"]: x.value for x in fams["wattwise_run_running"]}
    assert running == {done: 0.0, live: 1.0}
    assert "wattwise_work_units" not in fams  # one metric per unit
    tokens = {x.labels["run_id"]: x.value for x in fams["wattwise_tokens"]}
    assert tokens[done] == 500 and fams["wattwise_tokens"][0].name == "wattwise_tokens_total"


def test_in_process_exporter_for_a_live_run(tmp_path):
    with wattwise.track("served", interval=0.05, store=tmp_path / "s.sqlite") as run:
        server, port = start_exporter(0, run=run)
        try:
            t = time.time()
            while time.time() - t < 0.3:
                sum(range(2000))
            run.add(tokens=10)
            time.sleep(0.1)
            fams = _scrape(port)
        finally:
            server.shutdown()
    energy = {x.labels["device"]: x.value for x in fams["wattwise_energy_joules"]}
    assert energy and all(v > 0 for v in energy.values())
    assert {x.labels["device"] for x in fams["wattwise_power_watts"]} == set(energy)
    assert fams["wattwise_run_running"][0].value == 1.0
    assert fams["wattwise_tokens"][0].value == 10


def test_power_is_the_same_for_every_scraper(tmp_path):
    """Power over the last stored interval: two scrapers in a row read the same value (no 'since my last
    scrape' state), and it equals that sample's energy / duration."""
    s = new_store(tmp_path)
    live = make_run(s, "live", status="running", watts={"cpu": 30.0, "ram": 4.0})
    text1 = metrics_text(store=s)
    text2 = metrics_text(store=s)
    p1 = {x.labels["device"]: x.value for f in text_string_to_metric_families(text1) if f.name ==
          "wattwise_power_watts" for x in f.samples if x.labels["run_id"] == live}
    p2 = {x.labels["device"]: x.value for f in text_string_to_metric_families(text2) if f.name ==
          "wattwise_power_watts" for x in f.samples if x.labels["run_id"] == live}
    assert p1 == p2 and p1["cpu"] == pytest.approx(30.0, rel=1e-3) and p1["ram"] == pytest.approx(4.0, rel=1e-3)
    helps = {f.name: f.documentation for f in text_string_to_metric_families(text1)}
    assert "last stored sampling interval" in helps["wattwise_power_watts"]


def test_promtool_accepts_the_exposition(tmp_path):
    """Debian's promtool (package prometheus) lints the exposition: names, units, HELP/TYPE, counters."""
    import shutil
    import subprocess

    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed (Debian package prometheus; .ci/run installs it)")
    s = new_store(tmp_path)
    make_run(s, "done", counters={"tokens": 500, "steps": 5, "samples": 20, "images-seen": 3})
    make_run(s, "live", status="running")
    text = metrics_text(store=s)
    r = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    names = {f.name for f in text_string_to_metric_families(text)}
    assert {"wattwise_tokens", "wattwise_steps", "wattwise_samples", "wattwise_work_images_seen"} <= names


def test_cli_exporter_once_and_bad_input(tmp_path, capsys):
    s = new_store(tmp_path)
    rid = make_run(s)
    assert main(["exporter", "--once", "--store", str(tmp_path / "runs.sqlite")]) == 0
    out = capsys.readouterr().out
    assert f'run_id="{rid}"' in out and "# TYPE wattwise_energy_joules_total counter" in out
    assert main(["exporter", "--once", "--store", str(tmp_path / "nope.sqlite")]) != 0
    assert "no run store" in capsys.readouterr().err
    assert main(["exporter", "--port", "70000", "--store", str(tmp_path / "runs.sqlite")]) != 0
    assert "--port" in capsys.readouterr().err
