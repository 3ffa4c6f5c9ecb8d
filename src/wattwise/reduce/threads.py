"""Thread pools of everything the lab times: torch (intra- and inter-op), the BLAS/OpenMP pools of every loaded
library (numpy's OpenBLAS, torch's OpenMP, MKL: through threadpoolctl) and ONNX Runtime sessions.

Unpinned pools oversubscribe small machines: importing numpy before torch leaves OpenBLAS's pool and torch's
OpenMP pool each sized to every core, and on a 2-core VM a MiniLM forward pass went from 8 ms to ~500 ms
(``shared/design/MEASURED.md``). :func:`configure` sizes all of them to one number.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wattwise.errors import WattwiseError

#: the pools threadpoolctl limited last (kept alive so the limits hold for the whole process)
_LIMITER: Any = None


def available_cpus() -> int:
    """CPUs this process may run on: its affinity mask, capped by a cgroup v2 CPU quota when one is set."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        n = os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            n = min(n, max(1, int(int(quota) // int(period))))
    except (OSError, ValueError):
        pass
    return max(1, n)


def resolve(threads: int | None) -> int:
    """``threads`` checked against the machine; ``None`` or 0: every CPU this process may use."""
    if threads is None or threads == 0:
        return available_cpus()
    if threads < 0:
        raise WattwiseError(f"--threads must be >= 0, got {threads}", "0 uses every CPU this process may use")
    return min(threads, available_cpus())


@dataclass
class ThreadReport:
    """What :func:`configure` set, recorded in the lab's environment."""

    threads: int
    requested: int | None
    available_cpus: int
    torch_threads: int | None = None
    torch_interop_threads: int | None = None
    pools: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def pools() -> list[dict[str, Any]]:
    """The BLAS/OpenMP pools loaded in this process (threadpoolctl), as ``{api, library, threads}``."""
    from threadpoolctl import threadpool_info

    return [
        {"api": p.get("internal_api"), "library": os.path.basename(p.get("filepath", "")),
         "threads": p.get("num_threads")}
        for p in threadpool_info()
    ]


def configure(threads: int | None = 1) -> ThreadReport:
    """Size torch's pools and every loaded BLAS/OpenMP pool to ``threads`` (None/0: all available CPUs).

    Call it after torch and numpy are imported (threadpoolctl limits the libraries loaded at that point).
    ONNX Runtime sessions take the same number through :func:`ort_threads`.
    """
    global _LIMITER
    n = resolve(threads)
    rep = ThreadReport(n, threads, available_cpus())
    if threads is not None and threads > rep.available_cpus:
        rep.notes.append(f"--threads {threads} capped to the {rep.available_cpus} CPU(s) this process may use")
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(n)  # for child processes (torch.compile workers); loaded pools are set below
    try:
        import torch

        torch.set_num_threads(n)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:  # allowed once, before any inter-op work; keep what is set
            pass
        rep.torch_threads, rep.torch_interop_threads = torch.get_num_threads(), torch.get_num_interop_threads()
    except ImportError:  # pragma: no cover - the lab needs torch; lm-profile too
        pass
    try:
        from threadpoolctl import threadpool_limits

        _LIMITER = threadpool_limits(limits=n)
        rep.pools = pools()
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency of the ml extra
        rep.notes.append("threadpoolctl missing: BLAS/OpenMP pools not limited (pip install threadpoolctl)")
    _CURRENT[0] = n
    return rep


_CURRENT: list[int | None] = [None]


def ort_threads() -> int:
    """Intra-op threads for an ONNX Runtime session: the last :func:`configure` value, else torch's."""
    if _CURRENT[0] is not None:
        return _CURRENT[0]
    import torch

    return torch.get_num_threads()


def single_thread_check(run: Callable[[], Any], threads: int, slower: float = 2.0, tries: int = 3) -> str | None:
    """Time ``run`` (one fp32 batch) at ``threads`` and at 1 thread; a warning when ``threads`` is more than
    ``slower`` times slower than 1 thread (oversubscribed pools or a busy machine), else None."""
    if threads <= 1:
        return None

    def best() -> float:
        ts = []
        for _ in range(tries):
            t0 = time.perf_counter()
            run()
            ts.append(time.perf_counter() - t0)
        return min(ts)

    run()
    t_n = best()
    configure(1)
    try:
        t_1 = best()
    finally:
        configure(threads)
    if t_n > slower * t_1:
        return (
            f"fp32 runs {t_n / t_1:.1f}x slower with {threads} threads than with 1 ({t_n * 1e3:.0f} vs "
            f"{t_1 * 1e3:.0f} ms a batch): the machine is busy or its thread pools are oversubscribed; "
            "ratios will be noisy (try --threads 1)"
        )
    return None
