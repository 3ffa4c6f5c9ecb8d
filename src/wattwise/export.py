"""Exports of a stored run that other tools read: CodeCarbon ``emissions.csv`` rows (so CodeCarbon's
``carbonboard`` and existing dashboards read them), the versioned wattwise JSON document (the same object the
dashboard serves at ``/api/runs/{id}``; JSON Schema in ``data/schema/run.schema.json``), and the training types
the Hugging Face model-card ``co2_eq_emissions`` block accepts. BoAmps and EU AI Act documents are in
:mod:`wattwise.report.formats`.

Every figure comes from :func:`wattwise.accounting.run_footprint`; host fields come from the host the run
recorded (``config["host_info"]``), never from the machine doing the export.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import IO, Any

from wattwise import __version__
from wattwise.footprint import J_PER_KWH, Footprint
from wattwise.store.records import RunRecord

#: ``training_type`` values of the Hugging Face model-card ``co2_eq_emissions`` metadata.
TRAINING_TYPES = ("pre-training", "fine-tuning")
#: Version of the JSON run document (``schema_version``); bump the major part on incompatible changes.
SCHEMA_VERSION = "1.0"
SCHEMA_ID = "https://wattwise.dev/schema/run/1.0/run.schema.json"
#: Pseudo country written when a run has no location (the world-average intensity was used): carbonboard
#: needs a non-empty ``country_iso_code``; ``WLD`` is the World Bank / UN code for the world aggregate.
WORLD_ISO3 = "WLD"


def check_training_type(training_type: str) -> str:
    """``training_type`` if the model card accepts it, else a clear error with the valid values."""
    if training_type not in TRAINING_TYPES:
        from wattwise.errors import unknown

        raise unknown("training type", training_type, list(TRAINING_TYPES))
    return training_type


# --------------------------------------------------------------------------------------------- host
def run_host(rec: RunRecord) -> dict[str, Any]:
    """The host the run recorded at its start (empty values for runs recorded before hosts were stored)."""
    info = rec.config.get("host_info")
    return dict(info) if isinstance(info, dict) else {}


def run_usage(rec: RunRecord) -> dict[str, float | None]:
    """Mean CPU utilisation and memory in use the run recorded at its end (``None`` when unknown)."""
    u = rec.config.get("usage")
    return dict(u) if isinstance(u, dict) else {}


def tracking_mode(rec: RunRecord) -> str:
    """CodeCarbon's vocabulary: ``machine`` (whole machine) or ``process`` (the tracked process tree)."""
    mode = str(rec.config.get("tracking_mode") or rec.config.get("attribution") or "machine")
    return "machine" if mode in ("machine", "whole machine") else "process"


# ----------------------------------------------------------------------------------------- location
def location_fields(location: str | None) -> dict[str, str]:
    """CodeCarbon's location columns for a wattwise location (country alpha-3, name, region, cloud)."""
    out = {"country_name": "World", "country_iso_code": WORLD_ISO3, "region": "", "cloud_provider": "",
           "cloud_region": "", "on_cloud": "N"}
    if not location:
        return out
    try:
        from wattwise.grid import resolve_location, tables

        loc = resolve_location(location)
    except Exception:  # an unusable stored location: say nothing rather than something wrong
        return out
    row = tables.countries().get(loc.country or "")
    if row is not None:
        out["country_iso_code"], out["country_name"] = row.alpha3, row.name
    if loc.kind == "zone":
        out["region"] = loc.label.lower()
    elif loc.kind == "cloud":
        cr = tables.cloud_regions()[loc.code]
        known = (cr.provider, cr.region) in codecarbon_cloud_regions()
        out.update(region=cr.location.lower(), cloud_provider=cr.provider, cloud_region=cr.region,
                   on_cloud="Y" if known else "N")
    return out


@lru_cache(maxsize=1)
def codecarbon_cloud_regions() -> frozenset[tuple[str, str]]:
    """Cloud regions CodeCarbon's own tables know (see data/grid/SOURCES.md): carbonboard fails on others."""
    text = resources.files("wattwise").joinpath("data/grid/codecarbon_cloud_regions.csv").read_text()
    return frozenset((r["provider"], r["region"]) for r in csv.DictReader(text.splitlines()))


# ---------------------------------------------------------------------------------------- CodeCarbon
#: Column names of CodeCarbon 3.x ``emissions.csv`` (``codecarbon.output_methods.emissions_data.EmissionsData``).
CODECARBON_COLUMNS = [
    "timestamp", "project_name", "run_id", "experiment_id", "duration", "emissions", "emissions_rate",
    "cpu_power", "gpu_power", "ram_power", "cpu_energy", "gpu_energy", "ram_energy", "energy_consumed",
    "water_consumed", "country_name", "country_iso_code", "region", "cloud_provider", "cloud_region", "os",
    "python_version", "codecarbon_version", "cpu_count", "cpu_model", "gpu_count", "gpu_model", "longitude",
    "latitude", "ram_total_size", "tracking_mode", "cpu_utilization_percent", "gpu_utilization_percent",
    "ram_utilization_percent", "ram_used_gb", "on_cloud", "pue", "wue",
]


def component(domain: str) -> str:
    """CodeCarbon's component (cpu, gpu, ram) of a wattwise domain; ``other`` for what CodeCarbon has no column
    for (``platform``: fans, disks, PSU losses), which counts only in ``energy_consumed``."""
    head = domain.split(":")[0]
    return {"cpu": "cpu", "dram": "ram", "ram": "ram", "gpu": "gpu", "amdgpu": "gpu"}.get(head, "other")


