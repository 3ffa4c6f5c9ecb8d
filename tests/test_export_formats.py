"""Exports read by their real consumers: CodeCarbon's carbonboard and pandas (CSV), jsonschema (JSON document
and the dashboard API), CodeCarbon's BoAmps models (BoAmps), plus the EU AI Act block."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import pytest

from tests.report_fixtures import make_run, new_store
from wattwise.accounting import run_footprint
from wattwise.cli.app import main
from wattwise.export import CODECARBON_COLUMNS, codecarbon_rows, run_document, run_schema, write_codecarbon_csv
from wattwise.store import open_store

LOCATIONS = [None, "FR", "DE", "US-CAL-CISO", "gcp:europe-west1", "aws:us-east-1", "azure:francecentral"]


def _csv(tmp_path: Path, locations: list[str | None]) -> tuple[Path, list[dict]]:
    s = new_store(tmp_path)
    rows = []
    for i, loc in enumerate(locations):
        rid = make_run(s, name=f"proj{i % 2}", location=loc, intensity=None if loc else 300.0)
        rec = s.get_run(rid)
        rows += codecarbon_rows(rec, run_footprint(s, rec))
    out = tmp_path / "emissions.csv"
    write_codecarbon_csv(rows, out)
    return out, rows


def test_codecarbon_location_columns(tmp_path: Path) -> None:
    _, rows = _csv(tmp_path, LOCATIONS)
    by = {r["run_id"].split("-")[0] + str(i): r for i, r in enumerate(rows)}
    r = list(by.values())
    assert (r[0]["country_iso_code"], r[0]["country_name"], r[0]["on_cloud"]) == ("WLD", "World", "N")
    assert (r[1]["country_iso_code"], r[1]["country_name"], r[1]["region"]) == ("FRA", "France", "")
    assert r[3]["country_iso_code"] == "USA" and r[3]["region"]  # a zone: the zone's name as region
    assert (r[4]["country_iso_code"], r[4]["cloud_provider"], r[4]["cloud_region"], r[4]["on_cloud"]) == (
        "BEL", "gcp", "europe-west1", "Y")
    assert all(x["tracking_mode"] in ("machine", "process") for x in rows)
    # the fixture runs recorded no host and no usage: empty, not 0.0
    assert all(x["cpu_utilization_percent"] == "" and x["ram_used_gb"] == "" and x["os"] == "" for x in rows)


def test_override_changes_location_columns_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    s = new_store(tmp_path)
    make_run(s, location="FR")
    db = str(tmp_path / "runs.sqlite")
    assert main(["export", "last", "--store", db, "-f", "codecarbon-csv", "-l", "DE"]) == 0
    row = next(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert row["country_iso_code"] == "DEU" and row["country_name"] == "Germany"


@pytest.mark.slow
def test_carbonboard_loads_every_row(tmp_path: Path) -> None:
    """CodeCarbon's own dashboard: its data loading and every callback, run on our CSV read by pandas."""
    pd = pytest.importorskip("pandas")
    pytest.importorskip("dash", reason="carbonboard needs dash (codecarbon[viz]); in the bench extra")
    pytest.importorskip("codecarbon")
    from codecarbon.viz.carbonboard import render_app

    out, _ = _csv(tmp_path, LOCATIONS)
    df = pd.read_csv(out)
    assert list(df.columns) == CODECARBON_COLUMNS
    for i in range(len(df)):  # one project per row, so every row is the "last run" summary once
        one = df.iloc[[i]].copy()
        one["project_name"] = "p"
        app = render_app(one)
        cbs = {k: v["callback"].__wrapped__ for k, v in app.callback_map.items()}
        first = next(f for k, f in cbs.items() if "hidden_project_summary" in k)
        table, summary, *_ = first("p")
        for key, fn in cbs.items():
            if fn is first:
                continue
            if "global_emissions_choropleth" in key:
                fn(summary, "fossil")
            elif "project_time_series" in key or "project_emissions_bar_chart" in key:
                fn({"props": {"data": table.data}})
            elif "regional_emissions_comparison_choropleth" in key and summary["country_iso_code"] == "USA":
                try:  # codecarbon 3.3 reads a '_unit' key of its own US table as a state: fails on every
                    fn(summary)  # USA row, including those CodeCarbon writes itself
                except KeyError as exc:
                    assert exc.args == ("regionCode",)
            else:
                fn(summary)


