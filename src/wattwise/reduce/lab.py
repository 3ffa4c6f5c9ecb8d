"""The compression lab: build every requested variant from a model, evaluate each on the same data, write
the variants with a manifest, and recommend the cheapest one within a quality tolerance.

A variant is a chain of steps joined by ``+`` (``distill+prune-structured+ort-int8``); ``fp32`` is the model
as given. Steps run in stage order: shape (distill, prune-*) -> precision (fp16, bf16, torchao-*,
torch-int8-legacy) -> runtime (compile, onnx, ort-fused, ort-int8, ort-int8-selective). A step that fails is
reported in its row and the other variants go on; an impossible chain is rejected before any work starts.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import platform
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from wattwise.errors import WattwiseError, unknown

# step -> (stage, description)
STEPS: dict[str, tuple[int, str]] = {
    "distill": (0, "student with fewer layers trained on the teacher's outputs (unlabelled text)"),
    "prune-layer": (1, "unstructured magnitude pruning, per layer (permanent)"),
    "prune-global": (1, "unstructured magnitude pruning, global threshold (permanent)"),
    "prune-2:4": (1, "2:4 semi-structured pruning (accelerated only with a CUDA sparse kernel)"),
    "prune-structured": (1, "remove attention heads and FFN neurons (smaller matrices)"),
    "fp16": (2, "weights and compute in float16"),
    "bf16": (2, "weights and compute in bfloat16"),
    "torchao-int8-dynamic": (2, "torchao int8 activations + int8 weights (Linear)"),
    "torchao-int8-weight": (2, "torchao weight-only int8 (Linear)"),
    "torchao-int4-weight": (2, "torchao weight-only int4, groups of 32 (Linear)"),
    "torch-int8-legacy": (2, "torch.ao.quantization.quantize_dynamic (deprecated; comparison only)"),
    "compile": (3, "torch.compile (graph capture + Inductor fusion)"),
    "onnx": (3, "ONNX export, ONNX Runtime fp32"),
    "ort-fused": (3, "ONNX Runtime transformer graph optimisation (attention/LayerNorm/GELU fusion), fp32"),
    "ort-int8": (3, "ONNX Runtime dynamic int8, per-channel weights"),
    "ort-int8-selective": (3, "ONNX Runtime dynamic int8 keeping the most sensitive layers in fp32"),
}
ONNX_STEPS = {"onnx", "ort-fused", "ort-int8", "ort-int8-selective"}

ENCODER_ALL = [
    "fp32",
    "bf16",
    "torch-int8-legacy",
    "torchao-int8-dynamic",
    "torchao-int8-weight",
    "torchao-int4-weight",
    "prune-layer",
    "prune-global",
    "prune-2:4",
    "prune-structured",
    "compile",
    "ort-fused",
    "ort-int8",
    "ort-int8-selective",
    "distill",
    "distill+ort-int8",
    "distill+prune-structured+ort-int8",
]
#: default: the variants that finish in minutes on a laptop CPU (distillation and eager torchao take longer)
ENCODER_DEFAULT = [
    "fp32",
    "bf16",
    "torch-int8-legacy",
    "prune-layer",
    "prune-structured",
    "ort-fused",
    "ort-int8",
    "ort-int8-selective",
]
LM_DEFAULT = ["fp32", "bf16", "prune-structured", "ort-fused", "ort-int8", "distill"]
QUICK = ["fp32", "bf16", "ort-fused", "ort-int8", "ort-int8-selective"]


@dataclass
class LabOptions:
    """Parameters of every technique (recorded in the manifest)."""

    prune_amount: float = 0.3
    structured_heads: float = 0.25
    structured_ffn: float = 0.25
    distill_layers: int | None = None  # None: one layer fewer than the teacher
    distill_epochs: int = 1
    distill_lr: float = 1e-4
    distill_texts: int | None = None
    distill_text_path: str | None = None
    lm_distill_steps: int = 60
    selective_keep: int = 6
    selective_calibration: int = 32
    per_channel: bool = True
    max_quality_drop: float = 0.5
    intensity_g_per_kwh: float | None = None
    location: str | None = None
    eval_pairs: int | None = None
    eval_data: str | None = None
    lm_text_path: str | None = None
    batch_size: int = 64
    repeats: int = 1
    latency_samples: int = 24
    save_variants: bool = True
    seed: int = 0


@dataclass
class VariantResult:
    name: str
    steps: list[str]
    ok: bool
    error: str | None = None
    quality: float | None = None
    quality_drop: float | None = None
    params: int | None = None
    nonzero_params: int | None = None
    size_bytes: int | None = None
    latency_ms_p50: float | None = None
    latency_ms_p95: float | None = None
    throughput_per_s: float | None = None
    energy_j_per_1k: float | None = None
    energy_vs_fp32: float | None = None
    co2_g_per_1k: float | None = None
    energy_method: str | None = None
    energy_source: str | None = None
    seconds: float | None = None
    cpu_seconds: float | None = None
    build_s: float | None = None
    uses_labels: bool = False
    pareto: bool = False
    path: str | None = None
    manifest: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class LabResult:
    model: str
    kind: str
    metric: str
    unit: str
    variants: list[VariantResult]
    recommended: str | None
    max_quality_drop: float
    intensity: dict[str, Any]
    out_dir: str | None
    environment: dict[str, Any]
    data: dict[str, Any]
    options: dict[str, Any]
    input_unchanged: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["variants"] = [asdict(v) for v in self.variants]
        return d

    def variant(self, name: str) -> VariantResult:
        for v in self.variants:
            if v.name == name:
                return v
        raise KeyError(name)


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
    stages = [STEPS[s][0] for s in steps]
    if stages != sorted(stages):
        raise WattwiseError(
            f"variant {spec!r}: steps out of order",
            "order: distill, then prune-*, then fp16/bf16/torchao-*, then compile/onnx/ort-*",
        )
    for st in (1, 2, 3):
        if stages.count(st) > 1:
            names = [s for s in steps if STEPS[s][0] == st]
            raise WattwiseError(
                f"variant {spec!r} combines {' and '.join(names)}, which cannot be chained",
                "use one pruning, one precision and one runtime step per variant",
            )
    if any(s in ONNX_STEPS for s in steps) and any(STEPS[s][0] == 2 for s in steps):
        prec = next(s for s in steps if STEPS[s][0] == 2)
        raise WattwiseError(
            f"variant {spec!r}: {prec} cannot be exported to ONNX",
            "export the float model and quantize in ONNX Runtime (ort-int8)",
        )
    if "compile" in steps and "torch-int8-legacy" in steps:
        raise WattwiseError(
            f"variant {spec!r}: torch.compile does not support the deprecated quantized modules"
        )
    return steps


def slug(name: str) -> str:
    return name.replace("+", "__").replace(":", "-").replace("/", "-")


# ------------------------------------------------------------------------------------------------ helpers


def _fingerprint(path: str) -> str | None:
    p = Path(path)
    if p.is_file():  # a single-file checkpoint (tiny GPT ckpt.pt)
        st = p.stat()
        return f"{p.name}:{st.st_size}:{st.st_mtime_ns}"
    if not p.is_dir():
        return None
    h = hashlib.sha256()
    for f in sorted(p.rglob("*")):
        if f.is_file():
            st = f.stat()
            h.update(f"{f.relative_to(p)}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()


def _prepare_out(out_dir: Path, source: str) -> None:
    out = out_dir.resolve()
    src = Path(source).resolve() if Path(source).exists() else None
    if src is not None and src.is_file():
        src = src.parent  # a checkpoint file: keep variants out of its folder too
    if src is not None and (out == src or src in out.parents):
        raise WattwiseError(
            f"output directory {out_dir} is inside the input model folder {source}",
            "choose another --out: the input model is never written to",
        )
    if out.exists() and any(out.iterdir()) and not (out / "manifest.json").exists():
        raise WattwiseError(
            f"output directory {out_dir} exists and is not a wattwise reduce folder",
            "give an empty or new folder with --out",
        )
    out.mkdir(parents=True, exist_ok=True)


def weights_size(folder: Path) -> int:
    exts = (".safetensors", ".bin", ".pt", ".onnx", ".data")
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file() and f.name.endswith(exts))


def _save_torch(model: Any, tokenizer: Any, folder: Path) -> str:
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(folder)
    try:
        model.save_pretrained(folder)
        return "save_pretrained (safetensors)"
    except Exception:  # tensor subclasses (torchao, torch.ao quantized) do not go to safetensors
        for f in folder.glob("*.safetensors"):
            f.unlink()
        if hasattr(model, "config"):
            model.config.save_pretrained(folder)
        torch.save(model.state_dict(), folder / "model.pt")
        return "torch.save(state_dict) -> model.pt (load with torch.load(weights_only=False))"


def resolve_intensity(opts: LabOptions) -> dict[str, Any]:
    """Carbon intensity for CO2 per 1,000 inputs: explicit value, a location (embedded grid data), else the
    world average (:func:`wattwise.estimate.location.resolve`)."""
    from wattwise.estimate.location import resolve

    it, _, _ = resolve(opts.location, opts.intensity_g_per_kwh)
    return {"g_per_kwh": it.g_per_kwh, "source": it.source, "location": opts.location}


def environment() -> dict[str, Any]:
    import torch

    flags: list[str] = []
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                have = set(line.split(":", 1)[1].split())
                flags = sorted(
                    f
                    for f in (
                        "avx2",
                        "avx512f",
                        "avx512_vnni",
                        "avx512_bf16",
                        "amx_bf16",
                        "amx_int8",
                        "avx_vnni",
                    )
                    if f in have
                )
                break
    except OSError:
        pass
    from wattwise.sensors.cpu_model import cpu_model_name

    try:
        import onnxruntime

        ort_v = onnxruntime.__version__
    except ImportError:
        ort_v = None
    return {
        "cpu": cpu_model_name(),
        "cpu_flags": flags,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "onnxruntime": ort_v,
        "python": platform.python_version(),
    }


class _Progress:
    """Rich progress bars when enabled, silent otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._p: Any = None

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._p = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                transient=False,
            )
            self._p.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._p is not None:
            self._p.__exit__(*exc)

    @contextlib.contextmanager
    def task(self, description: str, total: int) -> Iterator[Callable[[int], None]]:
        if self._p is None:
            yield lambda n: None
            return
        tid = self._p.add_task(description, total=total)
        try:
            yield lambda n: self._p.advance(tid, n)
        finally:
            self._p.remove_task(tid)


