"""``wattwise estimate serve``: modelled energy per generated token of serving an LLM."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from wattwise.cli.common import make_console

Opt = typer.Option


def register(group: typer.Typer) -> None:
    """Add ``serve`` to the ``estimate`` group."""

    @group.command("serve")
    def serve_cmd(
        params: Annotated[str, Opt("--params", help="total parameters, e.g. 14B")],
        hardware: Annotated[str, Opt("--hardware", "-H", help="device name, e.g. h100-sxm")],
        active_params: Annotated[str | None, Opt("--active-params", help="MoE: active parameters, e.g. 3B")] = None,
        devices: Annotated[str, Opt("--devices", help="tensor-parallel devices serving one replica")] = "1",
        batch: Annotated[str, Opt("--batch", help="running batch (concurrent sequences), or a list: 8,32,128")] = "64",
        input_tokens: Annotated[int, Opt("--input-tokens", help="prompt tokens per request")] = 600,
        output_tokens: Annotated[int, Opt("--output-tokens", help="generated tokens per request")] = 600,
        precision: Annotated[str, Opt("--precision", help="bf16, fp16, fp8, int8 or int4 (weights)")] = "bf16",
        location: Annotated[str | None, Opt("--location", help="e.g. gcp:us-central1 (intensity, PUE)")] = None,
        intensity: Annotated[float | None, Opt("--intensity", help="grid gCO2e/kWh")] = None,
        pue: Annotated[float | None, Opt("--pue", help="data-centre PUE (>= 1)")] = None,
        as_json: Annotated[bool, Opt("--json", help="machine-readable output")] = False,
    ) -> None:
        """GPU and node energy per output token and per request, with a calibrated range (modelled)."""
        from wattwise.estimate.serving import estimate_serving

        est = estimate_serving(
            params=params,
            hardware=hardware,
            active_params=active_params,
            devices=devices,
            batch=batch,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            precision=precision,
            location=location,
            intensity=intensity,
            pue=pue,
        )
        out = {"serve": est.to_dict()}
        if as_json:
            typer.echo(json.dumps(out, indent=2, default=str))
            return
        console = make_console()
        inp = est.inputs
        act = "" if inp["active_params"] == inp["params"] else f" ({inp['active_params'] / 1e9:g} B active)"
        t = Table(
            title=f"serving {inp['params'] / 1e9:g} B{act} {inp['precision']} on {inp['devices']} x "
            f"{inp['hardware']}, {inp['input_tokens']} in / {inp['output_tokens']} out tokens "
            f"(modelled, {est.method})"
        )
        for c in (
            "batch",
            "GPU J/output token",
            "range",
            "GPU J/request",
            "node J/token",
            f"facility J/request (PUE {est.pue:g})",
            f"gCO2e/request ({est.intensity.g_per_kwh:g} g/kWh)",
            "tokens/s",
            "ms/output token",
        ):
            t.add_column(c, justify="right")
        for p in est.points:
            g = p.gpu_j_per_output_token
            t.add_row(
                str(p.batch),
                f"{g.central:.3g}",
                f"{g.low:.3g}-{g.high:.3g}",
                f"{p.gpu_j_per_request.central:,.4g}",
                f"{p.node_j_per_output_token.central:.3g}",
                f"{p.facility_j_per_request.central:,.4g}",
                f"{p.co2_g_per_request.central:.3g}",
                f"{p.tokens_per_s:,.0f}",
                f"{p.time_per_output_token_s * 1000:.3g}" + ("" if p.kv_fits else " (KV > memory)"),
            )
        console.print(t)
        console.print("assumptions:", highlight=False)
        for a in [*est.assumptions, f"PUE {est.pue:g}: {est.pue_source}", f"intensity: {est.intensity.source}"]:
            console.print(f"  - {a}", highlight=False)
