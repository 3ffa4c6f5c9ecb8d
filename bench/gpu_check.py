"""Checks that need an NVIDIA GPU; writes bench/results/gpu_check.json. Without one it says why and skips.

1. ``counter_vs_sampling``: NVML's cumulative energy counter (``nvmlDeviceGetTotalEnergyConsumption``)
   against the trapezoid integral of ``nvmlDeviceGetPowerUsage`` sampled every 10 ms over the same window,
   while a bf16 matmul load runs (idle, load, idle: the window covers both edges). Repeated; ratio medians.
2. ``tracker_overhead``: the same GPU job (a fixed number of bf16 matmuls, synchronised) untracked and under
   ``wattwise.track()``, interleaved pairs (untracked, tracked, tracked, untracked, ...); median of the paired
   wall-time ratios - 1 with a bootstrap 95 % interval.
3. ``j_per_token``: a small decoder (GPT-2 shape from a config, random weights: nothing is downloaded) in
   bf16 generating with KV cache at several batch sizes; measured GPU J per output token (NVML counter delta)
   against ``wattwise.estimate.serving`` for the same parameters, batch, prompt and output length on the
   catalogue device. Hugging Face ``generate`` is not vLLM (no continuous batching, CPU-bound at small
   batch), so this checks trends and order of magnitude, not the calibration.

Thread pools are fixed (torch 4 threads). Run: PYTHONPATH=src python bench/gpu_check.py [--quick]
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).parent
OUT = HERE / "results" / "gpu_check.json"


def why_no_gpu() -> str | None:
    """None when an NVIDIA GPU with NVML and CUDA torch is usable, else the reason."""
    try:
        import pynvml
    except ImportError:
        return "nvidia-ml-py (pynvml) is not installed"
    try:
        pynvml.nvmlInit()
        n = pynvml.nvmlDeviceGetCount()
    except Exception as exc:  # NVMLError_LibraryNotFound, DriverNotLoaded, ...
        return f"NVML unavailable ({type(exc).__name__}: {exc}): no NVIDIA driver/GPU on this machine"
    if n < 1:
        return "NVML reports no GPU"
    try:
        import torch
    except ImportError:
        return "torch is not installed"
    if not torch.cuda.is_available():
        return f"torch {torch.__version__} has no CUDA (CPU build or no visible device)"
    return None


def catalogue_device(name: str):
    """The catalogue device of an NVML name such as 'NVIDIA H100 80GB HBM3' (None if not found)."""
    from wattwise.errors import WattwiseError
    from wattwise.hardware import all_devices, lookup

    try:
        return lookup(name)
    except WattwiseError:
        pass
    key = name.lower().replace("nvidia", "").replace("tesla", "").replace(" ", "")

    def score(d) -> tuple[int, int, int]:
        stem = max((n.lower().split("-")[0] for n in (d.name, *d.aliases) if n.lower().split("-")[0] in key),
                   key=len, default="")  # fmt: skip
        mem = int(bool(d.memory_gb) and f"{d.memory_gb:g}gb" in key)
        pcie = int(("pcie" in key) == ("pcie" in d.name))
        return len(stem), mem, pcie

    best = max(all_devices(), key=score)
    return best if score(best)[0] else None


class PowerSampler(threading.Thread):
    """Samples NVML power (mW) every ``period`` s into (t, W) pairs."""

    def __init__(self, handle, period: float = 0.01) -> None:
        super().__init__(daemon=True)
        self.handle, self.period = handle, period
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()

    def run(self) -> None:
        import pynvml

        while not self._stop.is_set():
            self.samples.append((time.perf_counter(), pynvml.nvmlDeviceGetPowerUsage(self.handle) / 1000.0))
            time.sleep(self.period)

    def stop(self) -> list[tuple[float, float]]:
        self._stop.set()
        self.join()
        return self.samples


def trapezoid(samples: list[tuple[float, float]]) -> float:
    return sum((t1 - t0) * (p0 + p1) / 2 for (t0, p0), (t1, p1) in itertools.pairwise(samples))


def matmul_load(seconds: float, n: int = 8192) -> int:
    import torch

    a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    iters, t_end = 0, time.perf_counter() + seconds
    while time.perf_counter() < t_end:
        for _ in range(10):
            a @ b
        torch.cuda.synchronize()
        iters += 10
    return iters


def counter_vs_sampling(handle, repeats: int, load_s: float) -> dict:
    import pynvml

    rows = []
    for _ in range(repeats):
        sampler = PowerSampler(handle)
        e0 = pynvml.nvmlDeviceGetTotalEnergyConsumption(handle)  # mJ
        sampler.start()
        time.sleep(0.5)
        matmul_load(load_s)
        time.sleep(0.5)
        samples = sampler.stop()
        e1 = pynvml.nvmlDeviceGetTotalEnergyConsumption(handle)
        counter_j = (e1 - e0) / 1000.0
        sampled_j = trapezoid(samples)
        rows.append({"counter_j": counter_j, "sampled_j": sampled_j,
                     "ratio_sampled_over_counter": sampled_j / counter_j,
                     "samples": len(samples), "seconds": samples[-1][0] - samples[0][0]})  # fmt: skip
    ratios = [r["ratio_sampled_over_counter"] for r in rows]
    return {"runs": rows, "median_ratio": statistics.median(ratios), "min_ratio": min(ratios), "max_ratio": max(ratios)}


def _gpu_job(iters: int) -> float:
    import torch

    a = torch.randn(4096, 4096, device="cuda", dtype=torch.bfloat16)
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(iters):
        a = (a @ a).clamp_(-1, 1)
    torch.cuda.synchronize()
    return time.perf_counter() - t0


def tracker_overhead(pairs: int, iters: int) -> dict:
    import wattwise

    _gpu_job(iters // 4)  # warm-up
    untracked, tracked = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(pairs):
            order = (False, True) if i % 2 == 0 else (True, False)
            for with_tracker in order:
                if with_tracker:
                    with wattwise.track("gpu-check", store=str(Path(tmp) / "runs.db"), interval=0.5):
                        tracked.append(_gpu_job(iters))
                else:
                    untracked.append(_gpu_job(iters))
    ratios = [t / u for t, u in zip(tracked, untracked, strict=True)]
    rng = random.Random(0)
    boots = sorted(statistics.median(rng.choices(ratios, k=len(ratios))) for _ in range(2000))
    return {
        "pairs": pairs,
        "median_untracked_s": statistics.median(untracked),
        "median_tracked_s": statistics.median(tracked),
        "overhead_ratio": statistics.median(ratios) - 1,
        "overhead_ratio_ci95": [boots[50] - 1, boots[1949] - 1],
    }


def j_per_token(handle, device, batches: list[int], prompt: int, new: int) -> dict:
    import pynvml
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    from wattwise.estimate.serving import estimate_serving

    torch.manual_seed(0)
    cfg = GPT2Config(n_positions=prompt + new + 8, n_embd=1024, n_layer=24, n_head=16)  # GPT-2 medium shape
    model = GPT2LMHeadModel(cfg).to("cuda", dtype=torch.bfloat16).eval()
    n_params = sum(p.numel() for p in model.parameters())
    rows = []
    for b in batches:
        ids = torch.randint(0, cfg.vocab_size, (b, prompt), device="cuda")
        kw = dict(max_new_tokens=new, min_new_tokens=new, do_sample=False, pad_token_id=0)
        with torch.inference_mode():
            model.generate(ids, max_new_tokens=2, min_new_tokens=2, do_sample=False, pad_token_id=0)
            torch.cuda.synchronize()
            e0, t0 = pynvml.nvmlDeviceGetTotalEnergyConsumption(handle), time.perf_counter()
            out = model.generate(ids, **kw)
            torch.cuda.synchronize()
            e1, t1 = pynvml.nvmlDeviceGetTotalEnergyConsumption(handle), time.perf_counter()
        tokens = (out.shape[1] - prompt) * b
        measured = (e1 - e0) / 1000.0 / tokens
        row = {"batch": b, "tokens": tokens, "seconds": t1 - t0, "measured_j_per_token": measured}
        if device is not None:
            est = estimate_serving(params=n_params, hardware=device, batch=b, input_tokens=prompt, output_tokens=new,
                                   intensity=0, pue=1)  # fmt: skip
            g = est.points[0].gpu_j_per_output_token
            row.update(estimated_j_per_token=g.central, estimated_low=g.low, estimated_high=g.high,
                       ratio_estimated_over_measured=g.central / measured)  # fmt: skip
        rows.append(row)
    return {"model": f"GPT-2 medium shape, random weights, {n_params / 1e6:.0f} M parameters, bf16, HF generate",
            "prompt_tokens": prompt, "new_tokens": new, "rows": rows}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats (a couple of minutes)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    reason = why_no_gpu()
    if reason:
        print(f"gpu_check: skipped: {reason}")
        print(f"gpu_check: nothing written ({args.out} keeps its previous content, if any)")
        return 0
    import pynvml
    import torch

    torch.set_num_threads(4)
    handle = pynvml.nvmlDeviceGetHandleByIndex(0)
    name = pynvml.nvmlDeviceGetName(handle)
    name = name.decode() if isinstance(name, bytes) else name
    device = catalogue_device(name)
    reps = 3 if args.quick else 5
    result = {
        "gpu": name,
        "catalogue_device": device.name if device else None,
        "driver": pynvml.nvmlSystemGetDriverVersion(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    print(f"gpu_check on {name} (catalogue: {result['catalogue_device']})")
    result["counter_vs_sampling"] = counter_vs_sampling(handle, reps, 5.0 if args.quick else 10.0)
    print(f"  sampled/counter energy: median {result['counter_vs_sampling']['median_ratio']:.3f}")
    result["tracker_overhead"] = tracker_overhead(6 if args.quick else 10, 300 if args.quick else 600)
    o = result["tracker_overhead"]
    print(f"  tracker overhead: {o['overhead_ratio']:+.2%} (95% CI {o['overhead_ratio_ci95'][0]:+.2%}.."
          f"{o['overhead_ratio_ci95'][1]:+.2%})")  # fmt: skip
    result["j_per_token"] = j_per_token(handle, device, [1, 8, 32, 128], 128, 64 if args.quick else 128)
    for r in result["j_per_token"]["rows"]:
        est = f", estimated {r['estimated_j_per_token']:.3g}" if "estimated_j_per_token" in r else ""
        print(f"  batch {r['batch']}: measured {r['measured_j_per_token']:.3g} J/token{est}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
