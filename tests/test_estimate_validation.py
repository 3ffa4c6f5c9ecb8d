"""The validation bench runs from a fresh clone and meets the issue's targets."""

from __future__ import annotations

import json
from pathlib import Path

from tests.bench_loader import load_bench

ROOT = Path(__file__).resolve().parents[1]


def test_validation_bench_meets_targets(tmp_path, monkeypatch, capsys):
    mod = load_bench("estimator_validation")
    monkeypatch.setattr(mod, "OUT", tmp_path / "estimator.json")
    assert mod.main() == 0
    capsys.readouterr()
    data = json.loads((tmp_path / "estimator.json").read_text())
    s = data["summary"]
    assert s["accounting"]["median_abs_energy_error"] <= 0.10
    assert s["planning"]["median_abs_energy_error"] <= 0.25
    assert len(data["rows"]) >= 10
    assert all(r["source"] for r in data["rows"])
