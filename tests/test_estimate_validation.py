"""The validation bench runs from a fresh clone and meets the issue's targets."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_validation_bench_meets_targets(tmp_path, monkeypatch, capsys):
    spec = importlib.util.spec_from_file_location(
        "estimator_validation", ROOT / "bench" / "estimator_validation.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    monkeypatch.setattr(mod, "OUT", tmp_path / "estimator.json")
    assert mod.main() == 0
    capsys.readouterr()
    data = json.loads((tmp_path / "estimator.json").read_text())
    s = data["summary"]
    assert s["accounting"]["median_abs_energy_error"] <= 0.10
    assert s["planning"]["median_abs_energy_error"] <= 0.25
    assert len(data["rows"]) >= 10
    assert all(r["source"] for r in data["rows"])
