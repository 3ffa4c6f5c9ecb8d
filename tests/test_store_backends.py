"""The run store's behaviour, run against both backends: SQLite and a real PostgreSQL server."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest

from tests.pg_server import pg_url  # noqa: F401 - fixtures
from wattwise.errors import WattwiseError
from wattwise.store.connect import open_store
from wattwise.store.records import CounterRow, MemberRow, RunRecord, SampleRow
from wattwise.store.schema import MIGRATIONS, SCHEMA_VERSION
from wattwise.store.sql import SQLITE


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "runs.sqlite")
    return request.getfixturevalue("pg_url")


T0 = time.time()  # runs "started now": older running runs of this process would be shown as interrupted


def _run(rid: str = "r1", **kw) -> RunRecord:
    return RunRecord(id=rid, name=kw.pop("name", "train"), status="running", started_at=T0 + kw.pop("t", 0.0), **kw)


def _sample(rid: str, t: float, j: float, domain: str = "cpu", node: str | None = None,
            rank: int | None = None) -> SampleRow:
    return SampleRow(rid, t, t + 1, domain, j, "modelled", "test", 0.1, None, node, rank)


def test_round_trip(url: str) -> None:
    s = open_store(url)
    assert s.schema_version() == SCHEMA_VERSION == 2
    s.create_run(_run(config={"a": 1}))
    s.record("r1", [_sample("r1", 1, 2.5), _sample("r1", 2, 1.5, "gpu:0", "n0", 3)],
             [CounterRow("r1", 1.5, "tokens", 100.0)], heartbeat=1002.0)
    s.start_phase("r1", "eval", 1.0)
    s.end_phase("r1", "eval", 2.0)
    s.finish_run("r1", "finished", T0 + 3, 0)
    rec = s.get_run("r")
    assert (rec.status, rec.ended_at, rec.exit_code, rec.config) == ("finished", T0 + 3, 0, {"a": 1})
    samples = s.samples("r1")
    assert [(x.domain, x.joules, x.node, x.rank) for x in samples] == [("cpu", 2.5, None, None),
                                                                       ("gpu:0", 1.5, "n0", 3)]
    assert s.counters("r1")[0].value == 100.0
    assert s.phases("r1")[0].ended_at == 2.0
    assert s.energy_totals(["r1"]) == {"r1": 4.0}
    assert s.energy_by_node("r1") == {None: 2.5, "n0": 1.5}
    assert s.count_samples() == 2 and s.count_samples("r1") == 2
    assert [r.id for r in s.list_runs(name="rai")] == ["r1"]
    with pytest.raises(WattwiseError, match="no run"):
        s.get_run("zzz")
    s.close()
    assert open_store(url).count_samples("r1") == 2  # reopening keeps everything, no migration again


def test_join_and_leave(url: str) -> None:
    s = open_store(url)
    members = [MemberRow("job", f"n{i // 2}/{i}", f"n{i // 2}", i, "h", 1, i % 2 == 0, "running", T0 + i)
               for i in range(4)]
    created = [s.join_run(_run("job", t=i, config={"m": i}), m) for i, m in enumerate(members)]
    assert created == [True, False, False, False]
    assert s.join_run(_run("job", t=-1.0), members[1]) is False  # a restarted rank joins again
    rec = s.get_run("job")
    assert rec.started_at == T0 - 1 and rec.config == {"m": 2}  # earliest start; last node owner's config
    assert [s.leave_run("job", m.member, "finished", T0 + 5 + i, expected=4) for i, m in enumerate(members[:3])] \
        == ["running"] * 3
    assert s.get_run("job").status == "running"
    assert s.leave_run("job", members[3].member, "finished", T0 + 9, expected=4) == "finished"
    rec = s.get_run("job")
    assert (rec.status, rec.ended_at) == ("finished", T0 + 9)
    assert {m.member: (m.status, m.owner) for m in s.members("job")}["n1/2"] == ("finished", True)


def test_run_waits_for_expected_members_and_reports_failure(url: str) -> None:
    s = open_store(url)
    s.join_run(_run("j2"), MemberRow("j2", "a/0", "a", 0, "h", 1, True, "running", T0))
    assert s.leave_run("j2", "a/0", "finished", T0 + 1, expected=2) == "running"  # rank 1 not there yet
    s.join_run(_run("j2"), MemberRow("j2", "a/1", "a", 1, "h", 1, False, "running", T0 + 1))
    assert s.get_run("j2").status == "running"
    assert s.leave_run("j2", "a/1", "failed", T0 + 2, expected=2, exit_code=1) == "failed"


def test_concurrent_joins_and_leaves(url: str) -> None:
    """Many ranks arriving and leaving at once: one run row, finished exactly when the last one leaves."""
    n = 8
    barrier = threading.Barrier(n)
    results: list[str] = []

    def rank(i: int) -> None:
        st = open_store(url)
        barrier.wait()
        st.join_run(_run("cc"), MemberRow("cc", f"x/{i}", "x", i, "h", 1, i == 0, "running", time.time()))
        st.record("cc", [_sample("cc", i, 1.0, node="x", rank=i)])
        barrier.wait()
        results.append(st.leave_run("cc", f"x/{i}", "finished", time.time(), expected=n))
        st.close()

    threads = [threading.Thread(target=rank, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["finished"] + ["running"] * (n - 1)
    s = open_store(url)
    assert s.get_run("cc").status == "finished"
    assert s.energy_totals(["cc"]) == {"cc": float(n)}


def _v1_store(url: str) -> None:
    """A store as wattwise with schema version 1 wrote it."""
    if url.startswith("postgresql"):
        import psycopg

        from wattwise.store.postgres import POSTGRES as dialect

        conn = psycopg.connect(url, autocommit=True)
        q = "%s"
    else:
        conn, dialect, q = sqlite3.connect(url, isolation_level=None), SQLITE, "?"
    cur = conn.cursor()
    for stmt in MIGRATIONS[0]:
        cur.execute(stmt.format(pk=dialect.pk, real=dialect.real))
    cur.execute(f"INSERT INTO meta (key, value) VALUES ({q}, {q})", ("schema_version", "1"))
    cur.execute(f"INSERT INTO runs (id, name, status, started_at) VALUES ({q}, {q}, {q}, {q})",
                ("old", "v1", "finished", 5.0))
    cur.execute(f"INSERT INTO samples (run_id, t_start, t_end, domain, joules, method, node) "
                f"VALUES ({q}, {q}, {q}, {q}, {q}, {q}, {q})", ("old", 5.0, 6.0, "cpu", 7.0, "modelled", "h"))
    conn.close()


def test_upgrades_a_v1_store(url: str) -> None:
    _v1_store(url)
    s = open_store(url)
    assert s.schema_version() == 2
    assert [(x.joules, x.node, x.rank) for x in s.samples("old")] == [(7.0, "h", None)]
    assert s.members("old") == []
    s.join_run(_run("new"), MemberRow("new", "h/0", "h", 0, "h", 1, True, "running", T0))
    assert s.get_run("new").status == "running"


def test_concurrent_opens_of_a_new_store(url: str) -> None:
    """Processes starting at once all migrate the same fresh store: exactly one does, none fails."""
    errors: list[Exception] = []

    def opener() -> None:
        try:
            open_store(url).close()
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=opener) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert open_store(url).schema_version() == 2


def test_refuses_a_newer_schema(url: str) -> None:
    s = open_store(url)
    with s._tx() as cur:
        cur.execute(s._q("UPDATE meta SET value = ? WHERE key = ?"), ("99", "schema_version"))
    with pytest.raises(WattwiseError, match="newer than this wattwise"):
        open_store(url)


def test_postgres_connection_error_is_one_clear_line() -> None:
    from tests.pg_server import free_port

    with pytest.raises(WattwiseError) as err:
        open_store(f"postgresql://nobody:secret@127.0.0.1:{free_port()}/none")
    msg = str(err.value)
    assert "cannot connect to the PostgreSQL store" in msg and "secret" not in msg


def test_cli_run_and_runs_on_the_store(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    import sys

    from wattwise.cli.app import main

    rc = main(["run", "--store", url, "--interval", "0.1", "--name", "cli-pg", "--", sys.executable, "-c",
               "import time; time.sleep(0.3)"])
    assert rc == 0
    rec = open_store(url).get_run("last")
    assert (rec.name, rec.status) == ("cli-pg", "finished")
    assert main(["runs", "--store", url]) == 0
    assert "Runs in" in capsys.readouterr().out


def _open_and_close(url: str) -> None:
    open_store(url).close()


def test_processes_opening_a_new_sqlite_store_at_once(tmp_path) -> None:
    """The ranks of a job open a fresh store together: none may fail (WAL switch and migration race)."""
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    for round_ in range(3):
        url = str(tmp_path / f"s{round_}.sqlite")
        procs = [ctx.Process(target=_open_and_close, args=(url,)) for _ in range(6)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
        assert [p.exitcode for p in procs] == [0] * 6
        assert open_store(url).schema_version() == SCHEMA_VERSION
