"""Distributed runs (``torchrun`` / torch.distributed): every rank joins one run, nothing is counted twice.

``with wattwise.track_distributed("pretrain") as run:`` (or ``track(..., distributed=True)``) in every rank:

* **One run per job.** The run id is ``WATTWISE_RUN_ID`` if set, else derived from ``TORCHELASTIC_RUN_ID``
  (torchrun's ``--rdzv-id``, the same on every rank and node), else broadcast from rank 0 over an initialised
  process group. The first rank to arrive creates the run row, the others join it; each rank is a row of
  ``run_members`` and the run is finished when every rank (``WORLD_SIZE``) has left it.
* **Node-level sensors once per node.** RAPL and the whole-machine CPU and RAM models are read only by the
  node's owner: local rank 0, holding a per-node lock file in ``WATTWISE_LOCK_DIR`` (default: the temp dir), so
  two agents that claim the same node id on one machine still count it once (containers: share that dir
  through a host path). The node id is ``WATTWISE_NODE_ID``, else the host name.
* **Each GPU by the rank using it.** A rank reads only its own GPU: the one ``CUDA_VISIBLE_DEVICES`` gives it
  (one entry: that one; several: the ``LOCAL_RANK``-th) or GPU ``LOCAL_RANK`` when unset; ``WATTWISE_GPUS``
  overrides it. GPUs no rank uses are not counted.

Samples carry the node id and the rank, so the run's total is the sum over its nodes
(:meth:`~wattwise.store.sql.SqlStore.energy_by_node`).
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from wattwise.errors import WattwiseError
from wattwise.meter import Run
from wattwise.sensors.amdgpu import AmdGpuSensor
from wattwise.sensors.base import Sensor
from wattwise.sensors.discover import choose_sensors, model_sensors
from wattwise.sensors.nvml import NvmlSensor
from wattwise.sensors.rapl import RaplSensor
from wattwise.store.records import MemberRow, RunRecord


def _int(environ: Mapping[str, str], key: str, default: int | None = None) -> int | None:
    v = environ.get(key, "").strip()
    if not v:
        return default
    try:
        return int(v)
    except ValueError:
        raise WattwiseError(f"{key}={v!r} is not an integer", "check the launcher's environment") from None


@dataclass(frozen=True)
class DistEnv:
    """Where this process sits in a distributed job (from torchrun's environment variables)."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    local_world_size: int = 1
    group_rank: int | None = None  # the node's rank (torchrun GROUP_RANK / --node-rank)
    job_id: str | None = None  # TORCHELASTIC_RUN_ID (--rdzv-id); torchrun's default for static rendezvous is "none"
    restart: int = 0

    @classmethod
    def detect(cls, environ: Mapping[str, str] | None = None) -> DistEnv | None:
        """The torchrun/torch.distributed environment, or None outside one (no RANK and WORLD_SIZE)."""
        env = os.environ if environ is None else environ
        if "RANK" not in env or "WORLD_SIZE" not in env:
            return None
        rank, world = _int(env, "RANK", 0), _int(env, "WORLD_SIZE", 1)
        assert rank is not None and world is not None
        if world < 1 or not 0 <= rank < world:
            raise WattwiseError(f"RANK={rank} does not fit WORLD_SIZE={world}", "check the launcher's environment")
        job = env.get("TORCHELASTIC_RUN_ID", "").strip()
        return cls(rank=rank, local_rank=_int(env, "LOCAL_RANK", 0) or 0, world_size=world,
                   local_world_size=_int(env, "LOCAL_WORLD_SIZE", 1) or 1, group_rank=_int(env, "GROUP_RANK"),
                   job_id=job if job and job.lower() != "none" else None,
                   restart=_int(env, "TORCHELASTIC_RESTART_COUNT", 0) or 0)

    @property
    def is_local_leader(self) -> bool:
        return self.local_rank == 0


def node_id(environ: Mapping[str, str] | None = None) -> str:
    """This node's id: ``WATTWISE_NODE_ID`` or the host name."""
    env = os.environ if environ is None else environ
    return env.get("WATTWISE_NODE_ID", "").strip() or socket.gethostname()


def run_id_from_job(job_id: str) -> str:
    """A run id derived from a job id: readable, and the same in every process that has the job id."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", job_id).strip("-")[:32]
    return f"job-{slug}-{hashlib.sha256(job_id.encode()).hexdigest()[:8]}"


def _broadcast_run_id() -> str | None:
    """Rank 0's new run id, sent to all ranks over an initialised torch.distributed process group."""
    try:
        import torch.distributed as dist
    except ImportError:
        return None
    if not (dist.is_available() and dist.is_initialized()):
        return None
    from wattwise.meter import new_run_id

    box: list[Any] = [new_run_id() if dist.get_rank() == 0 else None]
    dist.broadcast_object_list(box, src=0)
    return str(box[0])


def shared_run_id(dist_env: DistEnv | None, environ: Mapping[str, str] | None = None) -> str | None:
    """The run id all ranks share: WATTWISE_RUN_ID, the job id, or rank 0's over the process group.

    None outside a distributed job (the run gets a new id).
    """
    env = os.environ if environ is None else environ
    # under `wattwise run`, WATTWISE_RUN_ID is the wrapping run (which measures the whole process tree
    # itself): the job gets a run of its own rather than adding to that one
    explicit = "" if env.get("WATTWISE_PARENT_RUN") else env.get("WATTWISE_RUN_ID", "").strip()
    if explicit:
        return explicit
    if dist_env is None or dist_env.world_size == 1:
        return None
    if dist_env.job_id:
        return run_id_from_job(dist_env.job_id)
    rid = _broadcast_run_id()
    if rid:
        return rid
    raise WattwiseError(
        "cannot tell which run the ranks of this job share: no WATTWISE_RUN_ID, no torchrun --rdzv-id "
        "(TORCHELASTIC_RUN_ID) and no initialised process group",
        "pass --rdzv-id to torchrun, set WATTWISE_RUN_ID for all ranks, or call track_distributed() after "
        "torch.distributed.init_process_group()")


def rank_gpus(dist_env: DistEnv, environ: Mapping[str, str] | None = None) -> str:
    """The GPUs this rank uses, as an NVML ``visible`` string ("" for none)."""
    env = os.environ if environ is None else environ
    if "WATTWISE_GPUS" in env:
        return env["WATTWISE_GPUS"].strip()
    cvd = env.get("CUDA_VISIBLE_DEVICES")
    if cvd is None:
        return str(dist_env.local_rank)
    items = [x.strip() for x in cvd.split(",") if x.strip()]
    if len(items) <= 1 or dist_env.local_world_size == 1:
        return ",".join(items)  # a process per GPU (Slurm --gpus-per-task, Kubernetes), or one rank per node
    return items[dist_env.local_rank] if dist_env.local_rank < len(items) else ""


class NodeLock:
    """A per-node lock file: only its holder reads the node-level sensors (released when the process ends)."""

    def __init__(self, run_id: str, node: str, directory: str | Path | None = None) -> None:
        key = hashlib.sha256(f"{run_id}\0{node}".encode()).hexdigest()[:16]
        where = directory or os.environ.get("WATTWISE_LOCK_DIR") or tempfile.gettempdir()
        self.path = Path(where) / f"wattwise-node-{key}.lock"
        self._fh: IO[str] | None = None

    def acquire(self) -> bool:
        try:
            import fcntl
        except ImportError:  # not POSIX: trust local rank 0
            return True
        fh = open(self.path, "a")  # noqa: SIM115 - held for the run's lifetime
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            return False
        self._fh = fh
        return True

    def release(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def rank_sensors(owner: bool, gpus: str) -> list[Sensor]:
    """The sensors a rank reads: its own GPUs, plus the node-level sensors when it owns the node."""
    nvml = NvmlSensor(visible=gpus)
    nvml.node_level = False  # only this rank's GPUs
    if owner:
        candidates: list[Sensor] = [RaplSensor(), nvml, AmdGpuSensor(), *model_sensors()]
        return choose_sensors(candidates=candidates).sensors
    return choose_sensors(candidates=[nvml], node_sensors=False).sensors if gpus else []


class DistributedRun(Run):
    """One rank's share of a distributed run (see the module docstring)."""

    def __init__(self, name: str = "run", *, dist_env: DistEnv | None = None, environ: Mapping[str, str] | None = None,
                 lock_dir: str | Path | None = None, **kwargs: Any) -> None:
        env = os.environ if environ is None else environ
        self.dist = dist_env or DistEnv.detect(env) or DistEnv()
        self._environ = env
        self._lock_dir = lock_dir
        self._node_lock: NodeLock | None = None
        self.owner = False
        kwargs.setdefault("node", node_id(env))
        kwargs.setdefault("whole_machine", True)  # the node's owner reads the node-level sensors for all ranks
        super().__init__(name, **kwargs)
        self._user_sensors = self._sensors_arg
        self.rank = self.dist.rank

    @property
    def member(self) -> str:
        return f"{self.node}/{self.dist.rank}"

    def start(self) -> DistributedRun:
        if self.status == "running":
            super().start()  # raises: already running
        self._run_id_arg = self._run_id_arg or shared_run_id(self.dist, self._environ)
        self.owner = False
        if self.dist.is_local_leader:
            self._node_lock = NodeLock(self._run_id_arg or "", self.node or "", self._lock_dir)
            self.owner = self._node_lock.acquire()
        if self._user_sensors is None:
            self._sensors_arg = rank_sensors(self.owner, rank_gpus(self.dist, self._environ))
        else:  # given sensors: node-level ones only in the node's owner
            self._sensors_arg = [s for s in self._user_sensors if self.owner or not s.node_level]
        try:
            super().start()
        except BaseException:
            self._release()
            raise
        return self

    def _release(self) -> None:
        if self._node_lock is not None:
            self._node_lock.release()
            self._node_lock = None

    def _open_record(self, record: RunRecord) -> None:
        assert self.store is not None and self.id is not None and self.started_at is not None
        d = self.dist
        record.host = f"distributed ({d.world_size} ranks)" if d.world_size > 1 else socket.gethostname()
        record.config["distributed"] = {"world_size": d.world_size, "local_world_size": d.local_world_size,
                                        "job_id": d.job_id}
        self.store.join_run(record, MemberRow(self.id, self.member, self.node, d.rank, socket.gethostname(),
                                              os.getpid(), self.owner, "running", self.started_at))

    def _close_record(self, status: str, ended_at: float, exit_code: int | None) -> None:
        assert self.store is not None and self.id is not None
        try:
            self.store.leave_run(self.id, self.member, status, ended_at, self.dist.world_size, exit_code)
        finally:
            self._release()

    def _clone(self, name: str) -> Run:
        return DistributedRun(dist_env=self.dist, environ=self._environ, lock_dir=self._lock_dir,
                              **self._clone_kwargs(name))


def track_distributed(name: str = "run", **kwargs: Any) -> DistributedRun:
    """Track this rank's part of a distributed job; all ranks share one run (see the module docstring)."""
    return DistributedRun(name, **kwargs)

