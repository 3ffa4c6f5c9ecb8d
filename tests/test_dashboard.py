"""Dashboard over HTTP (no browser): pages, filters, errors, read-only store."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import urllib.error
import urllib.request

import pytest

from tests.dashboard_server import serve_dashboard
from tests.report_fixtures import make_empty_run, make_run, new_store
from wattwise.dashboard.readonly import open_readonly
from wattwise.errors import WattwiseError


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def _digest(path) -> tuple[str, int]:
    """The database file's hash and the WAL's size (SQLite itself creates an empty -wal/-shm for readers)."""
    wal = path.with_name(path.name + "-wal")
    return hashlib.sha256(path.read_bytes()).hexdigest(), wal.stat().st_size if wal.exists() else 0


@pytest.fixture()
def runs(tmp_path):
    s = new_store(tmp_path)
    ids = [make_run(s, "finetune-bert", intensity=100.0), make_run(s, "eval-gpt", counters={"samples": 64}),
           make_run(s, "live-job", status="running"), make_empty_run(s)]
    s.close()
    return tmp_path / "runs.sqlite", ids


def test_pages_filters_and_errors(runs):
    path, (a, b, live, empty) = runs
    before = _digest(path)
    with serve_dashboard(path) as base:
        code, page = _get(base + "/")
        assert code == 200 and "finetune-bert" in page and "eval-gpt" in page and "live-job" in page
        assert "empty" in page
        assert "http-equiv='refresh'" in page  # a live run: the list refreshes
        code, page = _get(base + "/?name=bert")
        assert "finetune-bert" in page and "eval-gpt" not in page
        code, page = _get(base + "/?status=running")
        assert "live-job" in page and "finetune-bert" not in page
        code, page = _get(f"{base}/runs/{a}")
        assert code == 200 and "id=\"power-plot\"" in page and "/static/plotly.min.js" in page
        assert "http-equiv='refresh'" not in page
        code, page = _get(f"{base}/runs/{live}")
        assert code == 200 and "id='live'" in page and "http-equiv='refresh'" in page
        code, js = _get(base + "/static/plotly.min.js")
        assert code == 200 and len(js) > 1_000_000
        code, page = _get(f"{base}/compare?ids={a}&ids={b}")
        assert code == 200 and "Runs compared" in page and a in page and b in page
        code, page = _get(f"{base}/compare?ids={a}")
        assert code == 400 and "at least two runs" in page
        code, page = _get(base + "/runs/nope-123")
        assert code == 404 and "no run" in page
        code, body = _get(f"{base}/api/runs/{a}")
        assert code == 200 and json.loads(body)["footprint"]["it_kwh"] == pytest.approx(240 / 3.6e6)
        assert len(json.loads(_get(base + "/api/runs")[1])) == 4
        code, page = _get(f"{base}/runs/{empty}")
        assert code == 200 and "id='no-samples'" in page
    assert _digest(path) == before  # nothing was written


def test_readonly_store(tmp_path, runs):
    path, _ = runs
    ro = open_readonly(path)
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        ro.set_location("x", "FR")
    ro.close()
    with pytest.raises(WattwiseError, match="no run store"):
        open_readonly(tmp_path / "missing.sqlite")


def test_cli_dashboard_serves_until_stopped(runs):
    import os
    import subprocess
    import sys
    import time

    from tests.dashboard_server import free_port

    path, (a, *_) = runs
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    proc = subprocess.Popen([sys.executable, "-m", "wattwise", "dashboard", "--port", str(port), "--store", str(path)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 30
        while True:
            try:
                code, page = _get(f"http://127.0.0.1:{port}/runs/{a}")
                break
            except urllib.error.URLError:
                if time.time() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.2)
        assert code == 200 and "finetune-bert" in page
    finally:
        proc.terminate()
        _out, err = proc.communicate(timeout=20)
    assert f"http://127.0.0.1:{port}/" in err and "read-only" in err


def test_missing_extras_are_clear(tmp_path, runs, monkeypatch):
    import sys

    from wattwise.dashboard.app import create_app
    from wattwise.integrations.prometheus import metrics_text

    path, _ = runs
    ro = open_readonly(path)
    monkeypatch.setitem(sys.modules, "fastapi", None)
    with pytest.raises(WattwiseError, match="FastAPI") as exc:
        create_app(ro)
    assert "wattwise[dashboard]" in (exc.value.hint or "")
    monkeypatch.setitem(sys.modules, "prometheus_client", None)
    with pytest.raises(WattwiseError, match="prometheus-client") as exc:
        metrics_text(store=ro)
    assert "wattwise[prometheus]" in (exc.value.hint or "")
    ro.close()
