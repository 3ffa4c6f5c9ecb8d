"""Run store: schema version, crash safety under SIGKILL, concurrent writers lose nothing."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from wattwise.errors import NotFoundError, WattwiseError
from wattwise.store import RunRecord, SampleRow, open_store
from wattwise.store.schema import SCHEMA_VERSION


def test_new_store_has_schema_version_and_wal(tmp_path: Path) -> None:
    s = open_store(tmp_path / "s.sqlite")
    assert s.schema_version() == SCHEMA_VERSION
    assert s.conn._c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    s.close()
    assert open_store(tmp_path / "s.sqlite").schema_version() == SCHEMA_VERSION  # reopening migrates nothing


def test_newer_schema_is_refused_clearly(tmp_path: Path) -> None:
    s = open_store(tmp_path / "s.sqlite")
    s.conn._c.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    with pytest.raises(WattwiseError, match="newer than this wattwise"):
        open_store(tmp_path / "s.sqlite")


def test_unknown_and_ambiguous_run_ids(tmp_path: Path) -> None:
    s = open_store(tmp_path / "s.sqlite")
    with pytest.raises(NotFoundError, match="no runs yet"):
        s.get_run("last")
    for rid in ("abc-1", "abc-2"):
        s.create_run(RunRecord(rid, "n", "finished", time.time()))
    with pytest.raises(WattwiseError, match="matches 2 runs"):
        s.get_run("abc")
    assert s.get_run("abc-1").id == "abc-1"
    with pytest.raises(NotFoundError) as e:
        s.get_run("abc-3")
    assert "abc-" in (e.value.hint or "")


CHILD = """
import sys, time, wattwise
with wattwise.track("killed", interval=0.2, store=sys.argv[1]) as run:
    print(run.id, flush=True)
    while True:
        time.sleep(0.01)
"""


def test_sigkill_of_tracked_process_keeps_samples_and_shows_interrupted(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite"
    p = subprocess.Popen([sys.executable, "-c", CHILD, str(db)], stdout=subprocess.PIPE, text=True)
    run_id = p.stdout.readline().strip()
    time.sleep(1.5)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    killed_at = time.time()
    s = open_store(db)
    rec = s.get_run(run_id)
    assert rec.status == "interrupted"
    samples = s.samples(run_id)
    last = max(x.t_end for x in samples)
    assert killed_at - last < 0.2 + 0.8  # at most one interval (plus scheduling slack on a busy CI) lost
    assert len({x.t_end for x in samples}) >= 5
    assert s.get_run(run_id).status == "interrupted"  # persisted


def _writer(db: str, n: int, idx: int) -> None:
    s = open_store(db)
    rid = f"w{idx}"
    s.create_run(RunRecord(rid, rid, "running", time.time()))
    for i in range(n):
        s.record(rid, [SampleRow(rid, float(i), float(i + 1), "cpu", 1.0, "modelled", "t", 0.1)])
    s.finish_run(rid, "finished", time.time())


def test_eight_concurrent_writer_processes_lose_nothing(tmp_path: Path) -> None:
    db = str(tmp_path / "s.sqlite")
    open_store(db).close()
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(db, 500, i)) for i in range(8)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    s = open_store(db)
    assert s.count_samples() == 8 * 500
    for i in range(8):
        assert s.count_samples(f"w{i}") == 500
        assert s.get_run(f"w{i}").status == "finished"
