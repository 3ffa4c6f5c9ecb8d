"""Shared helpers for the grid tests: an isolated WATTWISE_HOME and a fake HTTP opener (no network)."""

from __future__ import annotations

import io
import json
import urllib.error
from email.message import Message
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures" / "grid"
ENV_VARS = [
    "WATTWISE_LOCATION", "WATTWISE_PUE", "WATTWISE_GRID_PROVIDER", "WATTWISE_CLOUD_DETECT",
    "ELECTRICITYMAPS_TOKEN", "WATTWISE_ELECTRICITYMAPS_TOKEN", "WATTTIME_USERNAME", "WATTTIME_PASSWORD",
    "WATTWISE_WATTTIME_REGION", "WATTWISE_UKGRID_REGION",
    "WATTWISE_WATTTIME_USERNAME", "WATTWISE_WATTTIME_PASSWORD",
]


class FakeNet:
    """Routes requests by URL substring to fixture files or errors; records every request."""

    def __init__(self) -> None:
        self.routes: list[tuple[str, object]] = []
        self.requests: list = []

    def add(self, fragment: str, response: object) -> None:
        self.routes.insert(0, (fragment, response))

    def __call__(self, req, timeout):
        self.requests.append(req)
        url = req.full_url
        for frag, resp in self.routes:
            if frag in url:
                if isinstance(resp, BaseException):
                    raise resp
                if isinstance(resp, int):
                    hdrs = Message()
                    if resp == 429:
                        hdrs["Retry-After"] = "1"
                    raise urllib.error.HTTPError(url, resp, "error", hdrs, io.BytesIO(b"{}"))
                if isinstance(resp, bytes):
                    return 200, resp
                return 200, (FIXTURES / str(resp)).read_bytes()
        raise AssertionError(f"unexpected network request in a test: {url}")


def isolate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private WATTWISE_HOME and no grid-related variables from the caller's environment."""
    for v in ENV_VARS:
        monkeypatch.delenv(v, raising=False)
    monkeypatch.setenv("WATTWISE_HOME", str(tmp_path))
    return tmp_path


def fake_net(monkeypatch: pytest.MonkeyPatch) -> FakeNet:
    """Install a FakeNet as the HTTP opener (and a no-op sleep)."""
    from wattwise.grid import http
    from wattwise.grid.providers import watttime

    fake = FakeNet()
    sleeps: list[float] = []
    monkeypatch.setattr(http, "OPENER", fake)
    monkeypatch.setattr(http, "SLEEP", sleeps.append)
    monkeypatch.setattr(watttime, "_TOKEN", {})
    fake.sleeps = sleeps
    return fake


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())
