"""Store load: N concurrent tracked processes writing samples into SQLite and PostgreSQL.

Each writer is a real ``wattwise.track`` run (its sampler thread commits one transaction per interval) with a
synthetic sensor of ``--domains`` domains, so a writer produces ``domains / interval`` samples per second.
For each backend and writer count the total target rate is raised (x2, then one x1.41 step between the last
pass and the first failure) until samples are lost (produced by the writers but not in the store) or the
writers fall behind (less than ``--keep-up`` of the target written). The highest passing rate is the
"sustained samples/s with nothing lost"; each cell is swept ``--repeats`` times and the median reported
(the machine is shared). A second check SIGKILLs a writer mid-run and verifies that its
samples up to its last interval are in the store, in whole intervals, and that the run shows as interrupted.

    PYTHONPATH=src python bench/store_load.py            # writes bench/results/store.json
    PYTHONPATH=src python bench/store_load.py --quick    # a smaller sweep

PostgreSQL runs on a throwaway local server (tests/pg_server.py; needs Debian's ``postgresql`` binaries).
On a small shared machine the writers (Python processes) compete with the database for the same cores, so
the figures are a lower bound for a dedicated database server.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

from wattwise.footprint import Method  # noqa: E402
from wattwise.sensors.base import Availability, Counter, Sensor  # noqa: E402


class Synthetic(Sensor):
    """``domains`` domains of constant power; counts how many samples it produced."""

    name = "synthetic"
    node_level = False

    def __init__(self, domains: int) -> None:
        self.domains = domains
        self.reads = 0

    def available(self) -> Availability:
        return Availability(True, "synthetic")

    def open(self) -> None:
        self.t0 = time.monotonic()
        self.reads = 0

    def read(self) -> list[Counter]:
        self.reads += 1
        j = 50.0 * (time.monotonic() - self.t0)
        return [Counter(f"d{i}", j, Method.MEASURED, "synthetic") for i in range(self.domains)]


def _writer(url: str, name: str, interval: float, domains: int, duration: float, go: Any, out: Any) -> None:
    from wattwise.meter import Run

    sensor = Synthetic(domains)
    run = Run(name, interval=interval, store=url, sensors=[sensor])
    go.wait()
    run.start()
    out.put(("started", name, run.id, os.getpid()))
    time.sleep(duration)
    run.stop()
    unsaved = len(run._unsaved)
    # the final sample in stop() is one more read; produced = reads x domains
    out.put(("done", name, run.id, sensor.reads * domains, unsaved, run.elapsed_s))


def _step(url: str, writers: int, rate: float, domains: int, duration: float, tag: str) -> dict[str, Any]:
    from wattwise.store.connect import open_store

    ctx = mp.get_context("fork")
    interval = domains * writers / rate
    go, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(url, f"{tag}-{i}", interval, domains, duration, go, out))
             for i in range(writers)]
    for p in procs:
        p.start()
    go.set()
    results: dict[str, tuple] = {}
    deadline = time.time() + duration + 60
    while len(results) < writers and time.time() < deadline:
        try:
            msg = out.get(timeout=1)
        except Exception:
            if not any(p.is_alive() for p in procs):
                break
            continue
        if msg[0] == "done":
            results[msg[1]] = msg[2:]
    for p in procs:
        p.join(timeout=30)
    store = open_store(url)
    produced = sum(r[1] for r in results.values())
    stored = sum(store.count_samples(r[0]) for r in results.values())
    elapsed = max((r[3] for r in results.values()), default=duration)
    store.close()
    written_rate = stored / elapsed if elapsed else 0.0
    return {"writers": writers, "target_samples_per_s": round(rate, 1), "interval_s": round(interval, 4),
            "produced": produced, "stored": stored, "lost": produced - stored,
            "crashed_writers": writers - len(results), "written_samples_per_s": round(written_rate, 1),
            "kept_up": round(written_rate / rate, 3)}


def sweep(url: str, writers: int, start: float, domains: int, duration: float, keep_up: float,
          max_rate: float) -> dict[str, Any]:
    steps: list[dict[str, Any]] = []
    best: dict[str, Any] | None = None
    rate, factor = start, 2.0
    while rate <= max_rate:
        s = _step(url, writers, rate, domains, duration, f"w{writers}-r{int(rate)}")
        ok = s["lost"] == 0 and s["crashed_writers"] == 0 and s["kept_up"] >= keep_up
        s["ok"] = ok
        steps.append(s)
        print(f"  {writers:>2} writers, target {rate:>7.0f}/s: wrote {s['written_samples_per_s']:>7.0f}/s "
              f"({s['kept_up']:.0%}), lost {s['lost']} -> {'ok' if ok else 'FAIL'}", flush=True)
        if factor != 2.0:  # the one step between the last pass and the first failure is done
            if ok:
                best = s
            break
        if ok:
            best = s
            rate *= factor
        elif best is not None:
            factor = 2 ** 0.5
            rate = best["target_samples_per_s"] * factor
        elif rate / 2 >= 50:  # even the first rate failed: go down
            rate /= 2
        else:
            break
    return {"max_sustained_samples_per_s": best["written_samples_per_s"] if best else 0.0,
            "max_sustained_target_per_s": best["target_samples_per_s"] if best else 0.0,
            "commits_per_s_at_max": round(best["written_samples_per_s"] / domains, 1) if best else 0.0,
            "steps": steps}


def kill_check(url: str, domains: int, interval: float = 0.1, before_kill: float = 2.0) -> dict[str, Any]:
    """SIGKILL a writer mid-run: its samples up to its last interval survive, in whole intervals."""
    from wattwise.store.connect import open_store

    ctx = mp.get_context("fork")
    go, out = ctx.Event(), ctx.Queue()
    p = ctx.Process(target=_writer, args=(url, "killed", interval, domains, 60.0, go, out))
    p.start()
    go.set()
    _, _, run_id, pid = out.get(timeout=60)
    time.sleep(before_kill)
    killed_at = time.time()
    os.kill(pid, signal.SIGKILL)
    p.join()
    store = open_store(url)
    samples = store.samples(run_id)
    ends = sorted({s.t_end for s in samples})
    starts = sorted({s.t_start for s in samples})
    per_interval = {t: sum(1 for s in samples if s.t_end == t) for t in ends}
    contiguous = all(a == b for a, b in zip(starts[1:], ends[:-1], strict=False))
    rec = store.get_run(run_id)
    gap = killed_at - ends[-1] if ends else None
    result = {
        "interval_s": interval, "killed_after_s": before_kill, "stored_samples": len(samples),
        "intervals_stored": len(ends), "whole_intervals": all(n == domains for n in per_interval.values()),
        "contiguous": contiguous, "last_sample_before_kill_s": round(gap, 3) if gap is not None else None,
        "status_after_kill": rec.status,
    }
    result["ok"] = bool(samples) and result["whole_intervals"] and contiguous and gap is not None \
        and gap <= 2 * interval + 0.05 and rec.status == "interrupted"
    store.close()
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--writers", default="2,4,8,16", help="comma-separated writer counts")
    ap.add_argument("--duration", type=float, default=2.0, help="seconds per step")
    ap.add_argument("--domains", type=int, default=4, help="domains per sample (e.g. cpu, ram, 2 GPUs)")
    ap.add_argument("--start", type=float, default=200.0, help="first total target rate, samples/s")
    ap.add_argument("--max-rate", type=float, default=100000.0)
    ap.add_argument("--keep-up", type=float, default=0.9, help="share of the target that must be written")
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--repeats", type=int, default=3, help="sweeps per cell; the median is reported")
    ap.add_argument("--quick", action="store_true", help="writers 2,8, one sweep")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "store.json"))
    args = ap.parse_args()
    if args.quick:
        args.writers, args.repeats = "2,8", 1
    counts = [int(x) for x in args.writers.split(",")]
    result: dict[str, Any] = {
        "command": "PYTHONPATH=src python bench/store_load.py " + " ".join(sys.argv[1:]),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "settings": {"duration_s": args.duration, "domains_per_sample": args.domains, "keep_up": args.keep_up,
                     "repeats": args.repeats},
        "backends": {}, "kill": {},
    }
    t0 = time.time()
    tmp = Path(tempfile.mkdtemp(prefix="wattwise-load-"))
    server = None
    try:
        for backend in args.backends.split(","):
            if backend == "sqlite":
                def make_url(n: int, _b: str = backend) -> str:
                    return str(tmp / f"{_b}-{n}-{time.time_ns()}.sqlite")
                result["machine"]["sqlite"] = __import__("sqlite3").sqlite_version
            else:
                from pg_server import PgServer, pg_bindir

                bindir = pg_bindir()
                if bindir is None:
                    print("postgresql: binaries not installed, skipped")
                    result["backends"][backend] = {"skipped": "PostgreSQL binaries not installed"}
                    continue
                server = PgServer(bindir)
                server.start()
                result["machine"]["postgresql"] = bindir.parent.name
                result["settings"]["postgresql_server"] = "local throwaway server, fsync=off, same machine"

                def make_url(n: int, _s: PgServer = server) -> str:
                    return _s.new_database()
            print(f"{backend}:", flush=True)
            result["backends"][backend] = {}
            for n in counts:
                sweeps: list[dict[str, Any]] = []
                for _ in range(args.repeats):
                    # later repeats start near the first one's result: fewer steps, same ramp
                    first = max(args.start, sweeps[0]["max_sustained_target_per_s"] / 2) if sweeps else args.start
                    sweeps.append(sweep(make_url(n), n, first, args.domains, args.duration, args.keep_up,
                                        args.max_rate))
                best = [x["max_sustained_samples_per_s"] for x in sweeps]
                med = statistics.median(best)
                result["backends"][backend][str(n)] = {
                    "max_sustained_samples_per_s": med, "commits_per_s_at_max": round(med / args.domains, 1),
                    "repeats": best, "sweeps": sweeps}
                print(f"  {n} writers: median {med:.0f} samples/s of {best}", flush=True)
            result["kill"][backend] = kill_check(make_url(0), args.domains)
            print(f"  kill check: {result['kill'][backend]}", flush=True)
    finally:
        if server is not None:
            server.stop()
    result["runtime_s"] = round(time.time() - t0, 1)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    summary = {b: {n: v["max_sustained_samples_per_s"] for n, v in r.items() if isinstance(v, dict)}
               for b, r in result["backends"].items() if "skipped" not in r}
    kill_ok = {b: k["ok"] for b, k in result["kill"].items()}
    print(json.dumps({"max_sustained_samples_per_s": summary, "kill_ok": kill_ok}))


if __name__ == "__main__":
    main()
