"""The compression lab: build every requested variant from a model, measure them all in paired, interleaved
rounds on the same data, write the variants with a manifest, and recommend the cheapest one within a quality
tolerance whose energy interval clears the fp32 baseline.

The techniques are the registry in :mod:`wattwise.reduce.steps`; the measurement is
:func:`wattwise.reduce.rounds.interleave`. A step that fails is reported in its row and the other variants go
on; an impossible chain is rejected before any work starts.
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

from wattwise import validate
from wattwise.errors import WattwiseError
from wattwise.reduce.steps import STEPS, BuildContext, parse_variant, slug, torch_runtime, uses_labels

__all__ = ["STEPS", "LabOptions", "LabResult", "VariantResult", "parse_variant", "recommend", "run_lab", "slug"]

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
    "distill-slim",
    "distill-slim+ort-int8",
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
    """Parameters of every technique and of the measurement (recorded in the manifest).

    These defaults are the one set used by ``wattwise reduce``, the Python API and ``bench/compression.py``:
    the CLI's options and the bench's arguments take their defaults from here.
    """

    prune_amount: float = 0.3
    structured_heads: float = 0.25
    structured_ffn: float = 0.25
    #: student layers; None: two thirds of the teacher's, rounded (4 of all-MiniLM-L6-v2's 6)
    distill_layers: int | None = None
    distill_epochs: int = 2
    #: encoders: epochs, augmented copies and similarity-loss weight of a distill-slim student (narrowed before
    #: training, it starts further from the teacher). Chosen on 1,000 held-out STS-B train pairs, never on dev
    #: (bench/results/distill-heldout.json): 4 epochs 79.62, + similarity loss 79.75, 3 epochs on text with one
    #: edited copy per sentence + similarity loss 79.86, with two edited copies 80.00 (teacher 80.59)
    slim_epochs: int = 3
    slim_augment: int = 2
    slim_sim_weight: float = 10.0
    #: encoders: last epochs of a distill-slim student trained with int8 rounding simulated in every Linear
    #: (quantization-aware, for ``distill-slim+ort-int8``). Held out (bench/results/int8-heldout*.json): after
    #: ort-int8, 0 epochs 79.84, the last 1 79.82, all 3 79.91 (its fp32 torch student 79.93 instead of 80.00)
    slim_int8_aware: int = 3
    distill_lr: float = 2e-4
    #: encoders: weight of the token-state loss (each student block against the teacher layer it started from)
    distill_hidden_weight: float = 1.0
    #: encoders: weight of the loss on the batch's sentence-to-sentence cosine similarities (STS reads those)
    distill_sim_weight: float = 0.0
    #: encoders: edited copies of every distillation sentence (word dropout, swap, span crop), teacher-labelled
    distill_augment: int = 0
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
    #: paired measurement rounds (fp32, A, B, fp32, A, B, ...); 6 is the fewest that give a 95 % interval
    rounds: int = 10
    #: threads of every pool (torch, ONNX Runtime, BLAS/OpenMP); 1 cannot oversubscribe; 0: all CPUs
    threads: int = 1
    save_variants: bool = True
    seed: int = 0

    def student_layers(self, teacher_layers: int) -> int:
        if self.distill_layers:
            return self.distill_layers
        return max(1, min(teacher_layers - 1, round(teacher_layers * 2 / 3)))


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
    #: wall time of one batch (``batch_size`` inputs) in the timed passes, median and 95th percentile
    latency_ms_p50: float | None = None
    latency_ms_p95: float | None = None
    throughput_per_s: float | None = None
    energy_j_per_1k: float | None = None
    #: median of the per-round ratios to fp32's energy, with its order-statistic interval
    energy_vs_fp32: float | None = None
    energy_vs_fp32_low: float | None = None
    energy_vs_fp32_high: float | None = None
    time_vs_fp32: float | None = None
    time_vs_fp32_low: float | None = None
    time_vs_fp32_high: float | None = None
    interval_level: float | None = None
    rounds: int | None = None
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
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["variants"] = [asdict(v) for v in self.variants]
        return d

    def variant(self, name: str) -> VariantResult:
        for v in self.variants:
            if v.name == name:
                return v
        raise KeyError(name)


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
        "interop_threads": torch.get_num_interop_threads(),
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


def intensity_context(opts: LabOptions) -> dict[str, Any]:
    """The carbon intensity and PUE the lab's CO2 uses: the one context resolution (argument > environment >
    config file > default) turned into a footprint exactly as a run there would be, so ``reduce`` and ``show``
    agree on the same energy (PUE included)."""
    from wattwise.accounting import footprint_from_samples
    from wattwise.context import resolve_context

    ctx = resolve_context(opts.location, opts.intensity_g_per_kwh)
    fp = footprint_from_samples([], location=ctx.location, g_per_kwh=ctx.intensity, pue=ctx.pue, scope=ctx.scope)
    return {"g_per_kwh": fp.intensity.g_per_kwh, "source": fp.intensity.source, "location": ctx.location,
            "pue": fp.pue, "pue_source": fp.pue_source}


def co2_g_per_1k(energy_j_per_1k: float, intensity: dict[str, Any]) -> float:
    """Grams CO2e per 1,000 inputs, through the one footprint arithmetic."""
    from wattwise.footprint import carbon_kg

    return carbon_kg(energy_j_per_1k / 3.6e6, intensity["g_per_kwh"], intensity.get("pue", 1.0)) * 1000


# ------------------------------------------------------------------------------------------------ building


@dataclass
class _Built:
    fn: Any
    params: int
    nonzero: int
    folder: Path | None
    manifest: list[dict[str, Any]]


def _build(name: str, steps: list[str], ctx: BuildContext) -> _Built:
    """Apply the variant's steps in order (model steps, then at most one runtime step) and save it."""
    from wattwise.reduce.models import count_params

    folder = ctx.work / slug(name)
    manifest: list[dict[str, Any]] = []
    model = None if steps and STEPS[steps[0]].stage == 0 else ctx.base.clone().model
    runtime: Callable[[Any, BuildContext, Path, list[dict[str, Any]]], Any] = torch_runtime
    for step in steps:
        st = STEPS[step]
        if st.transform is not None:
            model, info = st.transform(model, ctx)
            manifest.append(info)
        elif st.runtime is not None:
            runtime = st.runtime
    params, nonzero = count_params(model), count_params(model, nonzero=True)
    fn = runtime(model, ctx, folder, manifest)
    saved = folder if folder.exists() and any(STEPS[s].onnx for s in steps) else None
    if saved is None and ctx.opts.save_variants:
        manifest.append({"saved": _save_torch(model, ctx.base.tokenizer, folder)})
        saved = folder
    return _Built(fn, params, nonzero, saved, manifest)


