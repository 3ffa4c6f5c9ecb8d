"""The watchdog's process tree and its kill: only processes whose pid *and* start time match are hit."""

from __future__ import annotations

import subprocess
import sys

from wattwise.cli.watchdog import _kill_all, start_time, tree


def test_tree_lists_children_and_grandchildren_with_their_start_times() -> None:
    p = subprocess.Popen(["sh", "-c", "sleep 30 & wait"])
    try:
        for _ in range(200):
            found = tree(p.pid)
            if len(found) >= 2:
                break
            subprocess.run(["sleep", "0.01"])
        assert found[0] == (p.pid, start_time(p.pid))
        assert len(found) == 2 and all(st is not None for _, st in found)
    finally:
        for pid, _ in tree(p.pid)[1:]:
            subprocess.run(["kill", "-9", str(pid)])
        p.kill()
        p.wait()


def test_a_reused_pid_is_not_killed() -> None:
    p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        st = start_time(p.pid)
        assert st is not None
        _kill_all([(p.pid, st + "0")])  # same pid, another start time: another process
        assert p.poll() is None
        _kill_all([(p.pid, st)])
        assert p.wait(timeout=10) == -9
    finally:
        p.kill()
        p.wait()
