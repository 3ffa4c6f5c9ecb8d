"""Training commands: ``train-tinygpt`` (our own workload), ``compare-training`` (energy to a target loss)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from wattwise.console import make_console
from wattwise.errors import WattwiseError

console = make_console()


def _positive(name: str, value: float) -> None:
    if not value > 0:
        raise WattwiseError(f"--{name} must be positive, got {value}")


def train_tinygpt_cmd(
    steps: int = typer.Option(
        2000, "--steps", help="optimiser steps (2,000: val loss ~1.76, a few CPU minutes)"
    ),
    out: Path = typer.Option(Path("out/tinygpt"), "--out", help="directory for ckpt.pt and summary.json"),
    tiny: bool = typer.Option(False, "--tiny", help="a very small model (seconds; for trying things out)"),
    bf16: bool = typer.Option(False, "--bf16", help="CPU bf16 autocast"),
    budget_kwh: float = typer.Option(None, "--budget-kwh", help="energy budget: warn at 80 %, stop at 100 %"),
    budget_g: float = typer.Option(
        None, "--budget-g", help="carbon budget in grams CO2e (grid of --location, else the world average)"
    ),
    location: str | None = typer.Option(
        None, "--location", "-l", help="where it runs (country, zone or cloud region): grid intensity for CO2"
    ),
    warn_only: bool = typer.Option(False, "--warn-only", help="at the budget only warn, do not stop"),
    early_stop: float = typer.Option(
        None, "--early-stop", help="stop when the val gain per kWh falls below this fraction of its best"
    ),
    cooldown: float = typer.Option(
        0.2,
        "--cooldown",
        help="with --early-stop: constant lr, then cool down for this fraction of the steps",
    ),
    seed: int = typer.Option(1337, "--seed"),
) -> None:
    """Train the tiny character-level GPT on Tiny Shakespeare, metered; optional budget / early stopping."""
    from wattwise.tracking import track
    from wattwise.train.monitor import TrainingMonitor
    from wattwise.train.tinygpt import TinyGPTConfig, TrainSettings, save_checkpoint, train_tinygpt

    if steps < 1:
        raise WattwiseError(f"--steps must be at least 1, got {steps}")
    for n, v in (("budget-kwh", budget_kwh), ("budget-g", budget_g), ("early-stop", early_stop)):
        if v is not None:
            _positive(n, v)
    if not 0 <= cooldown <= 1:
        raise WattwiseError(f"--cooldown must be between 0 and 1, got {cooldown}")
    schedule: dict[str, Any] = {"schedule": "constant", "cooldown": cooldown} if early_stop else {}
    tiny_sizes: dict[str, Any] = {"batch_size": 8, "eval_every": 50, "eval_batches": 4} if tiny else {}
    settings = TrainSettings(
        seed=seed,
        bf16=bf16,
        **schedule,
        **tiny_sizes,
    )
    config = TinyGPTConfig.tiny() if tiny else None
    # an unknown location fails as the run starts, before anything is recorded; a failed or interrupted
    # training run is recorded as such
    with track("tinygpt", location=location) as run:
        holder: dict = {}

        def save_on_limit(event: object) -> None:
            if "model" in holder:
                save_checkpoint(
                    holder["model"], holder["tok"], out / "budget-ckpt.pt", extra={"reason": "budget"}
                )

        es = {"min_rate_fraction": early_stop, "window": 3, "min_evals": 4} if early_stop else None
        mon = TrainingMonitor(
            "tinygpt",
            run=run,
            total_steps=steps,
            budget_kwh=budget_kwh,
            budget_g=budget_g,
            budget_action="warn" if warn_only else "stop",
            on_limit=save_on_limit,
            early_stopping=es,
        ).start()

        def on_eval(step: int, val: float) -> bool:
            fc = mon.forecast
            extra = (
                (
                    f"  forecast {fc.energy_kwh * 1000:.3g} Wh [{fc.energy_low_j / 3600:.3g}–"
                    f"{fc.energy_high_j / 3600:.3g}], {fc.seconds:.0f} s"
                )
                if fc
                else ""
            )
            console.print(
                f"step {step:>5}  val loss {val:.4f}  energy {mon.energy_j() / 3600:.3g} Wh{extra}",
                highlight=False,
            )
            return mon.evaluate(val, step)

        on_eval.name = "early stopping"  # type: ignore[attr-defined]

        def on_step(step: int, loss: float, tokens: int) -> bool:
            return mon.step(tokens=tokens)

        on_step.name = "energy budget"  # type: ignore[attr-defined]
        import torch

        from wattwise.train.tinygpt import TinyGPT, shakespeare

        data = shakespeare()
        torch.manual_seed(seed)
        from dataclasses import replace

        model = TinyGPT(replace(config or TinyGPTConfig(), vocab_size=data.tokenizer.vocab_size))
        holder.update(model=model, tok=data.tokenizer)
        res = train_tinygpt(
            steps, settings=settings, data=data, init_from=model, out_dir=out, on_step=on_step, on_eval=on_eval
        )
    mon.close()
    summary = {**res.to_dict(), "energy": mon.summary()}
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    console.print(
        f"done: {res.steps_done} steps, val loss {res.final_val_loss:.4f}, "
        f"{mon.energy_j() / 3600:.3g} Wh, {res.seconds:.0f} s"
        + (f" — {res.stop_reason}" if res.stop_reason else ""),
        highlight=False,
    )
    console.print(f"checkpoint: {res.checkpoint}", highlight=False)


def compare_training_cmd(
    target: float = typer.Option(None, "--target", help="target validation loss (default 2.5)"),
    steps: int = typer.Option(None, "--steps", help="planned steps of the fixed-length run (default 1500)"),
    pretrain_steps: int = typer.Option(
        None, "--pretrain-steps", help="steps of the pre-trained checkpoint (default 150)"
    ),
    quick: bool = typer.Option(False, "--quick", help="seconds-long version with a very small model"),
    variants: str = typer.Option("fixed,early_stopping,bf16,finetune", "--variants", help="comma-separated"),
    out: Path = typer.Option(None, "--out", help="write the JSON result here"),
) -> None:
    """Energy to reach one target validation loss: from scratch, fine-tuned, bf16, early stopping."""
    from dataclasses import replace

    from wattwise.train.compare import CompareSettings, compare_training

    known = ("fixed", "early_stopping", "bf16", "finetune")
    chosen = tuple(v.strip() for v in variants.split(",") if v.strip())
    for v in chosen:
        if v not in known:
            from wattwise.errors import unknown

            raise unknown("variant", v, list(known))
    if target is not None:
        _positive("target", target)
    if (steps is not None and steps < 1) or (pretrain_steps is not None and pretrain_steps < 1):
        raise WattwiseError("--steps and --pretrain-steps must be at least 1")
    cs = CompareSettings.quick() if quick else CompareSettings()
    given: dict[str, Any] = {"target_loss": target, "planned_steps": steps, "pretrain_steps": pretrain_steps}
    cs = replace(cs, variants=chosen, **{k: v for k, v in given.items() if v is not None})
    result = compare_training(cs, progress=lambda m: console.print(f"[dim]{m}[/]"))
    _print_result(result)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2, default=str))
        console.print(f"written: {out}", highlight=False)


def _print_result(result: dict) -> None:
    t = Table(title=f"energy to val loss {result['settings']['target_loss']}")
    t.add_column("variant")
    t.add_column("Wh", justify="right")
    for k, v in result["energy_to_target_kwh"].items():
        t.add_row(k, "not reached" if v is None else f"{v * 1000:.3g}")
    console.print(t)
    es = result.get("early_stopping")
    if es:
        console.print(
            f"early stopping: saved {es['saved_fraction']:.1%} of the fixed run's energy, final val loss "
            f"{es['val_loss_worse_fraction']:+.2%} vs fixed (stopped at step {es['stop_step']})",
            highlight=False,
        )
    fc = result.get("forecast")
    if fc and fc.get("at_step") is not None:
        console.print(
            f"forecast at step {fc['at_step']}/{fc['of_steps']}: {fc['forecast_kwh'] * 1000:.3g} Wh "
            f"vs final {fc['final_kwh'] * 1000:.3g} Wh ({fc.get('final_method', 'unknown')}; "
            f"{fc['error_fraction']:+.1%})",
            highlight=False,
        )


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("train-tinygpt")(train_tinygpt_cmd)
    app.command("compare-training")(compare_training_cmd)