# ------------------------------------------------------------------------------------------------ running


def _order(names: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    names = list(dict.fromkeys(n.strip() for n in names if n.strip()))
    parsed = {n: parse_variant(n) for n in names}  # all errors before any work
    base_names = [n for n, s in parsed.items() if not s]
    if not base_names:
        return ["fp32", *names], {"fp32": [], **parsed}
    names.remove(base_names[0])
    return [base_names[0], *names], parsed


def _error(exc: Exception) -> str:
    from wattwise.reduce.rounds import error_line

    return str(exc) if isinstance(exc, WattwiseError) else error_line(exc)


_DISTILL_QUANTITIES = {
    "distill_hidden_weight": validate.LOSS_WEIGHT,
    "distill_sim_weight": validate.LOSS_WEIGHT,
    "slim_sim_weight": validate.LOSS_WEIGHT,
    "distill_augment": validate.AUGMENT_COPIES,
    "slim_augment": validate.AUGMENT_COPIES,
    "slim_int8_aware": validate.EPOCHS,
}


def check_distill_options(opts: LabOptions) -> None:
    """Loss weights and augmentation copies of the students, named as the CLI options that set them (no torch)."""
    for name, quantity in _DISTILL_QUANTITIES.items():
        validate.number(getattr(opts, name), "--" + name.replace("_", "-"), quantity)


def _check_options(opts: LabOptions, variants: list[str] | None) -> int:
    """Reject bad options and variant chains before loading anything; the thread count to use."""
    from wattwise.reduce import threads

    if opts.max_quality_drop < 0:
        raise WattwiseError("--max-quality-drop must be >= 0")
    if opts.rounds < 1:
        raise WattwiseError("--rounds must be >= 1", "6 or more give a 95 % interval for each ratio")
    check_distill_options(opts)
    n_threads = threads.resolve(opts.threads)
    for spec in variants or []:
        parse_variant(spec)
    return n_threads


def _workload(base: Any, opts: LabOptions, settings: Any) -> tuple[Any, dict[str, Any]]:
    """The evaluation workload (STS-B pairs for encoders, held-out text for LMs) and what it is."""
    from wattwise.reduce import data, evaluate

    if base.kind == "encoder":
        pairs = data.load_stsb("dev", opts.eval_data, opts.eval_pairs)
        work = evaluate.encoder_workload(base.tokenizer, pairs, settings)
        info: dict[str, Any] = {"eval": pairs.source, "pairs": len(pairs), "sentences": len(pairs.sentences()),
                                "labels_used_for_training": False}
        return work, info
    text, src = data.lm_text(opts.lm_text_path)
    _, held = data.split_text(text)
    work = evaluate.lm_workload(base.tokenizer, held, settings)
    return work, {"eval": f"{src} (last 10%, held out)", "tokens": sum(work.sizes)}


def _build_row(name: str, steps: list[str], ctx: BuildContext, fns: dict[str, Any], built: dict[str, _Built],
               say: Callable[[str], None]) -> VariantResult:
    """Build one variant; a failing technique is a row with its error, not a crash."""
    say(f"{name}: building")
    row = VariantResult(name, steps, ok=False, uses_labels=uses_labels(steps))
    t0 = time.perf_counter()
    try:
        b = _build(name, steps, ctx)
        row.build_s = round(time.perf_counter() - t0, 2)
        fns[name], built[name] = b.fn, b
    except Exception as exc:
        row.error = _error(exc)
        if not isinstance(exc, WattwiseError):
            row.manifest.append({"traceback": traceback.format_exc(limit=3)})
        say(f"{name}: failed: {row.error}")
    return row


def _fill_row(row: VariantResult, b: _Built, rec: Any, base_rec: Any, work: Any) -> None:
    """A measured variant's figures and its paired ratios to fp32."""
    from wattwise.reduce import rounds

    row.params, row.nonzero_params, row.manifest = b.params, b.nonzero, b.manifest
    if b.folder is not None and b.folder.exists():
        row.size_bytes, row.path = weights_size(b.folder), str(b.folder)
    if rec.error:
        row.error = rec.error
        return
    row.ok = True
    row.quality = rounds.quality(rec, work)
    for k, v in rec.summary().items():
        if hasattr(row, k):
            setattr(row, k, v)
    if base_rec is not None and not base_rec.error:
        r = rounds.ratios(rec, base_rec)
        row.energy_vs_fp32, row.energy_vs_fp32_low, row.energy_vs_fp32_high = (
            r["energy"].median, r["energy"].low, r["energy"].high)
        row.time_vs_fp32, row.time_vs_fp32_low, row.time_vs_fp32_high = (
            r["time"].median, r["time"].low, r["time"].high)
        row.interval_level = r["energy"].level


def run_lab(
    model: str | Any,
    variants: list[str] | None = None,
    out_dir: str | Path | None = None,
    options: LabOptions | None = None,
    kind: str | None = None,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
) -> LabResult:
    """Build ``variants`` of ``model`` (a folder, ``all-MiniLM-L6-v2``, or a LoadedModel), then measure them
    in paired, interleaved rounds."""
    import tempfile

    from wattwise.reduce import evaluate, quiet, rounds, threads
    from wattwise.reduce.models import LoadedModel, context_length, load

    opts = options or LabOptions()
    n_threads = _check_options(opts, variants)  # before anything slow
    quiet.prepare_imports()
    thread_report = threads.configure(opts.threads)
    base = model if isinstance(model, LoadedModel) else load(str(model), kind)
    thread_report = threads.configure(opts.threads)  # again: loading imported more libraries with pools
    names, parsed = _order(list(variants) if variants else (ENCODER_DEFAULT if base.kind == "encoder" else LM_DEFAULT))
    intensity = intensity_context(opts)
    before = _fingerprint(base.source)
    tmp = None
    if out_dir is not None:
        work_dir = Path(out_dir)
        _prepare_out(work_dir, base.source)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="wattwise-reduce-")
        work_dir = Path(tmp.name)
    settings = evaluate.EvalSettings(batch_size=opts.batch_size)
    settings.lm_seq_len = min(settings.lm_seq_len, context_length(base.model) or settings.lm_seq_len)
    work, data_info = _workload(base, opts, settings)
    data_info.update({"batches": len(work.batches), "batch_size": opts.batch_size if base.kind == "encoder" else 8,
                      "rounds": opts.rounds, "chunks": max(1, min(opts.rounds, len(work.batches))),
                      "latency": "wall time of one batch in the timed passes"})
    say = log or (lambda s: None)
    rows: dict[str, VariantResult] = {}
    fns: dict[str, Any] = {}
    built_info: dict[str, _Built] = {}
    ctx = BuildContext(base, opts, work_dir, _Progress(progress), threads=n_threads)
    import torch

    try:
        with ctx.progress as prog:
            with prog.task("build variants", len(names)) as advance:
                for name in names:
                    rows[name] = _build_row(name, parsed[name], ctx, fns, built_info, say)
                    advance(1)
            warning = None
            if names[0] in fns:
                warning = threads.single_thread_check(lambda: work.run(fns[names[0]], work.batches[0]), n_threads)
            with prog.task("measure (interleaved rounds)", opts.rounds * len(fns)) as tick:
                measured = rounds.interleave(fns, work, opts.rounds, tick, say)
    finally:
        torch.set_grad_enabled(True)
    base_rec = measured.get(names[0])
    data_info["meter_tare_j"] = next((m.tare_j for m in measured.values()), None)
    for name, rec in measured.items():
        _fill_row(rows[name], built_info[name], rec, base_rec, work)
        ratio = rows[name].energy_vs_fp32
        say(f"{name}: {None if ratio is None else round(ratio, 3)} x fp32")
    results = [rows[n] for n in names]
    for row in results:
        if row.path and out_dir is not None:
            (Path(row.path) / "manifest.json").write_text(json.dumps(
                {"variant": row.name, "steps": row.manifest, "source_model": base.source}, indent=2, default=str))
    _finish(results, base.kind, intensity)
    after = _fingerprint(base.source)
    env = environment()
    env["thread_control"] = asdict(thread_report)
    lab = LabResult(
        model=base.source if base.name != "all-MiniLM-L6-v2" else "all-MiniLM-L6-v2 (bundled)",
        kind=base.kind,
        metric=work.metric,
        unit=work.unit,
        variants=results,
        recommended=recommend(results, opts.max_quality_drop),
        max_quality_drop=opts.max_quality_drop,
        intensity=intensity,
        out_dir=str(work_dir) if out_dir is not None else None,
        environment=env,
        data=data_info,
        options=asdict(opts),
        input_unchanged=(before == after) if before is not None else None,
        warnings=[w for w in [warning, *thread_report.notes] if w],
    )
    if out_dir is not None:
        write_outputs(lab, work_dir)
    if tmp is not None:
        tmp.cleanup()
    return lab