@pytest.mark.slow
def test_units_match_codecarbon_offline_tracker(tmp_path: Path) -> None:
    """Column by column against a CSV written by codecarbon.OfflineEmissionsTracker: same names, same kinds."""
    pd = pytest.importorskip("pandas")
    cc = pytest.importorskip("codecarbon")
    import logging

    tracker = cc.OfflineEmissionsTracker(country_iso_code="FRA", output_dir=str(tmp_path), save_to_file=True,
                                         log_level=logging.ERROR, measure_power_secs=1, tracking_mode="machine")
    tracker.start()
    sum(range(3 * 10**6))
    tracker.stop()
    theirs = pd.read_csv(tmp_path / "emissions.csv").iloc[0]
    import wattwise

    with wattwise.track("cc-compare", store=tmp_path / "w.sqlite", interval=0.2, location="FR", whole_machine=True):
        sum(range(3 * 10**6))
    s = open_store(tmp_path / "w.sqlite")
    rec = s.list_runs()[0]
    write_codecarbon_csv(codecarbon_rows(rec, run_footprint(s, rec)), tmp_path / "ours.csv")
    ours = pd.read_csv(tmp_path / "ours.csv").iloc[0]
    assert list(ours.index) == [c for c in theirs.index if c in CODECARBON_COLUMNS] == CODECARBON_COLUMNS
    for col in ("country_name", "country_iso_code", "tracking_mode", "on_cloud", "os", "python_version",
                "cpu_count", "cpu_model"):
        assert ours[col] == theirs[col], col
    assert ours["ram_total_size"] == pytest.approx(theirs["ram_total_size"], rel=0.01)  # both GiB
    assert 0 < ours["cpu_utilization_percent"] <= 100 and 0 < ours["ram_used_gb"] < ours["ram_total_size"]
    for col in ("duration", "energy_consumed", "emissions", "cpu_power", "ram_power"):
        assert ours[col] > 0 and theirs[col] > 0
    # kWh, kg, W, s: same orders of magnitude for the same work on the same machine
    assert 0.1 < ours["duration"] / theirs["duration"] < 10
    assert 1e-3 < ours["cpu_power"] / theirs["cpu_power"] < 1e3


def test_json_export_and_dashboard_api_follow_the_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    s = new_store(tmp_path)
    rid = make_run(s, location="FR", counters={"tokens": 500.0, "steps": 5.0})
    db = str(tmp_path / "runs.sqlite")
    assert main(["export", rid, "--store", db, "-f", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    schema = run_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(doc, schema)
    assert doc["schema_version"] == "1.0"
    bad = {**doc, "schema_version": 2}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from wattwise.dashboard.app import create_app

    api = TestClient(create_app(open_store(db))).get(f"/api/runs/{rid}").json()
    jsonschema.validate(api, schema)
    assert api == run_document(s, s.get_run(rid)) == doc


def test_boamps_report_is_read_by_codecarbons_models(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    s = new_store(tmp_path)
    rid = make_run(s, location="gcp:europe-west1", counters={"tokens": 2000.0})
    db = str(tmp_path / "runs.sqlite")
    assert main(["export", rid, "--store", db, "-f", "boamps"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["header"]["formatVersion"] == "0.1" and doc["task"]["taskStage"] == "training"
    assert doc["measures"][0]["powerConsumption"] == pytest.approx(run_footprint(s, s.get_run(rid)).facility_kwh)
    assert doc["infrastructure"]["infraType"] == "publicCloud" and doc["environment"]["country"] == "Belgium"
    pytest.importorskip("codecarbon")
    from codecarbon.output_methods.boamps.models import BoAmpsReport

    assert BoAmpsReport.from_dict(doc).to_dict() == doc  # every key is one BoAmps knows, with its nesting


def test_eu_ai_act_block_from_run_and_estimate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    s = new_store(tmp_path)
    rid = make_run(s, counters={"tokens": 1e6})
    db = str(tmp_path / "runs.sqlite")
    assert main(["export", rid, "--store", db, "-f", "eu-ai-act", "--params", "1e8"]) == 0
    block = json.loads(capsys.readouterr().out)["eu_ai_act"]
    assert block["training_compute_flop"] == pytest.approx(6 * 1e8 * 1e6)
    assert block["energy_status"] == "modelled" and "cpu: modelled" in block["energy_method"]
    assert block["energy_consumption_kwh"] == pytest.approx(run_footprint(s, s.get_run(rid)).facility_kwh)
    assert main(["export", rid, "--store", db, "-f", "eu-ai-act"]) == 0
    assert json.loads(capsys.readouterr().out)["eu_ai_act"]["training_compute_flop"] is None
    from wattwise.estimate.training import estimate_training
    from wattwise.report.formats import eu_ai_act_from_estimate

    est = estimate_training(params=1e9, tokens=2e10, hardware="A100", devices=8)
    e = eu_ai_act_from_estimate(est, model="m")["eu_ai_act"]
    assert e["energy_status"] == "estimated" and e["training_compute_flop"] == pytest.approx(6 * 1e9 * 2e10)
    assert e["energy_consumption_kwh"] > 0 and e["training_time_hours"] > 0
    assert main(["estimate", "--hardware", "a100-80gb", "--params", "1B", "--tokens", "20B", "--devices", "8",
                 "--eu-ai-act"]) == 0
    cli_block = json.loads(capsys.readouterr().out)["eu_ai_act"]
    assert cli_block["training_compute_flop"] == pytest.approx(6 * 1e9 * 2e10)
    assert cli_block["energy_status"] == "estimated" and "Annex XI" in cli_block["basis"]


def test_bad_format_lists_all(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    s = new_store(tmp_path)
    make_run(s)
    assert main(["export", "last", "--store", str(tmp_path / "runs.sqlite"), "-f", "xml"]) != 0
    assert "boamps" in capsys.readouterr().err


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__]))
