"""The node model's CPU part: catalogue lookups by kernel/cloud names, generations, socket share, energy."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from wattwise.footprint import Method
from wattwise.sensors import cpu_model, node_model
from wattwise.sensors.cpu_model import CpuInfo, CpuModelSensor, lookup, normalise, resolve_cpu

SPEC = Path(__file__).resolve().parents[2] / "shared" / "data" / "specpower" / "specpower_2004-2018.csv"


def test_catalogue_rows_have_sources_generations_and_sane_figures() -> None:
    gens = cpu_model.generations()
    assert len(cpu_model.catalogue()) > 300
    for _, spec in cpu_model.catalogue():
        assert spec.source and spec.tdp_w > 0 and spec.cores <= spec.threads <= 2 * spec.cores
        assert spec.generation in gens, spec
    for g in gens.values():
        assert g.group in node_model.coefficients()["groups"] and g.memory in node_model.coefficients()["memory"]


@pytest.mark.parametrize(("name", "tdp", "threads", "generation"), [
    ("AMD EPYC 7B13", 280, 128, "zen3"),
    ("AMD EPYC 7763 64-Core Processor", 280, 128, "zen3"),
    ("Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz", 300, 64, "icelake"),
    ("Intel(R) Xeon(R) Platinum 8380 CPU @ 2.30GHz", 270, 80, "icelake"),
    ("Intel(R) Xeon(R) CPU E5-2686 v4 @ 2.30GHz", 145, 36, "broadwell"),
    ("Intel(R) Xeon(R) CPU E5-2660 v2 @ 2.20GHz", 95, 20, "ivybridge"),
    ("Intel(R) Xeon(R) CPU E5-2660 0 @ 2.20GHz", 95, 16, "sandybridge"),
    ("Intel(R) Xeon(R) Platinum 8488C", 350, 96, "sapphirerapids"),
    ("AMD EPYC 9R14 96-Core Processor", 360, 192, "zen4"),
    ("12th Gen Intel(R) Core(TM) i7-12700K", 125, 20, "alderlake"),
    ("AMD Ryzen 9 7950X 16-Core Processor", 170, 32, "zen4"),
    ("Quad-Core AMD Opteron(tm) Processor 2384", 115, 4, "k10"),
])
def test_lookup_by_the_names_kernels_and_clouds_print(name: str, tdp: float, threads: int, generation: str) -> None:
    spec = lookup(name)
    assert spec is not None, name
    assert (spec.tdp_w, spec.threads, spec.generation) == (tdp, threads, generation)


def test_lookup_needs_the_whole_model_number() -> None:
    assert lookup("Some Unknown CPU") is None and lookup("AMD EPYC") is None
    assert lookup("AMD Ryzen 9 7950X3D 16-Core Processor") is None  # not the 7950X
    assert normalise("Intel(R) Xeon(R) CPU E5-2699 v4 @ 2.20GHz") == "intel xeon e52699v4"


@pytest.mark.skipif(not SPEC.exists(), reason=f"SPECpower file not at {SPEC}")
def test_every_cpu_of_the_specpower_file_is_reachable_by_its_name() -> None:
    with SPEC.open(newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["TDP"] and not r["CPUName"].endswith("undefined")]
    for r in rows:
        spec = lookup(r["HW_CPUName"])
        assert spec is not None and spec.tdp_w == float(r["TDP"]), r["HW_CPUName"]


def test_unknown_cpu_is_its_generations_median_from_cpuid_and_labelled() -> None:
    vm = CpuInfo("AMD EPYC", "AuthenticAMD", 25, 1, 1, True)  # what this kind of cloud VM prints
    cpu = resolve_cpu(threads=2, info=vm)
    assert not cpu.catalogued and cpu.generation and cpu.generation.name == "zen3"
    import statistics

    epyc = [s for _, s in cpu_model.catalogue() if s.generation == "zen3" and "EPYC" in s.name]
    assert cpu.spec.tdp_w == statistics.median(s.tdp_w for s in epyc)
    assert cpu.spec.w_per_thread == pytest.approx(statistics.median(s.w_per_thread for s in epyc), rel=0.02)
    s = CpuModelSensor(threads=2, info=vm)
    s.read()
    assert "unknown CPU 'AMD EPYC'" in s.source and "median" in s.source
    assert s.uncertainty in {node_model.interval("unknown_cpu", lv / 100).half_width for lv in range(0, 101, 10)}
    assert node_model.interval("unknown_cpu").half_width > node_model.interval("catalogued").half_width
    nothing = resolve_cpu(threads=2, info=CpuInfo("Mystery CPU"))
    assert nothing.generation is None and nothing.spec.name == "median current server CPU"


def test_vm_gets_its_thread_share_and_bare_metal_its_chips() -> None:
    g = node_model.group_params("recent")
    vm = CpuModelSensor(threads=4, info=CpuInfo("AMD EPYC 7763 64-Core Processor", "AuthenticAMD", 25, 1, 1, True))
    assert vm.cpu.sockets == pytest.approx(4 / 128)
    assert vm.max_watts == pytest.approx(4 / 128 * 280 * (g["cpu_idle"] + g["cpu_dynamic"]))
    assert vm.watts(0) == pytest.approx(4 / 128 * 280 * g["cpu_idle"])
    metal = CpuModelSensor(threads=256, info=CpuInfo("AMD EPYC 7763 64-Core Processor", "AuthenticAMD", 25, 1, 2))
    assert metal.cpu.sockets == 2 and metal.max_watts == pytest.approx(2 * 280 * (g["cpu_idle"] + g["cpu_dynamic"]))
    assert vm.uncertainty == node_model.interval("catalogued").half_width


def test_curve_rises_with_load_and_is_clamped() -> None:
    s = CpuModelSensor("AMD EPYC 7763", threads=128)
    ws = [s.watts(p) for p in (0, 10, 50, 100)]
    assert ws == sorted(ws) and ws[0] > 0
    assert s.watts(-5) == ws[0] and s.watts(250) == ws[-1]


def test_energy_is_power_at_utilisation_times_time(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = {"t": 100.0}
    times = {"busy": 0.0, "total": 0.0}
    monkeypatch.setattr(cpu_model.time, "monotonic", lambda: clock["t"])
    monkeypatch.setattr(CpuModelSensor, "_cpu_times", staticmethod(lambda: (times["busy"], times["total"])))
    s = CpuModelSensor("AMD EPYC 7763", threads=2)
    s.open()
    clock["t"] += 10.0
    times["busy"], times["total"] = 10.0, 20.0  # 50 % busy
    (c,) = s.read()
    assert c.method is Method.MODELLED and c.domain == "cpu"
    assert c.joules == pytest.approx(node_model.cpu_watts("recent", 280, 2 / 128, 0.5) * 10.0)


def test_process_share_attributes_by_cpu_time(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = {"t": 0.0}
    times = {"busy": 0.0, "total": 0.0, "proc": 0.0}
    monkeypatch.setattr(cpu_model.time, "monotonic", lambda: clock["t"])
    monkeypatch.setattr(CpuModelSensor, "_cpu_times", staticmethod(lambda: (times["busy"], times["total"])))
    monkeypatch.setattr(cpu_model, "_tree_cpu_seconds", lambda pids: times["proc"])
    s = CpuModelSensor("AMD EPYC 7763", threads=2, pids=[1])
    assert not s.node_level
    s.open()
    clock["t"] = 10.0
    times.update(busy=20.0, total=20.0, proc=5.0)  # machine fully busy, our process a quarter of it
    (c,) = s.read()
    assert c.joules == pytest.approx(s.max_watts * 10.0 * 0.25)


def test_cpuinfo_parsing(tmp_path: Path) -> None:
    p = tmp_path / "cpuinfo"
    block = ("processor\t: {i}\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 106\n"
             "model name\t: Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz\nphysical id\t: {chip}\n"
             "flags\t\t: fpu sse\n\n")
    p.write_text("".join(block.format(i=i, chip=i % 2) for i in range(4)))
    info = cpu_model.read_cpuinfo(p)
    assert (info.vendor, info.family, info.model, info.chips, info.virtual) == ("GenuineIntel", 6, 106, 2, False)
    assert cpu_model.generation_of(info).name == "icelake"
