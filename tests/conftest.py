"""Shared fixtures: every test gets its own WATTWISE_HOME (store, config, cache) in a tmp dir."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def wattwise_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    home = tmp_path_factory.mktemp("wattwise_home")
    monkeypatch.setenv("WATTWISE_HOME", str(home))
    for var in ("WATTWISE_STORE", "WATTWISE_LOCATION", "WATTWISE_RUN_ID"):
        monkeypatch.delenv(var, raising=False)
    return home
