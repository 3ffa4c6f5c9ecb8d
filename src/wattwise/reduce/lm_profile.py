"""Inference profile of a causal LM: energy per 1,000 generated tokens against batch size, KV cache on/off
and precision -- the levers that dominate serving energy."""

from __future__ import annotations

import copy
import functools
import warnings
from typing import Any

import torch

from wattwise.errors import WattwiseError
from wattwise.reduce.energy import measure_energy
from wattwise.reduce.models import LoadedModel, context_length, load
from wattwise.reduce.quantize import DTYPES


def _prompts(lm: LoadedModel, batch: int, prompt_tokens: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    vocab = int(lm.model.config.vocab_size)
    return torch.randint(5, vocab, (batch, prompt_tokens), generator=g)


def generate_once(model: Any, ids: torch.Tensor, new_tokens: int, kv_cache: bool) -> int:
    """Greedy generation of exactly ``new_tokens`` per sequence; returns tokens generated."""
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = model.generate(
            input_ids=ids,
            attention_mask=torch.ones_like(ids),
            max_new_tokens=new_tokens,
            min_new_tokens=new_tokens,
            do_sample=False,
            use_cache=kv_cache,
            pad_token_id=model.config.pad_token_id or 0,
        )
    return int((out.shape[1] - ids.shape[1]) * out.shape[0])


def profile(
    model: str | LoadedModel,
    batch_sizes: list[int] | None = None,
    precisions: list[str] | None = None,
    kv_cache: list[bool] | None = None,
    new_tokens: int = 32,
    prompt_tokens: int = 16,
    threads: int | None = 1,
    estimate_on: str | None = None,
) -> list[dict]:
    """One row per (precision, batch, KV cache): tokens/s and energy per 1,000 generated tokens, with every
    thread pool sized to ``threads`` (:func:`wattwise.reduce.threads.configure`; 0 or None: every CPU).

    ``estimate_on`` (a catalogue device): each KV-cache row also gets the serving model's figure for this
    model's size, batch, prompt and output length on that device (``modelled_j_per_1k_tokens``, GPU energy,
    the model ``wattwise estimate serve`` uses), so measured and modelled sit side by side.
    """
    from wattwise.reduce import threads as pools

    pools.resolve(threads)  # a bad value fails before the model loads
    device = None
    if estimate_on is not None:
        from wattwise.hardware import lookup

        device = lookup(estimate_on)
    lm = model if isinstance(model, LoadedModel) else load(model, "causal-lm")
    if lm.kind != "causal-lm":
        raise WattwiseError(f"{lm.name} is not a causal LM", "lm-profile needs a model that generates text")
    sizes = batch_sizes or [1, 8, 32]
    if any(b < 1 for b in sizes) or new_tokens < 1 or prompt_tokens < 1:
        raise WattwiseError("batch sizes, --new-tokens and --prompt-tokens must be >= 1")
    limit = context_length(lm.model) or 0
    if limit and prompt_tokens + new_tokens > limit:
        raise WattwiseError(
            f"prompt + new tokens ({prompt_tokens + new_tokens}) exceed the model's context ({limit})"
        )
    report = pools.configure(threads)
    rows = []
    for prec in precisions or ["fp32", "bf16"]:
        if prec != "fp32" and prec not in DTYPES:
            from wattwise.errors import unknown

            raise unknown("precision", prec, ["fp32", *DTYPES])
        m = lm.model if prec == "fp32" else copy.deepcopy(lm.model).to(DTYPES[prec])
        m.eval()
        for b in sizes:
            ids = _prompts(lm, b, prompt_tokens)
            for kv in kv_cache or [True, False]:
                generate_once(m, ids[:, :prompt_tokens], 2, kv)  # warm-up
                res = measure_energy(functools.partial(generate_once, m, ids, new_tokens, kv), name="lm-profile")
                n = res.value
                rows.append(
                    {
                        "precision": prec,
                        "batch": b,
                        "kv_cache": kv,
                        "new_tokens": new_tokens,
                        "prompt_tokens": prompt_tokens,
                        "generated": n,
                        "seconds": res.seconds,
                        "tokens_per_s": n / res.seconds if res.seconds else None,
                        "energy_j": res.joules,
                        "energy_j_per_1k_tokens": res.joules / n * 1000,
                        "energy_method": res.method,
                        "energy_source": res.source,
                        "threads": report.threads,
                    }
                )
                if device is not None:
                    rows[-1].update(_modelled(m, device, prec, b, prompt_tokens, new_tokens, kv))
    return rows


def _modelled(model: Any, device: Any, precision: str, batch: int, prompt: int, new: int, kv: bool) -> dict:
    """The serving model's GPU J per 1,000 output tokens (KV cache on only; the model assumes one)."""
    from wattwise.estimate.serving import PRECISION_BYTES, estimate_serving

    if not kv or precision not in PRECISION_BYTES:
        return {"modelled_j_per_1k_tokens": None}
    n = float(sum(p.numel() for p in model.parameters()))
    est = estimate_serving(params=n, hardware=device, batch=batch, input_tokens=prompt, output_tokens=new,
                           precision=precision, intensity=0.0, pue=1.0)  # fmt: skip
    g = est.points[0].gpu_j_per_output_token
    return {
        "modelled_j_per_1k_tokens": g.central * 1000,
        "modelled_range_j_per_1k_tokens": [g.low * 1000, g.high * 1000],
        "modelled_on": device.name,
        "modelled_method": est.method,
    }