def _finish(rows: list[VariantResult], kind: str, intensity: dict[str, Any]) -> None:
    """Quality drop against the fp32 row, CO2 per 1,000 inputs, Pareto flags."""
    base = rows[0] if rows and rows[0].ok else None
    for r in rows:
        if not r.ok:
            continue
        if base is not None and r.quality is not None and base.quality is not None:
            if kind == "encoder":
                r.quality_drop = base.quality - r.quality
            else:  # perplexity: drop = relative increase in percent
                r.quality_drop = (r.quality / base.quality - 1) * 100
        if r.energy_j_per_1k is not None:
            r.co2_g_per_1k = co2_g_per_1k(r.energy_j_per_1k, intensity)
    ok = [(r, q, e) for r in rows
          if r.ok and (q := r.quality_drop) is not None and (e := r.energy_vs_fp32) is not None]
    for r, q, e in ok:
        r.pareto = not any(o is not r and oq <= q and oe <= e and (oq < q or oe < e) for o, oq, oe in ok)


def recommend(rows: list[VariantResult], max_drop: float) -> str | None:
    """The variant with the lowest median energy ratio among those within ``max_drop``, using no labels, whose
    whole 95 % interval of the energy ratio lies below fp32 (1.0); None ("no clear winner") if there is none."""
    from wattwise.reduce.stats import LEVEL

    ok = [
        r
        for r in rows
        if r.ok and r.steps and r.quality_drop is not None and r.quality_drop <= max_drop and not r.uses_labels
        and r.energy_vs_fp32_high is not None and r.energy_vs_fp32_high < 1.0
        and (r.interval_level or 0) >= LEVEL
    ]
    return min(ok, key=lambda r: r.energy_vs_fp32 or 0.0).name if ok else None


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
