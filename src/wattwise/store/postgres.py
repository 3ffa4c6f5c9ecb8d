"""PostgreSQL run store (``--store postgresql://user@host:port/db``): the same schema and SQL as SQLite.

Many nodes can report into one PostgreSQL store: every process holds one connection and commits one small
transaction per sampling interval. Needs ``psycopg`` 3 (``pip install 'wattwise[postgres]'``).
"""

from __future__ import annotations

from wattwise.errors import WattwiseError
from wattwise.store.sql import Dialect, SqlStore

#: Key of the advisory lock that serialises schema migrations of processes opening a new store at once
#: (two concurrent ``CREATE TABLE IF NOT EXISTS`` can otherwise fail on PostgreSQL's catalogue).
MIGRATION_LOCK_KEY = 0x77617474  # "watt"

POSTGRES = Dialect(
    "postgresql", "%s", "BIGSERIAL PRIMARY KEY", "DOUBLE PRECISION", "BEGIN",
    insert_ignore=("INSERT INTO", " ON CONFLICT DO NOTHING"),
    migrate_lock=f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})",
    for_update=" FOR UPDATE",
)


def _redact(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        from psycopg.conninfo import conninfo_to_dict

        d = conninfo_to_dict(url)
    except Exception:
        return url.split("@")[-1]
    user = f"{d['user']}@" if d.get("user") else ""
    port = f":{d['port']}" if d.get("port") else ""
    return f"postgresql://{user}{d.get('host', '')}{port}/{d.get('dbname', '')}"


def open_postgres(url: str, connect_timeout: float = 10.0) -> SqlStore:
    """Connect to the PostgreSQL database at ``url`` and bring its schema up to date."""
    try:
        import psycopg
    except ImportError as exc:
        raise WattwiseError("PostgreSQL store support needs psycopg 3", "pip install 'wattwise[postgres]'") from exc
    where = _redact(url.replace("postgres://", "postgresql://", 1))
    try:
        # autocommit: the store issues BEGIN itself and ends it with commit()/rollback()
        conn = psycopg.connect(url, autocommit=True, connect_timeout=max(int(connect_timeout), 1),
                               application_name="wattwise")
    except psycopg.Error as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WattwiseError(f"cannot connect to the PostgreSQL store {where}: {msg}",
                            "check the URL (postgresql://user:password@host:port/database) and that the "
                            "server is running") from exc
    try:
        return SqlStore(conn, POSTGRES, where)
    except psycopg.Error as exc:
        conn.close()
        raise WattwiseError(f"cannot set up the PostgreSQL store {where}: {exc}",
                            "the user needs CREATE rights on the database") from exc
