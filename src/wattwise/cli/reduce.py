"""``wattwise reduce``: compression lab (prune, quantize, distil, fuse) with measured quality and energy;
``wattwise lm-profile``: energy per 1,000 generated tokens of a causal LM by batch, KV cache, precision.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from wattwise.cli.reduce_checks import check_lm_profile, check_reduce
from wattwise.console import make_console
from wattwise.errors import WattwiseError
from wattwise.reduce.lab import LabOptions

_D = LabOptions()  # the one set of defaults (bench/compression.py uses the same)


def _fmt(x: float | None, nd: int = 2) -> str:
    return "—" if x is None else f"{x:,.{nd}f}"


def _sig(x: float | None, digits: int = 3) -> str:
    """``x`` with ``digits`` significant digits (energies and masses span many orders of magnitude)."""
    return "—" if x is None else f"{x:,.{digits}g}" if abs(x) < 10 ** digits else f"{x:,.0f}"


def ratio_cell(v: Any) -> str:
    """``0.30 [0.28–0.33]``: median paired ratio to fp32 and its interval (the baseline row: 1)."""
    if v.energy_vs_fp32 is None:
        return "—"
    if not v.steps:
        return "1"
    if v.energy_vs_fp32_low is None:
        return _fmt(v.energy_vs_fp32)
    return f"{v.energy_vs_fp32:.2f} [{v.energy_vs_fp32_low:.2f}–{v.energy_vs_fp32_high:.2f}]"


def recommendation(lab: Any) -> str:
    """The sentence under the table: the recommended variant with its interval, or why there is none."""
    tol = lab.max_quality_drop
    if lab.recommended:
        r = lab.variant(lab.recommended)
        return (f"recommended: [bold green]{r.name}[/] — {ratio_cell(r)} × fp32 energy (median of "
                f"{r.rounds} paired rounds, {r.interval_level:.0%} interval), quality drop {_fmt(r.quality_drop)} "
                f"(tolerance {tol})")
    ok = [v for v in lab.variants if v.ok and v.steps and v.quality_drop is not None and v.quality_drop <= tol]
    if not ok:
        return f"no variant within a quality drop of {tol}"
    level = max((v.interval_level or 0) for v in ok)
    why = ("too few rounds for a 95 % interval (use --rounds 6 or more)" if level < 0.95
           else "none has its whole 95 % interval below fp32's energy")
    return f"no clear winner: {len(ok)} variant(s) within a quality drop of {tol}, but {why}"


def table(lab: Any) -> Table:
    """A rich table of a lab result."""
    q = "Spearman" if lab.metric == "spearman_x100" else "ppl"
    drop = "drop" if lab.metric == "spearman_x100" else "ppl +%"
    method = next((v.energy_method for v in lab.variants if v.ok), "")
    t = Table(
        title=f"wattwise reduce — {lab.model} (energy {method}; CO2 at "
        f"{lab.intensity['g_per_kwh']:.0f} g/kWh)",
        show_lines=False,
    )
    for col in (
        "variant",
        q,
        drop,
        "params",
        "size MB",
        "p50 ms",
        "p95 ms",
        f"{lab.unit}/s",
        f"J/1k {lab.unit}",
        "× fp32 [95% CI]",
        "gCO2/1k",
        "labels",
        "note",
    ):
        t.add_column(col, justify="left" if col in ("variant", "note") else "right")
    for v in lab.variants:
        name = f"[bold green]{v.name} ★[/]" if v.name == lab.recommended else v.name
        if not v.ok:
            t.add_row(name, *["—"] * 11, f"[red]failed: {v.error}[/]")
            continue
        nz = ""
        if v.nonzero_params is not None and v.params and v.nonzero_params < 0.97 * v.params:
            nz = f" ({v.nonzero_params / v.params:.0%} nz)"
        t.add_row(
            name,
            _fmt(v.quality),
            _fmt(v.quality_drop),
            f"{v.params / 1e6:.2f}M{nz}",
            _fmt((v.size_bytes or 0) / 1e6, 1) if v.size_bytes else "—",
            _fmt(v.latency_ms_p50, 1),
            _fmt(v.latency_ms_p95, 1),
            _fmt(v.throughput_per_s, 0),
            _sig(v.energy_j_per_1k),
            ratio_cell(v),
            _sig(v.co2_g_per_1k),
            "yes" if v.uses_labels else "no",
            "Pareto" if v.pareto else "",
        )
    return t


def reduce_cmd(
    model: Annotated[
        str,
        typer.Argument(
            help="local HF model folder, 'all-MiniLM-L6-v2' (bundled), 'tinygpt' (our trained tiny GPT; "
            "trained once and cached), a tiny GPT checkpoint (ckpt.pt), or 'tiny-bert' / 'tiny-gpt2' (random)"
        ),
    ] = "all-MiniLM-L6-v2",
    variants: Annotated[
        str | None,
        typer.Option(
            "--variants",
            "-v",
            help="comma-separated variants; steps chained with '+', e.g. fp32,ort-int8,distill+ort-int8",
        ),
    ] = None,
    quick: Annotated[bool, typer.Option(help="a short list of the usually best variants")] = False,
    all_variants: Annotated[
        bool, typer.Option("--all", help="every technique, distillation and chains included (slow)")
    ] = False,
    distill_texts: Annotated[
        int | None, typer.Option(help="use only the first N unlabelled sentences for distillation")
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="folder for variants, manifest, results, plots")
    ] = Path("reduce-out"),
    max_quality_drop: Annotated[
        float, typer.Option(help="tolerance: Spearman points (encoder) or % perplexity increase (LM)")
    ] = _D.max_quality_drop,
    kind: Annotated[str | None, typer.Option(help="encoder or causal-lm (default: from config)")] = None,
    location: Annotated[str | None, typer.Option(help="grid location for CO2 (needs grid data)")] = None,
    intensity: Annotated[float | None, typer.Option(help="carbon intensity in gCO2e/kWh")] = None,
    eval_pairs: Annotated[int | None, typer.Option(help="use only the first N STS-B dev pairs")] = None,
    eval_data: Annotated[
        str | None, typer.Option(help="CSV sentence1,sentence2,score (default STS-B dev)")
    ] = None,
    distill_text: Annotated[str | None, typer.Option(help="unlabelled text, one sentence a line")] = None,
    lm_text: Annotated[
        str | None,
        typer.Option(help="causal LMs: text file; first 90 % distils, last 10 % evaluates (default: "
                     "packaged Tiny Shakespeare)"),
    ] = None,
    distill_layers: Annotated[
        int | None, typer.Option(help="student layers (default: two thirds of the teacher's, 4 of 6)")
    ] = _D.distill_layers,
    distill_epochs: Annotated[int, typer.Option(help="distillation epochs")] = _D.distill_epochs,
    slim_epochs: Annotated[int, typer.Option(help="encoders: epochs of a distill-slim student")] = _D.slim_epochs,
    distill_lr: Annotated[float, typer.Option(help="distillation learning rate")] = _D.distill_lr,
    distill_hidden_weight: Annotated[
        float, typer.Option(help="encoders: weight of the token-state loss in distillation (0: embeddings only)")
    ] = _D.distill_hidden_weight,
    distill_sim_weight: Annotated[
        float, typer.Option(help="encoders: weight of the in-batch sentence-similarity loss in distillation")
    ] = _D.distill_sim_weight,
    distill_augment: Annotated[
        int, typer.Option(help="encoders: edited copies of each distillation sentence, labelled by the teacher")
    ] = _D.distill_augment,
    slim_sim_weight: Annotated[
        float, typer.Option(help="encoders: weight of the sentence-similarity loss for a distill-slim student")
    ] = _D.slim_sim_weight,
    slim_augment: Annotated[
        int, typer.Option(help="encoders: edited copies of each distillation sentence for a distill-slim student")
    ] = _D.slim_augment,
    slim_int8_aware: Annotated[
        int, typer.Option(help="encoders: last epochs of a distill-slim student trained with int8 rounding simulated")
    ] = _D.slim_int8_aware,
    prune_amount: Annotated[
        float, typer.Option(help="share of weights zeroed by magnitude pruning")
    ] = _D.prune_amount,
    heads: Annotated[
        float, typer.Option(help="share of attention heads removed (prune-structured, distill-slim)")
    ] = _D.structured_heads,
    ffn: Annotated[
        float, typer.Option(help="share of FFN neurons removed (prune-structured, distill-slim)")
    ] = _D.structured_ffn,
    keep_fp32: Annotated[int, typer.Option(help="layers kept fp32 by ort-int8-selective")] = _D.selective_keep,
    rounds: Annotated[
        int, typer.Option("--rounds", "--repeats", help="paired, interleaved measurement rounds (6 or more "
                          "give a 95 % interval per ratio)")
    ] = _D.rounds,
    threads: Annotated[
        int, typer.Option(help="threads of torch, ONNX Runtime and BLAS/OpenMP pools (0: every CPU)")
    ] = _D.threads,
    batch_size: Annotated[int, typer.Option(help="inputs per batch")] = _D.batch_size,
    verbose: Annotated[bool, typer.Option(help="show other libraries' warnings and progress bars")] = False,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="also write the results JSON here")
    ] = None,
    progress: Annotated[bool, typer.Option(help="progress bars")] = True,
    list_techniques: Annotated[bool, typer.Option("--list", help="list the techniques and exit")] = False,
) -> None:
    """Compress a model every requested way and measure quality, size, latency and energy of each."""
    from wattwise.reduce.quiet import prepare_imports, quiet

    prepare_imports()
    from wattwise.reduce import lab as labmod

    console = make_console()
    if list_techniques:
        for step in labmod.STEPS.values():
            labels = ", reads labels" if step.uses_labels else ""
            console.print(f"[bold]{step.name}[/] (stage {step.stage}{labels}): {step.description}")
        return
    if rounds < 1:
        raise WattwiseError("--rounds must be >= 1", "6 or more give a 95 % interval for each ratio")
    if batch_size < 1:
        raise WattwiseError("--batch-size must be >= 1")
    from wattwise.reduce.threads import resolve as resolve_threads

    resolve_threads(threads)
    check_reduce(model, kind, location, intensity, eval_pairs, eval_data, distill_text, lm_text, distill_texts,
                 distill_epochs, rounds, slim_epochs)  # before torch loads
    names = [v.strip() for v in variants.split(",")] if variants else None
    if names is None and (quick or all_variants):
        names = labmod.QUICK if quick else labmod.ENCODER_ALL
    opts = labmod.LabOptions(
        prune_amount=prune_amount,
        structured_heads=heads,
        structured_ffn=ffn,
        distill_layers=distill_layers,
        distill_epochs=distill_epochs,
        slim_epochs=slim_epochs,
        distill_lr=distill_lr,
        distill_hidden_weight=distill_hidden_weight,
        distill_sim_weight=distill_sim_weight,
        distill_augment=distill_augment,
        slim_sim_weight=slim_sim_weight,
        slim_augment=slim_augment,
        slim_int8_aware=slim_int8_aware,
        distill_texts=distill_texts,
        distill_text_path=distill_text,
        lm_text_path=lm_text,
        selective_keep=keep_fp32,
        max_quality_drop=max_quality_drop,
        intensity_g_per_kwh=intensity,
        location=location,
        eval_pairs=eval_pairs,
        eval_data=eval_data,
        rounds=rounds,
        threads=threads,
        batch_size=batch_size,
    )
    labmod.check_distill_options(opts)  # before torch loads (run_lab checks again for API callers)
    with quiet(verbose):
        result = labmod.run_lab(model, names, out, opts, kind=kind, progress=progress)
    for w in result.warnings:
        console.print(f"[yellow]warning: {w}[/]")
    console.print(table(result))
    console.print(recommendation(result))
    failed = [v for v in result.variants if not v.ok]
    if failed:
        console.print(f"[yellow]{len(failed)} variant(s) failed; see the table and manifest.json[/]")
    console.print(f"variants, manifest.json, results.json, pareto.png/html in {out}")
    if result.input_unchanged is False:
        console.print("[red]warning: the input model folder changed during the run (not by wattwise)[/]")
    if json_out is not None:
        json_out.write_text(json.dumps(result.to_dict(), indent=2, default=str))


def lm_profile_cmd(
    model: Annotated[
        str, typer.Argument(help="causal LM folder, 'tinygpt', a tiny GPT ckpt.pt or 'tiny-gpt2'")
    ] = "tiny-gpt2",
    batch_sizes: Annotated[str, typer.Option(help="comma-separated batch sizes")] = "1,8,32",
    precisions: Annotated[str, typer.Option(help="comma-separated: fp32, bf16, fp16")] = "fp32,bf16",
    new_tokens: Annotated[int, typer.Option(help="tokens generated per sequence")] = 32,
    prompt_tokens: Annotated[int, typer.Option(help="prompt length in tokens")] = 16,
    threads: Annotated[
        int, typer.Option(help="threads of torch and BLAS/OpenMP pools (0: every CPU)")
    ] = _D.threads,
    verbose: Annotated[bool, typer.Option(help="show other libraries' warnings")] = False,
    json_out: Annotated[Path | None, typer.Option("--json", help="write the profile JSON here")] = None,
    estimate_on: Annotated[
        str | None, typer.Option(help="also show the serving model's J/1k tokens on this device, e.g. h100-sxm")
    ] = None,
) -> None:
    """Energy per 1,000 generated tokens against batch size, KV cache on/off and precision."""
    check_lm_profile(model, batch_sizes, precisions, new_tokens, prompt_tokens)  # before torch loads
    from wattwise.reduce.quiet import prepare_imports, quiet
    from wattwise.reduce.threads import resolve as resolve_threads

    resolve_threads(threads)
    prepare_imports()
    from wattwise.reduce import lm_profile

    try:
        sizes = [int(b) for b in batch_sizes.split(",") if b.strip()]
    except ValueError as exc:
        raise WattwiseError(f"--batch-sizes must be integers, got {batch_sizes!r}") from exc
    precs = [p.strip() for p in precisions.split(",") if p.strip()]
    with quiet(verbose):
        rows = lm_profile.profile(model, sizes, precs, new_tokens=new_tokens, prompt_tokens=prompt_tokens,
                                  threads=threads, estimate_on=estimate_on)
    console = make_console()
    t = Table(title=f"energy per 1,000 generated tokens — {model}")
    cols = ["precision", "batch", "KV cache", "tokens/s", "J/1k tokens", "× best", "method"]
    if estimate_on:
        cols.append(f"modelled J/1k on {estimate_on}")
    for col in cols:
        t.add_column(col, justify="right")
    best = min(r["energy_j_per_1k_tokens"] for r in rows)
    for r in rows:
        t.add_row(
            r["precision"],
            str(r["batch"]),
            "on" if r["kv_cache"] else "off",
            _fmt(r["tokens_per_s"], 0),
            _fmt(r["energy_j_per_1k_tokens"], 2),
            _fmt(r["energy_j_per_1k_tokens"] / best if best else None),
            r["energy_method"],
            *([_sig(r.get("modelled_j_per_1k_tokens"))] if estimate_on else []),
        )
    console.print(t)
    if json_out is not None:
        json_out.write_text(json.dumps(rows, indent=2))


def register(app: typer.Typer) -> None:
    """Add ``reduce`` and ``lm-profile`` to ``app``."""
    app.command("reduce")(reduce_cmd)
    app.command("lm-profile")(lm_profile_cmd)
