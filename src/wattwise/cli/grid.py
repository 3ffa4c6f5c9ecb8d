"""Grid commands: ``wattwise intensity`` and ``wattwise regions``."""

from __future__ import annotations

import json

import typer
from rich.markup import escape
from rich.table import Table

from wattwise.console import make_console
from wattwise.errors import WattwiseError

console = make_console()
err = make_console(stderr=True)


def _print_notices(start: int) -> None:
    from wattwise.grid.intensity import NOTICES

    for n in NOTICES[start:]:
        err.print(f"[yellow]notice:[/] {escape(n)}", highlight=False, soft_wrap=True)


def intensity_cmd(
    location: str | None = typer.Argument(None, help="Country (FR, FRA), zone (US-CAL-CISO) or cloud region "
                                             "(gcp:europe-west1). Default: the configured location."),
    at: str | None = typer.Option(None, "--at", help="Time, ISO 8601 (UTC if no offset) or 'now'."),
    provider: str | None = typer.Option(None, "--provider", help="Live provider: electricitymaps, watttime, "
                                           "ukgrid[:REGION]. Off by default."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Carbon intensity of a location's electricity (embedded data; live only with --provider)."""
    from wattwise import grid
    from wattwise.grid.intensity import NOTICES

    loc = grid.resolve_location(location) if location else grid.default_location()
    if loc is None:
        raise WattwiseError("no location given or configured",
                            "e.g. FR, US-CAL-CISO, gcp:europe-west1; or `wattwise config set location FR`")
    n0 = len(NOTICES)
    i = grid.intensity(loc, at, provider)
    _print_notices(n0)
    if as_json:
        out = {**grid.describe(i), "location": {"code": loc.code, "kind": loc.kind, "zone": loc.zone,
                                                "label": loc.label}}
        console.print_json(json.dumps(out))
        return
    console.print(f"{escape(loc.label)} \\[{loc.code}, {loc.kind}]: [bold]{i.g_per_kwh:.1f} {grid.UNIT}[/] "
                  f"({i.resolution}, {i.kind}, {i.signal})", highlight=False)
    console.print(f"  source: {i.source}", highlight=False, soft_wrap=True)
    if provider and provider.strip().lower().startswith(("watttime", "wt")) and i.resolution == "live":
        from wattwise.grid.providers import get_provider

        try:
            value, point_time = get_provider("watttime").signal_index(loc)
        except WattwiseError as exc:
            err.print(f"[yellow]notice:[/] signal index unavailable ({escape(exc.message)})", soft_wrap=True)
        else:
            console.print(f"  WattTime signal index: {value:.0f} (percentile of marginal emissions, "
                          f"0 = cleanest) at {point_time}", highlight=False)


def regions_cmd(
    cloud: str | None = typer.Option(None, "--cloud", help="Only this provider: aws, gcp, azure."),
    sort: str = typer.Option("intensity", "--sort", help="intensity | name | pue"),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Show only the first N."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Cloud regions ranked by the carbon intensity of their grid (embedded annual data)."""
    from wattwise import grid
    from wattwise.errors import unknown
    from wattwise.grid import tables

    prov = None
    if cloud:
        prov = tables.PROVIDERS.get(cloud.strip().lower())
        if prov is None:
            raise unknown("cloud", cloud, ["aws", "gcp", "azure"])
    if sort not in ("intensity", "name", "pue"):
        raise unknown("sort key", sort, ["intensity", "name", "pue"])
    rows = []
    for key, r in tables.cloud_regions().items():
        if prov and r.provider != prov:
            continue
        i = grid.annual_intensity(key)
        pue, pue_src = grid.pue.default_pue(key)
        rows.append({"region": key, "location": r.location, "zone": r.zone,
                     "g_per_kwh": round(i.g_per_kwh, 1),
                     "basis": "zone" if r.zone in tables.zones() else "country",
                     "pue": pue, "g_per_it_kwh": round(i.g_per_kwh * pue, 1),
                     "google_grid_2024": r.google_grid_g_per_kwh, "source": i.source, "pue_source": pue_src})
    keyf = {"intensity": lambda x: (x["g_per_it_kwh"], x["region"]), "name": lambda x: x["region"],
            "pue": lambda x: (x["pue"], x["region"])}[sort]
    rows.sort(key=keyf)
    if limit:
        rows = rows[:limit]
    if as_json:
        console.print_json(json.dumps(rows))
        return
    t = Table(title=f"Cloud regions by grid carbon intensity ({grid.UNIT}, lifecycle, annual)")
    for col in ("region", "location", "zone", "grid", "PUE", "incl. PUE"):
        t.add_column(col, justify="right" if col in ("grid", "PUE", "incl. PUE") else "left")
    for x in rows:
        zone = f"{x['zone']}" + ("" if x["basis"] == "zone" else " (country avg)")
        t.add_row(f"{x['region']}", f"{x['location']}", zone, f"{x['g_per_kwh']:.0f}", f"{x['pue']:.2f}",
                  f"{x['g_per_it_kwh']:.0f}")
    console.print(t)
    console.print("grid: Electricity Maps zone means (ODbL) or Ember country means (CC BY 4.0); "
                  "PUE: provider-published. `wattwise intensity REGION` shows each source.", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``intensity`` and ``regions``."""
    app.command("intensity")(intensity_cmd)
    app.command("regions")(regions_cmd)
