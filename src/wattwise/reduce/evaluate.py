"""Evaluate a variant on fixed data: quality, latency p50/p95, throughput and energy per 1,000 inputs.

Encoders: Spearman x 100 between cosine similarity of mean-pooled embeddings and STS-B gold scores.
Causal LMs: perplexity on held-out text. Energy comes from :func:`wattwise.reduce.energy.measure_energy`
around one pass over the evaluation data (median over ``repeats`` passes).
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from wattwise.reduce.data import STSPairs
from wattwise.reduce.energy import measure_energy

Tick = Callable[[int], None] | None


@dataclass
class EvalSettings:
    batch_size: int = 64
    max_length: int = 128
    latency_samples: int = 24
    repeats: int = 1
    lm_seq_len: int = 128
    lm_max_tokens: int = 16384


def torch_encoder_fn(model: Any) -> Callable[[dict[str, Any]], np.ndarray]:
    """Tokenized batch (numpy) -> mean-pooled embeddings (float32 numpy) with a torch model."""
    import torch

    def run(batch: dict[str, Any]) -> np.ndarray:
        feed = {k: torch.as_tensor(v) for k, v in batch.items()}
        with torch.inference_mode():
            h = model(**feed).last_hidden_state.float()
        mask = feed["attention_mask"].unsqueeze(-1).to(h.dtype)
        return ((h * mask).sum(1) / mask.sum(1).clamp(min=1e-9)).numpy()

    return run


def torch_lm_fn(model: Any) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    import torch

    def run(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            out = model(input_ids=torch.as_tensor(ids), attention_mask=torch.as_tensor(mask), use_cache=False)
        return out.logits.float().numpy()

    return run


def _percentile(xs: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs), q)) if xs else float("nan")


def spearman(pred: np.ndarray, gold: list[float]) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(pred, np.asarray(gold)).statistic) * 100


def encode(
    fn: Callable[[dict[str, Any]], np.ndarray],
    tokenizer: Any,
    sentences: list[str],
    settings: EvalSettings,
    tick: Tick = None,
) -> np.ndarray:
    """Embeddings of ``sentences`` (batched by length to limit padding; order preserved)."""
    order = sorted(range(len(sentences)), key=lambda i: len(sentences[i]))
    out: list[np.ndarray] = [np.empty(0)] * len(sentences)
    for start in range(0, len(order), settings.batch_size):
        idx = order[start : start + settings.batch_size]
        batch = tokenizer(
            [sentences[i] for i in idx],
            padding=True,
            truncation=True,
            max_length=settings.max_length,
            return_tensors="np",
        )
        emb = fn(dict(batch))
        for j, i in enumerate(idx):
            out[i] = emb[j]
        if tick:
            tick(len(idx))
    return np.stack(out).astype(np.float32)


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    na = np.linalg.norm(a, axis=1).clip(min=1e-12)
    nb = np.linalg.norm(b, axis=1).clip(min=1e-12)
    return (a * b).sum(1) / na / nb


def _timed_passes(work: Callable[[], Any], repeats: int) -> tuple[Any, dict[str, Any]]:
    results = [measure_energy(work, name="reduce-eval") for _ in range(max(1, repeats))]
    value = results[0].value
    joules = statistics.median(r.joules for r in results)
    seconds = statistics.median(r.seconds for r in results)
    cpu = statistics.median(r.cpu_seconds for r in results)
    return value, {
        "joules": joules,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "energy_method": results[0].method,
        "energy_source": results[0].source,
        "passes": len(results),
    }


def _summary(
    quality: float, metric: str, n: int, unit: str, latencies_ms: list[float], timing: dict[str, Any]
) -> dict[str, Any]:
    """One variant's figures: quality, latency percentiles, throughput and energy per 1,000 ``unit``."""
    return {
        "quality": quality,
        "metric": metric,
        "inputs": n,
        "unit": unit,
        "latency_ms_p50": _percentile(latencies_ms, 50),
        "latency_ms_p95": _percentile(latencies_ms, 95),
        "throughput_per_s": n / timing["seconds"] if timing["seconds"] > 0 else float("nan"),
        "energy_j_per_1k": timing["joules"] / n * 1000,
        **timing,
    }


