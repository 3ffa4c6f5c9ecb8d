"""``schedule slurm`` keeps the job's slack before ``--deadline``; ``schedule where`` ranks Pareto only over the
figures every candidate has."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

import pytest

import wattwise.grid as grid
from wattwise.cli.app import main
from wattwise.schedule.handoff import default_slack_s, latest_finish
from wattwise.schedule.where import best_location, pareto_criteria


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("WATTWISE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("WATTWISE_LOCATION", raising=False)
    monkeypatch.delattr(grid, "forecast", raising=False)


def _begin(out: str) -> datetime:
    m = re.search(r"--begin=(\S+)", out)
    assert m, out
    return datetime.fromisoformat(m.group(1)).replace(tzinfo=timezone.utc)


@pytest.mark.parametrize(("duration_h", "within_h", "slack"), [(6, 12, None), (2, 3, "45m"), (1, 1, None)])
def test_slurm_start_leaves_slack(capsys, duration_h, within_h, slack):
    argv = ["schedule", "slurm", "-l", "GB", "-d", f"{duration_h}h", "--within", f"{within_h}h",
            "--now", "2023-06-01T00:00Z", "--tz", "UTC"] + (["--slack", slack] if slack else []) + ["--", "job.sh"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    deadline = datetime(2023, 6, 1, tzinfo=timezone.utc).timestamp() + (duration_h + within_h) * 3600
    slack_s = 45 * 60 if slack else default_slack_s(duration_h * 3600)
    start = _begin(out).timestamp()
    assert start <= deadline - duration_h * 3600 - slack_s + 1e-6
    assert f"--deadline={datetime.fromtimestamp(deadline, timezone.utc):%Y-%m-%dT%H:%M}" in out


def test_slurm_refuses_a_window_without_slack(capsys):
    assert main(["schedule", "slurm", "-l", "GB", "-d", "6h", "--within", "10m", "--now", "2023-06-01T00:00Z",
                 "--", "job.sh"]) == 2
    assert "slack" in capsys.readouterr().err
    assert main(["schedule", "slurm", "-l", "GB", "-d", "6h", "--within", "10m", "--slack", "0", "--now",
                 "2023-06-01T00:00Z", "--tz", "UTC", "--", "job.sh"]) == 0
    assert _begin(capsys.readouterr().out) == datetime(2023, 6, 1, tzinfo=timezone.utc)


def test_latest_finish_and_default_slack():
    assert default_slack_s(3600) == 900 and default_slack_s(20 * 3600) == 7200
    assert latest_finish(0, 10_000, 3600, 900) == 9100
    with pytest.raises(Exception, match="slack"):
        latest_finish(0, 4000, 3600, 900)


def test_where_pareto_ignores_figures_some_rows_lack(capsys):
    common = ["-d", "4h", "--within", "12h", "--now", "2023-03-01T08:00Z", "--json"]
    # price for two of three: only intensity counts, so only the cleanest row is Pareto-optimal
    assert main(["schedule", "where", "FR", "DE", "NO", "--price", "FR=1,DE=0.5", *common]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["pareto"] for r in rows] == [True, False, False]
    # price for all three: the cheapest (DE) becomes Pareto-optimal as well
    assert main(["schedule", "where", "FR", "DE", "NO", "--price", "FR=1,DE=0.5,NO=2", *common]) == 0
    rows = {r["location"]: r["pareto"] for r in json.loads(capsys.readouterr().out)}
    assert rows["DE"] and rows["NO"]
    assert main(["schedule", "where", "FR", "DE", "NO", "--latency", "FR=1", "-d", "4h", "--within", "12h",
                 "--now", "2023-03-01T08:00Z"]) == 0
    assert "latency not given for every candidate" in capsys.readouterr().out


def test_pareto_criteria_api():
    rows = best_location(["FR", "DE"], "2h", "2023-03-01T08:00Z", "2023-03-01T20:00Z", latency_ms={"FR": 5})
    assert pareto_criteria(rows) == ["g_per_it_kwh"]
    assert sum(r.pareto for r in rows) == 1
