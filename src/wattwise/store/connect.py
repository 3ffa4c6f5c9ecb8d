"""Open the store a target names: a path is SQLite, a ``postgresql://`` URL is PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from wattwise.config import default_store
from wattwise.store.postgres import open_postgres
from wattwise.store.sql import SqlStore, open_sqlite


def open_store(target: str | Path | None = None) -> SqlStore:
    """Open (creating if needed) the store at a path, or a ``postgresql://`` URL."""
    t = str(target) if target else default_store()
    if t.startswith(("postgresql://", "postgres://")):
        return open_postgres(t)
    return open_sqlite(t)
