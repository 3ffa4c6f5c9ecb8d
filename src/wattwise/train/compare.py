"""Energy to reach one target validation loss with the tiny GPT, four ways; early stopping, forecast.

The default scenario is the common over-training case early stopping is for: a small training set
(``train_chars``: the first 30,000 characters of the training split) and a fixed-length run planned for
about three times the steps the model needs before its validation loss stops improving (it then overfits).
Validation is always the whole usual validation split.

Variants (same seed, same data, each metered):

- ``fixed``: from scratch, the planned fixed-length run (``planned_steps``). Its energy at the first
  evaluation at or below the target is the *from-scratch* energy to target (fp32).
- ``early_stopping``: the same planned budget with :class:`EnergyAwareEarlyStopping`; compared with ``fixed``
  for energy saved and final validation loss. A cosine schedule cannot be cut short without losing its
  decay, so this run keeps the learning rate constant and, once the policy says stop, cools down for
  ``es_cooldown`` x the steps done (warmup-stable-decay). The baseline stays the planned cosine run.
- ``bf16``: from scratch with CPU bf16 autocast, stopping at the target.
- ``finetune``: from a pre-trained checkpoint (``pretrain_steps`` of training with another seed on the rest of
  the training split, i.e. text the other variants never see; its energy is reported separately), fine-tuned
  on the small training set at a lower learning rate until the target.

Energy is metered per variant with ``wattwise.track(name, interval=0.25, pids=[os.getpid()])``: this process's
share of the machine, measured where the sensors allow it (RAPL, NVML) and modelled otherwise; each run's
``energy`` block says which (from ``run.footprint()``). Comparisons are reported as ratios.

The forecast check: a :class:`RunForecaster` watches the ``fixed`` run per step; its forecast after
``forecast_fraction`` of the steps is compared with the final measured energy.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import psutil

from wattwise.footprint import J_PER_KWH
from wattwise.tracking import track
from wattwise.train.early_stopping import EnergyAwareEarlyStopping
from wattwise.train.monitor import TrainingMonitor
from wattwise.train.tinygpt import CharData, TinyGPTConfig, TrainSettings, shakespeare, train_tinygpt


@dataclass
class CompareSettings:
    """What the comparison runs. :meth:`quick` is a seconds-long version for tests."""

    target_loss: float = 2.5
    planned_steps: int = 1500
    pretrain_steps: int = 150
    lr: float = 3e-3
    train_chars: int | None = 30_000  # first characters of the training split used for training; None: all
    finetune_lr: float = 1e-3
    schedule: str = "cosine"
    eval_every: int = 100
    es_schedule: str = "constant"
    es_cooldown: float = 0.2
    es_window: int = 3
    es_min_rate_fraction: float = 0.1
    es_patience: int = 5
    forecast_fraction: float = 0.1
    seed: int = 1337
    config: TinyGPTConfig | None = field(default_factory=lambda: TinyGPTConfig(n_layer=2))
    batch_size: int = 16
    eval_batches: int = 16
    variants: tuple[str, ...] = ("fixed", "early_stopping", "bf16", "finetune")
    repeats: int = 3  # every variant this many times; energy figures are medians (see compare_training)

    @classmethod
    def quick(cls) -> CompareSettings:
        return cls(
            target_loss=2.85,
            planned_steps=120,
            pretrain_steps=40,
            eval_every=20,
            lr=2e-3,
            train_chars=None,
            config=TinyGPTConfig.tiny(),
            batch_size=8,
            eval_batches=2,
            repeats=1,
        )


def _settings(cs: CompareSettings, **kw: Any) -> TrainSettings:
    base = TrainSettings(
        batch_size=cs.batch_size,
        lr=cs.lr,
        eval_every=cs.eval_every,
        eval_batches=cs.eval_batches,
        seed=cs.seed,
        schedule=cs.schedule,
        warmup=min(50, max(cs.planned_steps // 20, 1)),
    )
    return replace(base, **kw)


def metered_training(
    name: str,
    steps: int,
    settings: TrainSettings,
    *,
    config: TinyGPTConfig | None = None,
    init_from: Any = None,
    target_loss: float | None = None,
    early_stopping: EnergyAwareEarlyStopping | dict | None = None,
    out_dir: str | Path | None = None,
    data: CharData | None = None,
) -> dict:
    """Train the tiny GPT inside a metered run; energy, time and the validation curve with energy per eval."""
    # this process's share of the machine (other work on a shared machine is not ours); 0.25 s samples
    ctx = track(name, interval=0.25, pids=[os.getpid()], internal=True, parent=os.environ.get("WATTWISE_RUN_ID"))
    run = ctx.__enter__()
    mon = TrainingMonitor(name, run=run, total_steps=steps, early_stopping=early_stopping)
    mon.start()
    proc = psutil.Process()
    cpu0 = sum(proc.cpu_times()[:2])
    curve: list[dict] = []

    def on_step(step: int, loss: float, tokens: int) -> bool:
        return mon.step(tokens=tokens)

    def on_eval(step: int, val: float) -> bool:
        curve.append(
            {
                "step": step,
                "val_loss": val,
                "energy_kwh": mon.energy_j() / J_PER_KWH,
                "cpu_seconds": sum(proc.cpu_times()[:2]) - cpu0,
                "seconds": mon.seconds(),
            }
        )
        return mon.evaluate(val, step=step)

    on_eval.name = "early stopping"  # type: ignore[attr-defined]
    res = train_tinygpt(
        steps,
        config,
        settings,
        init_from=init_from,
        on_step=on_step,
        on_eval=on_eval,
        target_loss=target_loss,
        out_dir=out_dir,
        data=data,
    )
    seconds = mon.seconds()
    cpu_seconds = sum(proc.cpu_times()[:2]) - cpu0
    ctx.__exit__(None, None, None)  # the final sample: energy up to the end of training
    energy = mon.energy_j()
    mon.close()
    fc = mon.forecaster
    out = {
        "steps_planned": steps,
        "steps_done": res.steps_done,
        "energy_kwh": energy / J_PER_KWH,
        "cpu_seconds": cpu_seconds,
        "seconds": seconds,
        "final_val_loss": res.final_val_loss,
        "best_val_loss": res.best_val_loss,
        "stop_reason": res.stop_reason,
        "curve": curve,
        "energy_source": _energy_source(mon),
        "energy": _energy_method(mon),
    }
    if target_loss is not None or curve:
        out["target"] = _to_target(curve, target_loss)
    if mon.early_stopping is not None:
        out["policy"] = mon.early_stopping.report()
    if fc is not None:
        out["_forecaster"] = fc
    if res.checkpoint is not None:
        out["checkpoint"] = str(res.checkpoint)
    return out


def _energy_source(mon: TrainingMonitor) -> str:
    fp = mon.footprint
    if fp is not None and fp.energy:
        return "; ".join(f"{d.domain}: {d.method.value} ({d.source})" for d in fp.energy)
    return "unknown"


def _energy_method(mon: TrainingMonitor) -> dict:
    """How the run's energy was obtained, from ``run.footprint()``: method per domain, measured share."""
    fp = mon.footprint
    if fp is None or not fp.energy:
        return {"method": "unknown"}
    methods = {d.method.value for d in fp.energy}
    return {
        "method": methods.pop() if len(methods) == 1 else "mixed",
        "measured_share": fp.measured_share,
        "scope": "this process only (track(pids=[os.getpid()])): its share of a shared machine",
        "domains": [
            {
                "domain": d.domain,
                "kwh": d.kwh,
                "method": d.method.value,
                "source": d.source,
                "uncertainty": d.uncertainty,
            }
            for d in fp.energy
        ],
    }


