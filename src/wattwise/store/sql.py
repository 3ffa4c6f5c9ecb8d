"""One SQL implementation of the run store over DB-API connections (SQLite here; PostgreSQL by dialect).

Every sample batch is written and committed as it is taken, so a killed process loses at most the samples
of its last interval. Concurrent writers are safe: SQLite runs in WAL mode with a busy timeout. A tracked run
writes through :mod:`wattwise.store.writer` (queued, short busy timeout, journaled when the store refuses);
a writing :func:`open_store` replays the journals such runs left (:mod:`wattwise.store.journal`).
"""

from __future__ import annotations

import json
import math
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wattwise.errors import NotFoundError, WattwiseError, close_matches
from wattwise.store.records import CounterRow, MemberRow, PhaseRow, RunRecord, SampleRow
from wattwise.store.schema import MIGRATIONS, SCHEMA_VERSION

RUN_COLUMNS = ("id, name, status, started_at, ended_at, last_seen, host, pid, interval_s, location, command, "
               "exit_code, config")


#: Run ids are at most this long (generated ones have 24 characters); a longer one cannot exist.
MAX_ID_LEN = 128


def finite_values(config: dict) -> dict:
    """A stored run's config with NaN/inf numbers (stored before validation existed) read as None, so every
    reader and JSON document gets valid values."""
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in config.items()}


def like_literal(text: str) -> str:
    """``text`` for a ``LIKE ... ESCAPE '!'`` pattern, matched literally (``%`` and ``_`` are not wildcards)."""
    return text.replace("!", "!!").replace("%", "!%").replace("_", "!_")


@dataclass(frozen=True)
class Dialect:
    name: str
    param: str  # placeholder: "?" (sqlite) or "%s" (psycopg)
    pk: str
    real: str
    begin: str
    insert_ignore: tuple[str, str] = ("INSERT OR IGNORE INTO", "")  # "insert if absent": prefix, suffix
    migrate_lock: str | None = None  # statement that serialises concurrent migrations (inside the transaction)
    for_update: str = ""  # row lock suffix for SELECT (SQLite's BEGIN IMMEDIATE already serialises writers)

    def insert_if_absent(self, table_and_columns: str, values: str) -> str:
        """``INSERT ... VALUES ...`` that does nothing when the primary key already exists."""
        prefix, suffix = self.insert_ignore
        return f"{prefix} {table_and_columns} VALUES {values}{suffix}"


SQLITE = Dialect("sqlite", "?", "INTEGER PRIMARY KEY AUTOINCREMENT", "REAL", "BEGIN IMMEDIATE")


