"""kill -9 of a real `xiaoqi serve` mid-write, and concurrent reviewers over real HTTP.

A crash can only be all or nothing if every write of a request sits in one transaction that
PostgreSQL rolls back when the client's connection dies. To make "mid-way" certain rather than
lucky, each kill holds a table lock that a later write of the request needs, waits until the
server's session is blocked on it (pg_stat_activity) and only then kills: the import with its
rows already in `enterprises` (its change-log trigger waiting) or with every row written (its
audit entry waiting); the approval with its partnership created (its review row waiting).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.faults.helpers import (
    PrivateDatabase,
    ServerProcess,
    api_token,
    wait_for,
    write_enterprises_csv,
)
from tests.service.review import factories as f

IMPORT_ROWS = 6000  # two 5,000-row validation chunks
ROUNDS = 10


@dataclass
class People:
    admin: str  # tokens
    reviewer: str
    submitter_id: int


@pytest.fixture(scope="module")
def people(db: PrivateDatabase) -> People:
    _, admin = api_token(db.url, "fault_admin", "province_admin")
    _, reviewer = api_token(db.url, "fault_reviewer", "reviewer", region="410100")
    with db.connect() as c:
        school = f.school(c, "故障测试提交学校")
    submitter, _ = api_token(db.url, "fault_school", "school", school_id=school)
    return People(admin, reviewer, submitter)


def pending_items(db: PrivateDatabase, people: People, n: int, tag: str) -> list[int]:
    """n submitted recommendations, each a new (school, enterprise) pair in 郑州."""
    with db.connect() as c:
        return [
            f.recommendation(
                c,
                ("school", f.school(c, f"{tag}学校{i}")),
                ("enterprise", f.enterprise(c, f"{tag}企业{i}")),
                submitted_by=people.submitter_id,
            )
            for i in range(n)
        ]


def in_background(call: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["response"] = call()
        except Exception as exc:  # the crash cuts the connection: expected
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, box


def blocked_on_lock(db: PrivateDatabase, statement: str) -> Callable[[], bool]:
    def check() -> bool:
        return any(
            b["wait_event_type"] == "Lock" and statement in b["query"] for b in db.server_backends()
        )

    return check


def decision_rows(db: PrivateDatabase, item: int) -> dict[str, int]:
    """What one approval writes: its partnership, its review, its audit entry."""
    return {
        "partnerships": db.scalar(
            "SELECT count(*) FROM partnerships WHERE source = %s", (f"review:{item}",)
        ),
        "reviews": db.scalar("SELECT count(*) FROM reviews WHERE recommendation_id = %s", (item,)),
        "audit": db.scalar(
            """SELECT count(*) FROM audit_log
                WHERE action LIKE 'review.%%' AND entity_type = 'recommendation'
                  AND entity_id = %s""",
            (item,),
        ),
    }


def test_two_reviewers_deciding_one_item_give_one_partnership(
    server: ServerProcess, db: PrivateDatabase, people: People
) -> None:
    items = pending_items(db, people, ROUNDS, "并发")
    with server.client(people.admin) as a, server.client(people.reviewer) as b:
        for item in items:
            path = f"/v1/review/items/{item}/decisions"
            barrier = threading.Barrier(2)

            def decide(c: httpx.Client, path: str = path, go: Any = barrier) -> httpx.Response:
                go.wait()
                return c.post(path, json={"decision": "approve"})

            threads = [in_background(partial(decide, c)) for c in (a, b)]
            for t, _ in threads:
                t.join(60)
            answers = [box.get("response") for _, box in threads]
            assert all(isinstance(r, httpx.Response) for r in answers), threads
            codes = sorted(r.status_code for r in answers if r is not None)
            assert codes == [200, 409], [r.text for r in answers if r is not None]
            assert decision_rows(db, item) == {"partnerships": 1, "reviews": 1, "audit": 1}


def test_kill9_during_an_approval_leaves_nothing_then_it_can_be_decided(
    server: ServerProcess, db: PrivateDatabase, people: People
) -> None:
    (item,) = pending_items(db, people, 1, "审批崩溃")
    partnerships = db.scalar("SELECT count(*) FROM partnerships")
    audit = db.scalar("SELECT count(*) FROM audit_log")
    with db.connect() as locker:
        # The approval creates the partnership (and its audit entry), then writes the review:
        # with this lock it stops right there, and is killed with its first writes made.
        locker.execute("LOCK TABLE reviews IN EXCLUSIVE MODE")
        path = f"/v1/review/items/{item}/decisions"
        with server.client(people.reviewer) as c:
            thread, box = in_background(lambda: c.post(path, json={"decision": "approve"}))
            wait_for(
                "the approval to wait for the reviews table", blocked_on_lock(db, "reviews"), 30
            )
            server.kill9(wait_sessions=False)
            thread.join(30)
        assert "error" in box, box  # the client saw the crash, not an answer
        locker.commit()  # the orphaned session may now run on; it can never commit
    server.wait_sessions_gone()
    assert decision_rows(db, item) == {"partnerships": 0, "reviews": 0, "audit": 0}
    assert db.scalar("SELECT count(*) FROM partnerships") == partnerships
    assert db.scalar("SELECT count(*) FROM audit_log") == audit
    state = "SELECT state FROM review_state WHERE recommendation_id = %s"
    assert db.scalar(state, (item,)) == "pending"

    server.start()
    with server.client(people.reviewer) as c:
        r = c.post(path, json={"decision": "approve"})
    assert r.status_code == 200, r.text
    assert decision_rows(db, item) == {"partnerships": 1, "reviews": 1, "audit": 1}
    assert db.scalar(state, (item,)) == "approved"


def _import(server: ServerProcess, token: str, path: Path) -> httpx.Response:
    with server.client(token) as c, path.open("rb") as fh:
        return c.post(
            "/v1/imports/enterprises",
            files={"file": (path.name, fh, "text/csv")},
            timeout=120,
        )


def _import_state(db: PrivateDatabase) -> tuple[int, int, int]:
    return (
        db.scalar("SELECT count(*) FROM enterprises WHERE name LIKE '河南故障测试%%'"),
        db.scalar("SELECT count(*) FROM audit_log WHERE action = 'import'"),
        db.scalar("SELECT count(*) FROM pg_class WHERE relname LIKE '\\_ingest\\_%%'"),
    )


def test_kill9_during_an_import_leaves_all_or_nothing(
    server: ServerProcess, db: PrivateDatabase, people: People, tmp_path: Path
) -> None:
    first = write_enterprises_csv(tmp_path / "first.csv", db.url, 0, IMPORT_ROWS)
    second = write_enterprises_csv(tmp_path / "second.csv", db.url, IMPORT_ROWS, IMPORT_ROWS)
    rows, imports, stages = _import_state(db)
    assert stages == 0

    # 1. Killed mid-write: the upsert statement has put its rows into `enterprises` and its
    #    change-log trigger waits for the row_changes table.
    _kill_while_blocked(server, db, people, first, "row_changes", "enterprises")
    assert _import_state(db) == (rows, imports, 0), "a crashed import left rows behind"

    # 2. After a restart the same file imports completely.
    server.start()
    r = _import(server, people.admin, first)
    assert r.status_code == 200, r.text
    assert r.json()["inserted"] == IMPORT_ROWS
    assert _import_state(db) == (rows + IMPORT_ROWS, imports + 1, 0)

    # 3. Killed at the last moment: every row written, waiting to write the import's audit entry.
    _kill_while_blocked(server, db, people, second, "audit_log", "audit_log")
    assert _import_state(db) == (rows + IMPORT_ROWS, imports + 1, 0)


def _kill_while_blocked(
    server: ServerProcess,
    db: PrivateDatabase,
    people: People,
    path: Path,
    table: str,
    statement: str,
) -> None:
    """Import `path` while `table` is locked against writes; kill -9 the server once the import
    waits for that lock inside a statement mentioning `statement`."""
    with db.connect() as locker:
        locker.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
        thread, box = in_background(lambda: _import(server, people.admin, path))
        wait_for(f"the import to wait for {table}", blocked_on_lock(db, statement), 90)
        server.kill9(wait_sessions=False)
        thread.join(30)
        assert "error" in box, box  # the client saw the crash, not an answer
        locker.commit()  # the orphaned session may now run on; it can never commit
    server.wait_sessions_gone()
