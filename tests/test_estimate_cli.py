"""``wattwise estimate`` command: table, --json, comparisons and one-line errors."""

from __future__ import annotations

import json

import pytest
import typer

import wattwise.cli.app as cli_app
from wattwise.cli import estimate as estimate_cli


@pytest.fixture
def run(monkeypatch, capsys):
    # A fresh app with a callback so `estimate` stays a subcommand even while it is the only command.
    app = typer.Typer(pretty_exceptions_enable=False)

    @app.callback()
    def _root() -> None:
        """wattwise"""

    estimate_cli.register(app)
    monkeypatch.setattr(cli_app, "app", app)

    def _run(*args: str) -> tuple[int, str, str]:
        rc = cli_app.main(["estimate", *args])
        out = capsys.readouterr()
        return rc, out.out, out.err

    return _run


def test_registered_in_command_modules():
    assert "wattwise.cli.estimate" in cli_app.COMMAND_MODULES


def test_table_output(run):
    rc, out, _ = run(
        "--params",
        "7B",
        "--tokens",
        "2T",
        "--hardware",
        "a100-80gb",
        "--devices",
        "1024",
        "--intensity",
        "400",
        "--pue",
        "1.1",
    )
    assert rc == 0
    assert "planning estimate on a100-80gb" in out and "total CO2e" in out and "offset cost" in out


def test_json_output(run):
    rc, out, _ = run(
        "--params",
        "7B",
        "--tokens",
        "2T",
        "--hardware",
        "a100-80gb",
        "--intensity",
        "400",
        "--pue",
        "1.1",
        "--serve-tokens-per-day",
        "1B",
        "--finetune-tokens",
        "1B",
        "--json",
    )
    assert rc == 0
    data = json.loads(out)
    assert data["training"]["mode"] == "planning"
    assert data["training"]["footprint"]["total_kg"] > 0
    assert data["inference"]["breakeven_days"] > 0
    assert 0 < data["finetune_vs_scratch"]["ratio"] < 0.01


def test_compare_hardware_json(run):
    rc, out, _ = run(
        "--params",
        "7B",
        "--tokens",
        "2T",
        "--compare-hardware",
        "a100-80gb,h100-sxm,tpu-v4",
        "--intensity",
        "400",
        "--pue",
        "1.1",
        "--json",
    )
    assert rc == 0
    data = json.loads(out)
    assert len(data["comparison"]) == 3 and data["best"].startswith("best:")


def test_compare_regions_table(run):
    rc, out, _ = run(
        "--params",
        "7B",
        "--tokens",
        "2T",
        "--hardware",
        "h100-sxm",
        "--compare-regions",
        "pl=650,fr=56",
        "--pue",
        "1.1",
    )
    assert rc == 0 and "best: fr" in out


def test_accounting_mode(run):
    rc, out, _ = run(
        "--device-hours",
        "184320",
        "--hardware",
        "a100-80gb",
        "--power-basis",
        "tdp",
        "--intensity",
        "385",
        "--pue",
        "1.1",
        "--json",
    )
    assert rc == 0
    assert json.loads(out)["training"]["facility_kwh"]["central"] == pytest.approx(184320 * 0.4 * 1.1)


def test_list_hardware(run):
    rc, out, _ = run("--list-hardware")
    assert rc == 0 and "mi300x" in out


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--params", "7B", "--tokens", "2X", "--hardware", "a100-80gb", "--intensity", "1"], "unknown unit"),
        (
            ["--params", "0", "--tokens", "2T", "--hardware", "a100-80gb", "--intensity", "1"],
            "greater than zero",
        ),
        (["--params", "7B", "--tokens", "2T", "--hardware", "a100-80g", "--intensity", "1"], "a100-80gb"),
        (
            [
                "--params",
                "7B",
                "--tokens",
                "2T",
                "--hardware",
                "a100-80gb",
                "--mfu",
                "1.5",
                "--intensity",
                "1",
            ],
            "(0, 1]",
        ),
        (["--params", "7B", "--tokens", "2T"], "no hardware"),
    ],
)
def test_bad_input_one_line_error(run, args, needle):
    rc, out, err = run(*args)
    assert rc != 0
    assert "error:" in err and needle in err
    assert "Traceback" not in err + out


def test_unknown_location_is_one_error(run):
    rc, out, err = run("--params", "7B", "--tokens", "2T", "--hardware", "a100-80gb", "--location", "nowhere-land")
    assert rc != 0 and "error: unknown location 'nowhere-land'" in err and "hint:" in err
    assert "Traceback" not in err + out
