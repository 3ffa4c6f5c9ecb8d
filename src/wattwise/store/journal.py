"""Journal files: the writes a run could not put into its store (locked, disk full, read-only, corrupt).

A journal is a JSON-lines file. Its first line names it (a uuid) and the store it belongs to; every further
line is one store call (``create_run``, ``record``, ``finish_run``, ...) with its arguments. It lies beside
the store (``runs.sqlite.pending-<uuid>.jsonl``) or, when that directory cannot be written, in the user's
cache dir (``<cache>/journal/<hash of the store's path>/<uuid>.jsonl``).

:func:`replay_pending` applies each journal in one transaction and records its uuid in ``meta`` in the same
transaction, so a journal is never applied twice (a crash between commit and unlink just deletes it next
time). Journals still held open by their writer (an ``flock``) are left alone; a truncated last line (the
writer was killed mid-write) is skipped.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sqlite3
import time
import uuid
from pathlib import Path
from typing import IO, Any

from wattwise.store.records import CounterRow, MemberRow, PhaseRow, RunRecord, SampleRow

#: The store calls a journal may hold (all of them writes of :class:`~wattwise.store.sql.SqlStore`).
OPS = ("create_run", "record", "join_run", "leave_run", "start_phase", "end_phase", "finish_run", "set_location")
_TYPES: dict[str, type] = {t.__name__: t for t in (CounterRow, MemberRow, PhaseRow, RunRecord, SampleRow)}
SUFFIX = ".jsonl"


def _is_url(location: str) -> bool:
    return "://" in location


def cache_journal_dir(location: str) -> Path:
    """The journal folder for ``location`` in the user's cache dir."""
    from wattwise.config import cache_dir

    key = location if _is_url(location) else str(Path(location).expanduser().resolve())
    return cache_dir() / "journal" / hashlib.sha256(key.encode()).hexdigest()[:16]


def journal_paths(location: str, name: str) -> list[Path]:
    """Where a new journal for the store at ``location`` goes, best first."""
    paths = [] if _is_url(location) else [Path(f"{Path(location).expanduser()}.pending-{name}{SUFFIX}")]
    return [*paths, cache_journal_dir(location) / f"{name}{SUFFIX}"]


def pending_journals(location: str) -> list[Path]:
    """The journals waiting for the store at ``location``, oldest first."""
    found: list[Path] = []
    if not _is_url(location):
        p = Path(location).expanduser()
        found += p.parent.glob(f"{p.name}.pending-*{SUFFIX}") if p.parent.is_dir() else []
    d = cache_journal_dir(location)
    found += d.glob(f"*{SUFFIX}") if d.is_dir() else []

    def mtime(q: Path) -> float:
        try:
            return q.stat().st_mtime
        except OSError:
            return 0.0

    return sorted(found, key=mtime)


def _encode(o: Any) -> Any:
    if dataclasses.is_dataclass(o) and not isinstance(o, type):
        return {"__t": type(o).__name__, **{f.name: getattr(o, f.name) for f in dataclasses.fields(o)}}
    raise TypeError(f"cannot journal {type(o).__name__}")


def _decode(d: dict) -> Any:
    t = d.pop("__t", None)
    return _TYPES[t](**d) if t in _TYPES else d


class Journal:
    """One journal file being written (held under an ``flock`` so no one replays it meanwhile).

    Lines are written unbuffered; a line the disk cannot take is cut off again, so the file stays whole.
    """

    def __init__(self, location: str) -> None:
        self.name = uuid.uuid4().hex
        self.location = location
        self.count = 0
        self.path: Path | None = None
        self._fd: int | None = None
        errors = []
        for path in journal_paths(location, self.name):
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
            except OSError as exc:
                errors.append(f"{path}: {exc.strerror or exc}")
                continue
            try:
                _flock(fd)
                self._write(fd, self._header())
            except OSError as exc:
                errors.append(f"{path}: {exc.strerror or exc}")
                os.close(fd)
                _unlink(path)
                continue
            self.path, self._fd = path, fd
            return
        raise OSError("no journal could be written: " + "; ".join(errors))

    def _header(self) -> str:
        return json.dumps({"journal": self.name, "store": self.location, "pid": os.getpid(), "created": time.time()})

    @staticmethod
    def _write(fd: int, line: str) -> None:
        data = (line + "\n").encode()
        size = os.lseek(fd, 0, os.SEEK_END)
        try:
            done = os.write(fd, data)
            if done != len(data):
                raise OSError(28, "No space left on device")
        except OSError:
            try:
                os.ftruncate(fd, size)  # no half line
            except OSError:
                pass
            raise

    def append(self, op: str, args: tuple, kwargs: dict) -> None:
        """Add one store call; raises OSError when the file cannot take it (the disk is full)."""
        if self._fd is None:
            self.reopen()
        assert self._fd is not None
        self._write(self._fd, json.dumps({"op": op, "a": list(args), "k": kwargs}, default=_encode))
        self.count += 1

    def reopen(self) -> None:
        """Append again after close() (the file may have been replayed and deleted meanwhile: then anew)."""
        assert self.path is not None
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            _flock(fd)
            if os.lseek(fd, 0, os.SEEK_END) == 0:  # deleted by a replay: a new journal (new uuid, applied too)
                self.name = uuid.uuid4().hex
                self._write(fd, self._header())
                self.count = 0
        except OSError:
            os.close(fd)
            raise
        self._fd = fd

    def close(self) -> None:
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass
            self._fd = None

    def discard(self) -> None:
        """Close and delete (after its content went into the store)."""
        self.close()
        if self.path is not None:
            _unlink(self.path)


