"""Concurrent decisions: one item, many reviewers at once → one decision, one partnership."""

from __future__ import annotations

import threading
import time
from contextlib import closing
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row

from service.auth import repository as auth_repo
from service.auth.schemas import User
from service.errors import Conflict, from_db_error
from service.review import service
from tests.service.auth.helpers import login, one, rows
from tests.service.review import factories as f
from tests.service.review.conftest import World

ROUNDS = 20


def _fresh_items(w: World, n: int) -> list[int]:
    """n pending items, each a new (school, enterprise) pair."""
    with psycopg.connect(w.url, row_factory=dict_row) as c:
        out = []
        for i in range(n):
            s = f.school(c, f"并发测试学校{i}")
            e = f.enterprise(c, f"并发测试企业{i}")
            out.append(
                f.recommendation(
                    c, ("school", s), ("enterprise", e), submitted_by=w.users["school_zz"]
                )
            )
        return out


def _race(clients: list[httpx.Client], calls: list[tuple[str, Any]]) -> list[httpx.Response]:
    """Fire one request per client at the same instant (a barrier), return the responses."""
    barrier = threading.Barrier(len(clients))
    out: list[Any] = [None] * len(clients)

    def go(i: int) -> None:
        path, body = calls[i]
        barrier.wait()
        try:
            out[i] = clients[i].post(path, json=body)
        except Exception as exc:  # surfaced by the assertion below
            out[i] = exc

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(isinstance(r, httpx.Response) for r in out), out
    return out


def test_concurrent_approvals_make_exactly_one_partnership(world: World, base_url: str) -> None:
    items = _fresh_items(world, ROUNDS)
    with closing(login(base_url, "admin")) as a, closing(login(base_url, "reviewer_zz")) as b:
        for item in items:
            path = f"/v1/review/items/{item}/decisions"
            r1, r2 = _race([a, b], [(path, {"decision": "approve"})] * 2)
            assert sorted([r1.status_code, r2.status_code]) == [200, 409], (r1.text, r2.text)
            loser = r1 if r1.status_code == 409 else r2
            assert "already_decided" in loser.json()["detail"]
    per_item = rows(
        world.url,
        """SELECT recommendation_id, count(*) AS n FROM reviews
                                  GROUP BY recommendation_id""",
    )
    assert len(per_item) == ROUNDS and all(r["n"] == 1 for r in per_item)
    assert one(world.url, "SELECT count(*) AS n FROM partnerships")["n"] == ROUNDS
    linked = one(
        world.url,
        """SELECT count(DISTINCT partnership_id) AS n FROM reviews
                               WHERE partnership_id IS NOT NULL""",
    )
    assert linked["n"] == ROUNDS


def test_concurrent_approve_and_reject_leave_one_decision(world: World, base_url: str) -> None:
    items = _fresh_items(world, 8)
    with closing(login(base_url, "admin")) as a, closing(login(base_url, "reviewer_zz")) as b:
        for item in items:
            path = f"/v1/review/items/{item}/decisions"
            r1, r2 = _race(
                [a, b],
                [
                    (path, {"decision": "approve"}),
                    (path, {"decision": "reject", "reason": "不合适"}),
                ],
            )
            assert sorted([r1.status_code, r2.status_code]) == [200, 409]
            state = one(
                world.url, "SELECT state FROM review_state WHERE recommendation_id = %s", (item,)
            )["state"]
            assert state == ("approved" if r1.status_code == 200 else "rejected")
    approved = one(world.url, "SELECT count(*) AS n FROM reviews WHERE decision = 'approve'")
    assert one(world.url, "SELECT count(*) AS n FROM partnerships")["n"] == approved["n"]


def test_concurrent_submissions_of_one_pair_admit_one(world: World, base_url: str) -> None:
    with psycopg.connect(world.url, row_factory=dict_row) as c:
        pairs = []
        for i in range(8):
            s, e = f.school(c, f"提交并发学校{i}"), f.enterprise(c, f"提交并发企业{i}")
            pairs.append(
                [f.recommendation(c, ("school", s), ("enterprise", e), score=x) for x in (0.6, 0.5)]
            )
    with closing(login(base_url, "admin")) as a, closing(login(base_url, "bureau_zz")) as b:
        for first, second in pairs:
            r1, r2 = _race(
                [a, b],
                [
                    ("/v1/review/submit", {"recommendation_ids": [first]}),
                    ("/v1/review/submit", {"recommendation_ids": [second]}),
                ],
            )
            statuses = sorted(r.json()["results"][0]["status"] for r in (r1, r2))
            assert statuses == [200, 409]
    assert one(world.url, "SELECT count(*) AS n FROM review_pending_pairs")["n"] == len(pairs)


