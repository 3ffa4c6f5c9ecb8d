"""The write path of a tracked run: queued, bounded in time, and journaled when the store refuses.

A :class:`StoreWriter` stands where the run's store stands (it has the store's writing calls and passes
reads through) but every write is put on a queue and made by a background thread, with a short busy
timeout. When the store cannot take a write (another process holds the lock, the disk is full, the file is
read-only or corrupt, it cannot even be opened) the write goes to a :class:`~wattwise.store.journal.Journal`
instead, and so does every later one, in order, until a retry (every ``RETRY_S``) replays the journal into
the store. ``close()`` (at the run's stop) waits at most ``CLOSE_S`` for the queue, tries the store once
more, and otherwise leaves the journal for the next writing open of the store. When neither the store nor
a journal can be written (the disk is full everywhere), writes are held in memory and retried the same way.

Nothing here raises into the tracked code: failures become one warning each.
"""

from __future__ import annotations

import queue
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wattwise.store.connect import open_store
from wattwise.store.journal import Journal, replay_file
from wattwise.store.sql import SqlStore

BUSY_S = 0.25  # how long one write waits for another process's lock
RETRY_S = 2.0  # how often a failing store is tried again
CLOSE_S = 1.5  # the most close() waits for queued writes
_STOP = object()

Call = tuple[str, tuple, dict]


def _stderr_warn(msg: str) -> None:
    print(f"wattwise: {msg}", file=sys.stderr)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(getattr(exc, "message", None) or exc) or type(exc).__name__