class SqlStore:
    """The run store. Use :func:`open_store` to get one."""

    def __init__(self, conn: Any, dialect: Dialect, location: str) -> None:
        self.conn = conn
        self.dialect = dialect
        self.location = location
        self._lock = threading.RLock()
        self._cur: Any = None  # the cursor of the open transaction (nested _tx calls join it)
        self._migrate()

    # -- plumbing -------------------------------------------------------------------------------------
    def _q(self, sql: str) -> str:
        return sql.replace("?", self.dialect.param) if self.dialect.param != "?" else sql

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        with self._lock:
            if self._cur is not None:  # inside transaction(): one commit for all
                yield self._cur
                return
            cur = self.conn.cursor()
            cur.execute(self.dialect.begin)
            self._cur = cur
            try:
                yield cur
            except BaseException:
                self._cur = None
                self.conn.rollback()
                raise
            else:
                self._cur = None
                self.conn.commit()
            finally:
                self._cur = None
                cur.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run several writing calls as one transaction (all or nothing)."""
        with self._tx():
            yield

    def _rows(self, sql: str, params: Iterable[Any] = ()) -> list[tuple]:
        with self._lock:
            cur = self.conn.cursor()
            try:
                cur.execute(self._q(sql), tuple(params))
                rows = cur.fetchall()
            finally:
                cur.close()
            if self.dialect.name != "sqlite":
                self.conn.commit()  # end the read transaction
            return rows

    def _current_version(self) -> int | None:
        """The schema version, read without taking the write lock (None when the store has no meta yet)."""
        try:
            rows = self._rows("SELECT value FROM meta WHERE key = ?", ("schema_version",))
        except Exception:
            self.conn.rollback()
            return None
        return int(rows[0][0]) if rows else None

    def _migrate(self) -> None:
        if self._current_version() == SCHEMA_VERSION:  # the usual case: no write lock needed to open
            return
        with self._tx() as cur:
            if self.dialect.migrate_lock:
                cur.execute(self.dialect.migrate_lock)
            cur.execute(MIGRATIONS[0][0])
            cur.execute(self._q("SELECT value FROM meta WHERE key = ?"), ("schema_version",))
            row = cur.fetchone()
            current = int(row[0]) if row else 0
            if current > SCHEMA_VERSION:
                raise WattwiseError(
                    f"the store at {self.location} has schema version {current}, newer than this wattwise "
                    f"({SCHEMA_VERSION})", "upgrade wattwise to read it")
            for version in range(current + 1, SCHEMA_VERSION + 1):
                for stmt in MIGRATIONS[version - 1]:
                    cur.execute(stmt.format(pk=self.dialect.pk, real=self.dialect.real))
            if current < SCHEMA_VERSION:
                if row:
                    cur.execute(self._q("UPDATE meta SET value = ? WHERE key = ?"),
                                (str(SCHEMA_VERSION), "schema_version"))
                else:
                    cur.execute(self._q("INSERT INTO meta (key, value) VALUES (?, ?)"),
                                ("schema_version", str(SCHEMA_VERSION)))

    def schema_version(self) -> int:
        return int(self._rows("SELECT value FROM meta WHERE key = ?", ("schema_version",))[0][0])

    def close(self) -> None:
        with self._lock:
            self.conn.close()

    # -- writing --------------------------------------------------------------------------------------
    def create_run(self, run: RunRecord, if_absent: bool = False) -> None:
        values = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        sql = (self.dialect.insert_if_absent(f"runs ({RUN_COLUMNS})", values) if if_absent
               else f"INSERT INTO runs ({RUN_COLUMNS}) VALUES {values}")
        with self._tx() as cur:
            cur.execute(
                self._q(sql),
                (run.id, run.name, run.status, run.started_at, run.ended_at, run.last_seen or run.started_at,
                 run.host, run.pid, run.interval, run.location, run.command, run.exit_code, run.config_json()),
            )

    def record(self, run_id: str, samples: Iterable[SampleRow], counters: Iterable[CounterRow] = (),
               heartbeat: float | None = None) -> None:
        """Append samples and counters and move the run's heartbeat, in one committed transaction."""
        samples, counters = list(samples), list(counters)
        with self._tx() as cur:
            if samples:
                cur.executemany(
                    self._q("INSERT INTO samples (run_id, t_start, t_end, domain, joules, method, source, "
                            "uncertainty, phase, node, rank) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
                    [(s.run_id, s.t_start, s.t_end, s.domain, s.joules, s.method, s.source, s.uncertainty,
                      s.phase, s.node, s.rank) for s in samples],
                )
            if counters:
                cur.executemany(
                    self._q("INSERT INTO counters (run_id, t, name, value, phase) VALUES (?, ?, ?, ?, ?)"),
                    [(c.run_id, c.t, c.name, c.value, c.phase) for c in counters],
                )
            cur.execute(self._q("UPDATE runs SET last_seen = ? WHERE id = ?"), (heartbeat or time.time(), run_id))

    # -- distributed runs: many processes write into one run ------------------------------------------
    def join_run(self, run: RunRecord, member: MemberRow) -> bool:
        """Create the run if no process did yet, else join it (and mark it running again); add the member.

        Returns True when this call created the run row.
        """
        with self._tx() as cur:
            cur.execute(
                self._q(self.dialect.insert_if_absent(f"runs ({RUN_COLUMNS})",
                                                      "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")),
                (run.id, run.name, run.status, run.started_at, run.ended_at, run.last_seen or run.started_at,
                 run.host, run.pid, run.interval, run.location, run.command, run.exit_code, run.config_json()),
            )
            created = cur.rowcount == 1
            if not created:  # join: the run started with its first member; the node owner's config wins
                cur.execute(self._q("UPDATE runs SET status = ?, ended_at = NULL, last_seen = ?, started_at = "
                                    "CASE WHEN started_at > ? THEN ? ELSE started_at END WHERE id = ?"),
                            ("running", member.joined_at, run.started_at, run.started_at, run.id))
                if member.owner:
                    cur.execute(self._q("UPDATE runs SET config = ? WHERE id = ?"), (run.config_json(), run.id))
            cur.execute(
                self._q(self.dialect.insert_if_absent(
                    "run_members (run_id, member, node, rank, host, pid, owner, status, joined_at, left_at)",
                    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")),
                (member.run_id, member.member, member.node, member.rank, member.host, member.pid,
                 int(member.owner), member.status, member.joined_at, None),
            )
            if cur.rowcount != 1:  # a restarted rank joins again
                cur.execute(self._q("UPDATE run_members SET status = ?, pid = ?, owner = ?, joined_at = ?, "
                                    "left_at = NULL WHERE run_id = ? AND member = ?"),
                            (member.status, member.pid, int(member.owner), member.joined_at, member.run_id,
                             member.member))
        return created

    def leave_run(self, run_id: str, member: str, status: str, t: float, expected: int | None = None,
                  exit_code: int | None = None) -> str:
        """Mark ``member`` done; the run ends when no member is running and ``expected`` members joined.

        Returns the run's status afterwards (``running`` while other members go on).
        """
        with self._tx() as cur:
            # serialise members leaving at once, or each might see the other still running
            cur.execute(self._q(f"SELECT id FROM runs WHERE id = ?{self.dialect.for_update}"), (run_id,))
            cur.execute(self._q("UPDATE run_members SET status = ?, left_at = ? WHERE run_id = ? AND member = ?"),
                        (status, t, run_id, member))
            cur.execute(self._q("SELECT status, COUNT(*) FROM run_members WHERE run_id = ? GROUP BY status"),
                        (run_id,))
            counts = {r[0]: int(r[1]) for r in cur.fetchall()}
            if counts.get("running", 0) or sum(counts.values()) < (expected or 0):
                cur.execute(self._q("UPDATE runs SET last_seen = ? WHERE id = ?"), (t, run_id))
                return "running"
            final = next((s for s in ("failed", "interrupted") if counts.get(s)), "finished")
            cur.execute(self._q("UPDATE runs SET status = ?, ended_at = ?, last_seen = ?, exit_code = ? WHERE id = ?"),
                        (final, t, t, exit_code, run_id))
            return final

    def members(self, run_id: str) -> list[MemberRow]:
        rows = self._rows("SELECT run_id, member, node, rank, host, pid, owner, status, joined_at, left_at "
                          "FROM run_members WHERE run_id = ? ORDER BY node, rank", (run_id,))
        return [MemberRow(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6]), r[7], r[8], r[9]) for r in rows]

    def energy_by_node(self, run_id: str) -> dict[str | None, float]:
        """Joules per node of a run (a distributed run's total is the sum over its nodes)."""
        rows = self._rows("SELECT node, SUM(joules) FROM samples WHERE run_id = ? GROUP BY node", (run_id,))
        return {r[0]: float(r[1] or 0.0) for r in rows}

    def start_phase(self, run_id: str, name: str, t: float) -> None:
        with self._tx() as cur:
            cur.execute(self._q("INSERT INTO phases (run_id, name, started_at) VALUES (?, ?, ?)"), (run_id, name, t))

    def end_phase(self, run_id: str, name: str, t: float) -> None:
        with self._tx() as cur:
            cur.execute(self._q("UPDATE phases SET ended_at = ? WHERE run_id = ? AND name = ? AND ended_at IS NULL"),
                        (t, run_id, name))

    def finish_run(self, run_id: str, status: str, ended_at: float, exit_code: int | None = None,
                   config: dict | None = None) -> None:
        with self._tx() as cur:
            cur.execute(self._q("UPDATE runs SET status = ?, ended_at = ?, last_seen = ?, exit_code = ? WHERE id = ?"),
                        (status, ended_at, ended_at, exit_code, run_id))
            if config is not None:
                cur.execute(self._q("UPDATE runs SET config = ? WHERE id = ?"), (json.dumps(config), run_id))

    def set_location(self, run_id: str, location: str | None) -> None:
        with self._tx() as cur:
            cur.execute(self._q("UPDATE runs SET location = ? WHERE id = ?"), (location, run_id))

    # -- reading --------------------------------------------------------------------------------------
    def _record(self, row: tuple) -> RunRecord:
        rec = RunRecord(
            id=row[0], name=row[1], status=row[2], started_at=row[3], ended_at=row[4], last_seen=row[5],
            host=row[6], pid=row[7], interval=row[8] or 1.0, location=row[9], command=row[10], exit_code=row[11],
            config=finite_values(json.loads(row[12])) if row[12] else {},
        )
        if rec.is_dead():
            rec.status = "interrupted"
            rec.ended_at = rec.last_seen
            try:
                self.finish_run(rec.id, "interrupted", rec.last_seen or rec.started_at)
            except Exception:  # a read-only store still shows the right status
                pass
        return rec

    def list_runs(self, limit: int | None = None, name: str | None = None,
                  internal: bool = True) -> list[RunRecord]:
        """Runs, newest first; ``internal=False`` leaves out the internal runs of ``reduce``/``compare-training``
        (children of the user's run, tagged ``internal`` in their config)."""
        where, params = [], []
        if name:
            where.append("name LIKE ? ESCAPE '!'")
            params.append(f"%{like_literal(name)}%")
        if not internal:  # config is stored as json.dumps(sort_keys=True)
            where.append("(config IS NULL OR config NOT LIKE ?)")
            params.append('%"internal": true%')
        sql = f"SELECT {RUN_COLUMNS} FROM runs" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY started_at DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [self._record(r) for r in self._rows(sql, params)]

    def get_run(self, run_id: str) -> RunRecord:
        """A run by its id or a unique prefix of it (the last run for ``last``)."""
        if run_id in ("last", "latest"):
            runs = self.list_runs(limit=1, internal=False)
            if not runs:
                raise NotFoundError("the store has no runs yet", f"store: {self.location}")
            return runs[0]
        if len(run_id) > MAX_ID_LEN:
            raise NotFoundError(f"no run with an id of {len(run_id)} characters (ids have at most {MAX_ID_LEN})",
                                "list runs with `wattwise runs`")
        rows = self._rows(f"SELECT {RUN_COLUMNS} FROM runs WHERE id LIKE ? ESCAPE '!' ORDER BY started_at DESC",
                          (like_literal(run_id) + "%",))
        if len(rows) == 1:
            return self._record(rows[0])
        if len(rows) > 1:
            raise WattwiseError(f"run id prefix {run_id!r} matches {len(rows)} runs", "give more characters")
        ids = [r[0] for r in self._rows("SELECT id FROM runs ORDER BY started_at DESC LIMIT 200")]
        near = close_matches(run_id, ids, 3)
        hint = f"did you mean: {', '.join(near)}" if near else "list runs with `wattwise runs`"
        raise NotFoundError(f"no run {run_id!r} in {self.location}", hint)

    def last_power(self, run_id: str) -> dict[str, tuple[float, str]]:
        """(watts, method) per domain over the run's last stored sample of that domain (zero-length ones
        skipped): the same figure for every reader, however often it asks."""
        rows = self._rows("SELECT domain, joules, t_start, t_end, method FROM samples WHERE id IN "
                          "(SELECT MAX(id) FROM samples WHERE run_id = ? AND t_end > t_start GROUP BY domain)",
                          (run_id,))
        return {d: (j / (t1 - t0), m) for d, j, t0, t1, m in rows}

    def samples(self, run_id: str) -> list[SampleRow]:
        rows = self._rows("SELECT run_id, t_start, t_end, domain, joules, method, source, uncertainty, phase, node, "
                          "rank FROM samples WHERE run_id = ? ORDER BY t_start, id", (run_id,))
        return [SampleRow(*r) for r in rows]

    def phases(self, run_id: str) -> list[PhaseRow]:
        rows = self._rows("SELECT run_id, name, started_at, ended_at FROM phases WHERE run_id = ? ORDER BY id",
                          (run_id,))
        return [PhaseRow(*r) for r in rows]

    def counters(self, run_id: str) -> list[CounterRow]:
        rows = self._rows("SELECT run_id, t, name, value, phase FROM counters WHERE run_id = ? ORDER BY t, id",
                          (run_id,))
        return [CounterRow(*r) for r in rows]

    def energy_totals(self, run_ids: list[str]) -> dict[str, float]:
        """Total joules per run, for listings."""
        if not run_ids:
            return {}
        marks = ", ".join("?" for _ in run_ids)
        rows = self._rows(f"SELECT run_id, SUM(joules) FROM samples WHERE run_id IN ({marks}) GROUP BY run_id",
                          run_ids)
        return {r[0]: float(r[1] or 0.0) for r in rows}

    def count_samples(self, run_id: str | None = None) -> int:
        if run_id:
            return int(self._rows("SELECT COUNT(*) FROM samples WHERE run_id = ?", (run_id,))[0][0])
        return int(self._rows("SELECT COUNT(*) FROM samples")[0][0])


def open_sqlite(path: str, busy_timeout: float = 60.0) -> SqlStore:
    """Open (creating if needed) the SQLite store at ``path``; writes wait ``busy_timeout`` s for a lock."""
    p = Path(path).expanduser()
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(p), timeout=busy_timeout, check_same_thread=False, isolation_level=None)
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        _set_wal(conn, busy_timeout)
        conn.execute("PRAGMA synchronous = NORMAL")
        # isolation_level=None: we issue BEGIN ourselves; commit()/rollback() still end it
        return SqlStore(_AutoCommitSqlite(conn), SQLITE, str(p))
    except (OSError, sqlite3.Error) as exc:
        raise WattwiseError(f"cannot open the run store at {p}: {exc}",
                            "choose a writable path with --store or WATTWISE_STORE") from exc


def _set_wal(conn: sqlite3.Connection, timeout: float = 60.0) -> None:
    """Switch to WAL mode. Processes opening a new store at once (the ranks of a job) can get "database is
    locked" here without the busy handler being called, so retry; WAL is persistent, so once is enough."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


class _AutoCommitSqlite:
    """sqlite3 connection in autocommit mode whose commit/rollback end our explicit BEGIN."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._c = conn

    def cursor(self) -> sqlite3.Cursor:
        return self._c.cursor()

    def commit(self) -> None:
        if self._c.in_transaction:
            self._c.execute("COMMIT")

    def rollback(self) -> None:
        if self._c.in_transaction:
            self._c.execute("ROLLBACK")

    def close(self) -> None:
        self._c.close()

    def backup(self, target: sqlite3.Connection) -> None:
        """Copy the whole database into ``target`` (an in-memory copy for reading, say)."""
        self._c.backup(target)
