"""``make demo``: train a small model on this CPU under the meter, offline, and show what it cost.

Runs in about a minute: a character-level model on the bundled corpus (the tiny GPT when available),
with ``train`` and ``eval`` phases and token counters, then prints energy by component (measured or
modelled), CO2e, energy per token, where the run is stored, and writes an HTML report.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import wattwise
from wattwise.cli.common import console
from wattwise.cli.measure import print_footprint
from wattwise.config import default_store


def _workload(run: wattwise.Run, seconds: float) -> str:
    """Train the tiny GPT for ``seconds`` (train and eval phases); returns a description of what ran."""
    import torch

    from wattwise.train.tinygpt import demo_workload

    torch.manual_seed(0)
    return demo_workload(run, seconds)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=45.0, help="training time budget")
    ap.add_argument("--store", default=None, help="run store (default: the user's store)")
    ap.add_argument("--report", default="wattwise-demo-report.html", help="HTML report to write")
    args = ap.parse_args(argv)
    store = args.store or default_store()
    console.print(f"[bold]wattwise demo[/]: training on this CPU for ~{args.seconds:.0f} s under the meter "
                  "(offline)")
    with wattwise.track("demo: train", interval=1.0, store=store) as run:
        what = _workload(run, args.seconds)
    console.print(f"\n{what}\n")
    print_footprint(run.footprint())
    console.print(f"\nrun [bold]{run.id}[/] stored in {store}")
    console.print(f"see it again: wattwise show {run.id} --store {store}")
    from wattwise.report import write_report

    assert run.id is not None  # set when the run started
    path = write_report(store, run.id, Path(args.report))
    console.print(f"report: {Path(path).resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
