"""A tiny torchrun job for tests/test_distributed.py: a few gloo all_reduce steps, tracked.

Every rank joins the shared distributed run in WATTWISE_STORE; with ``--naive`` each rank also tracks the whole
machine on its own (what happens without distributed support), into the store given after ``--naive``.
"""

from __future__ import annotations

import os
import sys
import time

import torch
import torch.distributed as dist

import wattwise


def main() -> None:
    naive_store = sys.argv[sys.argv.index("--naive") + 1] if "--naive" in sys.argv else None
    dist.init_process_group("gloo")
    naive = (wattwise.track(f"naive-rank{dist.get_rank()}", interval=0.1, store=naive_store, whole_machine=True)
             if naive_store else None)
    if naive is not None:
        naive.start()
    with wattwise.track("dist-test", distributed=True, interval=0.1) as run:
        t = torch.ones(1000)
        for _ in range(5):
            dist.all_reduce(t)
            run.step(samples=1)
            time.sleep(0.1)
        dist.barrier()  # all ranks measured the same span
    if naive is not None:
        naive.stop()
    print(f"rank {dist.get_rank()} run {run.id} owner={run.owner} node={run.node} "
          f"sensors={[s.name for s in run.selection.sensors]}", flush=True)
    dist.destroy_process_group()
    os._exit(0)


if __name__ == "__main__":
    main()
