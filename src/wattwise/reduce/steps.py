"""The lab's techniques as a registry of steps, and the chain parser.

A variant is a chain of steps joined by ``+`` (``distill+prune-structured+ort-int8``); ``fp32`` is the model as
given. Steps run in stage order: shape (distill, distill-slim, prune-*) -> precision (fp16, bf16, torchao-*,
torch-int8-legacy) -> runtime (compile, onnx, ort-fused, ort-int8, ort-int8-selective). Adding a technique is
one :func:`register` call here: its stage, description, what it does, and whether it reads labels.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wattwise.errors import WattwiseError, unknown

#: a model step: (model, context) -> (model, manifest entry); a runtime step: (model, context, folder,
#: manifest) -> the callable the evaluation runs
Transform = Callable[[Any, "BuildContext"], tuple[Any, dict[str, Any]]]
Runtime = Callable[[Any, "BuildContext", Path, list[dict[str, Any]]], Any]


@dataclass(frozen=True)
class Step:
    name: str
    stage: int  # 0 distill / distill-slim, 1 prune, 2 precision, 3 runtime
    description: str
    transform: Transform | None = None
    runtime: Runtime | None = None
    onnx: bool = False
    #: reads the evaluation labels (gold scores) or labelled training data: such variants are never recommended
    uses_labels: bool = False


STEPS: dict[str, Step] = {}


def register(step: Step) -> Step:
    STEPS[step.name] = step
    return step


def uses_labels(steps: list[str]) -> bool:
    return any(STEPS[s].uses_labels for s in steps)


@dataclass
class BuildContext:
    """What steps share while a lab builds its variants (base model, options, caches, progress)."""

    base: Any
    opts: Any
    work: Path
    progress: Any
    threads: int = 1

    def __post_init__(self) -> None:
        self.students: dict[tuple, tuple[Any, dict[str, Any]]] = {}
        self.teacher_cache: dict = {}


# ------------------------------------------------------------------------------------------------ parsing


def parse_variant(spec: str) -> list[str]:
    """Steps of a variant (``fp32`` is none). Raises a clear error for unknown steps or impossible chains."""
    spec = spec.strip()
    if spec.lower() in ("fp32", "base", "baseline"):
        return []
    steps = [s.strip().lower() for s in spec.split("+") if s.strip()]
    for s in steps:
        if s not in STEPS:
            raise unknown("technique", s, [*STEPS, "fp32"])
    if len(set(steps)) != len(steps):
        raise WattwiseError(f"variant {spec!r} repeats a step")
    stages = [STEPS[s].stage for s in steps]
    if stages != sorted(stages):
        raise WattwiseError(
            f"variant {spec!r}: steps out of order",
            "order: distill or distill-slim, then prune-*, then fp16/bf16/torchao-*, then compile/onnx/ort-*",
        )
    for st in (0, 1, 2, 3):
        if stages.count(st) > 1:
            names = [s for s in steps if STEPS[s].stage == st]
            raise WattwiseError(
                f"variant {spec!r} combines {' and '.join(names)}, which cannot be chained",
                "use one distillation, one pruning, one precision and one runtime step per variant",
            )
    if any(STEPS[s].onnx for s in steps) and any(STEPS[s].stage == 2 for s in steps):
        prec = next(s for s in steps if STEPS[s].stage == 2)
        raise WattwiseError(
            f"variant {spec!r}: {prec} cannot be exported to ONNX",
            "export the float model and quantize in ONNX Runtime (ort-int8)",
        )
    if "compile" in steps and "torch-int8-legacy" in steps:
        raise WattwiseError(f"variant {spec!r}: torch.compile does not support the deprecated quantized modules")
    return steps


def slug(name: str) -> str:
    return name.replace("+", "__").replace(":", "-").replace("/", "-")


# ------------------------------------------------------------------------------------------------ shape


def _distill(slim: bool) -> Transform:
    def apply(model: Any, ctx: BuildContext) -> tuple[Any, dict[str, Any]]:
        return _student(ctx, (ctx.opts.structured_heads, ctx.opts.structured_ffn) if slim else None)

    return apply


def _student(ctx: BuildContext, narrow: tuple[float, float] | None) -> tuple[Any, dict[str, Any]]:
    """The trained student (built once per shape and training settings, then copied)."""
    from wattwise.reduce import data, distill
    from wattwise.reduce.prune import _blocks

    o = ctx.opts
    n_layers = o.student_layers(len(_blocks(ctx.base.model)[1]))
    epochs, augment, sim, aware = ((o.slim_epochs, o.slim_augment, o.slim_sim_weight, o.slim_int8_aware) if narrow
                                   else (o.distill_epochs, o.distill_augment, o.distill_sim_weight, 0))
    key = (n_layers, narrow, epochs, o.distill_lr, o.distill_hidden_weight, sim, augment, aware, o.distill_texts,
           o.distill_text_path)
    if key in ctx.students:
        student, info = ctx.students[key]
        return copy.deepcopy(student), dict(info, reused=True)
    what = f"{n_layers}-layer{' narrowed' if narrow else ''} student"
    if ctx.base.kind == "encoder":
        texts, src = data.unlabelled_sentences(o.distill_text_path, o.distill_texts)
        texts = data.augmented(texts, augment, seed=o.seed) if augment else texts
        with ctx.progress.task(f"distil {what}", epochs * len(texts)) as t:
            student, info = distill.distill_encoder(
                ctx.base, texts, layers=n_layers, epochs=epochs, lr=o.distill_lr, seed=o.seed,
                tick=t, teacher_cache=ctx.teacher_cache, slim=narrow, hidden_weight=o.distill_hidden_weight,
                sim_weight=sim, int8_aware_epochs=aware,
            )
        info["augmented_copies"] = augment
    else:
        text, src = data.lm_text(o.lm_text_path)
        train, _ = data.split_text(text)
        with ctx.progress.task(f"distil {what} (LM)", o.lm_distill_steps) as t:
            student, info = distill.distill_lm(
                ctx.base, train[:200_000], layers=n_layers, steps=o.lm_distill_steps, seed=o.seed, tick=t,
                slim=narrow,
            )
    info["text_source"] = src
    ctx.students[key] = (student, info)
    return copy.deepcopy(student), info


def _prune(how: str) -> Transform:
    def apply(model: Any, ctx: BuildContext) -> tuple[Any, dict[str, Any]]:
        from wattwise.reduce import prune

        o = ctx.opts
        if how == "2:4":
            return model, prune.semi_structured_24(model)
        if how == "structured":
            return model, prune.structured(model, o.structured_heads, o.structured_ffn)
        return model, prune.magnitude(model, o.prune_amount, how)

    return apply


# ------------------------------------------------------------------------------------------------ precision


def _half(dtype: str) -> Transform:
    def apply(model: Any, ctx: BuildContext) -> tuple[Any, dict[str, Any]]:
        from wattwise.reduce import quantize

        return model, quantize.half(model, dtype)

    return apply


def _torchao(scheme: str) -> Transform:
    def apply(model: Any, ctx: BuildContext) -> tuple[Any, dict[str, Any]]:
        from wattwise.reduce import quantize

        return model, quantize.torchao(model, scheme)

    return apply


def _legacy(model: Any, ctx: BuildContext) -> tuple[Any, dict[str, Any]]:
    from wattwise.reduce import quantize

    return model, quantize.legacy_dynamic_int8(model)


# ------------------------------------------------------------------------------------------------ runtime


def torch_runtime(model: Any, ctx: BuildContext, folder: Path, manifest: list[dict[str, Any]]) -> Any:
    """Eager torch (no runtime step): the callable the evaluation runs."""
    from wattwise.reduce import evaluate

    return evaluate.torch_encoder_fn(model) if ctx.base.kind == "encoder" else evaluate.torch_lm_fn(model)


def _compile(model: Any, ctx: BuildContext, folder: Path, manifest: list[dict[str, Any]]) -> Any:
    import torch

    manifest.append({"technique": "torch.compile", "dynamic": True, "backend": "inductor"})
    return torch_runtime(torch.compile(model, dynamic=True), ctx, folder, manifest)


def _calibration_fn(ctx: BuildContext) -> Callable[[Any], Any]:
    """Outputs of a model on a fixed batch of unlabelled inputs (for the sensitivity ranking)."""
    import torch

    from wattwise.reduce import data
    from wattwise.reduce.models import context_length

    tok = ctx.base.tokenizer
    if ctx.base.kind == "encoder":
        texts, _ = data.unlabelled_sentences(ctx.opts.distill_text_path)
        step = max(1, len(texts) // ctx.opts.selective_calibration)
        batch = tok(texts[::step][: ctx.opts.selective_calibration], padding=True, truncation=True,
                    max_length=128, return_tensors="pt")

        def run(model: Any) -> torch.Tensor:
            h = model(**batch).last_hidden_state
            m = batch["attention_mask"].unsqueeze(-1).to(h.dtype)
            return (h * m).sum(1) / m.sum(1)

        return run
    text, _ = data.lm_text(ctx.opts.lm_text_path)
    ids = tok(text[:20000], add_special_tokens=False, return_tensors="pt")["input_ids"][0]
    n = min(64, context_length(ctx.base.model) or 64)
    x = ids[: 4 * n].reshape(4, n) if len(ids) >= 4 * n else ids[None, :n]

    def run_lm(model: Any) -> torch.Tensor:
        return model(input_ids=x, use_cache=False).logits.reshape(-1, model.config.vocab_size)

    return run_lm


def _ort(mode: str) -> Runtime:
    def apply(model: Any, ctx: BuildContext, folder: Path, manifest: list[dict[str, Any]]) -> Any:
        from wattwise.reduce import onnx_export, quantize

        o = ctx.opts
        folder.mkdir(parents=True, exist_ok=True)
        raw, final = folder / "model.fp32.onnx", folder / "model.onnx"
        manifest.append(onnx_export.export(model, ctx.base.tokenizer, ctx.base.kind, raw))
        if mode == "fused":
            manifest.append(onnx_export.optimize(raw, final, model))
        elif mode in ("int8", "int8-selective"):
            keep: list[str] = []
            if mode == "int8-selective":
                with ctx.progress.task("rank layer sensitivity", 1) as t:
                    scores = quantize.sensitivity(model, _calibration_fn(ctx))
                    t(1)
                keep = quantize.most_sensitive(scores, o.selective_keep)
                manifest.append({
                    "technique": "sensitivity",
                    "measure": "1 - cosine to fp32 outputs, int8 simulated in one layer at a time, unlabelled inputs",
                    "calibration_inputs": o.selective_calibration,
                    "top": {k: round(scores[k], 6) for k in keep},
                })
            manifest.append(onnx_export.quantize_int8(raw, final, per_channel=o.per_channel, keep_fp32=keep))
        else:
            raw.rename(final)
        if raw.exists():
            raw.unlink()
        ctx.base.tokenizer.save_pretrained(folder)
        runner = onnx_export.OrtEncoder if ctx.base.kind == "encoder" else onnx_export.OrtCausalLM
        return runner(final, threads=ctx.threads)

    return apply


# ------------------------------------------------------------------------------------------------ registry

register(Step("distill", 0, "student with fewer layers trained on the teacher's outputs (unlabelled text)",
              _distill(slim=False)))
register(Step("distill-slim", 0, "distill, with heads and FFN neurons removed from the student before its training",
              _distill(slim=True)))
register(Step("prune-layer", 1, "unstructured magnitude pruning, per layer (permanent)", _prune("layer")))
register(Step("prune-global", 1, "unstructured magnitude pruning, global threshold (permanent)", _prune("global")))
register(Step("prune-2:4", 1, "2:4 semi-structured pruning (accelerated only with a CUDA sparse kernel)",
              _prune("2:4")))
register(Step("prune-structured", 1, "remove attention heads and FFN neurons (smaller matrices)",
              _prune("structured")))
register(Step("fp16", 2, "weights and compute in float16", _half("fp16")))
register(Step("bf16", 2, "weights and compute in bfloat16", _half("bf16")))
register(Step("torchao-int8-dynamic", 2, "torchao int8 activations + int8 weights (Linear)", _torchao("int8-dynamic")))
register(Step("torchao-int8-weight", 2, "torchao weight-only int8 (Linear)", _torchao("int8-weight")))
register(Step("torchao-int4-weight", 2, "torchao weight-only int4, groups of 32 (Linear)", _torchao("int4-weight")))
register(Step("torch-int8-legacy", 2, "torch.ao.quantization.quantize_dynamic (deprecated; comparison only)",
              _legacy))
register(Step("compile", 3, "torch.compile (graph capture + Inductor fusion)", runtime=_compile))
register(Step("onnx", 3, "ONNX export, ONNX Runtime fp32", runtime=_ort("fp32"), onnx=True))
register(Step("ort-fused", 3, "ONNX Runtime transformer graph optimisation (attention/LayerNorm/GELU fusion), fp32",
              runtime=_ort("fused"), onnx=True))
register(Step("ort-int8", 3, "ONNX Runtime dynamic int8, per-channel weights", runtime=_ort("int8"), onnx=True))
register(Step("ort-int8-selective", 3, "ONNX Runtime dynamic int8 keeping the most sensitive layers in fp32",
              runtime=_ort("int8-selective"), onnx=True))