class StoreWriter:
    """Writes of one run to its store (see the module docstring)."""

    def __init__(self, target: SqlStore | str | Path | None, warn: Callable[[str], None] = _stderr_warn) -> None:
        from wattwise.config import default_store

        self._given = target if isinstance(target, SqlStore) else None
        self.location = target.location if isinstance(target, SqlStore) else str(target or default_store())
        self.store: SqlStore | None = self._given
        self._warn = warn
        self._q: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._journal: Journal | None = None
        self._memory: list[Call] = []
        self._next_try = 0.0
        self._closed = False
        self._io = threading.Lock()  # the thread, or the caller after close(): one writer at a time
        self.journaled = 0  # calls that went to a journal at some point
        self.failure: str | None = None  # the last reason the store refused a write
        self._thread = threading.Thread(target=self._loop, name="wattwise-store-writer", daemon=True)

    # -- lifecycle ------------------------------------------------------------------------------------
    def start(self) -> StoreWriter:
        """Open the store now if that is quick (a locked or broken store is retried in the background)."""
        if self.store is None:
            self._try_open()
        self._thread.start()
        return self

    def close(self, timeout: float = CLOSE_S) -> None:
        """Write what is queued (at most ``timeout`` seconds), try the store once more, keep the rest in the
        journal. Later calls are made at once in the caller's thread, with the same fallbacks."""
        if self._closed:
            return
        self._closed = True
        self._q.put(_STOP)
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._warn(f"the run store at {self.location} is not answering; the last writes may be lost")
            return
        with self._io:
            self._finish()
            self._release()

    def _release(self) -> None:
        """Close the connection this writer opened (a later read or write opens it again)."""
        if self._given is None and self.store is not None:
            try:
                self.store.close()
            except Exception:
                pass
            self.store = None

    @property
    def pending(self) -> int:
        """Calls not yet in the store (in the journal or in memory)."""
        return (self._journal.count if self._journal else 0) + len(self._memory)

    @property
    def journal_path(self) -> Path | None:
        return self._journal.path if self._journal else None

    # -- the store's writing calls (queued; never raise) ----------------------------------------------
    def _submit(self, op: str, args: tuple, kwargs: dict) -> None:
        if not self._closed:
            self._q.put((op, args, kwargs))
            return
        with self._io:  # after close: at once, same fallbacks
            self._apply((op, args, kwargs))
            self._finish()
            self._release()

    def create_run(self, *a: Any, **k: Any) -> None:
        self._submit("create_run", a, k)

    def record(self, *a: Any, **k: Any) -> None:
        self._submit("record", a, k)

    def join_run(self, *a: Any, **k: Any) -> None:
        self._submit("join_run", a, k)

    def leave_run(self, *a: Any, **k: Any) -> None:
        self._submit("leave_run", a, k)

    def start_phase(self, *a: Any, **k: Any) -> None:
        self._submit("start_phase", a, k)

    def end_phase(self, *a: Any, **k: Any) -> None:
        self._submit("end_phase", a, k)

    def finish_run(self, *a: Any, **k: Any) -> None:
        self._submit("finish_run", a, k)

    def set_location(self, *a: Any, **k: Any) -> None:
        self._submit("set_location", a, k)

    def __getattr__(self, name: str) -> Any:
        """Reads (``get_run``, ``samples``, ...) go to the store itself."""
        if name.startswith("_"):
            raise AttributeError(name)
        if self.__dict__.get("store") is None and self.__dict__.get("_closed"):
            self._try_open()  # closed after the run: open again for this read
        store = self.__dict__.get("store")
        if store is None:
            from wattwise.errors import WattwiseError

            raise WattwiseError(f"the run store at {self.__dict__.get('location')} is not available now")
        return getattr(store, name)

    # -- the thread -----------------------------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            try:
                item = self._q.get(timeout=RETRY_S / 2 if self.pending else None)
            except queue.Empty:
                with self._io:
                    self._recover()
                continue
            if item is _STOP:
                return
            with self._io:
                self._apply(item)

    def _apply(self, call: Call) -> None:
        if self.pending or self.store is None:
            self._recover()
        if not self.pending and self.store is not None:
            try:
                getattr(self.store, call[0])(*call[1], **call[2])
                return
            except Exception as exc:
                self._refused(exc)
        self._keep(call)

    def _refused(self, exc: BaseException) -> None:
        self.failure = _reason(exc)
        self._next_try = time.monotonic() + RETRY_S
        try:
            if self.store is not None and self.store.conn is not None:
                self.store.conn.rollback()
        except Exception:
            pass

    def _keep(self, call: Call) -> None:
        """Journal a call the store did not take (in memory when no journal can be written)."""
        if not self._memory:
            try:
                if self._journal is None:
                    self._journal = Journal(self.location)
                    self._warn(f"cannot write the run store at {self.location} ({self.failure}); keeping the "
                               f"samples in {self._journal.path} until it can take them")
                self._journal.append(*call)
                self.journaled += 1
                return
            except OSError as exc:
                self._warn(f"cannot write a journal either ({_reason(exc)}); holding the samples in memory")
        self._memory.append(call)

    def _try_open(self) -> bool:
        try:
            self.store = open_store(self.location, busy_timeout=BUSY_S)
            return True
        except Exception as exc:
            self._refused(exc)
            return False

    def _recover(self, force: bool = False) -> None:
        """Put the journal and the held calls into the store, if it takes them now (one try per RETRY_S)."""
        if not self.pending and self.store is not None:
            return
        if not force and time.monotonic() < self._next_try:
            return
        if self.store is None and not self._try_open():
            self._spill()
            return
        assert self.store is not None
        try:
            if self._journal is not None:
                self._journal.close()
                assert self._journal.path is not None
                if self._journal.path.exists():  # else another process replayed it already
                    replay_file(self.store, self._journal.path)
                self._journal = None
            if self._memory:
                with self.store.transaction():
                    for op, args, kwargs in self._memory:
                        getattr(self.store, op)(*args, **kwargs)
                self._memory = []
        except Exception as exc:
            self._refused(exc)
            if self._journal is not None and self._journal.path is not None:
                self._reopen_journal()
            self._spill()

    def _reopen_journal(self) -> None:
        """Keep appending to the same journal after a failed replay (it was closed to be read)."""
        assert self._journal is not None
        try:
            self._journal.reopen()
        except OSError:
            self._journal = None  # it stays on disk for the next open; later calls go to a new one

    def _spill(self) -> None:
        """Move calls held in memory into a journal, once one can be written."""
        if not self._memory:
            return
        held, self._memory = self._memory, []
        for i, call in enumerate(held):
            self._keep(call)
            if self._memory:  # the journal failed again: keep the rest in memory, in order
                self._memory.extend(held[i + 1:])
                return

    def _finish(self) -> None:
        """At close: one more try of the store, then say where the rest is."""
        self._recover(force=True)
        if self._memory:
            self._warn(f"{len(self._memory)} writes could not be saved anywhere ({self.failure}); they are lost")
            self._memory = []
        if self._journal is not None:
            self._journal.close()
            self._warn(f"the run store at {self.location} could not take this run's last writes "
                       f"({self.failure}); they are in {self._journal.path} and go into the store the next time "
                       "wattwise opens it for writing")


def is_lock_error(exc: BaseException) -> bool:
    """A store refusal that another process's lock explains (it goes away by itself)."""
    return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)
