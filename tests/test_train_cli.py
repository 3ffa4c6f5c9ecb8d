"""CLI: train-tinygpt and compare-training (quick), and their input errors."""

from __future__ import annotations

import json

import pytest

from wattwise.cli.app import main


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("WATTWISE_HOME", str(tmp_path / "home"))


def test_train_tinygpt_tiny(tmp_path, capsys) -> None:
    out = tmp_path / "tg"
    rc = main(["train-tinygpt", "--tiny", "--steps", "40", "--out", str(out), "--early-stop", "0.01", "-l", "FR"])
    assert rc == 0
    assert (out / "ckpt.pt").exists()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps_done"] == 40 and summary["energy"]["energy_kwh"] >= 0
    assert summary["energy"]["intensity_source"].endswith("country FR")  # annual: no trace covers 2026
    assert "val loss" in capsys.readouterr().out
    # the summary's figures are the stored run's (one truth): same intensity, same CO2 as `show`
    from wattwise.accounting import run_footprint
    from wattwise.store.connect import open_store

    store = open_store(None)
    rec = store.get_run("last")
    fp = run_footprint(store, rec)
    assert fp.intensity.source == summary["energy"]["intensity_source"]
    assert fp.intensity.g_per_kwh == pytest.approx(summary["energy"]["intensity_g_per_kwh"], rel=1e-3)


def test_compare_training_quick(tmp_path, capsys) -> None:
    out = tmp_path / "cmp.json"
    rc = main(["compare-training", "--quick", "--variants", "fixed,early_stopping", "--out", str(out)])
    assert rc == 0
    res = json.loads(out.read_text())
    assert set(res["runs"]) == {"fixed", "early_stopping"}
    es = res["early_stopping"]
    assert es["saved_fraction"] <= 1 and es["fixed_energy_kwh"] > 0
    fc = res["forecast"]
    assert fc["at_step"] >= 0.1 * fc["of_steps"] and fc["forecast_kwh"] > 0
    assert "forecast at step" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["compare-training", "--variants", "fixed,bogus"], "unknown variant"),
        (["compare-training", "--target", "-1"], "must be positive"),
        (["train-tinygpt", "--steps", "0"], "at least 1"),
        (["train-tinygpt", "--location", "Atlantis"], "unknown location 'Atlantis'"),
        (["train-tinygpt", "--budget-kwh", "0"], "must be positive"),
        (["train-tinygpt", "--early-stop", "0.1", "--cooldown", "2"], "between 0 and 1"),
    ],
)
def test_bad_input_is_one_line_error(argv, message, capsys) -> None:
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc != 0 and message in err and "Traceback" not in err


def test_compare_early_stopping_runs_its_cooldown() -> None:
    from dataclasses import replace

    from wattwise.train.compare import CompareSettings, compare_training

    cs = replace(
        CompareSettings.quick(),
        variants=("early_stopping",),
        es_min_rate_fraction=0.9,
        es_window=1,
        es_cooldown=0.5,
    )
    res = compare_training(cs)
    es = res["runs"]["early_stopping"]
    assert "cool-down" in es["stop_reason"]
    stop = int(es["stop_reason"].split("at step ")[1].split(";")[0])
    # the cool-down runs half as many steps again, but never past the planned run
    assert es["steps_done"] == min(stop + round(0.5 * stop), es["steps_planned"])
