"""The watchdog of ``wattwise run``: when the tracker dies without a goodbye (SIGKILL, the OOM killer), it
kills what the job started as well, so nothing of the job runs on unmetered.

``PR_SET_PDEATHSIG`` (:func:`wattwise.cli.child.spawn`) takes the job itself down with the tracker, but the
job's own children would be re-parented and live on. The watchdog is a small separate process (this file run
as a script: it imports nothing of wattwise) that reads a pipe whose write end only the tracker holds. Each
line is the job's process tree at that moment (``pid:start pid:start ...``, ``start`` being the kernel's start
time of the process, so a reused pid is never hit); ``bye`` ends the watch quietly. End of file without
``bye`` means the tracker died: every process of the last tree that still lives, and everything those started
since, is stopped (SIGSTOP, so none forks meanwhile) and then killed.

The tracker sends the tree at most every half second (:data:`EVERY_S`) and only when it changed; on Linux the
tree is read from ``/proc/<pid>/task/<tid>/children`` (the cost grows with the job's tree, not with the
machine's process count), elsewhere with psutil.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

EVERY_S = 0.5
_PROC = Path("/proc")


def start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (a token that differs for a reused pid); None when it is gone."""
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
        return stat[stat.rindex(")") + 2:].split()[19]  # field 22 of proc(5), counted after the command name
    except (OSError, ValueError, IndexError):
        pass
    try:
        import psutil

        return repr(psutil.Process(pid).create_time())
    except Exception:
        return None


def _children(pid: int) -> list[int]:
    if not _PROC.is_dir():  # not Linux: psutil
        return _children_psutil(pid)
    try:
        return [int(c) for t in (_PROC / str(pid) / "task").iterdir() for c in (t / "children").read_text().split()]
    except FileNotFoundError:  # the process is gone, a thread ended meanwhile, or no children files in this kernel
        return _children_psutil(pid) if (_PROC / str(pid)).exists() else []
    except (OSError, ValueError):
        return _children_psutil(pid)


def _children_psutil(pid: int) -> list[int]:
    try:
        import psutil

        return [p.pid for p in psutil.Process(pid).children()]
    except Exception:
        return []


def tree(root: int) -> list[tuple[int, str]]:
    """``root`` and its descendants as (pid, start time), parents first."""
    out: list[tuple[int, str]] = []
    todo, seen = [root], set()
    while todo:
        pid = todo.pop(0)
        if pid in seen:
            continue
        seen.add(pid)
        st = start_time(pid)
        if st is None:
            continue
        out.append((pid, st))
        todo += _children(pid)
    return out


class Watchdog:
    """The tracker's end of the watch over one job (see the module docstring). Never raises."""

    def __init__(self, job_pid: int) -> None:
        self.job_pid = job_pid
        self._fd: int | None = None
        self._sent: list[tuple[int, str]] = []
        self._next = 0.0
        self.proc: subprocess.Popen | None = None
        if not hasattr(os, "fork"):
            return
        try:
            r, w = os.pipe()  # both ends non-inheritable: the job never holds the write end
        except OSError:
            return
        try:
            self.proc = subprocess.Popen([sys.executable, "-I", __file__], stdin=r, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL, close_fds=True)
            os.set_blocking(w, False)
            self._fd = w
        except OSError:
            os.close(w)
            return
        finally:
            os.close(r)
        self.update(force=True)

    def update(self, force: bool = False) -> None:
        """Send the job's tree when it changed (at most once per :data:`EVERY_S`)."""
        now = time.monotonic()
        if self._fd is None or (not force and now < self._next):
            return
        self._next = now + EVERY_S
        current = tree(self.job_pid)
        if current and current != self._sent and self._send(" ".join(f"{p}:{s}" for p, s in current)):
            self._sent = current

    def _send(self, line: str) -> bool:
        assert self._fd is not None
        try:
            os.write(self._fd, (line + "\n").encode())
            return True
        except (BlockingIOError, BrokenPipeError, OSError):
            return False

    def close(self) -> None:
        """The job is over and the tracker lives: end the watch without killing anything."""
        if self._fd is None:
            return
        self._send("bye")  # read before the end of file, even by a watchdog still starting: no wait here
        os.close(self._fd)
        self._fd = None


def _kill_all(last: list[tuple[int, str]]) -> None:
    """Stop, then kill, every process of ``last`` still alive and everything they started since."""
    alive = [pid for pid, st in last if start_time(pid) == st]
    victims: list[tuple[int, str]] = []
    for pid in alive:
        victims += tree(pid)
    for sig in (signal.SIGSTOP, signal.SIGKILL):
        for pid, st in victims:
            if start_time(pid) == st:
                try:
                    os.kill(pid, sig)
                except OSError:
                    pass


def _watch() -> int:
    for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"):  # the terminal's signals go to the tracker
        signal.signal(getattr(signal, name), signal.SIG_IGN)
    last: list[tuple[int, str]] = []
    for line in sys.stdin:
        line = line.strip()
        if line == "bye":
            return 0
        try:
            last = [(int(p), s) for p, s in (item.split(":", 1) for item in line.split())]
        except ValueError:
            continue
    _kill_all(last)  # end of file without a goodbye: the tracker died
    return 0


if __name__ == "__main__":
    raise SystemExit(_watch())