def _to_target(curve: list[dict], target: float | None) -> dict | None:
    if target is None:
        return None
    for row in curve:
        if row["val_loss"] <= target:
            return {
                "reached": True,
                "step": row["step"],
                "energy_kwh": row["energy_kwh"],
                "cpu_seconds": row["cpu_seconds"],
                "seconds": row["seconds"],
            }
    return {"reached": False}


def compare_training(
    cs: CompareSettings | None = None, *, progress: Any = None, workdir: str | Path | None = None
) -> dict:
    """Run the comparison ``cs.repeats`` times and return a JSON-ready dict (see the module docstring).

    Each repeat runs every variant in turn, so a change in the machine's load affects the variants of a
    repeat alike; figures are medians over the repeats of the per-repeat figures (ratios are paired within
    a repeat). The validation curves are deterministic (same seed, one thread): those of the first repeat
    are kept in ``runs``.
    """
    cs = cs or CompareSettings()
    say = progress or (lambda msg: None)
    t0 = time.time()
    work = Path(workdir) if workdir else None
    full = shakespeare()
    n = cs.train_chars
    data = CharData(full.tokenizer, full.train[:n], full.val) if n else full
    # pre-training text: the rest of the training split (never seen by the other variants)
    pre_data = CharData(full.tokenizer, full.train[n:], full.val) if n else full
    # one-time costs (corpus encoding, torch start-up) must not be charged to the first variant
    train_tinygpt(5, cs.config, _settings(cs, eval_every=10**9, eval_batches=1), data=data)
    repeats = [
        _one_repeat(cs, data, pre_data, work, lambda m, k=k: say(f"[{k + 1}/{cs.repeats}] {m}"))
        for k in range(max(1, cs.repeats))
    ]
    runs = repeats[0]

    result: dict[str, Any] = {
        "what": "energy to reach a target validation loss with the tiny GPT (wattwise.train.compare)",
        "settings": {k: v for k, v in asdict(cs).items() if k != "config"},
        "model_config": asdict(cs.config or TinyGPTConfig()),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "data": {
            "train_chars": len(data.train),
            "val_chars": len(data.val),
            "pretrain_chars": len(pre_data.train) if "finetune" in cs.variants else None,
            "note": "validation: the whole usual validation split (last 10 % of Tiny Shakespeare)",
        },
        "seconds_total": None,
        "repeats": len(repeats),
        "energy_measurement": _measurement(runs),
        "energy_to_target_kwh": _median_dict([_energy_to_target(r) for r in repeats]),
        "energy_to_target_vs_scratch": _median_dict([_ratios(_energy_to_target(r)) for r in repeats]),
        "energy_to_target_kwh_per_repeat": [_energy_to_target(r) for r in repeats],
        "cpu_seconds_to_target": _median_dict([_energy_to_target(r, "cpu_seconds") for r in repeats]),
    }
    if "fixed" in runs and "early_stopping" in runs:
        result["early_stopping"] = _es_over_repeats(repeats)
        result["early_stopping"]["policy"] = {
            "window": cs.es_window,
            "min_rate_fraction": cs.es_min_rate_fraction,
            "patience": cs.es_patience,
            "cooldown": cs.es_cooldown,
            "chosen": "fixed before the run (the settings of the first bench), not tuned on the evaluated run",
        }
    if "fixed" in runs:
        result["forecast"] = _forecast_over_repeats(repeats, cs.forecast_fraction)
    for rr in repeats:
        for r in rr.values():
            r.pop("_forecaster", None)
            r.pop("checkpoint", None)
    result["runs"] = runs
    result["runs_per_repeat"] = [
        {name: {k: r[k] for k in ("steps_done", "energy_kwh", "cpu_seconds", "seconds", "final_val_loss")}
         for name, r in rr.items()}
        for rr in repeats
    ]
    result["seconds_total"] = time.time() - t0
    return result


