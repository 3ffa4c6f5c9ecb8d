"""Distributed runs: every rank joins one run, node-level sensors are read once per node.

The torchrun tests launch real ``torchrun --nproc-per-node 2`` jobs (gloo, CPU): one node, and two nodes
simulated on this machine (two torchrun agents with ``--nnodes 2`` and their own WATTWISE_NODE_ID).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter as Tally
from pathlib import Path

import pytest

from tests.pg_server import free_port, pg_bindir, pg_url, shared_server  # noqa: F401 - fixtures
from wattwise.errors import WattwiseError
from wattwise.footprint import Method
from wattwise.integrations.distributed import (
    DistEnv,
    DistributedRun,
    NodeLock,
    rank_gpus,
    run_id_from_job,
    shared_run_id,
)
from wattwise.sensors.base import Availability, Counter, Sensor
from wattwise.store.connect import open_store

ROOT = Path(__file__).resolve().parent.parent
WORKER = Path(__file__).with_name("dist_worker.py")


class Power(Sensor):
    """A constant-power sensor: ``watts`` x seconds since open."""

    def __init__(self, domain: str, watts: float, node_level: bool) -> None:
        self.name, self.domain, self.watts, self.node_level = f"fake-{domain}", domain, watts, node_level

    def available(self) -> Availability:
        return Availability(True, "fake")

    def open(self) -> None:
        self.t0 = time.monotonic()

    def read(self) -> list[Counter]:
        return [Counter(self.domain, self.watts * (time.monotonic() - self.t0), Method.MEASURED, "fake")]


def _env(rank: int, local_rank: int, world: int, local_world: int, node: str, job: str = "j1") -> dict[str, str]:
    return {"RANK": str(rank), "LOCAL_RANK": str(local_rank), "WORLD_SIZE": str(world),
            "LOCAL_WORLD_SIZE": str(local_world), "TORCHELASTIC_RUN_ID": job, "WATTWISE_NODE_ID": node}


# -- environment ------------------------------------------------------------------------------------------
def test_detect_and_run_id() -> None:
    assert DistEnv.detect({}) is None
    d = DistEnv.detect(_env(3, 1, 4, 2, "n1") | {"GROUP_RANK": "1"})
    assert d == DistEnv(rank=3, local_rank=1, world_size=4, local_world_size=2, group_rank=1, job_id="j1")
    assert shared_run_id(d, {}) == run_id_from_job("j1") == shared_run_id(DistEnv(rank=0, world_size=4, job_id="j1"))
    assert run_id_from_job("j1") != run_id_from_job("j2")
    assert shared_run_id(d, {"WATTWISE_RUN_ID": "mine"}) == "mine"
    # the id of a wrapping `wattwise run` is not the job's
    assert shared_run_id(d, {"WATTWISE_RUN_ID": "outer", "WATTWISE_PARENT_RUN": "1"}) == run_id_from_job("j1")
    assert shared_run_id(None, {}) is None  # not distributed: a new id
    # static rendezvous without --rdzv-id: torchrun says "none", and there is no process group to ask
    static = DistEnv.detect(_env(0, 0, 2, 2, "n0", job="none"))
    assert static is not None and static.job_id is None
    with pytest.raises(WattwiseError, match="cannot tell which run"):
        shared_run_id(static, {})
    with pytest.raises(WattwiseError, match="does not fit"):
        DistEnv.detect({"RANK": "4", "WORLD_SIZE": "4"})


@pytest.mark.parametrize(("cvd", "local_rank", "local_world", "want"), [
    (None, 1, 2, "1"),  # all GPUs visible: the rank uses GPU LOCAL_RANK
    ("2,3", 1, 2, "3"),  # the LOCAL_RANK-th visible GPU
    ("GPU-abc", 1, 2, "GPU-abc"),  # one GPU per process (Slurm --gpus-per-task, Kubernetes)
    ("0,1", 0, 1, "0,1"),  # one rank per node uses all its GPUs
    ("", 0, 2, ""),  # no GPU
])
def test_rank_gpus(cvd: str | None, local_rank: int, local_world: int, want: str) -> None:
    env = {} if cvd is None else {"CUDA_VISIBLE_DEVICES": cvd}
    assert rank_gpus(DistEnv(local_rank=local_rank, local_world_size=local_world), env) == want
    assert rank_gpus(DistEnv(), {"WATTWISE_GPUS": "5"}) == "5"


def test_node_lock_has_one_holder(tmp_path: Path) -> None:
    a, b, other = NodeLock("r", "n", tmp_path), NodeLock("r", "n", tmp_path), NodeLock("r", "m", tmp_path)
    assert a.acquire() and not b.acquire() and other.acquire()
    a.release()
    assert b.acquire()


# -- in-process ranks with fake sensors ---------------------------------------------------------------------
def _rank_run(store: str, tmp_path: Path, rank: int, local_rank: int, node: str, world: int = 4) -> DistributedRun:
    sensors = [Power("cpu", 100.0, node_level=True), Power(f"gpu:{local_rank}", 300.0, node_level=False)]
    return DistributedRun("fake", environ=_env(rank, local_rank, world, 2, node), store=store, interval=0.05,
                          sensors=sensors, lock_dir=tmp_path)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_nodes_two_ranks_count_each_sensor_once(backend: str, tmp_path: Path,
                                                    request: pytest.FixtureRequest) -> None:
    store = str(tmp_path / "s.sqlite") if backend == "sqlite" else request.getfixturevalue("pg_url")
    runs = [_rank_run(store, tmp_path, r, r % 2, f"node{r // 2}") for r in range(4)]
    for r in runs:
        r.start()
    time.sleep(0.3)
    assert {r.id for r in runs} == {run_id_from_job("j1")}
    assert [r.owner for r in runs] == [True, False, True, False]
    for r in runs[:3]:
        r.stop()
    s = open_store(store)
    rid = runs[0].id
    assert s.get_run(rid).status == "running"  # rank 3 still works
    runs[3].stop()
    assert s.get_run(rid).status == "finished"
    samples = s.samples(rid)
    # the node-level cpu domain came only from local rank 0 of each node; each GPU from its own rank
    assert {(x.domain, x.node, x.rank) for x in samples} == {
        ("cpu", "node0", 0), ("cpu", "node1", 2), ("gpu:0", "node0", 0), ("gpu:1", "node0", 1),
        ("gpu:0", "node1", 2), ("gpu:1", "node1", 3)}
    by_node = s.energy_by_node(rid)
    assert set(by_node) == {"node0", "node1"}
    assert sum(by_node.values()) == pytest.approx(s.energy_totals([rid])[rid])
    # each node: 100 W cpu once + 2 x 300 W GPUs, over the ranks' own spans
    for node, r0, r1 in (("node0", runs[0], runs[1]), ("node1", runs[2], runs[3])):
        want = 100 * r0.elapsed_s + 300 * (r0.elapsed_s + r1.elapsed_s)
        assert by_node[node] == pytest.approx(want, rel=0.1)
    assert len(s.members(rid)) == 4


def test_same_node_id_twice_has_one_owner(tmp_path: Path) -> None:
    """Two agents claiming one node (both local rank 0): only one reads the node-level sensors."""
    store = str(tmp_path / "s.sqlite")
    a = _rank_run(store, tmp_path, 0, 0, "same", world=2)
    b = _rank_run(store, tmp_path, 1, 0, "same", world=2)
    a.start()
    b.start()
    assert (a.owner, b.owner) == (True, False)
    assert [s.name for s in b.selection.sensors] == ["fake-gpu:0"]
    a.stop()
    b.stop()


def test_track_distributed_outside_torchrun(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import wattwise

    for k in ("RANK", "WORLD_SIZE", "WATTWISE_RUN_ID", "TORCHELASTIC_RUN_ID"):
        monkeypatch.delenv(k, raising=False)
    with wattwise.track("solo", distributed=True, store=tmp_path / "s.sqlite", interval=0.05,
                        sensors=[Power("cpu", 10.0, True)]) as run:
        time.sleep(0.1)
    assert run.owner and open_store(tmp_path / "s.sqlite").get_run(run.id or "").status == "finished"


# -- real torchrun ------------------------------------------------------------------------------------------
TORCHRUN = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or shutil.which("torchrun")
needs_torchrun = pytest.mark.skipif(TORCHRUN is None, reason="torchrun (torch) is not installed")


def _torchrun(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    full = {**os.environ, **env, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "WATTWISE_RUN_ID", "TORCHELASTIC_RUN_ID"):
        full.pop(k, None)
    return subprocess.Popen([TORCHRUN, *args, str(WORKER), *env.get("_ARGS", "").split()], env=full,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait(procs: list[subprocess.Popen]) -> None:
    outs = [p.communicate(timeout=120)[0] for p in procs]
    for p, out in zip(procs, outs, strict=True):
        assert p.returncode == 0, out


@needs_torchrun
def test_torchrun_one_node_two_ranks(tmp_path: Path) -> None:
    store, naive = str(tmp_path / "s.sqlite"), str(tmp_path / "naive.sqlite")
    _wait([_torchrun(["--nproc-per-node", "2", "--master-addr", "127.0.0.1", "--master-port", str(free_port()),
                      "--rdzv-id", "job-one"],
                     {"WATTWISE_STORE": store, "WATTWISE_NODE_ID": "nodeA", "_ARGS": f"--naive {naive}"})])
    s = open_store(store)
    [rec] = s.list_runs()
    assert rec.id == run_id_from_job("job-one") and rec.status == "finished"
    members = s.members(rec.id)
    assert [(m.rank, m.owner, m.status) for m in members] == [(0, True, "finished"), (1, False, "finished")]
    samples = s.samples(rec.id)
    # the machine-wide CPU, RAM and platform models were read once, by local rank 0
    assert {(x.domain, x.rank) for x in samples} == {("cpu", 0), ("ram", 0), ("platform", 0)}
    total = s.energy_totals([rec.id])[rec.id]
    assert s.energy_by_node(rec.id) == {"nodeA": pytest.approx(total)}
    assert sum(c.value for c in s.counters(rec.id) if c.name == "steps") == 10  # 5 steps x 2 ranks
    # without distributed support every rank tracks the whole machine: about twice the energy
    n = open_store(naive)
    naive_total = sum(n.energy_totals([r.id for r in n.list_runs()]).values())
    assert len(n.list_runs()) == 2
    assert 1.5 < naive_total / total < 2.6


@needs_torchrun
def test_torchrun_two_nodes_simulated(tmp_path: Path) -> None:
    """Two torchrun agents (nodes) x 2 ranks into one store: PostgreSQL, as a fleet would (else SQLite)."""
    store = (pg_bindir() and shared_server().new_database()) or str(tmp_path / "s.sqlite")
    port = free_port()
    procs = [_torchrun(["--nnodes", "2", "--node-rank", str(i), "--nproc-per-node", "2", "--master-addr",
                        "127.0.0.1", "--master-port", str(port), "--rdzv-id", "job-two"],
                       {"WATTWISE_STORE": store, "WATTWISE_NODE_ID": f"node{i}"}) for i in range(2)]
    _wait(procs)
    s = open_store(store)
    [rec] = s.list_runs()
    assert rec.id == run_id_from_job("job-two") and rec.status == "finished"
    members = s.members(rec.id)
    assert sorted((m.node, m.rank, m.owner) for m in members) == [
        ("node0", 0, True), ("node0", 1, False), ("node1", 2, True), ("node1", 3, False)]
    samples = s.samples(rec.id)
    assert {(x.domain, x.node, x.rank) for x in samples} == {
        ("cpu", "node0", 0), ("ram", "node0", 0), ("platform", "node0", 0),
        ("cpu", "node1", 2), ("ram", "node1", 2), ("platform", "node1", 2)}
    # nothing counted twice: per interval and node, one sample of each domain
    per_slot = Tally((x.domain, x.node, x.t_start) for x in samples)
    assert max(per_slot.values()) == 1
    by_node = s.energy_by_node(rec.id)
    assert set(by_node) == {"node0", "node1"} and min(by_node.values()) > 0
    assert sum(by_node.values()) == pytest.approx(s.energy_totals([rec.id])[rec.id])


def test_show_lists_energy_by_node(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from wattwise.cli.app import main

    store = str(tmp_path / "s.sqlite")
    runs = [_rank_run(store, tmp_path, r, r % 2, f"node{r // 2}") for r in range(4)]
    for r in runs:
        r.start()
    for r in runs:
        r.stop()
    assert main(["show", runs[0].id or "", "--store", store]) == 0
    out = capsys.readouterr().out
    assert "Energy by node (4 ranks)" in out and "0*, 1" in out and "2*, 3" in out
    assert main(["show", "last", "--store", store, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data["nodes_j"]) == {"node0", "node1"} and len(data["members"]) == 4


def test_a_killed_rank_leaves_the_run_interrupted(tmp_path: Path) -> None:
    """A rank that never leaves (killed) keeps the run open; once all heartbeats stop it shows as interrupted."""
    store = str(tmp_path / "s.sqlite")
    killed, ok = (_rank_run(store, tmp_path, r, r, "n", world=2) for r in range(2))
    killed.start()
    ok.start()
    time.sleep(0.15)
    killed._stop.set()  # its sampler stops, it never leaves the run: as if SIGKILLed
    ok.stop()
    rec = open_store(store).get_run(ok.id or "")
    assert rec.status == "running" and rec.host == "distributed (2 ranks)"
    assert rec.is_dead(now=(rec.last_seen or 0) + 11)  # shown as interrupted once the heartbeats are stale
    killed._release()
