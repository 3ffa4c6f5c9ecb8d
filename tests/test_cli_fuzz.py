"""Malformed invocations (from a fuzzing session, and more): each gives exactly one ``error:`` line and a
``hint:``, a non-zero exit, no traceback, and nothing is run or stored. ``reduce`` / ``lm-profile`` input is
checked before torch is imported."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.report_fixtures import make_run, new_store
from wattwise.cli.app import main

SRC = Path(__file__).resolve().parents[1] / "src"
EST = ["estimate", "--hardware", "a100-80gb", "--params", "7B", "--tokens", "1T"]
NOW = ["--now", "2023-06-01T00:00Z"]

CASES = [
    # run: the job must not start
    (["run", "--intensity", "nan", "--", "sh", "-c", "touch ran; exit 3"], "finite"),
    (["run", "--intensity", "inf", "--", "sh", "-c", "touch ran; exit 3"], "finite"),
    (["run", "--intensity", "-1", "--", "sh", "-c", "touch ran"], ">= 0"),
    (["run", "--pause-mode", "bogus", "--", "sh", "-c", "touch ran"], "unknown pause mode"),
    (["run", "--within", "99999999h", "-l", "FR", "--", "sh", "-c", "touch ran"], "longer than 10 years"),
    (["run", "--within", "3000d", "-l", "FR", "--", "sh", "-c", "touch ran"], "forecast"),
    (["run", "--pause-above", "nan", "-l", "FR", "--", "sh", "-c", "touch ran"], "finite"),
    (["run", "--interval", "0", "--", "sh", "-c", "touch ran"], "interval"),
    (["run", "-l", "Mars", "--", "sh", "-c", "touch ran"], "unknown location"),
    # listing and reading
    (["runs", "--limit", "99999999999999999999"], "--limit"),
    (["runs", "--limit", "0"], "--limit"),
    (["runs", "--limit", "-5"], "--limit"),
    (["show", "x" * 60000], "at most 128"),
    (["show", "no-such-run"], "no run"),
    (["show", "last", "--intensity", "-1"], ">= 0"),
    (["show", "last", "--intensity", "nan"], "finite"),
    (["export", "last", "-f", "codecarbon-csv", "-o", "{tmp}"], "is a folder"),
    (["export", "last", "-o", "/nonexistent/dir/e.csv"], "does not exist"),
    (["export", "last", "-f", "xml"], "unknown export format"),
    (["export", "last", "--intensity", "inf"], "finite"),
    (["report", "last", "--intensity", "-1"], ">= 0"),
    (["report", "last", "--within", "inf"], "finite"),
    (["report", "last", "--within", "0"], "> 0"),
    (["report", "last", "--compare-region", "FR=nan"], "finite"),
    (["report", "last", "--compare-region", "FR=-3"], ">= 0"),
    (["report", "last", "-o", "{tmp}"], "is a folder"),
    # estimate
    ([*EST, "--lifetime-years", "0"], "> 0 years"),
    ([*EST, "--lifetime-years", "nan"], "finite"),
    ([*EST, "--intensity", "nan"], "finite"),
    ([*EST, "--pue", "0.5"], ">= 1"),
    (["estimate", "--hardware", "a100-8gb", "--params", "7B", "--tokens", "1T"], "unknown hardware"),
    # schedule
    (["schedule", "when", "-l", "FR", "--within", "8h", "--energy", "nan", *NOW], "finite"),
    (["schedule", "when", "-l", "FR", "--within", "8h", "--energy", "-1", *NOW], "> 0"),
    (["schedule", "when", "-l", "FR", "--within", "8h", "--interruptible", "--pause-above", "inf", *NOW], "finite"),
    (["schedule", "when", "-l", "FR", "--within", "5000d", *NOW], "longer than 10 years"),
    (["schedule", "when", "-l", "FR", "--within", "400d", *NOW], "trace"),
    (["schedule", "where", "FR", "DE", "--price", "FR=nan,DE=1", *NOW], "finite"),
    (["schedule", "where", "FR", "DE", "--latency", "FR=inf,DE=1", *NOW], "finite"),
    (["schedule", "slurm", "-l", "FR", "-d", "6h", "--within", "10m", *NOW, "--", "j.sh"], "slack"),
    (["schedule", "slurm", "-l", "FR", "-d", "1h", "--within", "2h", "--slack", "soon", *NOW, "--", "j.sh"],
     "malformed --slack"),
    # config
    (["config", "set", "", "x"], "empty config key"),
    (["config", "set", "locaton", "FR"], "did you mean: location"),
    (["config", "set", "pue", "abc"], "PUE must be a number"),
    (["config", "set", "pue", "nan"], "finite"),
    (["config", "set", "ukgrid_region", "18"], "ukgrid_region"),
    (["config", "set", "location", ""], "empty value"),
    (["config", "get", "tokn"], "unknown config key"),
    # grid and observe
    (["intensity", "Mars"], "unknown location"),
    (["exporter", "--runs", "0", "--once"], "--runs"),
    (["dashboard", "--port", "70000"], "--port"),
]


@pytest.fixture()
def world(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("WATTWISE_HOME", str(home))
    monkeypatch.delenv("WATTWISE_PUE", raising=False)
    home.mkdir()
    s = new_store(home)
    make_run(s, "fixture-run")
    s.close()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _one_error(err: str, needle: str) -> None:
    lines = err.strip().splitlines()
    assert "Traceback" not in err and "this is a bug" not in err, err
    errors = [ln for ln in lines if ln.startswith("error:")]
    assert len(errors) == 1, err
    assert any(ln.strip().startswith("hint:") for ln in lines), err
    assert needle.lower() in err.lower(), err


@pytest.mark.parametrize(("argv", "needle"), CASES, ids=[" ".join(a)[:60] for a, _ in CASES])
def test_bad_input_is_one_clear_error(world, capsys, argv, needle):
    from wattwise.store.connect import open_store

    argv = [a.replace("{tmp}", str(world)) for a in argv]
    before = len(open_store(world / "home" / "runs.sqlite").list_runs())
    rc = main(argv)
    _out, err = capsys.readouterr()
    assert rc not in (0, 1), (rc, err)  # 1 is the "bug" exit
    _one_error(err, needle)
    assert not (world / "ran").exists(), "the job was started"
    assert len(open_store(world / "home" / "runs.sqlite").list_runs()) == before, "a run was stored"


def test_bad_environment_setting_is_an_error(world, capsys, monkeypatch):
    monkeypatch.setenv("WATTWISE_PUE", "abc")
    assert main(["runs"]) == 2
    _one_error(capsys.readouterr().err, "WATTWISE_PUE")
    monkeypatch.setenv("WATTWISE_PUE", "1.3")
    assert main(["runs"]) == 0


def test_hardware_alias_is_said_out_loud(world, capsys):
    assert main(["estimate", "--hardware", "a100", "--params", "7B", "--tokens", "1T", "--json"]) == 0
    err = capsys.readouterr().err
    assert "note: 'a100' is taken as a100-40gb" in err and "a100-80gb" in err
    assert main(EST) == 0
    assert "note:" not in capsys.readouterr().err


REDUCE_CASES = [
    (["reduce", "--eval-data", "empty.csv"], "found 0"),
    (["reduce", "--eval-data", "header.csv"], "found 0"),
    (["reduce", "--eval-data", "bad.csv"], "non-numeric score"),
    (["reduce", "--eval-data", "latin1.csv"], "utf-8"),
    (["reduce", "--eval-data", "missing.csv"], "not found"),
    (["reduce", "--location", "Mars"], "unknown location"),
    (["reduce", "--eval-pairs", "-5"], "--eval-pairs"),
    (["reduce", "--intensity", "nan"], "finite"),
    (["reduce", "--distill-hidden-weight", "-1"], "--distill-hidden-weight"),
    (["reduce", "--distill-hidden-weight", "inf"], "finite"),
    (["reduce", "--slim-sim-weight", "-1"], "--slim-sim-weight"),
    (["reduce", "--distill-augment", "-1"], "--distill-augment"),
    (["reduce", "--slim-augment", "50"], "--slim-augment"),
    (["reduce", "--slim-epochs", "0"], "--slim-epochs"),
    (["reduce", "--slim-int8-aware", "-1"], "--slim-int8-aware"),
    (["reduce", "--distill-text", "empty.csv"], "no text"),
    (["reduce", "tinygpt", "--kind", "encoder"], "is a causal-lm"),
    (["reduce", "tiny-bert", "--kind", "decoder"], "unknown model kind"),
    (["reduce", "no/such/model"], "model not found"),
    (["lm-profile", "--batch-sizes", "0"], "--batch-sizes"),
    (["lm-profile", "--batch-sizes", "1,x"], "whole numbers"),
    (["lm-profile", "--precisions", "fp8"], "unknown precision"),
    (["lm-profile", "all-MiniLM-L6-v2"], "not a causal LM"),
]
CHILD = """
import sys
from wattwise.cli.app import main
rc = main(sys.argv[1:])
assert "torch" not in sys.modules, "torch was imported before the input was checked"
sys.exit(rc)
"""


@pytest.mark.parametrize(("argv", "needle"), REDUCE_CASES, ids=[" ".join(a) for a, _ in REDUCE_CASES])
def test_reduce_input_checked_before_torch(world, argv, needle):
    (world / "empty.csv").write_text("")
    (world / "header.csv").write_text("sentence1,sentence2,score\n")
    (world / "bad.csv").write_text("a,b,1\nc,d,2\ne,f,lots\n")
    (world / "latin1.csv").write_bytes("caf\xe9,th\xe9,1\n".encode("latin-1"))
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    proc = subprocess.run([sys.executable, "-c", CHILD, *argv], cwd=world, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2, proc.stderr
    _one_error(proc.stderr, needle)
