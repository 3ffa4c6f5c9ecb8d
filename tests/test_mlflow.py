"""MLflow: energy/CO2 metrics and the HTML report on the active run, in a local file-based tracking dir."""

from __future__ import annotations

import sys

import pytest

from tests.report_fixtures import make_run, new_store
from wattwise.errors import WattwiseError
from wattwise.integrations.mlflow import log_to_mlflow


@pytest.fixture()
def mlflow(tmp_path, monkeypatch):
    ml = pytest.importorskip("mlflow", reason="MLflow not installed (pip install 'wattwise[mlflow]')")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 keeps plain file stores behind this flag
    ml.set_tracking_uri((tmp_path / "mlruns").as_uri())
    yield ml
    while ml.active_run():
        ml.end_run()


def test_logs_metrics_and_report(tmp_path, mlflow):
    s = new_store(tmp_path)
    rid = make_run(s, intensity=100.0, counters={"tokens": 1000})
    with mlflow.start_run() as active:
        metrics = log_to_mlflow(s, rid)
    client = mlflow.tracking.MlflowClient()
    got = client.get_run(active.info.run_id)
    assert got.data.metrics["wattwise.energy_kwh"] == pytest.approx(240 / 3.6e6)
    assert got.data.metrics["wattwise.co2e_kg"] == pytest.approx(240 / 3.6e6 * 0.1)
    assert got.data.metrics["wattwise.energy_j_per_token"] == pytest.approx(0.24)
    assert "wattwise.energy_kwh.cpu" in got.data.metrics and metrics["wattwise.measured_share"] == 0.0
    assert got.data.tags["wattwise.run_id"] == rid
    arts = [a.path for a in client.list_artifacts(active.info.run_id, "wattwise")]
    assert arts == [f"wattwise/wattwise-report-{rid}.html"]


def test_bad_input(tmp_path, mlflow, monkeypatch):
    s = new_store(tmp_path)
    rid = make_run(s)
    with pytest.raises(WattwiseError, match="no active MLflow run"):
        log_to_mlflow(s, rid)
    live = make_run(s, "live", status="running")
    with mlflow.start_run(), pytest.raises(WattwiseError, match="still running"):
        log_to_mlflow(s, live)
    monkeypatch.setitem(sys.modules, "mlflow", None)
    with pytest.raises(WattwiseError, match="MLflow is not installed") as exc:
        log_to_mlflow(s, rid)
    assert "wattwise[mlflow]" in (exc.value.hint or "")


def test_cli_report_mlflow(tmp_path, mlflow, monkeypatch, capsys):
    from wattwise.cli.app import main

    s = new_store(tmp_path)
    rid = make_run(s)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", (tmp_path / "mlruns").as_uri())
    rc = main(["report", rid, "-o", str(tmp_path / "r.html"), "--mlflow", "--store", str(tmp_path / "runs.sqlite")])
    assert rc == 0
    target = capsys.readouterr().out.split("to MLflow run ")[1].split()[0]
    assert mlflow.tracking.MlflowClient().get_run(target).data.tags["wattwise.run_id"] == rid


def test_file_store_refusal_is_a_clear_error(tmp_path, mlflow, monkeypatch, capsys):
    """Without MLFLOW_ALLOW_FILE_STORE, MLflow 3 refuses a file: store: one error line with the fix, not 'a bug'."""
    from wattwise.cli.app import main

    s = new_store(tmp_path)
    make_run(s)
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE")
    monkeypatch.delenv("MLFLOW_RUN_ID", raising=False)
    rc = main(["report", "last", "--store", str(tmp_path / "runs.sqlite"), "-o", str(tmp_path / "r.html"),
               "--mlflow"])
    err = capsys.readouterr().err
    assert rc != 0 and "MLFLOW_ALLOW_FILE_STORE" in err and "bug in wattwise" not in err
    assert "hint:" in err and "Traceback" not in err
