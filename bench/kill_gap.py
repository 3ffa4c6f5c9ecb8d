"""How much a SIGKILLed tracker loses: ``wattwise run -i 0.2`` killed at random moments of a running job; the
gap between the end of the last sample in the store and the kill, in intervals (target: at most one).

    PYTHONPATH=src python bench/kill_gap.py [--kills 15]     # writes bench/results/kill_gap.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from wattwise.store.connect import open_store  # noqa: E402

INTERVAL = 0.2


def one_kill(rng: random.Random) -> dict[str, float]:
    d = Path(tempfile.mkdtemp(prefix="wattwise-killgap-"))
    marker = d / "started"
    job = f"import time, pathlib; pathlib.Path({str(marker)!r}).write_text(str(time.time())); time.sleep(30)"
    p = subprocess.Popen([sys.executable, "-m", "wattwise", "run", "--store", str(d / "s.sqlite"), "-i", str(INTERVAL),
                          "--", sys.executable, "-c", job], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    while not (marker.exists() and marker.read_text()):
        time.sleep(0.01)
    time.sleep(1.0 + rng.random())
    t_kill = time.time()
    p.kill()
    p.wait()
    store = open_store(d / "s.sqlite")
    (rec,) = store.list_runs()
    ends = sorted({s.t_end for s in store.samples(rec.id)})
    store.close()
    spacing = max(b - a for a, b in itertools.pairwise(ends))
    return {"gap_intervals": round((t_kill - ends[-1]) / INTERVAL, 3), "widest_spacing_intervals":
            round(spacing / INTERVAL, 3), "samples": len(ends)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int, default=15)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "kill_gap.json"))
    args = ap.parse_args()
    rng = random.Random(args.seed)
    load = os.getloadavg()
    kills = [one_kill(rng) for _ in range(args.kills)]
    for k in kills:
        print(k, flush=True)
    out = {"what": "gap after the last stored sample when `wattwise run -i 0.2` is SIGKILLed at a random moment",
           "command": "PYTHONPATH=src python bench/kill_gap.py " + " ".join(sys.argv[1:]),
           "interval_s": INTERVAL, "load_average_at_start": load, "load_average_at_end": os.getloadavg(),
           "target": "gap <= 1 interval", "max_gap_intervals": max(k["gap_intervals"] for k in kills),
           "kills": kills}
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    print(f"max gap {out['max_gap_intervals']} intervals; wrote {args.out}")


if __name__ == "__main__":
    main()
