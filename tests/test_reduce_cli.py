"""``wattwise reduce`` and ``wattwise lm-profile`` through the CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")

from wattwise.cli.app import main


def test_reduce_cli_tiny(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    js = tmp_path / "r.json"
    rc = main(["reduce", "tiny-bert", "--variants", "fp32,ort-int8", "--out", str(out), "--eval-pairs", "20",
               "--no-progress", "--json", str(js), "--intensity", "100", "--rounds", "6", "--batch-size", "8"])
    text = capsys.readouterr().out
    assert rc == 0, text
    assert "ort-int8" in text and ("recommended: " in text or "no clear winner" in text)
    assert "[95% CI]" in text
    data = json.loads(js.read_text())
    assert data["intensity"]["g_per_kwh"] == 100
    assert {v["name"] for v in data["variants"]} == {"fp32", "ort-int8"}
    assert (out / "pareto.png").exists()
    row = next(v for v in data["variants"] if v["name"] == "ort-int8")
    assert row["energy_vs_fp32_low"] <= row["energy_vs_fp32"] <= row["energy_vs_fp32_high"]
    assert row["rounds"] == 6 and data["options"]["threads"] == 1


NOISE = ("Failed to load", "Writing model shards", "Loading weights", "pre-processing", "Warning", "W1201",
         "UserWarning", "Enum subclass")


@pytest.mark.slow
def test_reduce_output_is_quiet(tmp_path: Path) -> None:
    """In a fresh process (where torchao, transformers and ORT print at first import and use): only our output."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    cmd = [sys.executable, "-m", "wattwise.cli.app", "reduce", "tiny-bert", "--variants",
           "fp32,ort-int8,torchao-int8-weight", "--eval-pairs", "12", "--rounds", "2", "--no-progress",
           "--out", str(tmp_path / "o")]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert p.returncode == 0, p.stderr
    for noise in NOISE:
        assert noise not in p.stdout + p.stderr, (noise, p.stderr[-2000:])
    assert "wattwise reduce" in p.stdout and p.stderr.strip() == ""


@pytest.mark.parametrize("args", [
    ["reduce", "tiny-bert", "--variants", "fp32,ort-int9"],
    ["reduce", "/nonexistent/model"],
    ["reduce", "tiny-bert", "--variants", "bf16+ort-int8"],
    ["lm-profile", "tiny-bert"],
    ["reduce", "tiny-gpt2", "--variants", "fp32", "--lm-text", "/nonexistent/text.txt"],
    ["reduce", "/nonexistent/ckpt.pt"],
    ["reduce", "tiny-bert", "--threads", "-1"],
    ["reduce", "tiny-bert", "--rounds", "0"],
    ["lm-profile", "tiny-gpt2", "--threads", "-3"],
])
def test_reduce_cli_errors(args: list[str], capsys) -> None:
    rc = main(args)
    err = capsys.readouterr().err
    assert rc != 0
    assert err.startswith("error:") and "Traceback" not in err


def test_list_techniques(capsys) -> None:
    assert main(["reduce", "--list"]) == 0
    assert "ort-int8-selective" in capsys.readouterr().out


def test_lm_profile_cli(tmp_path: Path, capsys) -> None:
    js = tmp_path / "p.json"
    rc = main(["lm-profile", "tiny-gpt2", "--batch-sizes", "1,4", "--precisions", "fp32,bf16", "--new-tokens",
               "3", "--prompt-tokens", "4", "--json", str(js), "--threads", "1"])
    assert rc == 0, capsys.readouterr().err
    rows = json.loads(js.read_text())
    assert len(rows) == 2 * 2 * 2
    seen = {(r["precision"], r["batch"], r["kv_cache"]) for r in rows}
    assert seen >= {("bf16", 4, False), ("fp32", 1, True)}
    assert all(r["energy_j_per_1k_tokens"] >= 0 and r["generated"] == r["batch"] * 3 for r in rows)
    assert all(r["threads"] == 1 for r in rows)