def _user(conn: psycopg.Connection[Any], username: str) -> User:
    row = auth_repo.user_by_username(conn, username)
    assert row is not None
    return auth_repo.to_user(row)


def _in_thread(fn: Any) -> tuple[threading.Thread, dict[str, Any]]:
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["result"] = fn()
        except Exception as exc:
            box["error"] = exc

    t = threading.Thread(target=run)
    t.start()
    return t, box


def test_second_decider_waits_for_the_row_lock_then_gets_409(world: World) -> None:
    """Deterministic version: the second transaction blocks on FOR UPDATE until the first
    commits, then sees the approval."""
    item = _fresh_items(world, 1)[0]
    with psycopg.connect(world.url) as c1, psycopg.connect(world.url) as c2:
        service.decide(c1, _user(c1, "admin"), item, "approve", "")  # holds the lock
        reviewer = _user(c2, "reviewer_zz")
        c2.commit()

        def second() -> Any:
            with c2.transaction():
                return service.decide(c2, reviewer, item, "approve", "")

        t, box = _in_thread(second)
        time.sleep(0.5)
        assert t.is_alive(), "the second decision must wait for the first"
        c1.commit()
        t.join(10)
        assert isinstance(box.get("error"), Conflict), box
    assert one(world.url, "SELECT count(*) AS n FROM partnerships")["n"] == 1


def test_unique_index_is_the_last_line(world: World) -> None:
    """A partnership for the pair appearing from elsewhere mid-approval: the approval fails
    on the unique index (mapped to 409), never a second active partnership."""
    item = _fresh_items(world, 1)[0]
    pair = one(world.url, "SELECT pair_a_id, pair_b_id FROM recommendations WHERE id = %s", (item,))
    with psycopg.connect(world.url) as c1, psycopg.connect(world.url) as c2:
        c1.execute(
            """INSERT INTO partnerships (a_type, a_id, b_type, b_id, source)
                      VALUES ('enterprise', %s, 'school', %s, 'import')""",
            (pair["pair_a_id"], pair["pair_b_id"]),
        )
        admin = _user(c2, "admin")
        c2.commit()

        def approve() -> Any:
            with c2.transaction():
                return service.decide(c2, admin, item, "approve", "")

        t, box = _in_thread(approve)
        time.sleep(0.5)
        c1.commit()
        t.join(10)
        err = box.get("error")
        assert isinstance(err, psycopg.errors.UniqueViolation), box
        assert isinstance(from_db_error(err), Conflict)
    assert one(world.url, "SELECT count(*) AS n FROM partnerships")["n"] == 1
    assert one(world.url, "SELECT count(*) AS n FROM reviews")["n"] == 0


@pytest.mark.parametrize("decision", ["approve"])
def test_approval_after_external_partnership_is_409(
    world: World, base_url: str, decision: str
) -> None:
    item = _fresh_items(world, 1)[0]
    pair = one(world.url, "SELECT pair_a_id, pair_b_id FROM recommendations WHERE id = %s", (item,))
    with psycopg.connect(world.url) as c:
        c.execute(
            """INSERT INTO partnerships (a_type, a_id, b_type, b_id, source)
                     VALUES ('enterprise', %s, 'school', %s, 'import')""",
            (pair["pair_a_id"], pair["pair_b_id"]),
        )
    with closing(login(base_url, "admin")) as a:
        r = a.post(f"/v1/review/items/{item}/decisions", json={"decision": decision})
        assert r.status_code == 409 and "already_partnered" in r.json()["detail"]
        r = a.post(
            f"/v1/review/items/{item}/decisions", json={"decision": "reject", "reason": "已有结对"}
        )
        assert r.status_code == 200
