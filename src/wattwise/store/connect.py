"""Open the store a target names: a path is SQLite, a ``postgresql://`` URL is PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from wattwise.config import default_store
from wattwise.store.journal import replay_pending
from wattwise.store.postgres import open_postgres
from wattwise.store.sql import SqlStore, open_sqlite


def open_store(target: str | Path | None = None, busy_timeout: float = 60.0, replay: bool = True) -> SqlStore:
    """Open (creating if needed) the store at a path, or a ``postgresql://`` URL, for writing.

    ``busy_timeout``: seconds a write waits for another process's lock before failing. ``replay``: first
    write the journals of runs that could not write here (see :mod:`wattwise.store.journal`) into it.
    Read-only commands use :func:`wattwise.store.readonly.open_readonly` instead.
    """
    t = str(target) if target else default_store()
    store = open_postgres(t) if t.startswith(("postgresql://", "postgres://")) else open_sqlite(t, busy_timeout)
    if replay:
        replay_pending(store)
    return store
