"""``wattwise schedule ...`` and ``wattwise run --within/--pause-*`` through the CLI entry point."""

from __future__ import annotations

import json
import sys

import pytest

import wattwise.grid as grid
from wattwise.cli.app import main
from wattwise.schedule import runner


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("WATTWISE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("WATTWISE_LOCATION", raising=False)
    monkeypatch.delattr(grid, "forecast", raising=False)


def _json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_when_json_and_text(capsys):
    out = _json(capsys, ["schedule", "when", "-l", "DE", "-d", "6h", "--within", "12h", "--now",
                         "2023-06-01T00:00Z", "--forecast", "blend", "--json"])
    assert out["start"] == "2023-06-01T09:00:00+00:00" and out["saving_pct"] > 0
    assert "as known at 2023-06-01 00:00 UTC" in out["forecast_label"]
    assert main(["schedule", "when", "-l", "DE", "-d", "6h", "--within", "12h", "--now", "2023-06-01T00:00Z"]) == 0
    text = capsys.readouterr().out
    assert "start at" in text and "saving" in text and "forecast:" in text


def test_when_interruptible(capsys):
    out = _json(capsys, ["schedule", "when", "-l", "FR", "-d", "3h", "--deadline", "2023-01-11T00:00Z", "--now",
                         "2023-01-10T00:00Z", "--interruptible", "--json"])
    assert out["policy"] == "cleanest hours before the deadline" and out["intervals"]
    assert out["saving_pct"] >= 0


def test_where_sorted_with_tradeoffs(capsys):
    rows = _json(capsys, ["schedule", "where", "FR", "DE,NO", "-d", "4h", "--within", "12h", "--now",
                          "2023-03-01T08:00Z", "--latency", "FR=20,DE=15,NO=40", "--price", "FR=2,DE=1.8,NO=2.2",
                          "--energy", "10", "--json"])
    g = [r["g_per_kwh"] for r in rows]
    assert g == sorted(g) and rows[0]["location"] == "NO"
    assert rows[0]["cost"] == pytest.approx(8.8) and rows[0]["co2_kg"] == pytest.approx(g[0] * 10 / 1000, rel=1e-3)
    assert all(r["pareto"] for r in rows)  # each is best on one figure


def test_slurm_and_k8s(capsys):
    assert main(["schedule", "slurm", "-l", "GB", "-d", "6h", "--within", "12h", "--now", "2023-06-01T00:00Z",
                 "--tz", "UTC", "--", "job.sh", "--epochs", "3"]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("sbatch --begin=2023-06-01T") and "--deadline=2023-06-01T18:00" in out
    assert "--time=6:00:00 job.sh --epochs 3" in out
    assert main(["schedule", "k8s", "--name", "train", "--image", "img:1", "-l", "GB", "-d", "6h", "--within",
                 "12h", "--now", "2023-06-01T00:00Z", "--", "python", "train.py"]) == 0
    text = capsys.readouterr().out
    assert "kind: Job" in text and "suspend: true" in text and "activeDeadlineSeconds: 28800" in text
    assert 'command: ["python", "train.py"]' in text and "kubectl patch job train" in text
    yaml = pytest.importorskip("yaml")
    doc = yaml.safe_load(text)
    assert doc["spec"]["template"]["spec"]["containers"][0]["image"] == "img:1"


@pytest.mark.parametrize(("argv", "needle"), [
    (["schedule", "when", "-l", "Atlantis", "-d", "1h", "--within", "2h"], "unknown location"),
    (["schedule", "when", "-l", "FR", "-d", "6h", "--deadline", "2023-01-01T02:00Z", "--now", "2023-01-01T00:00Z"],
     "needs 6h00m"),
    (["schedule", "when", "-l", "FR", "-d", "1h"], "no flexibility"),
    (["schedule", "when", "-l", "FR", "-d", "1 fortnight", "--within", "2h"], "malformed --duration"),
    (["schedule", "when", "-l", "FR", "--within", "2h", "--deadline", "2023-01-01T00:00Z"], "not both"),
    (["schedule", "where", "FR", "DE", "--latency", "FR:20"], "malformed latency"),
    (["schedule", "k8s", "--name", "Bad_Name", "--image", "x", "-l", "FR", "--within", "1h"], "invalid Job name"),
    (["schedule", "slurm", "-l", "FR", "--within", "1h", "--tz", "Mars/Olympus", "--", "job.sh"], "time zone"),
    (["run", "--within", "2h", "--", sys.executable, "-c", "pass"], "needs a location"),
    (["run", "-l", "FR", "--pause-above", "100", "--", sys.executable, "-c", "pass"], "needs a deadline"),
    (["run", "-l", "FR", "--within", "2h", "--pause-dirtiest", "150%", "--", sys.executable, "-c", "pass"],
     "between 0 and 100"),
])
def test_clear_errors(capsys, argv, needle):
    assert main(argv) != 0
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err


class FakeTime:
    """Real time plus whatever was 'slept'."""

    def __init__(self) -> None:
        import time

        self.offset = 0.0
        self.real = time.time
        self.slept = 0.0

    def clock(self) -> float:
        return self.real() + self.offset

    def sleep(self, s: float) -> None:
        self.offset += s
        self.slept += s


def test_run_within_waits_runs_and_records(capsys, monkeypatch, tmp_path):
    ft = FakeTime()
    monkeypatch.setattr(runner, "CLOCK", ft.clock)
    monkeypatch.setattr(runner, "SLEEP", ft.sleep)
    store = str(tmp_path / "runs.db")
    rc = main(["run", "-l", "US-CAL-CISO", "--intensity", "100", "--within", "20h", "--duration", "2h",
               "--store", store, "--", sys.executable, "-c", "print('trained')"])
    assert rc == 0
    err = capsys.readouterr().err
    assert "best start in US-CAL-CISO" in err and "ran under" in err
    from wattwise.store.connect import open_store

    rec = open_store(store).get_run("last")
    info = rec.config["schedule"]
    assert info["ran_g_per_kwh"] > 0 and "hour by hour" in info["ran_source"]
    assert info["window"]["saving_pct"] >= 0 and info["location"] == "US-CAL-CISO"
    assert 0 <= ft.slept <= 20 * 3600  # waited in fake time only, never past the flexibility window
    (a, b), = info["running_spans"]
    assert a == info["scheduled_start"] and b <= info["window"]["end"][:16].replace("T", " ") + " UTC"


def test_run_cancel_while_waiting(capsys, monkeypatch):
    ft = FakeTime()

    def interrupted(_s: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "CLOCK", ft.clock)
    monkeypatch.setattr(runner, "SLEEP", interrupted)
    # a deadline far enough that California's midday sun is inside it: the start is later than now
    rc = main(["run", "-l", "US-CAL-CISO", "--intensity", "100", "--within", "24h", "--duration", "1h", "--",
               sys.executable, "-c", "raise SystemExit(3)"])
    assert rc == 130
    assert "nothing was run" in capsys.readouterr().err
