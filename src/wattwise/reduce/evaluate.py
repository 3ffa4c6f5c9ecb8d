"""The evaluation work of a variant on fixed data, as a :class:`wattwise.reduce.rounds.Workload`.

Encoders: Spearman x 100 between cosine similarity of mean-pooled embeddings and STS-B gold scores.
Causal LMs: perplexity on held-out text. Energy, throughput and latency come from the interleaved rounds of
:func:`wattwise.reduce.rounds.interleave`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from wattwise.reduce.data import STSPairs
from wattwise.reduce.rounds import Workload


@dataclass
class EvalSettings:
    batch_size: int = 64
    max_length: int = 128
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


def spearman(pred: np.ndarray, gold: list[float]) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(pred, np.asarray(gold)).statistic) * 100


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    na = np.linalg.norm(a, axis=1).clip(min=1e-12)
    nb = np.linalg.norm(b, axis=1).clip(min=1e-12)
    return (a * b).sum(1) / na / nb


def encoder_workload(tokenizer: Any, pairs: STSPairs, settings: EvalSettings | None = None) -> Workload:
    """STS pairs as batches of distinct sentences (sorted by length to limit padding); each batch is tokenized
    inside the timed pass, as serving would; quality is Spearman x 100 of the pairs' cosine similarities."""
    s = settings or EvalSettings()
    sentences = pairs.sentences()
    order = sorted(range(len(sentences)), key=lambda i: len(sentences[i]))
    batches = [[sentences[i] for i in order[k : k + s.batch_size]] for k in range(0, len(order), s.batch_size)]

    def run(fn: Callable[[dict[str, Any]], np.ndarray], batch: list[str]) -> np.ndarray:
        toks = tokenizer(batch, padding=True, truncation=True, max_length=s.max_length, return_tensors="np")
        return fn(dict(toks))

    def score(outputs: list[np.ndarray]) -> float:
        emb = np.concatenate(outputs).astype(np.float32)
        pos = {sent: j for j, sent in enumerate(sent for b in batches for sent in b)}
        row = [pos[t] for t in pairs.first]
        col = [pos[t] for t in pairs.second]
        return spearman(cosine_rows(emb[row], emb[col]), pairs.scores)

    return Workload(batches, [len(b) for b in batches], run, score, "spearman_x100", "sentences")


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


def lm_workload(tokenizer: Any, text: str, settings: EvalSettings | None = None, batch_size: int = 8) -> Workload:
    """Held-out text as batches of ``batch_size`` windows; each pass returns (negative log-likelihood, tokens)
    per batch and quality is the perplexity over all batches."""
    s = settings or EvalSettings()
    ids, mask = lm_batches(tokenizer, text, s)
    batches = [(ids[i : i + batch_size], mask[i : i + batch_size]) for i in range(0, len(ids), batch_size)]

    def run(fn: Callable[[np.ndarray, np.ndarray], np.ndarray], batch: tuple[np.ndarray, np.ndarray]) -> tuple:
        x, m = batch
        logits = fn(x, m)[:, :-1].astype(np.float64)
        target = x[:, 1:]
        mx = logits.max(-1, keepdims=True)
        logz = np.log(np.exp(logits - mx).sum(-1)) + mx[..., 0]
        picked = np.take_along_axis(logits, target[..., None], -1)[..., 0]
        return float((logz - picked).sum()), int(target.size)

    def score(outputs: list[tuple[float, int]]) -> float:
        return math.exp(sum(o[0] for o in outputs) / sum(o[1] for o in outputs))

    return Workload(batches, [int(b[0].size) for b in batches], run, score, "perplexity", "tokens")
