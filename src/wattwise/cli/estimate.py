"""``wattwise estimate``: energy and CO2 of training (and serving) before running."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from wattwise.cli.common import check_intensity, check_lifetime, check_pue
from wattwise.console import make_console
from wattwise.errors import WattwiseError
from wattwise.fmt import fmt_kg_sig, fmt_kwh_sig

Opt = typer.Option


def _say_aliases(*specs: str | None) -> None:
    """A ``note:`` line on stderr for each hardware alias that silently picks one model of a family."""
    from wattwise.hardware.catalogue import alias_note

    err = Console(stderr=True, soft_wrap=True)
    for spec in specs:
        for name in (spec or "").split(","):
            if not name.strip():
                continue
            try:
                note = alias_note(name.strip())
            except WattwiseError:
                continue  # an unknown name is reported by the estimate itself, with close matches
            if note:
                err.print(f"note: {note}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``estimate`` (a group: training by default, ``estimate serve`` for serving) to ``app``."""
    from wattwise.cli import estimate_serve

    group = typer.Typer(no_args_is_help=False, add_completion=False)
    app.add_typer(group, name="estimate")
    estimate_serve.register(group)

    group.callback(invoke_without_command=True)(estimate_cmd)


def estimate_cmd(
    ctx: typer.Context,
    hardware: Annotated[str | None, Opt("--hardware", "-H", help="device name, e.g. a100-80gb")] = None,
    params: Annotated[str | None, Opt("--params", help="parameters, e.g. 7B")] = None,
    tokens: Annotated[str | None, Opt("--tokens", help="training tokens, e.g. 2T")] = None,
    device_hours: Annotated[
        str | None, Opt("--device-hours", help="accounting mode: device-hours as published, e.g. 184320")
    ] = None,
    devices: Annotated[
        str | None, Opt("--devices", help="number of devices (for wall-clock days)")
    ] = None,
    active_params: Annotated[str | None, Opt("--active-params", help="MoE: active parameters")] = None,
    architecture: Annotated[str, Opt(help="decoder or encoder-decoder")] = "decoder",
    layers: Annotated[int | None, Opt("--layers", help="layers (adds the attention term)")] = None,
    seq_len: Annotated[int | None, Opt("--seq-len", help="sequence length (attention term)")] = None,
    d_model: Annotated[int | None, Opt("--d-model", help="model width (attention term)")] = None,
    mfu: Annotated[str | None, Opt("--mfu", help="model FLOPs utilisation in (0, 1], e.g. 0.4")] = None,
    power_basis: Annotated[str, Opt(help="system (device+host, measured factor) or tdp")] = "system",
    device_power: Annotated[float | None, Opt("--device-power", help="average W per device")] = None,
    location: Annotated[str | None, Opt("--location", help="e.g. gcp:us-central1")] = None,
    intensity: Annotated[float | None, Opt("--intensity", help="grid gCO2e/kWh", callback=check_intensity)] = None,
    pue: Annotated[float | None, Opt("--pue", help="data-centre PUE (1.0-5.0)", callback=check_pue)] = None,
    lifetime_years: Annotated[
        float | None, Opt(help="hardware lifetime for embodied CO2 (years)", callback=check_lifetime)
    ] = None,
    compare_hardware: Annotated[str | None, Opt(help="comma list, e.g. a100-80gb,h100-sxm")] = None,
    compare_regions: Annotated[
        str | None, Opt(help="comma list of locations, or name=gCO2e/kWh, e.g. fr=56,pl=650")
    ] = None,
    serve_tokens_per_day: Annotated[str | None, Opt(help="inference: tokens per day, e.g. 1B")] = None,
    serve_days: Annotated[str, Opt(help="inference: days in service")] = "365",
    serve_hardware: Annotated[str | None, Opt(help="inference device (default: --hardware)")] = None,
    serve_utilisation: Annotated[str | None, Opt(help="inference FLOP utilisation in (0, 1]")] = None,
    serve_j_per_token: Annotated[
        float | None, Opt(help="measured J/token (e.g. from a wattwise run)")
    ] = None,
    finetune_tokens: Annotated[str | None, Opt(help="compare fine-tuning on this many tokens")] = None,
    finetune_method: Annotated[str, Opt(help="full or lora")] = "full",
    list_hardware: Annotated[bool, Opt("--list-hardware", help="list the hardware catalogue")] = False,
    as_json: Annotated[bool, Opt("--json", help="machine-readable output")] = False,
    eu_ai_act: Annotated[
        bool, Opt("--eu-ai-act", help="print the EU AI Act GPAI training documentation block (JSON)")
    ] = False,
) -> None:
    """Estimate energy and CO2 of training a model (planning or accounting), before renting a GPU.

    `wattwise estimate serve --help`: energy per generated token of serving a model.
    """
    if ctx.invoked_subcommand:
        return
    from wattwise import equivalents as eq
    from wattwise.estimate import compare, inference, training

    console = make_console()
    if list_hardware:
        _list_hardware(console, as_json)
        return
    if not hardware and not compare_hardware:
        raise WattwiseError("no hardware given", "pass --hardware (see --list-hardware)")
    _say_aliases(hardware, compare_hardware, serve_hardware)
    common: dict[str, Any] = dict(
        params=params,
        tokens=tokens,
        device_hours=device_hours,
        devices=devices,
        active_params=active_params,
        architecture=architecture,
        n_layers=layers,
        seq_len=seq_len,
        d_model=d_model,
        mfu=mfu,
        power_basis=power_basis,
        device_power_w=device_power,
        pue=pue,
        lifetime_years=lifetime_years,
    )
    out: dict = {}
    if compare_hardware or compare_regions:
        if compare_hardware:
            opts = compare.compare_hardware(
                compare_hardware, location=location, intensity=intensity, **common
            )
        else:
            assert compare_regions and hardware  # no hardware without --compare-hardware: refused above
            opts = compare.compare_regions(compare_regions, hardware=hardware, **common)
        out["comparison"] = [o.row() for o in opts]
        out["best"] = compare.best(opts)
        main_est = opts[0].estimate
    else:
        assert hardware  # refused above
        main_est = training.estimate_training(
            hardware=hardware, location=location, intensity=intensity, **common
        )
    if eu_ai_act:
        from wattwise.report.formats import eu_ai_act_from_estimate

        name = f"planned model ({params} parameters)" if params else "planned model"
        typer.echo(json.dumps(eu_ai_act_from_estimate(main_est, model=name), indent=2, default=str))
        return
    out["training"] = main_est.to_dict()
    fp = main_est.footprint
    out["equivalents"] = eq.equivalents(fp.total_kg)
    out["offsets"] = eq.offset_costs(fp.total_kg)
    if serve_tokens_per_day:
        if params is None and serve_j_per_token is None:
            raise WattwiseError(
                "serving estimate needs the model size",
                "add --params (or a measured --serve-j-per-token)",
            )
        inf = inference.estimate_inference(
            params=params or "1",
            tokens_per_day=serve_tokens_per_day,
            days=serve_days,
            hardware=serve_hardware or main_est.device.name,
            active_params=active_params,
            utilisation=serve_utilisation,
            measured_j_per_token=serve_j_per_token,
            intensity=fp.intensity,
            pue=fp.pue,
        )
        out["inference"] = inf.to_dict()
        out["inference"]["breakeven_days"] = inf.breakeven_days(fp.facility_kwh)
    if finetune_tokens:
        if params is None or tokens is None:
            raise WattwiseError("fine-tune comparison needs --params and --tokens (pre-training tokens)")
        rest = {k: v for k, v in common.items() if k not in ("params", "tokens", "device_hours")}
        res = compare.finetune_vs_scratch(
            params=params,
            pretrain_tokens=tokens,
            finetune_tokens=finetune_tokens,
            method=finetune_method,
            hardware=main_est.device,
            intensity=fp.intensity,
            **rest,
        )
        out["finetune_vs_scratch"] = {
            k: {"total_kg": v.footprint.total_kg, "facility_kwh": v.footprint.facility_kwh}
            for k, v in res.items()
        }
        s, f = res["scratch"].footprint.total_kg, res["finetune"].footprint.total_kg
        out["finetune_vs_scratch"]["ratio"] = f / s if s else None
    if as_json:
        typer.echo(json.dumps(out, indent=2, default=str))
        return
    _print(console, out, main_est)

