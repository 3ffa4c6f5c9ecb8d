"""The user's job always wins: a locked, full, read-only or corrupt store, and signals and kills of the
tracker, never change the job's exit code, block it, or leave it running unmetered. Real SQLite locks held by
another process, real signals, real processes."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from wattwise.errors import WattwiseError
from wattwise.footprint import Method
from wattwise.meter import Run
from wattwise.sensors.base import Availability, Counter, Sensor
from wattwise.store import RunRecord, SampleRow, open_store
from wattwise.store.journal import Journal, pending_journals, replay_pending
from wattwise.store.readonly import open_readonly

LOCKER = """
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
c.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.readline()
c.execute("ROLLBACK")
"""


@contextmanager
def lock_held(db: Path) -> Iterator[subprocess.Popen]:
    """Another process holds the store's write lock until the block ends."""
    p = subprocess.Popen([sys.executable, "-c", LOCKER, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         text=True)
    try:
        assert p.stdout is not None and p.stdout.readline().strip() == "locked"
        yield p
    finally:
        if p.stdin is not None:
            p.stdin.write("\n")
            p.stdin.close()
        p.wait(timeout=30)


def replayed(db: Path, timeout: float = 30) -> bool:
    """Wait until no journal is left for ``db`` (the tracker's detached replayer, or our own writing open)."""
    deadline = time.monotonic() + timeout
    while pending_journals(str(db)) and time.monotonic() < deadline:
        open_store(db).close()
        time.sleep(0.1)
    return not pending_journals(str(db))


def cli(*args: str, timeout: float = 120, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wattwise", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


class Ticks(Sensor):
    """A sensor that adds one joule per read (so every sample is a row we can count)."""

    name = "ticks"
    node_level = False

    def __init__(self) -> None:
        self.j = 0.0

    def available(self) -> Availability:
        return Availability(True, "test")

    def read(self) -> list[Counter]:
        self.j += 1.0
        return [Counter("cpu", self.j, Method.MEASURED, "test ticks", 0.0)]


def test_locked_store_at_start_does_not_stop_or_delay_the_job(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite"
    open_store(db).close()
    marker = tmp_path / "job-ran"
    with lock_held(db) as locker:
        r = cli("run", "--store", str(db), "-i", "0.1", "--", sys.executable, "-c",
                f"import time, pathlib; pathlib.Path({str(marker)!r}).touch(); time.sleep(0.5); raise SystemExit(5)")
        assert locker.poll() is None  # the tracker finished while the lock was still held
        assert len(pending_journals(str(db))) == 1  # (checked before the lock goes: the replayer is waiting)
    assert r.returncode == 5, r.stderr
    assert marker.exists()
    assert "Traceback" not in r.stderr
    assert r.stderr.count("cannot write the run store") == 1  # one warning, not one per sample
    assert replayed(db)  # by the replayer the tracker left behind, or the next writing open
    s = open_store(db)
    (rec,) = s.list_runs()
    assert (rec.status, rec.exit_code) == ("failed", 5)
    assert s.count_samples(rec.id) >= 3
    assert open_store(db).count_samples(rec.id) == s.count_samples(rec.id)  # applied once only


def test_the_tracker_leaves_a_replayer_that_waits_for_the_lock(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite"
    open_store(db).close()
    with lock_held(db):
        r = cli("run", "--store", str(db), "-i", "0.1", "--", sys.executable, "-c", "raise SystemExit(2)")
        assert r.returncode == 2
        assert pending_journals(str(db))
    deadline = time.monotonic() + 30  # nobody opens the store here: only the detached replayer can do it
    while pending_journals(str(db)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert pending_journals(str(db)) == []
    (rec,) = open_readonly(db).list_runs()
    assert (rec.status, rec.exit_code) == ("failed", 2)


def test_read_commands_show_writes_still_in_a_journal(tmp_path: Path) -> None:
    """A run that ended while another process held the lock: `runs` and `show` read it as the journal will
    leave it (failed, exit 3, its samples), not as "interrupted", and write nothing to the store."""
    db = tmp_path / "s.sqlite"
    open_store(db).close()
    with lock_held(db):
        r = cli("run", "--store", str(db), "-i", "0.1", "--", sys.executable, "-c",
                "import time; time.sleep(0.4); raise SystemExit(3)")
        assert r.returncode == 3 and pending_journals(str(db))
        before = db.read_bytes()
        listed = cli("runs", "--store", str(db))
        shown = cli("show", "last", "--store", str(db), "--json")
        assert db.read_bytes() == before  # read-only: the journal is not put into the store by a read
    assert listed.returncode == 0 and "failed" in listed.stdout and "interrupted" not in listed.stdout
    assert "journal" in listed.stderr
    data = json.loads(shown.stdout)
    assert (data["run"]["status"], data["run"]["exit_code"]) == ("failed", 3)
    assert sum(data["footprint"]["energy_kwh"].values()) > 0


def test_api_never_raises_or_blocks_on_a_locked_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "s.sqlite"
    run = Run("api", interval=0.05, store=db, sensors=[Ticks()]).start()
    run.add(tokens=10)
    with lock_held(db) as locker:
        with run.phase("eval"):
            run.add(tokens=5)
            energy = run.energy_j(max_age=0)  # a fresh sample, taken while the lock is held
        assert energy > 0
        time.sleep(0.3)
        fp = run.stop()
        assert locker.poll() is None
    assert fp.counters["tokens"] == 15
    err = capsys.readouterr().err
    assert "cannot write the run store" in err and "Traceback" not in err
    s = open_store(db)
    assert s.get_run(run.id).status == "finished"
    joules = sum(x.joules for x in s.samples(run.id))
    assert joules == pytest.approx(run.energy_j())  # every sample arrived, none twice
    assert [p.name for p in s.phases(run.id)] == ["eval"] and s.phases(run.id)[0].ended_at is not None
    assert sum(c.value for c in s.counters(run.id)) == 15


def test_lock_released_mid_run_the_journal_goes_in_before_the_run_ends(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite"
    run = Run("mid", interval=0.05, store=db, sensors=[Ticks()]).start()
    with lock_held(db):
        time.sleep(0.4)
        assert run.store is not None and run.store.pending > 0
    deadline = time.monotonic() + 30
    while run.store.pending and time.monotonic() < deadline:  # the writer retries by itself
        time.sleep(0.1)
    assert run.store.pending == 0 and pending_journals(str(db)) == []
    run.stop()
    s = open_store(db)
    assert sum(x.joules for x in s.samples(run.id)) == pytest.approx(run.energy_j())


def test_journal_replay_is_idempotent_and_skips_a_truncated_line(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite"
    j = Journal(str(db))
    rec = RunRecord("r1", "n", "running", 100.0)
    j.append("create_run", (rec,), {})
    j.append("record", ("r1", [SampleRow("r1", 100.0, 101.0, "cpu", 2.0, "modelled", "x", 0.1)]), {})
    j.append("finish_run", ("r1", "finished", 101.0, 0), {})
    j.close()
    assert j.path is not None
    with open(j.path, "a") as fh:
        fh.write('{"op": "record", "a": ["r1", [')  # the writer was killed mid-line
    copy = j.path.read_text()
    s = open_store(db)
    assert s.get_run("r1").status == "finished" and s.count_samples("r1") == 1
    j.path.write_text(copy)  # the same journal again (a crash between commit and unlink)
    assert replay_pending(s) == 0 and s.count_samples("r1") == 1
    assert not j.path.exists()


def test_a_journal_still_being_written_is_not_replayed(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite"
    j = Journal(str(db))
    j.append("create_run", (RunRecord("r2", "n", "running", 1.0),), {})
    s = open_store(db)
    assert s.list_runs() == [] and j.path is not None and j.path.exists()
    j.close()
    assert replay_pending(s) == 1 and [r.id for r in s.list_runs()] == ["r2"]


def test_unwritable_store_journals_in_the_cache_and_keeps_the_exit_code(tmp_path: Path) -> None:
    target = tmp_path / "not-a-dir"
    target.write_text("a file where the store's folder should be")
    db = target / "s.sqlite"
    r = cli("run", "--store", str(db), "-i", "0.1", "--", sys.executable, "-c", "raise SystemExit(3)")
    assert r.returncode == 3, r.stderr
    assert "Traceback" not in r.stderr and "cannot write the run store" in r.stderr
    (path,) = pending_journals(str(db))
    assert "cache" in str(path)
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert next(x["op"] for x in lines[1:]) == "create_run" and lines[-1]["op"] == "finish_run"


def test_corrupt_store_keeps_the_exit_code(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite"
    db.write_bytes(b"SQLite format 3\x00" + os.urandom(8192))
    r = cli("run", "--store", str(db), "-i", "0.1", "--", sys.executable, "-c", "raise SystemExit(4)")
    assert r.returncode == 4, r.stderr
    assert "Traceback" not in r.stderr
    assert pending_journals(str(db))


def test_interval_must_be_finite_and_bounded() -> None:
    for bad in (float("inf"), 1e308, float("nan"), 0, -1, True, 86401):
        with pytest.raises(WattwiseError, match="interval must be > 0"):
            Run("x", interval=bad)


# -- read commands ------------------------------------------------------------------------------------------


def test_read_commands_never_create_a_store(tmp_path: Path) -> None:
    typo = tmp_path / "sub" / "runz.sqlite"
    for args in (["runs"], ["show", "last"], ["export", "last"], ["report", "last"]):
        r = cli(*args, "--store", str(typo))
        assert r.returncode != 0 and r.stderr.startswith("error: no run store at")
        assert "hint:" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "sub").exists()
    open_store(tmp_path / "runs.sqlite").close()
    r = cli("runs", "--store", str(tmp_path / "run.sqlite"))
    assert r.returncode != 0 and "did you mean" in r.stderr and "runs.sqlite" in r.stderr
    assert not (tmp_path / "run.sqlite").exists()


def test_default_store_reads_as_empty_without_being_created(wattwise_home: Path) -> None:
    r = cli("runs")
    assert r.returncode == 0 and "no runs" in r.stdout
    assert not (wattwise_home / "runs.sqlite").exists()


def _readonly_dir(path: Path) -> Iterator[Path]:
    """A folder on a read-only medium (a tmpfs remounted read-only), or skip when it cannot be mounted."""
    path.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(path)],
                                           capture_output=True).returncode != 0:
        pytest.skip("needs root to mount a tmpfs")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


@pytest.fixture
def ro_medium(tmp_path: Path) -> Iterator[Path]:
    yield from _readonly_dir(tmp_path / "medium")


def test_store_on_read_only_medium_is_readable_and_run_keeps_exit_code(ro_medium: Path) -> None:
    db = ro_medium / "runs.sqlite"
    run = Run("before", interval=0.05, store=db, sensors=[Ticks()]).start()
    time.sleep(0.2)
    run.stop()
    subprocess.run(["mount", "-o", "remount,ro", str(ro_medium)], check=True)
    for args in (["runs"], ["show", "last"], ["export", "last"]):
        r = cli(*args, "--store", str(db))
        assert r.returncode == 0, r.stderr
    assert run.id in cli("runs", "--store", str(db)).stdout
    ro = open_readonly(db)
    assert ro.count_samples(run.id) >= 3
    r = cli("run", "--store", str(db), "-i", "0.1", "--", sys.executable, "-c", "raise SystemExit(6)")
    assert r.returncode == 6 and "Traceback" not in r.stderr
    assert any("cache" in str(p) for p in pending_journals(str(db)))


def test_full_disk_mid_run_keeps_the_exit_code_and_the_journal_in_the_cache(tmp_path: Path) -> None:
    medium = tmp_path / "small"
    medium.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(medium)],
                                           capture_output=True).returncode != 0:
        pytest.skip("needs root to mount a tmpfs")
    try:
        db = medium / "runs.sqlite"
        fill = medium / "fill"
        job = (f"import time\ntry:\n    open({str(fill)!r}, 'wb').write(b'x' * 4_000_000)\nexcept OSError:\n"
               "    pass\ntime.sleep(0.6)\nraise SystemExit(5)")
        r = cli("run", "--store", str(db), "-i", "0.1", "--", sys.executable, "-c", job)
        assert r.returncode == 5, r.stderr
        assert "Traceback" not in r.stderr
        fill.unlink()  # room again: the replayer or the next writing open takes the journal
        assert replayed(db)
        s = open_store(db)
        (rec,) = s.list_runs()
        assert (rec.status, rec.exit_code) == ("failed", 5) and s.count_samples(rec.id) >= 3
    finally:
        subprocess.run(["umount", "-l", str(medium)], capture_output=True)


# -- signals and kills ------------------------------------------------------------------------------------

JOB = """
import os, signal, sys, time
got = []
def on(sig, _f):
    got.append(sig)
for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2):
    signal.signal(s, on)
open(sys.argv[1], "w").write(str(os.getpid()))
while not got:
    time.sleep(0.01)
open(sys.argv[1] + ".sig", "w").write(str(got[0]))
raise SystemExit(40 + got[0])
"""


def _start_tracked(tmp_path: Path, job: str = JOB) -> tuple[subprocess.Popen, int, Path]:
    ready = tmp_path / "pid"
    p = subprocess.Popen([sys.executable, "-m", "wattwise", "run", "--store", str(tmp_path / "s.sqlite"), "-i",
                          "0.1", "--", sys.executable, "-c", job, str(ready)], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (ready.exists() and ready.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return p, int(ready.read_text()), ready


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"])
def test_every_catchable_signal_is_forwarded_and_the_exit_code_kept(tmp_path: Path, sig: str) -> None:
    signum = getattr(signal, sig)
    p, _child, ready = _start_tracked(tmp_path)
    time.sleep(0.2)
    p.send_signal(signum)
    _out, err = p.communicate(timeout=60)
    assert int(Path(str(ready) + ".sig").read_text()) == signum
    assert p.returncode == 40 + signum, err
    (rec,) = open_store(tmp_path / "s.sqlite").list_runs()
    assert rec.exit_code == 40 + signum
    assert rec.status == ("failed" if signum in (signal.SIGUSR1, signal.SIGUSR2) else "interrupted")


def _gone(pid: int) -> bool:
    try:
        return "State:\tZ" in Path(f"/proc/{pid}/status").read_text()  # a zombie: dead, not reaped by init
    except FileNotFoundError:
        return True


def test_sigkill_of_the_tracker_takes_the_job_with_it(tmp_path: Path) -> None:
    p, child, _ = _start_tracked(tmp_path, "import os, sys, time\nopen(sys.argv[1], 'w').write(str(os.getpid()))\n"
                                           "time.sleep(60)")
    time.sleep(0.3)
    p.kill()
    p.wait(timeout=30)
    deadline = time.monotonic() + 20
    while not _gone(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(child)
    (rec,) = open_readonly(tmp_path / "s.sqlite").list_runs()
    assert rec.status == "interrupted"


GRANDCHILD_JOB = """
import os, subprocess, sys, time
kids = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) for _ in range(2)]
deep = subprocess.Popen(["sh", "-c", "sleep 60 & echo $! > " + sys.argv[1] + ".deep; wait"])
while not os.path.exists(sys.argv[1] + ".deep") or not open(sys.argv[1] + ".deep").read().strip():
    time.sleep(0.02)
open(sys.argv[1] + ".kids", "w").write(" ".join(str(k.pid) for k in [*kids, deep]))
time.sleep(1.5)  # the tracker's watchdog sees the whole tree (it is sent at most every half second)
open(sys.argv[1], "w").write(str(os.getpid()))
time.sleep(60)
"""


def test_sigkill_of_the_tracker_takes_the_job_s_children_too(tmp_path: Path) -> None:
    """The job dies by PR_SET_PDEATHSIG; what it started (children, a shell's background grandchild) is killed by
    the watchdog that sees the tracker's pipe close."""
    p, child, ready = _start_tracked(tmp_path, GRANDCHILD_JOB)
    pids = [child, *map(int, Path(str(ready) + ".kids").read_text().split()),
            int(Path(str(ready) + ".deep").read_text())]
    assert not any(_gone(x) for x in pids)
    p.kill()
    p.wait(timeout=30)
    deadline = time.monotonic() + 20
    while not all(_gone(x) for x in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [x for x in pids if not _gone(x)]
    for x in left:
        os.kill(x, signal.SIGKILL)
    assert left == []


def test_a_job_that_ends_normally_keeps_its_background_children(tmp_path: Path) -> None:
    """The watchdog kills nothing when the tracker ends normally (a daemon the job started is the user's)."""
    pidfile = tmp_path / "bg"
    r = cli("run", "--store", str(tmp_path / "s.sqlite"), "--", "sh", "-c",
            f"sleep 30 > /dev/null 2>&1 & echo $! > {pidfile}; sleep 1.2")
    assert r.returncode == 0, r.stderr
    time.sleep(1.0)
    bg = int(pidfile.read_text())
    try:
        assert not _gone(bg)
    finally:
        os.kill(bg, signal.SIGKILL)


@pytest.mark.slow
def test_sigterm_at_any_moment_leaves_no_orphan(tmp_path: Path) -> None:
    for i, delay in enumerate((0.3, 0.8, 1.2, 1.6, 2.0)):
        d = tmp_path / str(i)
        d.mkdir()
        ready = d / "pid"
        p = subprocess.Popen([sys.executable, "-m", "wattwise", "run", "--store", str(d / "s.sqlite"), "--",
                              sys.executable, "-c", "import os, sys, time\nopen(sys.argv[1], 'w').write("
                              "str(os.getpid()))\ntime.sleep(60)", str(ready)], stderr=subprocess.DEVNULL)
        time.sleep(delay)
        p.terminate()
        p.wait(timeout=30)
        if ready.exists() and ready.read_text():
            child = int(ready.read_text())
            deadline = time.monotonic() + 20
            while not _gone(child) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert _gone(child), f"job orphaned after SIGTERM at {delay}s"


def test_sqlite_lock_holder_helper_really_locks(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite"
    open_store(db).close()
    with lock_held(db):
        c = sqlite3.connect(db, timeout=0.05, isolation_level=None)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            c.execute("BEGIN IMMEDIATE")
        c.close()
