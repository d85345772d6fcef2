"""PostgreSQL round trips per recommendation request over real HTTP: the caller looked up on the
request's own transaction (one pooled connection, no second one for authentication), no check
query when the connection is handed out, the scope resolved once, a school read with its
programmes in one query, the pending pairs kept per data version (migration 0040) until a
submission or review changes them; a response sent is a run stored."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row

from service.config import Settings
from service.main import create_app
from tests.fixtures.server import running_server, wait_engine_ready
from tests.service.conftest import admin_token
from tests.service.recommendations.world import build

PENDING_SQL = "SELECT r.subject_type, r.subject_id, r.candidate_type, r.candidate_id"


class StatementCounter:
    """Statements sent by the threads answering requests (neither the test's own thread nor the
    engine's background threads, all named ``xiaoqi-…``, which may still be refreshing after
    the warm-up request), and every round trip: those plus BEGIN / COMMIT / ROLLBACK, which
    psycopg sends itself."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sql: list[str] = []
        self.control: list[str] = []
        self.main = threading.get_ident()
        for cls in (psycopg.Cursor, psycopg.ServerCursor):
            self._wrap(monkeypatch, cls)
        real_command = psycopg.Connection._exec_command
        counter = self

        def exec_command(conn: Any, command: Any, *args: Any, **kw: Any) -> Any:
            if counter.counts():
                counter.control.append(bytes(command).decode() if command else repr(command))
            return real_command(conn, command, *args, **kw)

        monkeypatch.setattr(psycopg.Connection, "_exec_command", exec_command)

    def _wrap(self, monkeypatch: pytest.MonkeyPatch, cls: Any) -> None:
        real = cls.execute
        counter = self

        def execute(cur: Any, query: Any, *args: Any, **kw: Any) -> Any:
            if counter.counts():
                text = query if isinstance(query, str) else f"{type(query).__name__}: {query!r}"
                # an empty query is the pool's connection check
                counter.sql.append(" ".join(text.split())[:90] or "<empty check query>")
            return real(cur, query, *args, **kw)

        monkeypatch.setattr(cls, "execute", execute)

    def counts(self) -> bool:
        here = threading.current_thread()
        return here.ident != self.main and not here.name.startswith("xiaoqi-")

    def during(self, fn: Any) -> list[str]:
        self.sql.clear()
        self.control.clear()
        fn()
        return list(self.sql)


@pytest.fixture()
def served(clean_db: str) -> Iterator[tuple[str, dict[str, str], Any]]:
    world = build(clean_db)
    app = create_app(Settings(database_url=clean_db, mode="test"))
    with running_server(app) as base:
        wait_engine_ready(base)
        yield base, {"Authorization": f"Bearer {admin_token(clean_db)}"}, world


def _runs(url: str) -> int:
    with psycopg.connect(url, row_factory=dict_row) as c:
        row: Any = c.execute("SELECT count(*) AS n FROM recommendation_runs").fetchone()
        return int(row["n"])


def test_a_warm_request_takes_few_round_trips_and_stores_its_run(
    served: tuple[str, dict[str, str], Any], clean_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, auth, w = served
    body = {"subject": {"type": "school", "id": w["S1"]}, "k": 5}
    url = f"{base}/v1/recommendations/partner-enterprises"

    def ask() -> None:
        r = httpx.post(url, json=body, headers=auth, timeout=60)
        assert r.status_code == 200, r.text
        assert r.json()["run_id"] and r.json()["results"][0]["items"]

    ask()  # the first request may build the graph and fill caches
    counter = StatementCounter(monkeypatch)
    runs = _runs(clean_db)
    sql = counter.during(ask)
    assert _runs(clean_db) == runs + 1  # a response sent is a run stored
    # the token's user, the subject's scope, the data versions, the school with its
    # programmes, the run with its items: nothing is asked twice, the pending pairs not at all
    assert sum("data_versions" in q for q in sql) == 1, sql
    assert not any(PENDING_SQL in q for q in sql), sql
    assert sum("INSERT INTO recommendation_runs" in q for q in sql) == 1, sql
    assert sum(q.startswith("SELECT u.id, u.username") for q in sql) == 1, sql  # the caller
    assert "<empty check query>" not in sql, sql  # a healthy pooled connection is not asked
    assert len(sql) <= 5, sql
    # one transaction on one connection: BEGIN and COMMIT, no second connection's ROLLBACK
    assert counter.control == ["BEGIN", "COMMIT"], counter.control
    assert len(sql) + len(counter.control) <= 7, (sql, counter.control)

    # a submission changes the pending pairs: the next request reads them again, and honours them
    with psycopg.connect(clean_db, row_factory=dict_row) as c:
        item: Any = c.execute(
            "SELECT id, candidate_id FROM recommendations ORDER BY id DESC LIMIT 1"
        ).fetchone()
        c.execute("UPDATE recommendations SET submitted_at = now() WHERE id = %s", (item["id"],))
    sql = counter.during(ask)
    assert sum(PENDING_SQL in q for q in sql) == 1, sql
    r = httpx.post(url, json=body, headers=auth, timeout=60)
    ids = [it["candidate"]["id"] for it in r.json()["results"][0]["items"]]
    assert item["candidate_id"] not in ids  # pending review: not recommended again
    assert not any(PENDING_SQL in q for q in counter.during(ask))  # cached again


def test_the_pool_check_handles_high_descriptors_and_finds_a_killed_connection(
    clean_db: str,
) -> None:
    """check_connection asks nothing of a healthy connection, works for descriptors past
    select()'s 1024 (a long-lived worker has them: with select every check failed and the pool
    never handed out a connection), and raises for a connection its server terminated."""
    import os
    import time

    from service.db import check_connection

    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        with (
            psycopg.connect(clean_db, autocommit=True) as conn,
            psycopg.connect(clean_db, autocommit=True) as other,
        ):
            assert conn.fileno() >= 1024
            check_connection(conn)  # healthy: no error
            pid = conn.info.backend_pid
            other.execute("SELECT pg_terminate_backend(%s)", (pid,))
            time.sleep(0.5)
            with pytest.raises(psycopg.OperationalError):
                check_connection(conn)
    finally:
        for fd in held:
            os.close(fd)