_ = estimate_cmd


def _list_hardware(console: Console, as_json: bool) -> None:
    from wattwise.hardware import all_devices

    devs = all_devices()
    if as_json:
        typer.echo(json.dumps([vars(d) for d in devs], indent=2, default=str))
        return
    t = Table(title="hardware catalogue (dense peaks; sources: wattwise/data/hardware/catalogue.csv)")
    for c in ("name", "kind", "TDP W", "BF16/FP16 TFLOPS", "INT8 TOPS", "memory GB", "host W", "embodied kg"):
        t.add_column(c)
    for d in devs:
        t.add_row(
            d.name,
            d.kind,
            _n(d.tdp_w),
            _n(d.peak_tflops),
            _n(d.int8_tops),
            _n(d.memory_gb),
            _n(d.host_w),
            _n(d.embodied_kg),
        )
    console.print(t)


def _n(v: float | None) -> str:
    return "-" if v is None else f"{v:g}"


def _print(console: Console, out: dict, est) -> None:
    fp = est.footprint
    if "comparison" in out:
        t = Table(title="comparison (central estimate; range from MFU and power)")
        for c in (
            "option",
            "device-hours",
            "days",
            "energy",
            "gCO2e/kWh",
            "operational",
            "embodied",
            "total",
        ):
            t.add_column(c)
        for r in out["comparison"]:
            t.add_row(
                r["option"],
                f"{r['device_hours']:,.0f}",
                "-" if r["wall_days"] is None else f"{r['wall_days']:,.1f}",
                fmt_kwh_sig(r["facility_kwh"]),
                f"{r['intensity_g_per_kwh']:g}",
                fmt_kg_sig(r["operational_kg"]),
                fmt_kg_sig(r["embodied_kg"]),
                f"{fmt_kg_sig(r['total_kg'])} ({fmt_kg_sig(r['total_kg_low'])}-{fmt_kg_sig(r['total_kg_high'])})",
            )
        console.print(t)
        console.print(out["best"], highlight=False)
    t = Table(title=f"{est.mode} estimate on {est.device.name} (modelled, not measured)")
    t.add_column("quantity")
    t.add_column("central", justify="right")
    t.add_column("range", justify="right")
    dh = est.device_hours
    if est.flops:
        t.add_row("training FLOPs", f"{est.flops:.3g}", "")
    flag = " (!)" if est.warnings else ""
    if est.mfu:
        t.add_row("MFU" + flag, f"{est.mfu.central:.3g}", f"{est.mfu.low:.3g}-{est.mfu.high:.3g}")
    t.add_row("device-hours" + flag, f"{dh.central:,.0f}", f"{dh.low:,.0f}-{dh.high:,.0f}")
    if est.wall_days:
        t.add_row("wall-clock days", f"{est.wall_days:,.1f}", "")
    p = est.power.total
    t.add_row(f"power per device ({est.power.basis})", f"{p.central:,.0f} W", f"{p.low:,.0f}-{p.high:,.0f} W")
    e = est.facility_kwh()
    t.add_row(
        f"facility energy (PUE {fp.pue:g})", fmt_kwh_sig(e.central), f"{fmt_kwh_sig(e.low)}-{fmt_kwh_sig(e.high)}"
    )
    op = est.operational_kg()
    t.add_row(
        f"operational CO2e ({fp.intensity.g_per_kwh:g} g/kWh)",
        fmt_kg_sig(op.central),
        f"{fmt_kg_sig(op.low)}-{fmt_kg_sig(op.high)}",
    )
    em = est.embodied
    t.add_row("embodied CO2e (amortised)", fmt_kg_sig(em.central), f"{fmt_kg_sig(em.low)}-{fmt_kg_sig(em.high)}")
    lo, hi = fp.range_kg
    t.add_row("total CO2e", fmt_kg_sig(fp.total_kg), f"{fmt_kg_sig(lo)}-{fmt_kg_sig(hi)}")
    console.print(t)
    for w in est.warnings:
        console.print(f"(!) {w}", highlight=False)
    if "inference" in out:
        inf = out["inference"]
        console.print(
            f"serving: {inf['wh_per_1k_tokens']:.3g} Wh per 1,000 tokens (IT), "
            f"{fmt_kwh_sig(inf['facility_kwh']['central'])} and "
            f"{fmt_kg_sig(inf['operational_kg']['central'])} CO2e "
            f"over {inf['days']:g} days; serving overtakes training after "
            + ("never" if inf["breakeven_days"] is None else f"{inf['breakeven_days']:,.0f} days"),
            highlight=False,
        )
    if "finetune_vs_scratch" in out:
        f = out["finetune_vs_scratch"]
        console.print(
            f"fine-tuning: {fmt_kg_sig(f['finetune']['total_kg'])} vs "
            f"{fmt_kg_sig(f['scratch']['total_kg'])} from scratch"
            f" ({f['ratio']:.2%})",
            highlight=False,
        )
    console.print(
        "equivalents: " + "; ".join(f"{x['value']:,.3g} x {x['label']}" for x in out["equivalents"]),
        highlight=False,
    )
    console.print(
        "offset cost: "
        + "; ".join(f"${x['usd']:,.0f} at ${x['usd_per_t']:g}/t ({x['name']})" for x in out["offsets"]),
        highlight=False,
    )
    console.print("assumptions:", highlight=False)
    for a in est.assumptions:
        console.print(f"  - {a}", highlight=False)