def _one_repeat(cs: CompareSettings, data: CharData, pre_data: CharData, work: Path | None, say: Any) -> dict:
    """Every variant once; the runs by variant name."""
    runs: dict[str, dict] = {}

    if "fixed" in cs.variants or "early_stopping" in cs.variants:
        say(f"fixed: {cs.planned_steps} steps from scratch")
        runs["fixed"] = metered_training(
            "tinygpt-fixed", cs.planned_steps, _settings(cs), config=cs.config, data=data
        )
    if "early_stopping" in cs.variants:
        say("early_stopping: the same planned run with energy-aware early stopping")
        policy = {
            "window": cs.es_window,
            "min_rate_fraction": cs.es_min_rate_fraction,
            "patience": cs.es_patience,
            "min_evals": cs.es_window + 1,
        }
        runs["early_stopping"] = metered_training(
            "tinygpt-early-stopping",
            cs.planned_steps,
            _settings(cs, schedule=cs.es_schedule, cooldown=cs.es_cooldown),
            config=cs.config,
            early_stopping=policy,
            data=data,
        )
    if "bf16" in cs.variants:
        say("bf16: from scratch with bf16 autocast until the target")
        runs["bf16"] = metered_training(
            "tinygpt-bf16",
            cs.planned_steps,
            _settings(cs, bf16=True),
            config=cs.config,
            target_loss=cs.target_loss,
            data=data,
        )
    if "finetune" in cs.variants:
        import tempfile

        say(f"pretrain: {cs.pretrain_steps} steps (seed {cs.seed + 1})")
        with tempfile.TemporaryDirectory() as tmp:
            pre_dir = (work / "pretrain") if work else Path(tmp)
            pre = metered_training(
                "tinygpt-pretrain",
                cs.pretrain_steps,
                _settings(cs, seed=cs.seed + 1),
                config=cs.config,
                out_dir=pre_dir,
                data=pre_data,
            )
            runs["pretrain"] = pre
            say("finetune: from the pre-trained checkpoint until the target")
            runs["finetune"] = metered_training(
                "tinygpt-finetune",
                cs.planned_steps,
                _settings(cs, lr=cs.finetune_lr, warmup=10),
                init_from=pre["checkpoint"],
                target_loss=cs.target_loss,
                data=data,
            )

    for r in runs.values():
        if r.get("target") is None and r.get("curve"):
            r["target"] = _to_target(r["curve"], cs.target_loss)
    return runs


