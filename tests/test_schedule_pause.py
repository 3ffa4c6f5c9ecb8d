"""Pausing a real child process tree (SIGSTOP/SIGCONT), the pause controller's decisions, the hook mode."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from wattwise.schedule.forecast import Forecast
from wattwise.schedule.pause import PAUSE_FILE_ENV, PauseController, PauseFile, ProcessTree, pause_point
from wattwise.schedule.window import plan_interruptible

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGSTOP/SIGCONT are POSIX")

COUNTER = """
import sys, time, subprocess
{spawn}
i = 0
while True:
    i += 1
    open(sys.argv[1], "w").write(str(i))
    time.sleep(0.01)
"""


def _count(path: Path) -> int:
    for _ in range(50):
        try:
            return int(path.read_text() or 0)
        except (FileNotFoundError, ValueError):
            time.sleep(0.02)
    raise AssertionError("the child never wrote its counter")


def _wait_progress(path: Path, after: int, timeout: float = 5.0) -> int:
    end = time.time() + timeout
    while time.time() < end:
        n = _count(path)
        if n > after:
            return n
        time.sleep(0.02)
    raise AssertionError("the child did not make progress")


def test_real_child_tree_stops_and_continues(tmp_path):
    parent_file, child_file = tmp_path / "parent", tmp_path / "child"
    grandchild = COUNTER.format(spawn="")
    spawn = f"subprocess.Popen([sys.executable, '-c', {grandchild!r}, {str(child_file)!r}])"
    proc = subprocess.Popen([sys.executable, "-c", COUNTER.format(spawn=spawn), str(parent_file)])
    tree = ProcessTree(proc.pid)
    try:
        _wait_progress(parent_file, 3)
        _wait_progress(child_file, 3)
        tree.pause()
        time.sleep(0.1)  # let a write in flight finish
        a, b = _count(parent_file), _count(child_file)
        time.sleep(0.4)
        assert (_count(parent_file), _count(child_file)) == (a, b), "paused processes kept running"
        tree.resume()
        _wait_progress(parent_file, a)
        _wait_progress(child_file, b)
    finally:
        for p in ProcessTree(proc.pid)._tree()[::-1]:
            p.kill()
        proc.wait(timeout=5)


class FakeTarget:
    def __init__(self) -> None:
        self.events: list[str] = []

    def pause(self) -> None:
        self.events.append("pause")

    def resume(self) -> None:
        self.events.append("resume")


def test_controller_follows_the_plan_and_finishes_by_the_deadline():
    f = Forecast(0, (10.0, 500.0, 500.0, 10.0), "synthetic", "test")
    plan = plan_interruptible(f, "2h", 0, 4 * 3600, now=0)
    assert plan.intervals == ((0, 3600), (3 * 3600, 4 * 3600))
    now = [0.0]
    target = FakeTarget()
    c = PauseController(target, deadline=4 * 3600, work_s=2 * 3600, plan=plan, tick_s=60, clock=lambda: now[0])
    states = []
    for t in range(0, 4 * 3600, 600):
        now[0] = t
        states.append(c.step())
    assert target.events == ["pause", "resume"]
    assert states[:6] == [False] * 6 and states[6] is True and states[-6:] == [False] * 6
    spans = c.stop()
    assert sum(b - a for a, b in spans) == pytest.approx(2 * 3600 - 600, abs=600)


def test_controller_never_pauses_past_the_point_of_no_return():
    # always dirty: it may pause only while the slack lasts, then runs to the end
    now = [0.0]
    target = FakeTarget()
    c = PauseController(target, deadline=3 * 3600, work_s=2 * 3600, pause_above=100,
                        intensity_at=lambda t: 900.0, tick_s=60, clock=lambda: now[0])
    for t in range(0, 3 * 3600, 60):
        now[0] = t
        c.step()
    assert target.events == ["pause", "resume"] and c.forced
    assert c.run_s(3 * 3600) >= 2 * 3600 - 60
    c.release()
    assert target.events == ["pause", "resume"]


def test_release_resumes_for_good():
    now = [0.0]
    target = FakeTarget()
    c = PauseController(target, deadline=10 * 3600, work_s=3600, pause_above=100, intensity_at=lambda t: 900.0,
                        tick_s=60, clock=lambda: now[0])
    assert c.step() is True
    c.release()
    assert target.events == ["pause", "resume"] and c.step() is False


def test_hook_mode(tmp_path, monkeypatch):
    flag = PauseFile(tmp_path / "pause")
    monkeypatch.setenv(PAUSE_FILE_ENV, str(flag.path))
    assert pause_point() is False
    flag.pause()
    saved, sleeps = [], []

    def sleep(s: float) -> None:
        sleeps.append(s)
        if len(sleeps) == 3:
            flag.resume()

    assert pause_point(lambda: saved.append(1), poll_s=0.01, sleep=sleep) is True
    assert saved == [1] and len(sleeps) == 3
    flag.resume()  # idempotent


def test_controller_pauses_a_real_child_per_plan(tmp_path):
    counter = tmp_path / "n"
    proc = subprocess.Popen([sys.executable, "-c", COUNTER.format(spawn=""), str(counter)])
    f = Forecast(0, (10.0, 500.0, 10.0), "synthetic", "test")
    plan = plan_interruptible(f, "2h", 0, 3 * 3600, now=0)  # run, pause in the dirty hour, run
    now = [0.0]
    c = PauseController(ProcessTree(proc.pid), deadline=3 * 3600, work_s=2 * 3600, plan=plan, tick_s=1,
                        clock=lambda: now[0])
    try:
        assert c.step() is False
        _wait_progress(counter, 2)
        now[0] = 3600.0
        assert c.step() is True  # the dirty hour: SIGSTOP
        time.sleep(0.1)
        frozen = _count(counter)
        time.sleep(0.3)
        assert _count(counter) == frozen
        now[0] = 7200.0
        assert c.step() is False  # clean again: SIGCONT
        _wait_progress(counter, frozen)
        spans = c.stop()
        assert spans == [(0.0, 3600.0), (7200.0, 7200.0)]
    finally:
        proc.kill()
        proc.wait(timeout=5)
