"""Dashboard and exporter guards: Host allow-list (DNS rebinding), caps on /compare and id length, literal name
filters, and stored values from before validation (NaN intensity, odd counter names) that must not break pages."""

from __future__ import annotations

import http.client
import urllib.parse

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from tests.dashboard_server import serve_dashboard
from tests.report_fixtures import make_run, new_store
from wattwise.cli.app import main
from wattwise.dashboard.app import MAX_COMPARE, _host_name, allowed_hosts


def _get(base: str, path: str, host: str | None = None) -> tuple[int, str]:
    u = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    try:
        conn.putrequest("GET", path, skip_host=host is not None)
        if host is not None:
            conn.putheader("Host", host)
        conn.endheaders()
        r = conn.getresponse()
        return r.status, r.read().decode("utf-8", "replace")
    finally:
        conn.close()


@pytest.fixture()
def store_path(tmp_path, monkeypatch):
    monkeypatch.setenv("WATTWISE_HOME", str(tmp_path / "home"))
    s = new_store(tmp_path)
    ids = [make_run(s, name) for name in ("a_b", "axb", "100%-done", "plain")]
    # stored before validation existed: a NaN intensity and counter names that are not canonical
    ids.append(make_run(s, "legacy", intensity=float("nan"), counters={"Tokens": 100.0, "eval.samples": 2.0}))
    s.close()
    return tmp_path / "runs.sqlite", ids


def test_host_header_allow_list(store_path):
    path, ids = store_path
    with serve_dashboard(path) as base:
        port = urllib.parse.urlsplit(base).port
        for ok in (f"127.0.0.1:{port}", f"localhost:{port}", "LOCALHOST", f"[::1]:{port}"):
            code, _ = _get(base, "/api/runs", ok)
            assert code == 200, ok
        for bad in ("evil.example", f"evil.example:{port}", f"127.0.0.1.evil.example:{port}", ""):
            code, body = _get(base, "/api/runs", bad)
            assert code == 421 and "a_b" not in body, bad
        code, body = _get(base, f"/runs/{ids[0]}", "rebind.attacker.test")
        assert code == 421 and "python train.py" not in body


def test_allowed_hosts_option():
    assert _host_name("[::1]:8765") == "::1" and _host_name("Example.org:80") == "example.org"
    assert "box.lan" in allowed_hosts(["box.lan"]) and "10.0.0.5" in allowed_hosts(bind="10.0.0.5")
    assert "0.0.0.0" not in allowed_hosts(bind="0.0.0.0")


def test_compare_cap_and_id_length(store_path):
    path, ids = store_path
    with serve_dashboard(path) as base:
        many = "&".join(f"ids={ids[0][:-1]}{k}" for k in range(MAX_COMPARE + 1))
        code, page = _get(base, f"/compare?{many}")
        assert code == 400 and f"at most {MAX_COMPARE}" in page
        code, page = _get(base, f"/compare?ids={ids[0]}&ids={ids[0]}")
        assert code == 400 and "at least two" in page  # the same run twice is one run
        code, _ = _get(base, f"/compare?ids={ids[0]}&ids={ids[1]}")
        assert code == 200
        long_id = "x" * 5000
        for route in ("/runs/", "/api/runs/"):
            code, body = _get(base, route + long_id)
            assert code == 400 and "too long" in body, route
        code, _ = _get(base, "/runs/" + "y" * 50_000)
        assert 400 <= code < 500
        code, _ = _get(base, f"/compare?ids={long_id}&ids={ids[0]}")
        assert code == 400


def test_name_filter_is_literal(store_path):
    path, _ids = store_path
    with serve_dashboard(path) as base:
        _code, page = _get(base, "/?name=" + urllib.parse.quote("%"))
        assert "100%-done" in page and "a_b" not in page and "plain" not in page
        _code, page = _get(base, "/?name=a_b")
        assert "a_b" in page and "axb" not in page


def test_legacy_nan_and_counter_names_do_not_break_pages(store_path, capsys, tmp_path):
    path, ids = store_path
    legacy = ids[-1]
    with serve_dashboard(path) as base:
        code, page = _get(base, f"/runs/{legacy}")
        assert code == 200 and "Tokens" in page
        code, _ = _get(base, f"/api/runs/{legacy}")
        assert code == 200
    assert main(["show", legacy, "--store", str(path)]) == 0
    assert "nan" not in capsys.readouterr().out.lower()
    import json

    def strict(text: str) -> dict:
        return json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in JSON output"))

    assert main(["export", legacy, "-f", "json", "--store", str(path)]) == 0
    assert strict(capsys.readouterr().out)["run"]["config"]["intensity_g_per_kwh"] is None
    assert main(["show", legacy, "--json", "--store", str(path)]) == 0
    strict(capsys.readouterr().out)
    assert main(["report", legacy, "--store", str(path), "-o", str(tmp_path / "r.html")]) == 0
    assert main(["exporter", "--once", "--store", str(path)]) == 0
    out = capsys.readouterr().out
    assert f'run_id="{legacy}"' in out and "NaN" not in out


def test_exporter_warns_on_non_loopback_bind(store_path, capsys, monkeypatch):
    from wattwise.cli.observe import is_loopback
    from wattwise.errors import WattwiseError
    from wattwise.integrations import prometheus

    assert is_loopback("127.0.0.2") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4") and not is_loopback("box.lan")

    def no_bind(*a, **k):
        raise WattwiseError("not binding in a test")

    monkeypatch.setattr(prometheus, "start_exporter", no_bind)
    path, _ = store_path
    assert main(["exporter", "--host", "0.0.0.0", "--store", str(path)]) == 2
    assert "warning: serving metrics on 0.0.0.0" in capsys.readouterr().err
    assert main(["exporter", "--host", "127.0.0.1", "--store", str(path)]) == 2
    assert "warning" not in capsys.readouterr().err
