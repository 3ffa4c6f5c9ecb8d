"""Slurm and Kubernetes hand-off, location choice, and the simulation bench on a tiny synthetic data set."""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone

import pytest

from tests.bench_loader import load_bench
from wattwise.errors import NotFoundError, WattwiseError
from wattwise.schedule.handoff import k8s_job, sbatch_command, slurm_time, submit_sbatch
from wattwise.schedule.where import best_location

UTC = timezone.utc


def test_slurm_times_follow_the_cluster_zone_across_dst():
    # Europe/Berlin switches to summer time at 01:00 UTC on 26 March 2023
    assert slurm_time(datetime(2023, 3, 26, 0, 30, tzinfo=UTC), "Europe/Berlin") == "2023-03-26T01:30"
    assert slurm_time(datetime(2023, 3, 26, 1, 30, tzinfo=UTC), "Europe/Berlin") == "2023-03-26T03:30"
    assert slurm_time(datetime(2023, 3, 26, 1, 30, tzinfo=UTC), "UTC") == "2023-03-26T01:30"
    line = sbatch_command(["job.sh", "a b"], datetime(2023, 6, 1, 9, tzinfo=UTC), datetime(2023, 6, 1, 18, tzinfo=UTC),
                          5400, "America/Los_Angeles")
    assert line.startswith("sbatch --begin=2023-06-01T02:00 --deadline=2023-06-01T11:00 --time=1:30:00 job.sh 'a b'")
    assert "09:00 UTC" in line


def test_submit_needs_sbatch(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(WattwiseError, match="sbatch not found"):
        submit_sbatch(["job.sh"], datetime(2023, 6, 1, tzinfo=UTC))


def test_k8s_manifests_parse():
    yaml = pytest.importorskip("yaml")
    start, end = datetime(2023, 6, 1, 9, tzinfo=UTC), datetime(2023, 6, 1, 18, tzinfo=UTC)
    doc = yaml.safe_load(k8s_job("train", "img:1", ["python", "-c", 'print("x")'], start, end, namespace="ml"))
    assert doc["kind"] == "Job" and doc["spec"]["suspend"] is True
    assert doc["spec"]["activeDeadlineSeconds"] == 9 * 3600
    assert doc["metadata"]["annotations"]["wattwise.dev/start-at"] == "2023-06-01T09:00:00Z"
    assert doc["spec"]["template"]["spec"]["containers"][0]["command"] == ["python", "-c", 'print("x")']
    doc = yaml.safe_load(k8s_job("train", "img:1", [], start, end, mode="init-wait",
                                 now=datetime(2023, 6, 1, 6, tzinfo=UTC)))
    assert "suspend" not in doc["spec"] and doc["spec"]["activeDeadlineSeconds"] == 12 * 3600
    init = doc["spec"]["template"]["spec"]["initContainers"][0]
    assert str(int(start.timestamp())) in init["command"][2]
    with pytest.raises(WattwiseError, match="Kubernetes mode"):
        k8s_job("train", "img", [], start, end, mode="cron")


def test_where_ranks_and_rejects():
    rows = best_location(["FR", "DE", "fr"], "2h", "2023-01-15T00:00Z", "2023-01-16T00:00Z", forecast="actual",
                         price_per_h={"DE": 1.0, "FR": 3.0})
    assert [r.place.code for r in rows] == ["FR", "DE"]  # duplicates dropped, cleanest first
    assert rows[0].pareto and rows[1].pareto  # DE is cheaper
    assert rows[0].cost == pytest.approx(6.0)
    with pytest.raises(NotFoundError):
        best_location(["FR", "Narnia"], "1h", "2023-01-15T00:00Z")
    with pytest.raises(WattwiseError, match="not a candidate"):
        best_location(["FR"], "1h", "2023-01-15T00:00Z", latency_ms={"DE": 3})
    with pytest.raises(WattwiseError, match="no candidate"):
        best_location([], "1h")


def test_bench_runs_on_a_small_synthetic_dataset(tmp_path):
    pytest.importorskip("numpy")
    bench = load_bench("scheduling")
    head = ("Datetime (UTC),Country,Zone Name,Zone Id,Carbon Intensity gCO₂eq/kWh (direct),"
            "Carbon Intensity gCO₂eq/kWh (LCA),Low Carbon Percentage,Renewable Percentage,Data Source,"
            "Data Estimated,Data Estimation Method\n")
    for zone, amp in (("SOLAR", 200.0), ("FLAT", 0.0)):
        rows = [f"2023-01-01 00:00:00,X,{zone},{zone},0,{300 + amp * math.cos(2 * math.pi * h / 24):.2f},0,0,x,false,\n"
                for h in range(24 * 30)]
        (tmp_path / f"em_{zone}_2023_hourly.csv").write_text(head + "".join(rows), encoding="utf-8")
    out = tmp_path / "r.json"
    assert bench.main(["--data", str(tmp_path), "--out", str(out)]) == 0
    res = json.loads(out.read_text())
    solar = res["zones"]["SOLAR"]
    # a perfectly periodic trace: the forecast is exact, so it captures all of the oracle's saving
    assert solar["capture_of_mean"] == pytest.approx(1.0, abs=1e-3)
    assert all(c["oracle_pct"] == 0 for c in solar["cases"] if c["window_h"] == 0)
    assert res["zones"]["FLAT"]["flexible_mean"]["oracle_pct"] == pytest.approx(0.0, abs=1e-9)
