"""Reporting formats users are asked for: BoAmps (Boavizta's AI energy report, the format CodeCarbon's BoAmps
output writes) and the EU AI Act general-purpose AI model documentation block, from a run or an estimate.

BoAmps: https://github.com/Boavizta/BoAmps (format version 0.1, keys in camelCase). EU AI Act: Regulation (EU)
2024/1689, Annex XI, Section 1, point 2(d) (computational resources used for training: FLOPs, training time)
and 2(e) (known or estimated energy consumption; where unknown it may be based on the computational resources
used). The figures come from :func:`wattwise.accounting.run_footprint` (runs) or the estimate's footprint.
"""

from __future__ import annotations

import datetime as dt
import platform
from typing import Any

from wattwise import __version__
from wattwise.errors import WattwiseError
from wattwise.export import component, location_fields, run_host, run_usage
from wattwise.footprint import Footprint
from wattwise.store.records import RunRecord

BOAMPS_FORMAT_VERSION = "0.1"
BOAMPS_SPEC_URI = "https://github.com/Boavizta/BoAmps/tree/main/model"
TASK_STAGES = ("training", "inference")
EU_AI_ACT_BASIS = ("Regulation (EU) 2024/1689 (AI Act), Annex XI, Section 1, point 2(d) computational resources "
                   "and training time, point 2(e) known or estimated energy consumption")


def _iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _energy_status(fp: Footprint) -> str:
    """``measured`` when every joule is counter-backed, ``partly measured``, else ``modelled``."""
    share = fp.measured_share
    return "measured" if share >= 0.999 else ("partly measured" if share > 0 else "modelled")


def _methods(fp: Footprint) -> str:
    return "; ".join(f"{d.domain}: {d.method.value} ({d.source})" for d in fp.energy) or "no energy recorded"


def boamps_report(rec: RunRecord, fp: Footprint, *, task_stage: str = "training", task_family: str = "unspecified",
                  algorithm: str | None = None, location: str | None = None, tokens_as_data: bool = True) -> dict:
    """A BoAmps report of a stored run (``powerConsumption`` in kWh incl. PUE, durations in seconds)."""
    if task_stage not in TASK_STAGES:
        from wattwise.errors import unknown

        raise unknown("task stage", task_stage, list(TASK_STAGES))
    host, usage = run_host(rec), run_usage(rec)
    loc = location_fields(location or rec.location)
    measure: dict[str, Any] = {
        "measurementMethod": "wattwise",
        "manufacturer": "wattwise",
        "version": __version__,
        "cpuTrackingMode": ", ".join(sorted({d.source for d in fp.energy if component(d.domain) == "cpu"})) or None,
        "gpuTrackingMode": ", ".join(sorted({d.source for d in fp.energy if component(d.domain) == "gpu"})) or None,
        "powerConsumption": fp.facility_kwh,
        "measurementDuration": rec.duration_s,
        "measurementDateTime": _iso(rec.started_at),
    }
    cpu_pct = usage.get("cpu_utilization_percent")
    if cpu_pct is not None:
        measure["averageUtilizationCpu"] = round(float(cpu_pct) / 100.0, 4)
    components: list[dict[str, Any]] = [{"componentType": "cpu", "componentName": host.get("cpu_model") or None,
                                         "nbComponent": 1}]
    if host.get("gpu_count"):
        components.append({"componentType": "gpu", "componentName": host.get("gpu_model") or None,
                           "nbComponent": int(host["gpu_count"])})
    components.append({"componentType": "ram", "nbComponent": 1, "memorySize": host.get("ram_total_gb")})
    counters = fp.counters
    dataset = [{"dataUsage": "input", "dataType": "token", "dataQuantity": counters["tokens"]}] if (
        tokens_as_data and counters.get("tokens")) else [{"dataUsage": "input", "dataType": "unspecified"}]
    report = {
        "header": {"formatVersion": BOAMPS_FORMAT_VERSION, "formatVersionSpecificationUri": BOAMPS_SPEC_URI,
                   "reportId": rec.id, "reportDatetime": _iso(rec.ended_at or rec.started_at),
                   "reportStatus": "final" if rec.status == "finished" else "draft",
                   "publisher": {"projectName": rec.name}},
        "task": {"taskStage": task_stage, "taskFamily": task_family,
                 "algorithms": [{"algorithmName": algorithm or rec.config.get("model") or rec.name}],
                 "dataset": dataset,
                 **({"nbRequest": counters.get("requests") or counters.get("samples")}
                    if task_stage == "inference" and (counters.get("requests") or counters.get("samples")) else {})},
        "measures": [measure],
        "system": {"os": host.get("os") or None},
        "software": {"language": "python", "version": host.get("python_version") or platform.python_version()},
        "infrastructure": {"infraType": "publicCloud" if loc["on_cloud"] == "Y" else "onPremise",
                           "cloudProvider": loc["cloud_provider"] or None, "components": components},
        "environment": {"country": loc["country_name"], "location": location or rec.location or None,
                        "powerSourceCarbonIntensity": fp.intensity.g_per_kwh},
        "quality": "high" if fp.measured_share >= 0.999 else ("medium" if fp.measured_share > 0 else "low"),
    }
    return _strip_none(report)