def _flock(fh: IO[str] | int, block: bool = True) -> bool:
    try:
        import fcntl
    except ImportError:  # not POSIX
        return True
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | (0 if block else fcntl.LOCK_NB))
    except BlockingIOError:
        return False
    return True


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


def read_journal(path: Path) -> tuple[str | None, list[tuple[str, tuple, dict]]]:
    """The journal's uuid and its calls (a truncated or garbled line is skipped)."""
    name: str | None = None
    calls: list[tuple[str, tuple, dict]] = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for i, line in enumerate(fh):
            try:
                d = json.loads(line, object_hook=_decode)
            except ValueError:
                continue
            if i == 0 and isinstance(d, dict) and "journal" in d:
                name = str(d["journal"])
            elif isinstance(d, dict) and d.get("op") in OPS:
                calls.append((d["op"], tuple(d.get("a", ())), dict(d.get("k", {}))))
    return name, calls


def apply_calls(store: Any, name: str, calls: list[tuple[str, tuple, dict]]) -> bool:
    """Apply a journal's calls to ``store`` in one transaction; False when that journal was applied before."""
    key = f"journal:{name}"
    with store.transaction():
        if store._rows("SELECT value FROM meta WHERE key = ?", (key,)):
            return False
        for op, args, kwargs in calls:
            if op == "create_run":  # a run row may already exist (it was created before the store failed)
                kwargs = {**kwargs, "if_absent": True}
            getattr(store, op)(*args, **kwargs)
        with store._tx() as cur:
            cur.execute(store._q("INSERT INTO meta (key, value) VALUES (?, ?)"), (key, str(time.time())))
    return True


def replay_file(store: Any, path: Path, calls: list[tuple[str, tuple, dict]] | None = None,
                name: str | None = None) -> int:
    """Put one journal into ``store`` and delete it; returns the number of calls applied.

    Raises what the store raises when it still cannot take the writes (the journal stays).
    """
    if calls is None:
        name, calls = read_journal(path)
    if name is None:  # no header: nothing was ever journaled in it
        _unlink(path)
        return 0
    applied = apply_calls(store, name, calls)
    _unlink(path)
    return len(calls) if applied else 0


def replay_pending(store: Any) -> int:
    """Replay every journal left for ``store`` by earlier runs; returns the calls applied.

    Never raises: a journal that cannot go in now (store locked, full) stays for the next open; one whose
    content the store refuses for good is renamed ``*.failed`` so it is not retried forever.
    """
    total = 0
    try:
        paths = pending_journals(store.location)
    except OSError:
        return 0
    for path in paths:
        try:
            fh = open(path, encoding="utf-8")  # noqa: SIM115
        except OSError:
            continue
        try:
            if not _flock(fh, block=False):  # its writer is still running
                continue
            total += replay_file(store, path)
        except (sqlite3.OperationalError, OSError):
            break  # locked, full, read-only: try again next time (and do not wait on each journal)
        except Exception as exc:
            if is_transient(exc) or isinstance(exc, sqlite3.DatabaseError):
                break
            try:
                path.rename(path.with_suffix(".failed"))
            except OSError:
                pass
        finally:
            fh.close()
    return total


def is_transient(exc: BaseException | str) -> bool:
    """An error that goes away by itself (a lock, a full disk, a lost connection), unlike a read-only medium,
    a corrupt file or data the store rejects."""
    text = exc.lower() if isinstance(exc, str) else f"{type(exc).__name__} {exc}".lower()
    if "malformed" in text or "not a database" in text:
        return False
    return any(w in text for w in ("lock", "busy", "full", "connection", "timeout"))

