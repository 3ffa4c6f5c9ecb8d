"""Schema of the run store, as ordered migrations (shared by SQLite and PostgreSQL).

``{pk}`` is the auto-increment primary key and ``{real}`` the float type of the dialect. The store records
its version in ``meta.schema_version``; opening a store applies every newer migration in one transaction.
"""

from __future__ import annotations

MIGRATIONS: list[list[str]] = [
    # version 1
    [
        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """CREATE TABLE IF NOT EXISTS runs (
            id TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL,
            started_at {real} NOT NULL, ended_at {real}, last_seen {real},
            host TEXT, pid INTEGER, interval_s {real}, location TEXT, command TEXT,
            exit_code INTEGER, config TEXT)""",
        """CREATE TABLE IF NOT EXISTS samples (
            id {pk}, run_id TEXT NOT NULL REFERENCES runs(id), t_start {real} NOT NULL, t_end {real} NOT NULL,
            domain TEXT NOT NULL, joules {real} NOT NULL, method TEXT NOT NULL, source TEXT,
            uncertainty {real}, phase TEXT, node TEXT)""",
        "CREATE INDEX IF NOT EXISTS samples_run ON samples (run_id, t_start)",
        """CREATE TABLE IF NOT EXISTS phases (
            id {pk}, run_id TEXT NOT NULL REFERENCES runs(id), name TEXT NOT NULL,
            started_at {real} NOT NULL, ended_at {real})""",
        "CREATE INDEX IF NOT EXISTS phases_run ON phases (run_id)",
        """CREATE TABLE IF NOT EXISTS counters (
            id {pk}, run_id TEXT NOT NULL REFERENCES runs(id), t {real} NOT NULL, name TEXT NOT NULL,
            value {real} NOT NULL, phase TEXT)""",
        "CREATE INDEX IF NOT EXISTS counters_run ON counters (run_id)",
    ],
    # version 2: distributed runs (every rank of a job writes into one run; the rank of each sample, and
    # which processes joined the run so it finishes when the last one leaves)
    [
        "ALTER TABLE samples ADD COLUMN rank INTEGER",
        """CREATE TABLE IF NOT EXISTS run_members (
            run_id TEXT NOT NULL REFERENCES runs(id), member TEXT NOT NULL, node TEXT, rank INTEGER,
            host TEXT, pid INTEGER, owner INTEGER NOT NULL, status TEXT NOT NULL,
            joined_at {real} NOT NULL, left_at {real}, PRIMARY KEY (run_id, member))""",
    ],
]

SCHEMA_VERSION = len(MIGRATIONS)
