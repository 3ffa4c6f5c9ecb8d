"""CLI: run/runs/show/sensors/export, and bad input -> one clear line, non-zero exit, no traceback."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from wattwise.cli.app import main
from wattwise.export import CODECARBON_COLUMNS
from wattwise.store import open_store


def cli(*args: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wattwise", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=timeout)


def test_run_tracks_child_streams_output_and_returns_exit_code(tmp_path: Path) -> None:
    db = str(tmp_path / "s.sqlite")
    r = cli("run", "--store", db, "--interval", "0.1", "--name", "ok", "--",
            sys.executable, "-c", "import time; print('hello'); time.sleep(0.5)")
    assert r.returncode == 0, r.stderr
    assert "hello" in r.stdout and "wattwise: run" in r.stderr
    r = cli("run", "--store", db, "--", sys.executable, "-c", "import sys; sys.exit(7)")
    assert r.returncode == 7
    runs = open_store(db).list_runs()
    assert [x.status for x in runs] == ["failed", "finished"] and runs[0].exit_code == 7
    assert open_store(db).samples(runs[1].id)


@pytest.fixture
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    from wattwise.cli import common

    monkeypatch.setattr(common.console, "width", 200)


def test_show_runs_export(tmp_path: Path, capsys: pytest.CaptureFixture[str], wide_console: None) -> None:
    db = str(tmp_path / "s.sqlite")
    assert main(["run", "--store", db, "--interval", "0.05", "--intensity", "100", "--",
                 sys.executable, "-c", "sum(range(10**6))"]) == 0
    capsys.readouterr()
    assert main(["runs", "--store", db]) == 0
    assert "finished" in capsys.readouterr().out
    assert main(["show", "last", "--store", db]) == 0
    out = capsys.readouterr().out
    assert "modelled" in out and "cpu" in out and "100.0 gCO2e/kWh" in out
    assert main(["show", "last", "--store", db, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["footprint"]["intensity"]["g_per_kwh"] == 100
    assert data["footprint"]["measured_share"] == 0.0
    assert main(["export", "last", "--store", db, "--format", "codecarbon-csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert list(rows[0]) == CODECARBON_COLUMNS
    assert float(rows[0]["energy_consumed"]) > 0 and float(rows[0]["emissions"]) > 0
    out_file = tmp_path / "e.json"
    assert main(["export", "last", "--store", db, "-f", "json", "-o", str(out_file)]) == 0
    assert json.loads(out_file.read_text())["run"]["status"] == "finished"


def test_sensors_lists_every_sensor_with_reason(capsys: pytest.CaptureFixture[str], wide_console: None) -> None:
    assert main(["sensors"]) == 0
    out = capsys.readouterr().out
    for name in ("rapl", "nvml", "amdgpu", "cpu-model", "ram-model"):
        assert name in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", "no-such-run"], "no run 'no-such-run'"),
        (["run"], "no command to run"),
        (["run", "--"], "no command to run"),
        (["run", "--interval", "0", "--", "true"], "--interval must be > 0"),
        (["run", "--interval", "-1", "--", "true"], "--interval must be > 0"),
        (["runs", "--store", "/proc/nope/s.sqlite"], "no run store at /proc/nope/s.sqlite"),
        (["run", "--interval", "inf", "--", "true"], "--interval must be > 0 and at most 86400 seconds"),
        (["run", "--interval", "1e308", "--", "true"], "--interval must be > 0 and at most 86400 seconds"),
        (["run", "--interval", "nan", "--", "true"], "--interval must be > 0 and at most 86400 seconds"),
        (["run", "--", "no-such-program-xyz"], "cannot start 'no-such-program-xyz'"),
        (["export", "last", "--format", "xml"], "unknown export format"),
        (["runs", "--bogus"], "No such option: --bogus"),
        (["no-such-command"], "No such command"),
        (["estimate", "--params"], "requires an argument"),
    ],
)
def test_bad_input_gives_one_clear_line(args: list[str], message: str) -> None:
    r = cli(*args)
    assert r.returncode != 0
    assert message in r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    assert r.stderr.startswith("error:")
    assert "bug in wattwise" not in r.stderr  # usage errors are the user's, with a pointer to --help


def test_killed_wattwise_run_is_interrupted(tmp_path: Path) -> None:
    db = str(tmp_path / "s.sqlite")
    ready = tmp_path / "started"
    p = subprocess.Popen([sys.executable, "-m", "wattwise", "run", "--store", db, "--interval", "0.1", "--",
                          sys.executable, "-c", f"import pathlib, time; pathlib.Path({str(ready)!r}).touch(); "
                          "time.sleep(30)"], start_new_session=True)
    deadline = time.monotonic() + 60
    while not ready.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)
    os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    s = open_store(db)
    (rec,) = s.list_runs()
    assert rec.status == "interrupted"
    assert s.count_samples(rec.id) >= 3