def ram_used_gib(run: RunRecord, fp: Footprint) -> float | None:
    """RAM in use (GiB): for a process tree the mean RSS from the RAM model's samples (its energy is
    W/GB x RSS x time), else what the run recorded at its end; None when unknown."""
    if tracking_mode(run) == "process":
        from wattwise.sensors.ram_model import GB

        dur = fp.duration_s or run.duration_s
        ram = [d for d in fp.energy if d.domain == "ram" and "process RSS" in d.source]
        w_per_gb = re.search(r"([0-9.]+) W/GB", ram[0].source) if ram else None  # the model states its W/GB
        if ram and w_per_gb and float(w_per_gb[1]) > 0 and dur > 0:
            return ram[0].joules / dur / float(w_per_gb[1]) * GB / 2**30
        return None
    v = run_usage(run).get("ram_used_gb")
    return None if v is None else float(v)


def _blank(v: float | None) -> float | str:
    return "" if v is None else v


def codecarbon_rows(run: RunRecord, fp: Footprint, location: str | None = None) -> list[dict]:
    """One CodeCarbon row for the run: energies in kWh and power in W (both x PUE, as CodeCarbon does),
    emissions in kg, RAM in GiB. ``location`` is the location the figures were computed for (an override
    given to :func:`run_footprint`), else the run's."""
    kwh = {"cpu": 0.0, "gpu": 0.0, "ram": 0.0, "other": 0.0}
    for d in fp.energy:
        kwh[component(d.domain)] += d.kwh * fp.pue
    dur = max(run.duration_s, 1e-9)
    host, usage = run_host(run), run_usage(run)
    gpus = sorted({d.domain for d in fp.energy if component(d.domain) == "gpu"})
    gpu_count = int(host.get("gpu_count") or len(gpus))
    return [{
        "timestamp": dt.datetime.fromtimestamp(run.ended_at or run.started_at).isoformat(timespec="seconds"),
        "project_name": run.name,
        "run_id": run.id,
        "experiment_id": run.config.get("experiment_id", ""),
        "duration": dur,
        "emissions": fp.total_kg,
        "emissions_rate": fp.total_kg / dur,
        "cpu_power": kwh["cpu"] * J_PER_KWH / dur,
        "gpu_power": kwh["gpu"] * J_PER_KWH / dur,
        "ram_power": kwh["ram"] * J_PER_KWH / dur,
        "cpu_energy": kwh["cpu"],
        "gpu_energy": kwh["gpu"],
        "ram_energy": kwh["ram"],
        "energy_consumed": fp.facility_kwh,
        "water_consumed": 0.0,
        **{k: v for k, v in location_fields(location or run.location).items() if k != "on_cloud"},
        "os": host.get("os", ""),
        "python_version": host.get("python_version", ""),
        "codecarbon_version": f"wattwise-{__version__}",
        "cpu_count": _blank(host.get("cpu_count")),
        "cpu_model": host.get("cpu_model", ""),
        "gpu_count": gpu_count,
        "gpu_model": f"{gpu_count} x {host['gpu_model']}" if gpu_count and host.get("gpu_model") else "",
        "longitude": "",
        "latitude": "",
        "ram_total_size": _blank(host.get("ram_total_gb")),
        "tracking_mode": tracking_mode(run),
        "cpu_utilization_percent": _blank(usage.get("cpu_utilization_percent")),
        "gpu_utilization_percent": "",
        "ram_utilization_percent": _blank(usage.get("ram_utilization_percent")),
        "ram_used_gb": _blank(ram_used_gib(run, fp)),
        "on_cloud": location_fields(location or run.location)["on_cloud"],
        "pue": fp.pue,
        "wue": 0.0,
    }]


def write_codecarbon_csv(rows: list[dict], out: Path | IO[str]) -> None:
    if isinstance(out, Path):
        with out.open("w", newline="") as f:
            write_codecarbon_csv(rows, f)
        return
    w = csv.DictWriter(out, fieldnames=CODECARBON_COLUMNS)
    w.writeheader()
    w.writerows(rows)


# --------------------------------------------------------------------------------------------- JSON
@lru_cache(maxsize=1)
def run_schema() -> dict:
    """The JSON Schema of :func:`run_document` (shipped as ``wattwise/data/schema/run.schema.json``)."""
    return json.loads(resources.files("wattwise").joinpath("data/schema/run.schema.json").read_text())


def run_dict(rec: RunRecord) -> dict[str, Any]:
    return {"id": rec.id, "name": rec.name, "status": rec.status, "started_at": rec.started_at,
            "ended_at": rec.ended_at, "duration_s": rec.duration_s, "host": rec.host, "location": rec.location,
            "command": rec.command, "exit_code": rec.exit_code, "config": rec.config}


def run_document(store: Any, rec: RunRecord, *, location: str | None = None, intensity: float | None = None,
                 pue: float | None = None) -> dict[str, Any]:
    """The versioned JSON document of a stored run (``wattwise export --format json``, ``/api/runs/{id}``)."""
    from wattwise.accounting import phase_energy_j, run_footprint

    fp = run_footprint(store, rec, location=location, intensity=intensity, pue=pue)
    return {
        "schema_version": SCHEMA_VERSION,
        "$schema": SCHEMA_ID,
        "generator": f"wattwise {__version__}",
        "run": run_dict(rec),
        "host_info": run_host(rec),
        "usage": run_usage(rec),
        "footprint": fp.to_dict(),
        "phases_j": phase_energy_j(store.samples(rec.id)),
    }
