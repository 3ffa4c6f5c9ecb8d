import json

import pytest

from tests import grid_fakes
from wattwise.cli.app import main


@pytest.fixture
def home(tmp_path, monkeypatch):
    grid_fakes.isolate(tmp_path, monkeypatch)
    grid_fakes.fake_net(monkeypatch)  # any request not routed fails the test
    return tmp_path


def run(capsys, *args):
    rc = main(list(args))
    out, err = capsys.readouterr()
    return rc, out, err


def test_intensity_command(home, capsys):
    rc, out, _ = run(capsys, "intensity", "FR")
    assert rc == 0 and "gCO2e/kWh" in out and "Ember" in out
    rc, out, _ = run(capsys, "intensity", "US-CAL-CISO", "--at", "2023-07-01T20:00", "--json")
    d = json.loads(out)
    assert rc == 0 and d["resolution"] == "hourly" and d["unit"] == "gCO2e/kWh"
    assert d["location"]["kind"] == "zone"


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["intensity", "US-CAL-CISX"], "US-CAL-CISO"),
        (["intensity", "FR", "--at", "tomorrow-ish"], "malformed time"),
        (["intensity"], "no location"),
        (["regions", "--cloud", "oracle"], "unknown cloud"),
        (["intensity", "FR", "--provider", "nope"], "unknown provider"),
        (["config", "set", "pue", "0.2"], "PUE"),
    ],
)
def test_bad_input_is_one_clear_error(home, capsys, args, text):
    rc, out, err = run(capsys, *args)
    assert rc != 0 and text in err and "Traceback" not in err + out


def test_provider_failure_prints_notice_and_succeeds(home, capsys, monkeypatch):
    monkeypatch.setenv("ELECTRICITYMAPS_TOKEN", "tok")
    from wattwise.grid import http

    http.OPENER.add("electricitymap.org", 401)
    rc, out, err = run(capsys, "intensity", "FR", "--provider", "electricitymaps")
    assert rc == 0 and "notice:" in err and "credentials refused" in err
    assert "tok" not in (out + err).replace("token", "")


def test_regions_ranked(home, capsys):
    rc, out, _ = run(capsys, "regions", "--cloud", "gcp", "--json")
    rows = json.loads(out)
    assert rc == 0 and len(rows) == 44
    vals = [r["g_per_it_kwh"] for r in rows]
    assert vals == sorted(vals)
    rc, out, _ = run(capsys, "regions", "--sort", "name", "--limit", "5")
    assert rc == 0 and "aws:af-south-1" in out


def test_config_roundtrip_masks_secrets(home, capsys):
    assert run(capsys, "config", "set", "location", "fra")[0] == 0
    rc, out, _ = run(capsys, "config", "get", "location")
    assert out.strip() == "FR"
    run(capsys, "config", "set", "electricitymaps_token", "abc123secret")
    rc, out, _ = run(capsys, "config", "list")
    assert "abc123secret" not in out and "electricitymaps_token = ****" in out
    rc, out, _ = run(capsys, "intensity")
    assert rc == 0 and "[FR, country]" in out
    assert run(capsys, "config", "unset", "location")[0] == 0
    rc, _, err = run(capsys, "config", "unset", "location")
    assert rc != 0 and "not set" in err
    rc, _, err = run(capsys, "config", "set", "location", "Atlantis")
    assert rc != 0 and "unknown location" in err


def test_watttime_cli_shows_signal_index(home, capsys, monkeypatch):
    from wattwise.grid import http

    monkeypatch.setenv("WATTTIME_USERNAME", "me")
    monkeypatch.setenv("WATTTIME_PASSWORD", "pw")
    http.OPENER.add("api.watttime.org/login", "wt_login.json")
    http.OPENER.add("/v3/forecast", "wt_forecast_CAISO_NORTH.json")
    http.OPENER.add("/v3/signal-index", "wt_signal_index_CAISO_NORTH.json")
    rc, out, _ = run(capsys, "intensity", "aws:us-west-1", "--provider", "watttime")
    assert rc == 0 and "marginal" in out and "signal index: 37" in out
