"""HTML report: content, SCI, what-ifs, comparison, CLI and bad input."""

from __future__ import annotations

import re
import time

import pytest

import wattwise
from tests.report_fixtures import make_empty_run, make_run, new_store
from wattwise.cli.app import main
from wattwise.errors import WattwiseError
from wattwise.footprint import DomainEnergy, Footprint, Intensity, Method
from wattwise.report import ReportOptions, write_report
from wattwise.report.sci import parse_unit, sci


def test_report_is_self_contained_with_all_sections(tmp_path):
    s = new_store(tmp_path)
    rid = make_run(s, counters={"tokens": 1000, "samples": 40}, intensity=100.0)
    out = write_report(s, rid, tmp_path / "r.html", ReportOptions(compare_regions=["FR=50", "PL=700"]))
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>")
    head, _, rest = page.partition("</script>")  # the first script is plotly.js itself, inline
    assert "<script>" in head and "<script src=" not in rest  # nothing loaded from the network: works offline
    assert "Plotly.newPlot" in page and len(page) > 1_000_000
    for section in ("Summary", "Power over time", "Energy by component", "Energy by phase",
                    "Energy per unit of work", "In everyday terms", "What if", "SCI score"):
        assert f"<h2>{section}</h2>" in page
    assert "measured (100% modelled)" in page  # all energy here is modelled, and the page says so
    assert "Powering a Google search" in page and "10 W LED" in page  # equivalents carry their sources
    assert "in the cleanest listed region: FR" in page and "-50%" in page  # 50 vs 100 g/kWh
    assert "in the best time window" in page and "not available" in page
    assert "train" in page and "eval" in page
    assert "per token" in page and "per training run" not in page  # default units: counters + run


def test_sci_formula_and_units():
    fp = Footprint([DomainEnergy("cpu", 2.0, Method.MEASURED, "rapl", 0.05)], Intensity(300.0, "test"),
                   pue=1.5, embodied_kg=0.1, counters={"tokens": 1e6, "samples": 500})
    s = sci(fp, parse_unit("1k tokens", fp.counters))
    # E = 3 kWh (2 x PUE 1.5), I = 300 g/kWh, M = 100 g, R = 1000 (1e6 tokens / 1,000)
    assert s.r == pytest.approx(1000)
    assert s.value_g == pytest.approx((3.0 * 300 + 100) / 1000)
    assert sci(fp, parse_unit("training run", fp.counters)).value_g == pytest.approx(1000.0)
    with pytest.raises(WattwiseError, match="counted no 'inferences'"):  # R never from another counter
        parse_unit("1000 inferences", fp.counters)
    per_sample = sci(fp, parse_unit("1000 samples", fp.counters))
    assert per_sample.unit.counter == "samples" and per_sample.value_g == pytest.approx(1000.0 / 0.5)
    assert "network" in per_sample.boundary
    assert sci(fp, parse_unit("per token", fp.counters)).value_g == pytest.approx(1000.0 / 1e6)
    with pytest.raises(WattwiseError, match="counted no 'images'"):
        parse_unit("images", fp.counters)
    with pytest.raises(WattwiseError, match="cannot read"):
        parse_unit("??", fp.counters)


def test_sci_m_from_the_embodied_model():
    """M = TE x TS x RS: a CPU-only host from its packages and DRAM, GPUs from the catalogue (+ host share)."""
    from wattwise.estimate import assumptions
    from wattwise.estimate.embodied import HOURS_PER_YEAR
    from wattwise.report.sci import run_embodied
    from wattwise.store.records import RunRecord

    host = {"cpu_model": "AMD EPYC 9654", "cpu_sockets": 2, "ram_total_gb": 512.0, "gpu_count": 0}
    rec = RunRecord("r", "t", "finished", 0.0, 3600.0, config={"host_info": host})
    fp = Footprint([DomainEnergy("cpu", 1.0, Method.MEASURED, "rapl", 0.05)], Intensity(300.0, "test"),
                   duration_s=3600.0, counters={"tokens": 1e6})
    kg, source = run_embodied(rec, fp)
    life_h = assumptions.embodied()["lifetime_years"] * HOURS_PER_YEAR
    assert kg == pytest.approx((2 * 1.47 + 512 * 0.4) / life_h) and "CPU-only" in source
    s = sci(fp, parse_unit("training run", fp.counters), (kg, source))
    assert s.m_g == pytest.approx(kg * 1000) and s.value_g == pytest.approx(300.0 + kg * 1000)
    gpu_host = {**host, "gpu_count": 8, "gpu_model": "NVIDIA H100 80GB HBM3"}
    rec = RunRecord("g", "t", "finished", 0.0, 3600.0, config={"host_info": gpu_host})  # the name NVML gives
    fp_gpu = Footprint([DomainEnergy(f"gpu:{i}", 1.0, Method.MEASURED, "nvml", 0.05) for i in range(2)],
                       duration_s=3600.0)
    kg_gpu, src = run_embodied(rec, fp_gpu)
    assert kg_gpu > 0 and "2 GPU(s)" in src and "h100" in src.lower()  # the 2 GPUs metered, not the host's 8
    from wattwise.report.sci import catalogue_device

    assert catalogue_device("NVIDIA A100-SXM4-80GB").name == "a100-80gb" and catalogue_device("Potato 9") is None
    assert run_embodied(RunRecord("o", "t", "finished", 0.0, 10.0), fp)[0] == 0.0  # no host recorded