def _strip_none(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _strip_none(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, list):
        return [_strip_none(v) for v in obj]
    return obj


def eu_ai_act_from_run(rec: RunRecord, fp: Footprint, *, params: float | None = None,
                       flops: float | None = None) -> dict:
    """The EU AI Act GPAI training documentation block of a stored run.

    Training compute: ``flops`` if given, else 6·N·D from ``params`` (N) and the run's ``tokens`` counter (D),
    else unknown (``null``, with what is missing). Energy: the run's facility energy, labelled measured or
    modelled by the run's sensors.
    """
    if rec.status == "running":
        raise WattwiseError(f"run {rec.id} is still running: the AI Act block needs the finished training",
                            "wait until it ends")
    params = params or rec.config.get("parameters")
    tokens = fp.counters.get("tokens")
    if flops is not None:
        compute, method = float(flops), "given by the provider"
    elif params and tokens:
        from wattwise.estimate.flops import training_flops

        compute = training_flops(float(params), float(tokens))
        method = f"6·N·D with N = {float(params):.4g} parameters and D = {tokens:.4g} tokens counted by the run"
    else:
        compute, method = None, ("unknown: give the parameter count (--params) and count tokens in the run "
                                 "(run.step(tokens=...)), or give --flops")
    return {
        "eu_ai_act": {
            "basis": EU_AI_ACT_BASIS,
            "model": rec.config.get("model") or rec.name,
            "training_compute_flop": compute,
            "training_compute_method": method,
            "training_time_s": rec.duration_s,
            "training_time_hours": rec.duration_s / 3600.0,
            "training_period_utc": [_iso(rec.started_at), _iso(rec.ended_at or rec.started_at)],
            "run_status": rec.status,
            "energy_consumption_kwh": fp.facility_kwh,
            "energy_status": _energy_status(fp),
            "energy_method": (f"metered by wattwise {__version__} run {rec.id}: {_methods(fp)}; IT energy "
                              f"{fp.it_kwh:.6g} kWh x PUE {fp.pue:g} ({fp.pue_source})"),
            "energy_uncertainty_relative": fp.uncertainty,
            "emissions_kgco2e": fp.total_kg,
            "emissions_method": f"facility energy x {fp.intensity.g_per_kwh:.4g} gCO2e/kWh ({fp.intensity.source})"
                                + (f" + embodied {fp.embodied_kg:.4g} kg" if fp.embodied_kg else ""),
        }
    }


def eu_ai_act_from_estimate(est: Any, *, model: str = "planned model") -> dict:
    """The same block from a :class:`~wattwise.estimate.training.TrainingEstimate` (energy: estimated)."""
    fp: Footprint = est.footprint
    e = est.facility_kwh()
    hours = est.device_hours
    wall_h = hours.central / est.devices if est.devices else None
    return {
        "eu_ai_act": {
            "basis": EU_AI_ACT_BASIS,
            "model": model,
            "training_compute_flop": est.flops,
            "training_compute_method": "6·N·D (Kaplan et al. 2020) from the parameters and tokens given"
            if est.flops else "not derived (estimate from device-hours)",
            "training_time_s": wall_h * 3600.0 if wall_h is not None else None,
            "training_time_hours": wall_h,
            "device_hours": {"central": hours.central, "low": hours.low, "high": hours.high},
            "energy_consumption_kwh": e.central,
            "energy_consumption_kwh_range": [e.low, e.high],
            "energy_status": "estimated",
            "energy_method": (f"estimated by wattwise {__version__}: device-hours x {est.power.total.central:.4g} W "
                              f"per device ({est.power.basis}) x PUE {est.pue:g} ({est.pue_source})"),
            "emissions_kgco2e": fp.total_kg,
            "emissions_method": f"{fp.intensity.g_per_kwh:.4g} gCO2e/kWh ({fp.intensity.source})",
            "hardware": f"{est.devices or '?'} x {est.device.name}",
            "assumptions": list(est.assumptions),
        }
    }
