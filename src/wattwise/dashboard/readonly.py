"""Open the run store without ever writing to it (SQLite ``mode=ro``; PostgreSQL is only read)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from wattwise.errors import WattwiseError
from wattwise.store.connect import open_store
from wattwise.store.schema import SCHEMA_VERSION
from wattwise.store.sql import SQLITE, SqlStore, _AutoCommitSqlite


class ReadOnlyStore(SqlStore):
    """A SqlStore that checks the schema version instead of migrating."""

    def _migrate(self) -> None:
        try:
            rows = self._rows("SELECT value FROM meta WHERE key = ?", ("schema_version",))
        except sqlite3.Error as exc:
            raise WattwiseError(f"{self.location} is not a wattwise run store ({exc})",
                                "point --store at a runs.sqlite written by wattwise") from exc
        version = int(rows[0][0]) if rows else 0
        if version > SCHEMA_VERSION:
            raise WattwiseError(f"the store at {self.location} has schema version {version}, newer than this "
                                f"wattwise ({SCHEMA_VERSION})", "upgrade wattwise to read it")


def open_readonly(target: str | Path | None = None) -> SqlStore:
    """The store at a path (opened read-only) or a PostgreSQL URL (only read)."""
    from wattwise.config import default_store

    t = str(target) if target else default_store()
    if t.startswith(("postgresql://", "postgres://")):
        return open_store(t)
    p = Path(t).expanduser().resolve()
    if not p.is_file():
        raise WattwiseError(f"no run store at {p}", "record a run first (wattwise run -- ...) or pass --store")
    try:
        conn = sqlite3.connect(f"{p.as_uri()}?mode=ro", uri=True, timeout=60, check_same_thread=False,
                               isolation_level=None)
        conn.execute("PRAGMA busy_timeout = 60000")
    except sqlite3.Error as exc:
        raise WattwiseError(f"cannot open the run store at {p} read-only: {exc}") from exc
    return ReadOnlyStore(_AutoCommitSqlite(conn), SQLITE, str(p))