# ------------------------------------------------------------------------------------------------ building


@dataclass
class _Built:
    fn: Any
    params: int
    nonzero: int
    folder: Path | None
    manifest: list[dict[str, Any]]


class _Context:
    def __init__(self, base: Any, opts: LabOptions, work: Path, progress: _Progress) -> None:
        self.base = base
        self.opts = opts
        self.work = work
        self.progress = progress
        self.students: dict[tuple, tuple[Any, dict[str, Any]]] = {}
        self.teacher_cache: dict = {}
        self.calib: list[str] | None = None


def _distill(ctx: _Context) -> tuple[Any, dict[str, Any]]:
    from wattwise.reduce import data, distill

    o = ctx.opts
    from wattwise.reduce.prune import _blocks

    n_layers = o.distill_layers or max(1, len(_blocks(ctx.base.model)[1]) - 1)
    key = (n_layers, o.distill_epochs, o.distill_lr, o.distill_texts, o.distill_text_path)
    if key in ctx.students:
        import copy

        student, info = ctx.students[key]
        return copy.deepcopy(student), dict(info, reused=True)
    if ctx.base.kind == "encoder":
        texts, src = data.unlabelled_sentences(o.distill_text_path, o.distill_texts)
        with ctx.progress.task(f"distil {n_layers}-layer student", o.distill_epochs * len(texts)) as t:
            student, info = distill.distill_encoder(
                ctx.base,
                texts,
                layers=n_layers,
                epochs=o.distill_epochs,
                lr=o.distill_lr,
                seed=o.seed,
                tick=t,
                teacher_cache=ctx.teacher_cache,
            )
    else:
        text, src = data.lm_text(o.lm_text_path)
        train, _ = data.split_text(text)
        with ctx.progress.task("distil student LM", o.lm_distill_steps) as t:
            student, info = distill.distill_lm(
                ctx.base,
                train[:200_000],
                layers=n_layers,
                steps=o.lm_distill_steps,
                seed=o.seed,
                tick=t,
            )
    info["text_source"] = src
    ctx.students[key] = (student, info)
    import copy

    return copy.deepcopy(student), info


