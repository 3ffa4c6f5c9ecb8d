"""Benchmark: energy to a target validation loss with the tiny GPT (scratch, fine-tune, bf16, early stopping),
plus the forecast check. Writes bench/results/training.json.

    PYTHONPATH=src python bench/training.py            # full: 3 repeats, ~3-4 min each on the 2-core VM
    PYTHONPATH=src python bench/training.py --quick    # seconds, a very small model (smoke test)

The default scenario (see wattwise.train.compare): a 2-layer tiny GPT trained on the first 30,000 characters
of the training split, a fixed 1,500-step cosine run planned for ~3x the steps it needs before it overfits.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from wattwise.train.compare import CompareSettings, compare_training


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--steps", type=int, default=None, help="planned steps of the fixed-length run")
    ap.add_argument("--target", type=float, default=None)
    ap.add_argument("--repeats", type=int, default=None, help="repeats of every variant (medians)")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "training.json")
    args = ap.parse_args(argv)
    cs = CompareSettings.quick() if args.quick else CompareSettings()
    if args.steps:
        cs.planned_steps = args.steps
    if args.target:
        cs.target_loss = args.target
    if args.repeats:
        cs.repeats = args.repeats
    result = compare_training(cs, progress=lambda m: print(m, file=sys.stderr, flush=True))
    result["command"] = "PYTHONPATH=src python bench/training.py" + (" --quick" if args.quick else "")
    result["targets"] = targets(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=str))
    summary = {k: result.get(k) for k in ("energy_to_target_kwh", "early_stopping", "forecast")}
    print(json.dumps(summary, indent=2, default=str))
    return 0


def targets(result: dict) -> dict:
    """The bench's pass/fail thresholds (kept here, not in the library's output)."""
    es, fc = result.get("early_stopping") or {}, result.get("forecast") or {}
    err = fc.get("error_fraction")
    return {
        "saved_at_least_30pct": es.get("saved_fraction", 0.0) >= 0.30,
        "val_loss_worse_at_most_1pct": es.get("val_loss_worse_fraction", 1.0) <= 0.01,
        "forecast_within_10pct": err is not None and abs(err) <= 0.10,
    }


if __name__ == "__main__":
    raise SystemExit(main())
