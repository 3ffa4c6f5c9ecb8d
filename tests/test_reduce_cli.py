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
               "--no-progress", "--json", str(js), "--intensity", "100"])
    text = capsys.readouterr().out
    assert rc == 0, text
    assert "ort-int8" in text and "recommended" in text
    data = json.loads(js.read_text())
    assert data["intensity"]["g_per_kwh"] == 100
    assert {v["name"] for v in data["variants"]} == {"fp32", "ort-int8"}
    assert (out / "pareto.png").exists()


@pytest.mark.parametrize("args", [
    ["reduce", "tiny-bert", "--variants", "fp32,ort-int9"],
    ["reduce", "/nonexistent/model"],
    ["reduce", "tiny-bert", "--variants", "bf16+ort-int8"],
    ["lm-profile", "tiny-bert"],
    ["reduce", "tiny-gpt2", "--variants", "fp32", "--lm-text", "/nonexistent/text.txt"],
    ["reduce", "/nonexistent/ckpt.pt"],
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
               "3", "--prompt-tokens", "4", "--json", str(js)])
    assert rc == 0, capsys.readouterr().err
    rows = json.loads(js.read_text())
    assert len(rows) == 2 * 2 * 2
    seen = {(r["precision"], r["batch"], r["kv_cache"]) for r in rows}
    assert seen >= {("bf16", 4, False), ("fp32", 1, True)}
    assert all(r["energy_j_per_1k_tokens"] >= 0 and r["generated"] == r["batch"] * 3 for r in rows)