def _median(xs: list[float | None]) -> float | None:
    known = [x for x in xs if x is not None]
    return float(statistics.median(known)) if xs and len(known) == len(xs) else None


def _median_dict(rows: list[dict]) -> dict:
    return {k: _median([r.get(k) for r in rows]) for k in rows[0]} if rows else {}


def _es_over_repeats(repeats: list[dict[str, dict]]) -> dict:
    """The early-stopping comparison: losses and steps (deterministic) of the first repeat, energy medians."""
    per = [_es_summary(r["fixed"], r["early_stopping"]) for r in repeats]
    out = dict(per[0])
    for key in ("fixed_energy_kwh", "early_stopping_energy_kwh", "energy_ratio", "cpu_seconds_ratio"):
        out[key] = _median([p[key] for p in per])
    ratio = out["energy_ratio"]
    out["saved_fraction"] = 1 - ratio if ratio is not None else 0.0
    out["saved_fraction_per_repeat"] = [p["saved_fraction"] for p in per]
    cpu = out["cpu_seconds_ratio"]
    out["cpu_seconds_saved_fraction"] = 1 - cpu if cpu is not None else None
    out["losses_identical_across_repeats"] = all(
        (p["fixed_final_val_loss"], p["early_stopping_final_val_loss"], p["stop_step"])
        == (per[0]["fixed_final_val_loss"], per[0]["early_stopping_final_val_loss"], per[0]["stop_step"])
        for p in per
    )
    return out


def _forecast_over_repeats(repeats: list[dict[str, dict]], fraction: float) -> dict:
    per = [_forecast_summary(r["fixed"], fraction) for r in repeats]
    if not per[0].get("at_step"):
        return per[0]
    out = dict(per[0])
    errs = [p.get("error_fraction") for p in per]
    out["error_fraction_first_repeat"] = out["error_fraction"]
    out["error_fraction"] = _median(errs)
    out["error_fraction_per_repeat"] = errs
    out["final_inside_interval_per_repeat"] = [p.get("final_inside_interval") for p in per]
    return out


