"""A detached process that puts a finished run's journal into its store once the store takes it.

``wattwise run`` starts one when its run ended with writes in a journal because of something that goes away by
itself (another process's lock, a full disk): it tries every few seconds for ten minutes, then gives up (the
next writing open of the store replays the journal anyway).
"""

from __future__ import annotations

import subprocess
import sys
import time

from wattwise.store.connect import open_store
from wattwise.store.journal import pending_journals, replay_pending


def replay_later(location: str, for_s: float = 600.0) -> None:
    """Start a detached process that replays the journals of ``location`` once the store takes them (tried
    every few seconds for ``for_s`` seconds), so a lock held past the run's end does not leave it incomplete."""
    try:
        subprocess.Popen([sys.executable, "-m", "wattwise.store.replayer", location, str(for_s)],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True, close_fds=True)
    except OSError:
        pass  # the next writing open replays them anyway


def _replay_loop(location: str, for_s: float, every_s: float = 2.0) -> int:
    deadline = time.monotonic() + for_s
    while True:
        try:
            store = open_store(location, busy_timeout=1.0, replay=False)
        except Exception:
            store = None
        if store is not None:
            try:
                replay_pending(store)
            finally:
                store.close()
            if not pending_journals(location):
                return 0
        if time.monotonic() > deadline:
            return 1
        time.sleep(every_s)


if __name__ == "__main__":
    raise SystemExit(_replay_loop(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 600.0))
