"""int8 choices for a distilled student checked on held-out STS-B *train* pairs, never on dev.

Loads a student saved by ``bench/distill_heldout.py --save DIR`` (trained without the last 1,000 train pairs'
sentences), builds each ONNX Runtime variant of it, scores Spearman x 100 on those 1,000 pairs and times the
variants in interleaved rounds on one thread (time per pass relative to plain ``int8``: on one core of a quiet
machine, energy follows time). Results go to bench/results/int8-heldout.json (or --out).

    python bench/int8_heldout.py DIR [--rounds N] [--variants torch,int8,int8-keep1,...] [--out FILE]

Variants: ``torch`` (the fp32 student), ``onnx`` (fp32 ONNX Runtime), ``int8`` (dynamic int8, per-channel
weights, as ``ort-int8``), ``int8-tensor`` (per-tensor weights), ``int8-keepK`` (the K most int8-sensitive
Linears kept in fp32, ranked on unlabelled text as ``ort-int8-selective``), ``fused-int8`` (ONNX Runtime's
transformer fusion, then dynamic int8).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from distill_heldout import HELD, held_out_pairs
from wattwise.reduce import threads

HERE = Path(__file__).resolve().parent
OUT = HERE / "results" / "int8-heldout.json"
DEFAULT = "torch,onnx,int8,int8-tensor,int8-keep1,int8-keep2,int8-keep4,fused-int8"


def _embed(tokenizer: Any, n: int) -> Any:
    """Mean-pooled outputs of a model on ``n`` unlabelled sentences spread over the packaged set."""
    from wattwise.reduce import data

    texts, _ = data.unlabelled_sentences()
    step = max(1, len(texts) // n)
    batch = tokenizer(texts[::step][:n], padding=True, truncation=True, max_length=128, return_tensors="pt")

    def embed(m: Any) -> Any:
        h = m(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(h.dtype)
        return (h * mask).sum(1) / mask.sum(1)

    return embed


def _build(name: str, model: Any, tokenizer: Any, work: Path) -> tuple[Any, dict[str, Any]]:
    from wattwise.reduce import evaluate, onnx_export, quantize

    if name == "torch":
        return evaluate.torch_encoder_fn(model), {}
    raw, final = work / f"{name}.fp32.onnx", work / f"{name}.onnx"
    onnx_export.export(model, tokenizer, "encoder", raw)
    info: dict[str, Any] = {}
    if name == "onnx":
        final = raw
    elif name == "fused-int8":
        fused = work / f"{name}.fused.onnx"
        info["fusion"] = onnx_export.optimize(raw, fused, model)
        info.update(onnx_export.quantize_int8(fused, final))
    elif name.startswith("int8-keep"):
        embed = _embed(tokenizer, 32)
        keep = quantize.most_sensitive(quantize.sensitivity(model, embed), int(name.removeprefix("int8-keep")))
        info.update(onnx_export.quantize_int8(raw, final, keep_fp32=keep))
    elif name in ("int8", "int8-tensor"):
        info.update(onnx_export.quantize_int8(raw, final, per_channel=name == "int8"))
    else:
        raise SystemExit(f"error: unknown variant {name!r}")
    return onnx_export.OrtEncoder(final, threads=1), info


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("student", type=Path)
    ap.add_argument("--variants", default=DEFAULT)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    threads.configure(1)
    import numpy as np

    from wattwise.reduce import evaluate, models

    student = models.load_variant(args.student)  # narrowed students do not fit from_pretrained
    model, tokenizer = student.model, student.tokenizer
    work = evaluate.encoder_workload(tokenizer, held_out_pairs())
    names = args.variants.split(",")
    rows: dict[str, dict[str, Any]] = {}
    fns: dict[str, Any] = {}
    emb: dict[str, np.ndarray] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            fn, info = _build(name, model, tokenizer, Path(tmp))
            fns[name] = fn
            outs = [work.run(fn, b) for b in work.batches]  # also the warm-up pass
            emb[name] = np.concatenate(outs)
            rows[name] = {"variant": name, "spearman_x100": round(work.quality(outs), 2), **info}
            if "torch" in emb:  # label-free: how far int8 moves the student's own embeddings
                rows[name]["cosine_to_torch"] = round(float(evaluate.cosine_rows(emb[name], emb["torch"]).mean()), 6)
            print(name, rows[name]["spearman_x100"], flush=True)
        times: dict[str, list[float]] = {n: [] for n in names}
        for _ in range(args.rounds):
            for name in names:
                t0 = time.perf_counter()
                for b in work.batches:
                    work.run(fns[name], b)
                times[name].append(time.perf_counter() - t0)
    ref = times["int8"] if "int8" in times else times[names[0]]
    for name in names:
        ratios = [t / r for t, r in zip(times[name], ref, strict=True)]
        rows[name].update(pass_s=round(statistics.median(times[name]), 3),
                          time_vs_int8=round(statistics.median(ratios), 3),
                          time_vs_int8_range=[round(min(ratios), 3), round(max(ratios), 3)])
        print(json.dumps(rows[name]))
    args.out.write_text(json.dumps({"student": str(args.student), "held_out_pairs": HELD, "rounds": args.rounds,
                               "threads": 1, "variants": list(rows.values())}, indent=1) + "\n")


if __name__ == "__main__":
    main()