def _calibration_fn(ctx: _Context) -> Callable[[Any], Any]:
    """Outputs of a model on a fixed batch of unlabelled inputs (for the sensitivity ranking)."""
    import torch

    from wattwise.reduce import data

    tok = ctx.base.tokenizer
    if ctx.base.kind == "encoder":
        texts, _ = data.unlabelled_sentences(ctx.opts.distill_text_path)
        step = max(1, len(texts) // ctx.opts.selective_calibration)
        batch = tok(
            texts[::step][: ctx.opts.selective_calibration],
            padding=True,
            truncation=True,
            max_length=128,
            return_tensors="pt",
        )

        def run(model: Any) -> torch.Tensor:
            h = model(**batch).last_hidden_state
            m = batch["attention_mask"].unsqueeze(-1).to(h.dtype)
            return (h * m).sum(1) / m.sum(1)

        return run
    text, _ = data.lm_text(ctx.opts.lm_text_path)
    ids = tok(text[:20000], add_special_tokens=False, return_tensors="pt")["input_ids"][0]
    from wattwise.reduce.models import context_length

    n = min(64, context_length(ctx.base.model) or 64)
    x = ids[: 4 * n].reshape(4, n) if len(ids) >= 4 * n else ids[None, :n]

    def run_lm(model: Any) -> torch.Tensor:
        return model(input_ids=x, use_cache=False).logits.reshape(-1, model.config.vocab_size)

    return run_lm


def _build(name: str, steps: list[str], ctx: _Context) -> _Built:
    import torch

    from wattwise.reduce import evaluate, onnx_export, prune, quantize
    from wattwise.reduce.models import count_params

    o = ctx.opts
    kind = ctx.base.kind
    folder = ctx.work / slug(name)
    manifest: list[dict[str, Any]] = []
    if steps and steps[0] == "distill":
        model, info = _distill(ctx)
        manifest.append(info)
        steps = steps[1:]
    else:
        model = ctx.base.clone().model
    runtime = None
    for step in steps:
        if step == "prune-layer":
            manifest.append(prune.magnitude(model, o.prune_amount, "layer"))
        elif step == "prune-global":
            manifest.append(prune.magnitude(model, o.prune_amount, "global"))
        elif step == "prune-2:4":
            manifest.append(prune.semi_structured_24(model))
        elif step == "prune-structured":
            manifest.append(prune.structured(model, o.structured_heads, o.structured_ffn))
        elif step in ("fp16", "bf16"):
            manifest.append(quantize.half(model, step))
        elif step.startswith("torchao-"):
            manifest.append(quantize.torchao(model, step.removeprefix("torchao-")))
        elif step == "torch-int8-legacy":
            manifest.append(quantize.legacy_dynamic_int8(model))
        else:
            runtime = step
    params = count_params(model)
    nonzero = count_params(model, nonzero=True)
    saved = None
    if runtime in ONNX_STEPS:
        folder.mkdir(parents=True, exist_ok=True)
        raw = folder / "model.fp32.onnx"
        manifest.append(onnx_export.export(model, ctx.base.tokenizer, kind, raw))
        final = raw
        if runtime == "ort-fused":
            final = folder / "model.onnx"
            manifest.append(onnx_export.optimize(raw, final, model))
        elif runtime in ("ort-int8", "ort-int8-selective"):
            keep: list[str] = []
            if runtime == "ort-int8-selective":
                with ctx.progress.task("rank layer sensitivity", 1) as t:
                    scores = quantize.sensitivity(model, _calibration_fn(ctx))
                    t(1)
                keep = quantize.most_sensitive(scores, o.selective_keep)
                manifest.append(
                    {
                        "technique": "sensitivity",
                        "measure": "1 - cosine to fp32 outputs, "
                        "int8 simulated in one layer at a time, unlabelled inputs",
                        "calibration_inputs": o.selective_calibration,
                        "top": {k: round(scores[k], 6) for k in keep},
                    }
                )
            final = folder / "model.onnx"
            manifest.append(onnx_export.quantize_int8(raw, final, per_channel=o.per_channel, keep_fp32=keep))
        else:
            final = folder / "model.onnx"
            raw.rename(final)
        if final != raw and raw.exists():
            raw.unlink()
        ctx.base.tokenizer.save_pretrained(folder)
        runner = onnx_export.OrtEncoder(final) if kind == "encoder" else onnx_export.OrtCausalLM(final)
        fn = runner
        saved = folder
    else:
        target = model
        if runtime == "compile":
            target = torch.compile(model, dynamic=True)
            manifest.append({"technique": "torch.compile", "dynamic": True, "backend": "inductor"})
        fn = evaluate.torch_encoder_fn(target) if kind == "encoder" else evaluate.torch_lm_fn(target)
        if o.save_variants:
            how = _save_torch(model, ctx.base.tokenizer, folder)
            manifest.append({"saved": how})
            saved = folder
    return _Built(fn, params, nonzero, saved, manifest)


# ------------------------------------------------------------------------------------------------ running


def run_lab(
    model: str | Any,
    variants: list[str] | None = None,
    out_dir: str | Path | None = None,
    options: LabOptions | None = None,
    kind: str | None = None,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
) -> LabResult:
    """Build and evaluate ``variants`` of ``model`` (a folder, ``all-MiniLM-L6-v2``, or a LoadedModel)."""
    import tempfile

    import torch

    from wattwise.reduce import data, evaluate
    from wattwise.reduce.models import LoadedModel, context_length, load

    opts = options or LabOptions()
    if opts.max_quality_drop < 0:
        raise WattwiseError("--max-quality-drop must be >= 0")
    for spec in variants or []:
        parse_variant(spec)  # reject bad chains before loading anything
    base = model if isinstance(model, LoadedModel) else load(str(model), kind)
    names = list(variants) if variants else (ENCODER_DEFAULT if base.kind == "encoder" else LM_DEFAULT)
    names = list(dict.fromkeys(n.strip() for n in names if n.strip()))
    parsed = {n: parse_variant(n) for n in names}  # all errors before any work
    base_names = [n for n, s in parsed.items() if not s]
    if not base_names:
        names.insert(0, "fp32")
        parsed = {"fp32": [], **parsed}
    else:
        names.remove(base_names[0])
        names.insert(0, base_names[0])
    intensity = resolve_intensity(opts)
    before = _fingerprint(base.source)
    tmp = None
    if out_dir is not None:
        work = Path(out_dir)
        _prepare_out(work, base.source)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="wattwise-reduce-")
        work = Path(tmp.name)
    settings = evaluate.EvalSettings(
        batch_size=opts.batch_size, repeats=opts.repeats, latency_samples=opts.latency_samples
    )
    settings.lm_seq_len = min(settings.lm_seq_len, context_length(base.model) or settings.lm_seq_len)
    if base.kind == "encoder":
        pairs = data.load_stsb("dev", opts.eval_data, opts.eval_pairs)
        data_info = {
            "eval": pairs.source,
            "pairs": len(pairs),
            "sentences": len(pairs.sentences()),
            "labels_used_for_training": False,
        }
        n_units = len(pairs.sentences())
    else:
        text, src = data.lm_text(opts.lm_text_path)
        _, held = data.split_text(text)
        ids, _ = evaluate.lm_batches(base.tokenizer, held, settings)
        data_info = {"eval": f"{src} (last 10%, held out)", "tokens": int(ids.size)}
        n_units = len(ids)
    results: list[VariantResult] = []
    ctx = _Context(base, opts, work, _Progress(progress))
    say = log or (lambda s: None)
    try:
        with ctx.progress as prog, prog.task("variants", len(names)) as advance_variants:
            for name in names:
                steps = parsed[name]
                say(f"{name}: building")
                t0 = time.perf_counter()
                row = VariantResult(name, steps, ok=False)
                try:
                    built = _build(name, steps, ctx)
                    row.build_s = round(time.perf_counter() - t0, 2)
                    with prog.task(f"evaluate {name}", n_units * opts.repeats) as tick:
                        if base.kind == "encoder":
                            m = evaluate.evaluate_encoder(built.fn, base.tokenizer, pairs, settings, tick)
                        else:
                            m = evaluate.evaluate_lm(built.fn, base.tokenizer, held, settings, tick)
                    row.ok = True
                    row.quality = m["quality"]
                    for k in (
                        "latency_ms_p50",
                        "latency_ms_p95",
                        "throughput_per_s",
                        "energy_j_per_1k",
                        "energy_method",
                        "energy_source",
                        "seconds",
                        "cpu_seconds",
                    ):
                        setattr(row, k, m[k])
                    row.params, row.nonzero_params = built.params, built.nonzero
                    if built.folder is not None and built.folder.exists():
                        row.size_bytes = weights_size(built.folder)
                        row.path = str(built.folder)
                    row.manifest = built.manifest
                    del built
                except WattwiseError as exc:
                    row.error = str(exc)
                except Exception as exc:  # a failing technique is a row, not a crash
                    row.error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"
                    row.manifest.append({"traceback": traceback.format_exc(limit=3)})
                say(f"{name}: {'ok' if row.ok else 'failed: ' + str(row.error)}")
                results.append(row)
                advance_variants(1)
                if row.path and out_dir is not None:
                    (Path(row.path) / "manifest.json").write_text(
                        json.dumps(
                            {"variant": name, "steps": row.manifest, "source_model": base.source},
                            indent=2,
                            default=str,
                        )
                    )
    finally:
        torch.set_grad_enabled(True)
    _finish(results, base.kind, opts, intensity)
    after = _fingerprint(base.source)
    lab = LabResult(
        model=base.source if base.name != "all-MiniLM-L6-v2" else "all-MiniLM-L6-v2 (bundled)",
        kind=base.kind,
        metric="spearman_x100" if base.kind == "encoder" else "perplexity",
        unit="sentences" if base.kind == "encoder" else "tokens",
        variants=results,
        recommended=recommend(results, opts.max_quality_drop),
        max_quality_drop=opts.max_quality_drop,
        intensity=intensity,
        out_dir=str(work) if out_dir is not None else None,
        environment=environment(),
        data=data_info,
        options=asdict(opts),
        input_unchanged=(before == after) if before is not None else None,
    )
    if out_dir is not None:
        write_outputs(lab, work)
    if tmp is not None:
        tmp.cleanup()
    return lab


