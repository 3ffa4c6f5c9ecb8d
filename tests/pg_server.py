"""A throwaway PostgreSQL server for tests and benchmarks (Debian's ``postgresql`` package binaries).

The ``pg_url`` fixture gives a fresh database on one server per test session, started on first use (free
port, data and socket in a temp dir) and stopped at exit. PostgreSQL refuses to run as root, so as root the
server runs as the ``postgres`` user. Tests that need it are skipped (with the reason) only when the binaries
are not installed (``.ci/run`` installs them when it can).
"""

from __future__ import annotations

import atexit
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest


def pg_bindir() -> Path | None:
    """The newest installed PostgreSQL server binaries, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgServer:
    """One PostgreSQL cluster in a temp dir; ``start()`` returns the URL of a fresh database."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.dir = Path(tempfile.mkdtemp(prefix="wattwise-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)

    def start(self) -> str:
        if self.as_postgres:
            shutil.chown(self.dir, "postgres", "postgres")
        os.chmod(self.dir, 0o700)
        for step in (
            ("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"),
            ("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "log"), "-w", "-t", "60", "-o",
             f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
             "-c max_connections=200 -c shared_buffers=32MB", "start"),
        ):
            r = self._run(*step)
            if r.returncode != 0:
                log = (self.dir / "log").read_text() if (self.dir / "log").exists() else ""
                self.stop()
                raise RuntimeError(f"{step[0]} failed: {r.stdout}{r.stderr}{log}")
        return self.new_database()

    def new_database(self) -> str:
        name = "wattwise_" + uuid.uuid4().hex[:8]
        r = self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        if r.returncode != 0:
            raise RuntimeError(f"createdb failed: {r.stderr}")
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)


_SERVER: PgServer | None = None
_FAILED: str | None = None


def shared_server() -> PgServer:
    """The one server of this test session (started on first use, stopped at exit); skips if impossible."""
    global _SERVER, _FAILED
    if _SERVER is None and _FAILED is None:
        bindir = pg_bindir()
        if bindir is None:
            _FAILED = "PostgreSQL server binaries not installed (apt-get install postgresql; .ci/run does it as root)"
        else:
            server = PgServer(bindir)
            try:
                server.start()
                _SERVER = server
                atexit.register(server.stop)
            except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
                _FAILED = f"cannot start a throwaway PostgreSQL server: {exc}"
    if _SERVER is None:
        pytest.skip(_FAILED or "no PostgreSQL server")
    return _SERVER


@pytest.fixture()
def pg_url() -> str:
    """A fresh, empty database on the session's PostgreSQL server."""
    return shared_server().new_database()