def evaluate_encoder(
    fn: Callable[[dict[str, Any]], np.ndarray],
    tokenizer: Any,
    pairs: STSPairs,
    settings: EvalSettings | None = None,
    tick: Tick = None,
) -> dict[str, Any]:
    """Quality (Spearman x 100), latency, throughput and energy per 1,000 sentences of one encoder."""
    s = settings or EvalSettings()
    sentences = pairs.sentences()
    index = {t: i for i, t in enumerate(sentences)}
    encode(fn, tokenizer, sentences[: s.batch_size], s)  # warm-up (allocations, kernel choice, JIT)
    emb, timing = _timed_passes(lambda: encode(fn, tokenizer, sentences, s, tick), s.repeats)
    a = emb[[index[t] for t in pairs.first]]
    b = emb[[index[t] for t in pairs.second]]
    quality = spearman(cosine_rows(a, b), pairs.scores)
    lat = []
    step = max(1, len(sentences) // max(1, s.latency_samples))
    for t in sentences[::step][: s.latency_samples]:
        batch = tokenizer([t], truncation=True, max_length=s.max_length, return_tensors="np")
        t0 = time.perf_counter()
        fn(dict(batch))
        lat.append((time.perf_counter() - t0) * 1000)
    return _summary(quality, "spearman_x100", len(sentences), "sentences", lat, timing)


def lm_batches(tokenizer: Any, text: str, settings: EvalSettings) -> tuple[np.ndarray, np.ndarray]:
    """Held-out text as non-overlapping windows of ``lm_seq_len`` tokens (at most ``lm_max_tokens``)."""
    ids = tokenizer(text, add_special_tokens=False, return_tensors="np")["input_ids"][0]
    ids = ids[: settings.lm_max_tokens]
    n = len(ids) // settings.lm_seq_len
    if n < 1:
        from wattwise.errors import WattwiseError

        raise WattwiseError(
            f"held-out text is too short: {len(ids)} tokens < one window of {settings.lm_seq_len}"
        )
    x = ids[: n * settings.lm_seq_len].reshape(n, settings.lm_seq_len)
    return x, np.ones_like(x)


def perplexity(
    fn: Callable[[np.ndarray, np.ndarray], np.ndarray],
    ids: np.ndarray,
    mask: np.ndarray,
    batch_size: int = 8,
    tick: Tick = None,
) -> float:
    total, count = 0.0, 0
    for i in range(0, len(ids), batch_size):
        x, m = ids[i : i + batch_size], mask[i : i + batch_size]
        logits = fn(x, m)[:, :-1].astype(np.float64)
        target = x[:, 1:]
        mx = logits.max(-1, keepdims=True)
        logz = np.log(np.exp(logits - mx).sum(-1)) + mx[..., 0]
        picked = np.take_along_axis(logits, target[..., None], -1)[..., 0]
        total += float((logz - picked).sum())
        count += target.size
        if tick:
            tick(len(x))
    return math.exp(total / count)


def evaluate_lm(
    fn: Callable[[np.ndarray, np.ndarray], np.ndarray],
    tokenizer: Any,
    text: str,
    settings: EvalSettings | None = None,
    tick: Tick = None,
) -> dict[str, Any]:
    """Perplexity on held-out text, latency of one window, throughput and energy per 1,000 tokens."""
    s = settings or EvalSettings()
    ids, mask = lm_batches(tokenizer, text, s)
    fn(ids[:1], mask[:1])
    ppl, timing = _timed_passes(lambda: perplexity(fn, ids, mask, 8, tick), s.repeats)
    lat = []
    for i in range(min(s.latency_samples, len(ids))):
        t0 = time.perf_counter()
        fn(ids[i : i + 1], mask[i : i + 1])
        lat.append((time.perf_counter() - t0) * 1000)
    return _summary(ppl, "perplexity", int(ids.size), "tokens", lat, timing)