def _measurement(runs: dict[str, dict]) -> dict:
    methods = {r["energy"].get("method", "unknown") for r in runs.values() if "energy" in r}
    method = methods.pop() if len(methods) == 1 else "mixed"
    note = (
        "modelled energy (no energy counters on this machine): absolute figures are model outputs; "
        "compare variants by the ratios"
        if method == "modelled"
        else "energy as metered; compare variants by the ratios"
    )
    sources = sorted(
        {f"{d['domain']}: {d['method']} ({d['source']})" for r in runs.values() for d in
         r.get("energy", {}).get("domains", [])}
    )
    return {
        "method": method,
        "meter": "wattwise.track(name, interval=0.25, pids=[os.getpid()]) per variant",
        "sources": sources,
        "note": note,
    }


def _ratios(e: dict[str, float | None]) -> dict[str, float | None]:
    base = e.get("scratch_fp32")
    return {k: (v / base if v is not None and base else None) for k, v in e.items()}


def _energy_to_target(runs: dict[str, dict], key: str = "energy_kwh") -> dict[str, float | None]:
    def e(name: str) -> float | None:
        t = (runs.get(name) or {}).get("target") or {}
        return t.get(key) if t.get("reached") else None

    out = {
        "scratch_fp32": e("fixed"),
        "bf16": e("bf16"),
        "finetune": e("finetune"),
        "early_stopping": e("early_stopping"),
    }
    if out["finetune"] is not None and "pretrain" in runs:
        out["finetune_plus_pretrain"] = out["finetune"] + runs["pretrain"][key]
    return out


def _es_summary(fixed: dict, es: dict) -> dict:
    saved = 1 - es["energy_kwh"] / fixed["energy_kwh"] if fixed["energy_kwh"] > 0 else 0.0
    worse = es["final_val_loss"] / fixed["final_val_loss"] - 1
    fixed_best = fixed["best_val_loss"]
    return {
        "fixed_energy_kwh": fixed["energy_kwh"],
        "early_stopping_energy_kwh": es["energy_kwh"],
        "energy_ratio": es["energy_kwh"] / fixed["energy_kwh"] if fixed["energy_kwh"] > 0 else None,
        "cpu_seconds_ratio": es["cpu_seconds"] / fixed["cpu_seconds"] if fixed["cpu_seconds"] > 0 else None,
        "saved_fraction": saved,
        "fixed_final_val_loss": fixed["final_val_loss"],
        "early_stopping_final_val_loss": es["final_val_loss"],
        "val_loss_worse_fraction": worse,
        "fixed_best_val_loss": fixed_best,
        "fixed_best_at_step": min(fixed["curve"], key=lambda r: r["val_loss"])["step"] if fixed["curve"] else None,
        "val_loss_worse_than_fixed_best_fraction": es["final_val_loss"] / fixed_best - 1,
        "stop_step": es["steps_done"],
        "reason": es["stop_reason"],

    }


def _forecast_summary(fixed: dict, fraction: float) -> dict:
    fc = fixed.get("_forecaster")
    first = fc.first_at(fraction) if fc is not None else None
    if first is None:
        return {"available": False}
    final = fixed["energy_kwh"]
    err = first.energy_kwh / final - 1 if final > 0 else float("nan")
    lo, hi = first.energy_low_j / J_PER_KWH, first.energy_high_j / J_PER_KWH
    return {
        "at_step": first.at_step,
        "of_steps": first.total_steps,
        "forecast_kwh": first.energy_kwh,
        "interval_kwh": [lo, hi],
        "forecast_seconds": first.seconds,
        "forecast_co2_g": first.co2_g,
        "final_kwh": final,
        "final_method": fixed.get("energy", {}).get("method", "unknown"),
        "final_seconds": fixed["seconds"],
        "error_fraction": err,
        "final_inside_interval": lo <= final <= hi,
        "note": "the forecast covers the planned steps; the final measurement also has the last evaluation",
    }
