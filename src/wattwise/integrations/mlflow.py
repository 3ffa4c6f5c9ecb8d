"""Log a run's energy and CO2 as MLflow metrics, with the HTML report as an artifact.

``log_to_mlflow(store, run_id)`` inside ``with mlflow.start_run():`` (or with ``mlflow_run_id=``). Needs the
``mlflow`` extra (``mlflow-skinny`` is enough). Note: MLflow 3 refuses a plain ``file:`` tracking directory
unless ``MLFLOW_ALLOW_FILE_STORE=true`` is set; any other tracking backend works unchanged.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from wattwise.errors import WattwiseError
from wattwise.footprint import J_PER_KWH
from wattwise.report.data import load_run, require_finished
from wattwise.store.sql import SqlStore


def _mlflow() -> Any:
    try:
        import mlflow
    except ImportError as exc:
        raise WattwiseError("MLflow is not installed", "pip install 'wattwise[mlflow]'") from exc
    return mlflow


@contextmanager
def mlflow_errors() -> Iterator[None]:
    """MLflow's own refusals (a file store without ``MLFLOW_ALLOW_FILE_STORE``, a bad tracking URI ...) as one
    clear error with a hint, never as an unexpected failure."""
    try:
        yield
    except WattwiseError:
        raise
    except Exception as exc:
        from mlflow.exceptions import MlflowException

        if not isinstance(exc, MlflowException):
            raise
        msg = " ".join(str(getattr(exc, "message", exc)).split())
        import mlflow

        uri = mlflow.get_tracking_uri()
        if "MLFLOW_ALLOW_FILE_STORE" in msg:
            raise WattwiseError(f"MLflow refused its file-system tracking store ({uri}): MLflow 3 keeps it behind "
                                "MLFLOW_ALLOW_FILE_STORE", "export MLFLOW_ALLOW_FILE_STORE=true, or use a database "
                                "backend: export MLFLOW_TRACKING_URI=sqlite:///mlflow.db") from None
        raise WattwiseError(f"MLflow refused the request (tracking URI {uri}): {msg[:300]}",
                            "check MLFLOW_TRACKING_URI and that the tracking server is reachable") from None


def _key(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.\-/ ]", "_", name)


def metrics_of(view: Any) -> dict[str, float]:
    """The metrics logged for a run view (energies in kWh and J, CO2e in kg)."""
    fp = view.fp
    lo, hi = fp.range_kg
    out = {
        "wattwise.energy_kwh": fp.facility_kwh,
        "wattwise.it_energy_kwh": fp.it_kwh,
        "wattwise.co2e_kg": fp.total_kg,
        "wattwise.co2e_kg_low": lo,
        "wattwise.co2e_kg_high": hi,
        "wattwise.measured_share": fp.measured_share,
        "wattwise.intensity_g_per_kwh": fp.intensity.g_per_kwh,
        "wattwise.duration_s": fp.duration_s or view.rec.duration_s,
    }
    for d in fp.energy:
        out[_key(f"wattwise.energy_kwh.{d.domain}")] = d.kwh
    for name, n in fp.counters.items():
        if n:
            out[_key(f"wattwise.energy_j_per_{name[:-1] if name.endswith('s') else name}")] = (
                fp.facility_kwh * J_PER_KWH / n)
    return out


def log_to_mlflow(store: SqlStore, run_id: str, mlflow_run_id: str | None = None, report: bool = True,
                  location: str | None = None, intensity: float | None = None) -> dict[str, float]:
    """Log the wattwise run ``run_id`` to the active MLflow run (or ``mlflow_run_id``); returns the metrics."""
    _mlflow()
    with mlflow_errors():
        return _log(store, run_id, mlflow_run_id, report, location, intensity)


def _log(store: SqlStore, run_id: str, mlflow_run_id: str | None, report: bool, location: str | None,
         intensity: float | None) -> dict[str, float]:
    mlflow = _mlflow()
    target = mlflow_run_id
    if target is None:
        active = mlflow.active_run()
        if active is None:
            raise WattwiseError("no active MLflow run", "call it inside `with mlflow.start_run():` or pass "
                                "mlflow_run_id=")
        target = active.info.run_id
    view = load_run(store, run_id, location, intensity)
    require_finished(view, "MLflow log")
    client = mlflow.tracking.MlflowClient()
    metrics = metrics_of(view)
    for k, value in metrics.items():
        client.log_metric(target, k, float(value))
    i = view.fp.intensity
    for k, v in {"wattwise.run_id": view.rec.id, "wattwise.intensity_source": i.source[:250],
                 "wattwise.location": view.rec.location or "not given",
                 "wattwise.hardware": view.hardware[:250]}.items():
        client.set_tag(target, k, v)
    if report:
        from wattwise.report import write_report

        with tempfile.TemporaryDirectory() as tmp:
            path = write_report(store, view.rec.id, Path(tmp) / f"wattwise-report-{view.rec.id}.html")
            client.log_artifact(target, str(path), artifact_path="wattwise")
    return metrics


def log_to_mlflow_cli(store: SqlStore, run_id: str, location: str | None = None,
                      intensity: float | None = None) -> str:
    """From the command line: log to the run in ``MLFLOW_RUN_ID``, else to a new MLflow run; returns its id."""
    import os

    mlflow = _mlflow()
    target = os.environ.get("MLFLOW_RUN_ID")
    if target:
        log_to_mlflow(store, run_id, target, location=location, intensity=intensity)
        return target
    with mlflow_errors(), mlflow.start_run(run_name=f"wattwise {run_id}") as active:
        log_to_mlflow(store, run_id, location=location, intensity=intensity)
        return str(active.info.run_id)
