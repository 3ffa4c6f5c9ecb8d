"""Exports of a run: CodeCarbon-compatible ``emissions.csv`` rows (so existing dashboards read them), and the
training types the Hugging Face model-card ``co2_eq_emissions`` block accepts."""

from __future__ import annotations

import csv
import datetime as dt
import platform
from pathlib import Path
from typing import IO

import psutil

from wattwise import __version__
from wattwise.footprint import Footprint
from wattwise.store.records import RunRecord

#: ``training_type`` values of the Hugging Face model-card ``co2_eq_emissions`` metadata.
TRAINING_TYPES = ("pre-training", "fine-tuning")


def check_training_type(training_type: str) -> str:
    """``training_type`` if the model card accepts it, else a clear error with the valid values."""
    if training_type not in TRAINING_TYPES:
        from wattwise.errors import unknown

        raise unknown("training type", training_type, list(TRAINING_TYPES))
    return training_type


#: Column names of CodeCarbon 3.x ``emissions.csv`` (``codecarbon.output_methods.emissions_data.EmissionsData``).
CODECARBON_COLUMNS = [
    "timestamp", "project_name", "run_id", "experiment_id", "duration", "emissions", "emissions_rate",
    "cpu_power", "gpu_power", "ram_power", "cpu_energy", "gpu_energy", "ram_energy", "energy_consumed",
    "water_consumed", "country_name", "country_iso_code", "region", "cloud_provider", "cloud_region", "os",
    "python_version", "codecarbon_version", "cpu_count", "cpu_model", "gpu_count", "gpu_model", "longitude",
    "latitude", "ram_total_size", "tracking_mode", "cpu_utilization_percent", "gpu_utilization_percent",
    "ram_utilization_percent", "ram_used_gb", "on_cloud", "pue", "wue",
]


def _group(domain: str) -> str:
    head = domain.split(":")[0]
    return {"cpu": "cpu", "dram": "ram", "ram": "ram", "gpu": "gpu", "amdgpu": "gpu"}.get(head, "cpu")


def codecarbon_rows(run: RunRecord, fp: Footprint) -> list[dict]:
    """One CodeCarbon-style row for the run (energies in kWh, power in W, emissions in kg)."""
    kwh = {"cpu": 0.0, "gpu": 0.0, "ram": 0.0}
    for d in fp.energy:
        kwh[_group(d.domain)] += d.kwh * fp.pue
    dur = max(run.duration_s, 1e-9)
    gpus = [d for d in fp.energy if _group(d.domain) == "gpu"]
    from wattwise.sensors.cpu_model import cpu_model_name

    loc = run.location or ""
    cloud, _, region = loc.partition(":") if ":" in loc else ("", "", "")
    return [{
        "timestamp": dt.datetime.fromtimestamp(run.ended_at or run.started_at).isoformat(timespec="seconds"),
        "project_name": run.name,
        "run_id": run.id,
        "experiment_id": run.config.get("experiment_id", ""),
        "duration": dur,
        "emissions": fp.total_kg,
        "emissions_rate": fp.total_kg / dur,
        "cpu_power": kwh["cpu"] * 3.6e6 / dur,
        "gpu_power": kwh["gpu"] * 3.6e6 / dur,
        "ram_power": kwh["ram"] * 3.6e6 / dur,
        "cpu_energy": kwh["cpu"],
        "gpu_energy": kwh["gpu"],
        "ram_energy": kwh["ram"],
        "energy_consumed": fp.facility_kwh,
        "water_consumed": 0.0,
        "country_name": "",
        "country_iso_code": loc if len(loc) in (2, 3) and loc.isalpha() else "",
        "region": "" if cloud else loc,
        "cloud_provider": cloud,
        "cloud_region": region,
        "os": platform.platform(),
        "python_version": platform.python_version(),
        "codecarbon_version": f"wattwise-{__version__}",
        "cpu_count": psutil.cpu_count() or 0,
        "cpu_model": cpu_model_name(),
        "gpu_count": len(gpus),
        "gpu_model": "",
        "longitude": "",
        "latitude": "",
        "ram_total_size": psutil.virtual_memory().total / 2**30,
        "tracking_mode": run.config.get("attribution", "machine"),
        "cpu_utilization_percent": 0.0,
        "gpu_utilization_percent": 0.0,
        "ram_utilization_percent": 0.0,
        "ram_used_gb": 0.0,
        "on_cloud": "Y" if cloud else "N",
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