def _finish(rows: list[VariantResult], kind: str, opts: LabOptions, intensity: dict[str, Any]) -> None:
    """Quality drop and energy against the fp32 row, CO2 per 1,000 inputs, Pareto flags."""
    base = rows[0] if rows and rows[0].ok else None
    for r in rows:
        if not r.ok:
            continue
        if base is not None and r.quality is not None and base.quality is not None:
            if kind == "encoder":
                r.quality_drop = base.quality - r.quality
            else:  # perplexity: drop = relative increase in percent
                r.quality_drop = (r.quality / base.quality - 1) * 100
        if base is not None and base.energy_j_per_1k:
            r.energy_vs_fp32 = r.energy_j_per_1k / base.energy_j_per_1k
        r.co2_g_per_1k = r.energy_j_per_1k / 3.6e6 * intensity["g_per_kwh"]
    ok = [r for r in rows if r.ok and r.quality_drop is not None]
    for r in ok:
        r.pareto = not any(
            o is not r
            and o.quality_drop <= r.quality_drop
            and o.energy_j_per_1k <= r.energy_j_per_1k
            and (o.quality_drop < r.quality_drop or o.energy_j_per_1k < r.energy_j_per_1k)
            for o in ok
        )


def recommend(rows: list[VariantResult], max_drop: float) -> str | None:
    """The variant with the least energy per 1,000 inputs whose quality drop is within ``max_drop``."""
    ok = [
        r
        for r in rows
        if r.ok and r.quality_drop is not None and r.quality_drop <= max_drop and not r.uses_labels
    ]
    return min(ok, key=lambda r: r.energy_j_per_1k).name if ok else None


def write_outputs(lab: LabResult, folder: Path) -> None:
    """results.json, manifest.json and the Pareto plot (PNG + HTML) in ``folder``."""
    from wattwise.reduce import pareto

    folder.mkdir(parents=True, exist_ok=True)
    d = lab.to_dict()
    (folder / "results.json").write_text(json.dumps(d, indent=2, default=str))
    manifest = {
        "tool": "wattwise reduce",
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "source_model": lab.model,
        "input_unchanged": lab.input_unchanged,
        "options": d["options"],
        "variants": {
            v.name: {"steps": v.steps, "ok": v.ok, "error": v.error, "path": v.path, "manifest": v.manifest}
            for v in lab.variants
        },
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
    with contextlib.suppress(ImportError):
        pareto.plot(lab, folder / "pareto.png", folder / "pareto.html")