def test_comparison_and_compressed_whatif(tmp_path):
    s = new_store(tmp_path)
    a = make_run(s, "full", watts={"cpu": 20.0}, counters={"tokens": 1000})
    b = make_run(s, "int8", watts={"cpu": 10.0}, counters={"tokens": 1000})
    page = write_report(s, [a, b], tmp_path / "c.html", ReportOptions(per=["token"], compressed_run=b)).read_text()
    assert "<h1>Runs compared</h1>" in page and a in page and b in page
    assert "SCI per token" in page
    assert re.search(r"with a compressed model: int8.*?-50%", page, re.S)


def test_report_from_a_real_tracked_run(tmp_path):
    store = tmp_path / "s.sqlite"
    with wattwise.track("busy", interval=0.05, store=store) as run, run.phase("work"):
        t = time.time()
        while time.time() - t < 0.3:
            sum(range(2000))
        run.add(tokens=300)
    rc = main(["report", run.id, "-o", str(tmp_path / "r.html"), "--store", str(store), "--per", "token"])
    assert rc == 0
    page = (tmp_path / "r.html").read_text()
    assert "busy" in page and "work" in page and "per token" in page


def test_cli_bad_input(tmp_path, capsys):
    s = new_store(tmp_path)
    rid = make_run(s, "train")
    store = ["--store", str(tmp_path / "runs.sqlite")]
    assert main(["report", rid[:-2] + "zz", *store]) != 0
    e = capsys.readouterr().err
    assert "error:" in e and "no run" in e and "Traceback" not in e
    empty = make_empty_run(s)
    assert main(["report", empty, *store]) != 0
    assert "recorded no energy samples" in capsys.readouterr().err
    assert main(["report", rid, "--per", "images", "-o", str(tmp_path / "x.html"), *store]) != 0
    assert "counted no 'images'" in capsys.readouterr().err
    assert main(["report", rid, "--compare-region", "FR=abc", "-o", str(tmp_path / "x.html"), *store]) != 0
    assert "bad --compare-region" in capsys.readouterr().err


def test_running_run_reports_figures_so_far(tmp_path, capsys):
    s = new_store(tmp_path)
    rid = make_run(s, "live", status="running")
    out = tmp_path / "live.html"
    assert main(["report", rid, "-o", str(out), "--store", str(tmp_path / "runs.sqlite")]) == 0
    assert "still running" in capsys.readouterr().err
    assert "still in progress" in out.read_text()


def test_missing_plotly_is_a_clear_error(tmp_path, monkeypatch):
    import sys

    s = new_store(tmp_path)
    rid = make_run(s)
    monkeypatch.setitem(sys.modules, "plotly", None)
    monkeypatch.setitem(sys.modules, "plotly.graph_objects", None)
    monkeypatch.setitem(sys.modules, "plotly.offline", None)
    with pytest.raises(WattwiseError, match="plotly") as exc:
        write_report(s, rid, tmp_path / "r.html")
    assert "wattwise[report]" in (exc.value.hint or "")


def test_power_series_has_no_artefacts_at_phase_edges_or_start():
    """A constant 4 W with zero-length and 1 ms samples cut at phase edges: a flat line, energy kept."""
    from wattwise.report.plots import power_series
    from wattwise.store.records import SampleRow

    rows, t = [], 100.0
    for k in range(60):
        rows.append(SampleRow("r", t, t + 1.0, "ram", 4.0, "modelled", "ram-model", 0.5, "train"))
        t += 1.0
        if k % 10 == 9:  # a phase edge: a zero-length sample and a 1 ms one with 2 ms worth of energy (jitter)
            rows.append(SampleRow("r", t, t, "ram", 0.0, "modelled", "ram-model", 0.5, "eval"))
            rows.append(SampleRow("r", t, t + 0.001, "ram", 0.008, "modelled", "ram-model", 0.5, "eval"))
            t += 0.001
    xs, ys = power_series(rows, 100.0)["ram"]
    assert min(ys) > 3.9 and max(ys) < 4.1  # no dip to 0 W, no spike
    assert xs[0] < 1.0 and ys[0] == pytest.approx(4.0, rel=0.01)  # starts at the first sample's power
    widths = (xs[-1] - xs[0]) / (len(xs) - 1)
    assert sum(ys) * widths == pytest.approx(sum(r.joules for r in rows), rel=0.03)
