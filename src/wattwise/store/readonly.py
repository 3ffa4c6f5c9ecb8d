"""Open the run store for reading only: never create, migrate or write it (``runs``, ``show``, dashboard...).

SQLite is opened with ``mode=ro``; when that cannot work because nothing may be written beside the file (a
read-only directory or medium, where SQLite cannot create the ``-shm`` file of WAL mode) it is opened
``immutable=1``. A missing store is a clear error (a mistyped ``--store`` creates nothing), except the
default store before the first run, which reads as empty. PostgreSQL stores are only read.

With ``overlay=True`` (one-shot read commands) a store that has journals waiting (writes a run could not make:
the store was locked, full or read-only) is read as it will be once they are replayed: an in-memory copy of
the store with the journals applied, so ``runs`` and ``show`` do not call a finished run "interrupted".
"""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path

from wattwise.errors import WattwiseError, close_matches
from wattwise.store.connect import open_store
from wattwise.store.journal import apply_calls, pending_journals, read_journal
from wattwise.store.schema import MIGRATIONS, SCHEMA_VERSION
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
        if version < SCHEMA_VERSION:
            raise WattwiseError(f"the store at {self.location} has schema version {version}, older than this "
                                f"wattwise ({SCHEMA_VERSION})", "record a run into it once (wattwise run --store "
                                "...) to upgrade it, then read it again")


def _missing(p: Path) -> WattwiseError:
    near: list[str] = []
    if p.parent.is_dir():
        try:
            names = [q.name for q in p.parent.iterdir() if q.suffix in (".sqlite", ".db", ".sqlite3")]
        except OSError:
            names = []
        near = [str(p.parent / n) for n in close_matches(p.name, names, 3)]
    elif not p.parent.exists():
        return WattwiseError(f"no run store at {p}: the folder {p.parent} does not exist",
                             "check the --store path (or WATTWISE_STORE); reading never creates a store")
    hint = (f"did you mean: {', '.join(near)}" if near else
            "check the --store path (or WATTWISE_STORE), or record a run first: wattwise run -- CMD")
    return WattwiseError(f"no run store at {p}", hint)


def _empty_default(p: Path) -> SqlStore:
    """The default store before the first run: an empty in-memory store named after it (nothing is created)."""
    conn = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
    for stmts in MIGRATIONS:
        for stmt in stmts:
            conn.execute(stmt.format(pk=SQLITE.pk, real=SQLITE.real))
    conn.execute("INSERT INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
    return ReadOnlyStore(_AutoCommitSqlite(conn), SQLITE, str(p))


def _connect(p: Path, immutable: bool) -> SqlStore:
    uri = f"{p.as_uri()}?mode=ro" + ("&immutable=1" if immutable else "")
    conn = sqlite3.connect(uri, uri=True, timeout=5, check_same_thread=False, isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout = 5000")
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()  # fails here when -shm cannot be made
        return ReadOnlyStore(_AutoCommitSqlite(conn), SQLITE, str(p))
    except BaseException:
        conn.close()
        raise


def _with_journals(store: SqlStore, journals: list[Path]) -> SqlStore:
    """An in-memory copy of ``store`` with ``journals`` applied (nothing is written to the store itself)."""
    mem = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
    store.conn.backup(mem)
    store.close()
    copy = ReadOnlyStore(_AutoCommitSqlite(mem), SQLITE, store.location)
    applied = 0
    for path in journals:
        try:
            name, calls = read_journal(path)
            if name is not None and apply_calls(copy, name, calls):
                applied += 1
        except Exception:  # a journal this wattwise cannot apply: shown without it
            continue
    if applied:
        print(f"wattwise: {applied} journal(s) of writes not yet in {store.location} are shown with it (they go "
              "into the store the next time wattwise opens it for writing)", file=sys.stderr)
    return copy


def open_readonly(target: str | Path | None = None, overlay: bool = False) -> SqlStore:
    """The store at a path (opened read-only) or a PostgreSQL URL (only read); ``overlay``: see the module
    docstring."""
    store = _open_readonly(target)
    if overlay and store.dialect is SQLITE:
        journals = pending_journals(store.location)
        if journals:
            return _with_journals(store, journals)
    return store


def _open_readonly(target: str | Path | None) -> SqlStore:
    from wattwise.config import default_store

    t = str(target) if target else default_store()
    if t.startswith(("postgresql://", "postgres://")):
        return open_store(t, replay=False)
    p = Path(t).expanduser().resolve()
    if not p.exists():
        if target is None and not os.environ.get("WATTWISE_STORE"):
            return _empty_default(p)
        raise _missing(p)
    if not p.is_file():
        raise WattwiseError(f"{p} is a folder, not a run store", f"did you mean {p / 'runs.sqlite'}?")
    try:
        try:
            return _connect(p, immutable=False)
        except sqlite3.OperationalError:
            # WAL mode on a medium where the -shm file cannot be made: nothing writes there, so immutable=1
            if os.access(p.parent, os.W_OK) and not _readonly_fs(p):
                raise
            return _connect(p, immutable=True)
    except sqlite3.Error as exc:
        raise WattwiseError(f"cannot open the run store at {p} read-only: {exc}",
                            "check that the file is a wattwise run store and readable") from exc


def _readonly_fs(p: Path) -> bool:
    try:
        return bool(os.statvfs(p).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        return False
