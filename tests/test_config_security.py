"""The config file is always 0600 (atomic writes), secrets come from stdin or a prompt, unknown keys are refused."""

from __future__ import annotations

import io
import json
import os
import stat
import sys

import pytest

from wattwise.cli.app import main
from wattwise.config import config_path, save_config


def _mode() -> int:
    return stat.S_IMODE(config_path().stat().st_mode)


def test_config_file_stays_private(capsys):
    old = os.umask(0)
    try:
        assert main(["config", "set", "electricitymaps_token", "tok-1"]) == 0
        assert _mode() == 0o600
        assert main(["config", "set", "location", "FR"]) == 0  # used to make it 0644
        assert _mode() == 0o600
        os.chmod(config_path(), 0o644)  # even a file someone loosened is written back private
        assert main(["config", "unset", "location"]) == 0
        assert _mode() == 0o600
    finally:
        os.umask(old)
    assert [p.name for p in config_path().parent.iterdir() if p.name.startswith(".config.")] == []
    assert "tok-1" not in capsys.readouterr().out


def test_secret_from_stdin_not_argv(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("s3cret-from-stdin\n"))
    assert main(["config", "set", "watttime_password", "-"]) == 0
    out, err = capsys.readouterr()
    assert "s3cret" not in out + err and "****" in out and "warning" not in err
    assert json.loads(config_path().read_text())["watttime_password"] == "s3cret-from-stdin"
    monkeypatch.setattr(sys, "stdin", io.StringIO("tok-2\n"))
    assert main(["config", "set", "electricitymaps_token"]) == 0  # no value: read it
    assert json.loads(config_path().read_text())["electricitymaps_token"] == "tok-2"
    assert main(["config", "set", "electricitymaps_token", "on-argv"]) == 0
    assert "visible in ps and shell history" in capsys.readouterr().err


def test_unknown_keys_refused_with_a_suggestion(capsys):
    save_config({"location": "DE"})
    assert main(["config", "set", "locaton", "FR"]) == 2
    err = capsys.readouterr().err
    assert "unknown config key 'locaton'" in err and "did you mean: location" in err
    assert json.loads(config_path().read_text()) == {"location": "DE"}
    assert main(["config", "set", "", "x"]) == 2
    assert main(["config", "set", "pue", "nan"]) == 2
    assert main(["config", "set", "pue", "1.2"]) == 0
    assert json.loads(config_path().read_text())["pue"] == "1.2"


@pytest.mark.parametrize(("env", "value"), [("WATTWISE_PUE", "abc"), ("WATTWISE_PUE", "0.4"),
                                             ("WATTWISE_PUE", "inf"), ("WATTWISE_CLOUD_DETECT", "maybe"),
                                             ("WATTWISE_UKGRID_REGION", "42")])
def test_malformed_environment_is_an_error(capsys, monkeypatch, env, value):
    monkeypatch.setenv(env, value)
    assert main(["runs"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {env}") and "hint:" in err
