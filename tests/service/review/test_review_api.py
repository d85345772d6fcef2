from __future__ import annotations

from contextlib import closing

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row

from tests.service.auth.helpers import login, one, rows
from tests.service.review import factories as f
from tests.service.review.conftest import World


def rec(w: World, subject: tuple[str, int | None], candidate: tuple[str, int], **kw: object) -> int:
    with psycopg.connect(w.url, row_factory=dict_row) as c:
        return f.recommendation(c, subject, candidate, **kw)  # type: ignore[arg-type]


def pending(
    w: World, school: str, ent: str, region: str | None = "410100", score: float = 0.5
) -> int:
    return rec(
        w,
        ("school", w.schools[school]),
        ("enterprise", w.enterprises[ent]),
        region_code=region,
        score=score,
        submitted_by=w.users["school_zz"],
    )


def count(url: str, table: str) -> int:
    return int(one(url, f"SELECT count(*) AS n FROM {table}")["n"])


def test_anonymous_gets_401_everywhere(world: World, base_url: str) -> None:
    item = pending(world, "zz", "zz1")
    calls = [
        ("POST", "/v1/review/submit", {"recommendation_ids": [item]}),
        ("GET", "/v1/review/queue", None),
        ("GET", f"/v1/review/items/{item}", None),
        ("GET", f"/v1/review/items/{item}/history", None),
        ("POST", f"/v1/review/items/{item}/decisions", {"decision": "approve"}),
        ("POST", "/v1/review/decisions", {"items": [{"id": item, "decision": "approve"}]}),
    ]
    for method, path, body in calls:
        r = httpx.request(method, base_url + path, json=body)
        assert r.status_code == 401, (path, r.text)
    assert count(world.url, "reviews") == 0


def test_school_and_enterprise_users_cannot_decide(world: World, base_url: str) -> None:
    item = pending(world, "zz", "zz1")
    for user in ("school_zz", "ent_zz"):
        with closing(login(base_url, user)) as c:
            assert c.get("/v1/review/queue").status_code == 403
            r = c.post(f"/v1/review/items/{item}/decisions", json={"decision": "approve"})
            assert r.status_code == 403 and r.json()["error"] == "forbidden"
            bulk = {"items": [{"id": item, "decision": "approve"}]}
            r = c.post("/v1/review/decisions", json=bulk)
            assert r.status_code == 403
    assert count(world.url, "reviews") == 0 and count(world.url, "partnerships") == 0


def test_submit_reports_each_id(world: World, base_url: str) -> None:
    s_zz, s_ly = ("school", world.schools["zz"]), ("school", world.schools["ly"])
    ok = rec(world, s_zz, ("enterprise", world.enterprises["zz1"]))
    same_pair = rec(world, s_zz, ("enterprise", world.enterprises["zz1"]), score=0.4)
    outside = rec(world, s_ly, ("enterprise", world.enterprises["ly1"]), region_code="410300")
    partnered = rec(world, s_zz, ("enterprise", world.enterprises["zz2"]))
    free_text = rec(world, ("text", None), ("enterprise", world.enterprises["zz3"]))
    with psycopg.connect(world.url) as c:
        c.execute(
            """INSERT INTO partnerships (a_type, a_id, b_type, b_id)
                     VALUES ('enterprise', %s, 'school', %s)""",
            (world.enterprises["zz2"], world.schools["zz"]),
        )
    ids = [outside, ok, same_pair, partnered, free_text, 999999]
    with closing(login(base_url, "bureau_zz")) as c:
        r = c.post("/v1/review/submit", json={"recommendation_ids": ids})
        assert r.status_code == 200, r.text
        body = r.json()
        res = {x["id"]: x for x in body["results"]}
        assert [x["id"] for x in body["results"]] == ids  # in the order asked
        assert body["submitted"] == 1
        assert res[ok]["status"] == 200 and res[ok]["state"] == "pending"
        assert res[outside]["status"] == 403 and res[outside]["state"] == "draft"
        assert res[same_pair]["status"] == 409 and "pair_pending" in res[same_pair]["detail"]
        assert res[partnered]["status"] == 409
        assert "already_partnered" in res[partnered]["detail"]
        assert res[free_text]["status"] == 422
        assert res[999999]["status"] == 404
        again = c.post("/v1/review/submit", json={"recommendation_ids": [ok]}).json()
        assert again["results"][0]["status"] == 409
        assert "already_pending" in again["results"][0]["detail"]
        assert c.post("/v1/review/submit", json={"recommendation_ids": []}).status_code == 422
    row = one(world.url, "SELECT * FROM recommendations WHERE id = %s", (ok,))
    assert row["submitted_by"] == world.users["bureau_zz"] and row["submitted_at"] is not None
    assert (row["pair_a_type"], row["pair_b_type"]) == ("enterprise", "school")
    assert (
        one(world.url, "SELECT submitted_at FROM recommendations WHERE id = %s", (outside,))[
            "submitted_at"
        ]
        is None
    )
    audit = rows(world.url, "SELECT entity_id FROM audit_log WHERE action = 'review.submit'")
    assert [a["entity_id"] for a in audit] == [ok]


def test_school_user_submits_only_its_own_requests(world: World, base_url: str) -> None:
    own = rec(world, ("school", world.schools["zz"]), ("enterprise", world.enterprises["zz1"]))
    other = rec(world, ("school", world.schools["ly"]), ("enterprise", world.enterprises["zz1"]))
    with closing(login(base_url, "school_zz")) as c:
        res = c.post("/v1/review/submit", json={"recommendation_ids": [own, other]}).json()
        assert [x["status"] for x in res["results"]] == [200, 403]
        # The submitter follows its item even though it cannot decide it.
        assert c.get(f"/v1/review/items/{own}/history").json()["state"] == "pending"
        assert c.get(f"/v1/review/items/{other}/history").status_code == 403


def test_queue_is_scoped_filtered_sorted_and_paged(world: World, base_url: str) -> None:
    a = pending(world, "zz", "zz1", score=0.9)
    b = pending(world, "zz", "zz2", score=0.3)
    c_ = pending(world, "zz", "zz3", score=0.6)
    ly = pending(world, "ly", "ly1", region="410300", score=0.8)
    with psycopg.connect(world.url) as conn:  # programme ↔ mentor, to filter on
        prog = f.programme(conn, world.schools["zz"])
        m = f.mentor(conn, world.enterprises["zz4"])
        mentor_item = f.recommendation(
            conn,
            ("programme", prog),
            ("mentor", m),
            score=0.7,
            submitted_by=world.users["school_zz"],
        )
        conn.execute(
            """INSERT INTO partnerships (a_type, a_id, b_type, b_id, kind)
                        VALUES ('enterprise', %s, 'school', %s, '结对包联')""",
            (world.enterprises["zz5"], world.schools["zz"]),
        )
    with closing(login(base_url, "bureau_zz")) as cl:
        q = cl.get("/v1/review/queue").json()
        assert [i["id"] for i in q["items"]] == [a, mentor_item, c_, b] and q["total"] == 4
        q = cl.get("/v1/review/queue", params={"sort": "age"}).json()
        assert [i["id"] for i in q["items"]] == [a, b, c_, mentor_item]
        q = cl.get("/v1/review/queue", params={"limit": 2, "offset": 1}).json()
        assert [i["id"] for i in q["items"]] == [mentor_item, c_] and q["total"] == 4
        q = cl.get("/v1/review/queue", params={"candidate_type": "mentor"}).json()
        assert [i["id"] for i in q["items"]] == [mentor_item]
        assert q["items"][0]["kind"] == "导师"
        q = cl.get("/v1/review/queue", params={"min_score": 0.5}).json()
        assert {i["id"] for i in q["items"]} == {a, c_, mentor_item}
        q = cl.get("/v1/review/queue", params={"max_age_days": 1}).json()
        assert q["total"] == 4
        # Asking for 洛阳 from 郑州 shows nothing; the province code narrows to 郑州 anyway.
        assert cl.get("/v1/review/queue", params={"region": "410300"}).json()["total"] == 0
        assert cl.get("/v1/review/queue", params={"region": "410000"}).json()["total"] == 4
        assert cl.get("/v1/review/queue", params={"region": "419999"}).status_code == 422
        assert cl.get("/v1/review/queue", params={"sort": "name"}).status_code == 422
        assert cl.get("/v1/review/queue", params={"limit": 0}).status_code == 422
        # Evidence: names of both parties and what they are already partnered with.
        item = next(i for i in cl.get("/v1/review/queue").json()["items"] if i["id"] == a)
        assert item["subject"]["name"] == "郑州职业技术学院"
        assert item["candidate"]["name"] == "郑州装备制造有限公司1"
        assert item["evidence"]["features"]["semantic"] == 0.9
        assert item["evidence"]["explanation"][0]["reason"] == "行业匹配"
        school_links = item["evidence"]["partnerships_b"]  # canonical: enterprise < school
        assert item["party_b"]["type"] == "school"
        assert [p["other"]["name"] for p in school_links] == ["郑州装备制造有限公司5"]
        assert item["region_name"] == "郑州市" and item["kind"] == "结对包联"
    with closing(login(base_url, "bureau_ly")) as cl:
        assert [i["id"] for i in cl.get("/v1/review/queue").json()["items"]] == [ly]
    with closing(login(base_url, "admin")) as cl:
        assert cl.get("/v1/review/queue").json()["total"] == 5
        q = cl.get("/v1/review/queue", params={"region": "410300"}).json()
        assert [i["id"] for i in q["items"]] == [ly]


def test_approve_creates_exactly_one_partnership(world: World, base_url: str) -> None:
    item = pending(world, "zz", "zz1")
    with closing(login(base_url, "reviewer_zz")) as c:
        r = c.post(
            f"/v1/review/items/{item}/decisions",
            json={"decision": "approve", "reason": "双方意向明确"},
        )
        assert r.status_code == 200, r.text
        out = r.json()
        assert out["state"] == "approved" and out["partnership_id"] is not None
        again = c.post(f"/v1/review/items/{item}/decisions", json={"decision": "approve"})
        assert again.status_code == 409 and "already_decided" in again.json()["detail"]
        r = c.post(
            f"/v1/review/items/{item}/decisions", json={"decision": "reject", "reason": "改主意"}
        )
        assert r.status_code == 409
        assert c.get("/v1/review/queue").json()["total"] == 0
        hist = c.get(f"/v1/review/items/{item}/history").json()
        assert hist["state"] == "approved"
        assert [(d["decision"], d["reviewer"]) for d in hist["decisions"]] == [
            ("approve", "reviewer_zz")
        ]
        assert c.get(f"/v1/review/items/{item}").json()["state"] == "approved"
    p = rows(world.url, "SELECT * FROM partnerships")
    assert len(p) == 1
    assert (p[0]["a_type"], p[0]["a_id"], p[0]["b_type"], p[0]["b_id"]) == (
        "enterprise",
        world.enterprises["zz1"],
        "school",
        world.schools["zz"],
    )
    assert p[0]["kind"] == "结对包联" and p[0]["source"] == f"review:{item}"
    assert p[0]["id"] == out["partnership_id"]
    review = one(world.url, "SELECT * FROM reviews")
    assert review["partnership_id"] == p[0]["id"] and review["reason"] == "双方意向明确"
    audit = rows(
        world.url,
        "SELECT actor_id, action, entity_type, entity_id, before, after"
        " FROM audit_log WHERE action <> 'auth.login' ORDER BY id",
    )
    # the partnership is created (and audited) by service.partnerships before the decision row
    assert [(a["action"], a["entity_id"]) for a in audit] == [
        ("partnership.create", p[0]["id"]),
        ("review.approve", item),
    ]
    assert all(a["actor_id"] == world.users["reviewer_zz"] for a in audit)
    assert audit[1]["before"] == {"state": "pending"}
    assert audit[1]["after"]["partnership_id"] == p[0]["id"]


def test_programme_need_pairs_get_their_kind(world: World, base_url: str) -> None:
    with psycopg.connect(world.url) as conn:
        prog = f.programme(conn, world.schools["zz"])
        nd = f.need(conn, world.enterprises["zz2"])
    item = rec(world, ("need", nd), ("programme", prog))
    with closing(login(base_url, "ent_zz")) as c:  # the need is not ent_zz's enterprise's
        res = c.post("/v1/review/submit", json={"recommendation_ids": [item]}).json()
        assert res["results"][0]["status"] == 403
    with closing(login(base_url, "admin")) as c:
        assert (
            c.post("/v1/review/submit", json={"recommendation_ids": [item]}).json()["submitted"]
            == 1
        )
        # four eyes: the submitter cannot decide its own submission
        r = c.post(f"/v1/review/items/{item}/decisions", json={"decision": "approve"})
        assert r.status_code == 403 and "四眼" in r.json()["detail"], r.text
    with closing(login(base_url, "reviewer_zz")) as c:
        r = c.post(f"/v1/review/items/{item}/decisions", json={"decision": "approve"})
        assert r.status_code == 200, r.text
    p = one(world.url, "SELECT a_type, a_id, b_type, b_id, kind FROM partnerships")
    assert p == {
        "a_type": "enterprise",
        "a_id": world.enterprises["zz2"],
        "b_type": "programme",
        "b_id": prog,
        "kind": "共建专业",
    }


def test_reject_needs_a_reason_and_creates_nothing(world: World, base_url: str) -> None:
    item = pending(world, "zz", "zz1")
    with closing(login(base_url, "bureau_zz")) as c:
        r = c.post(f"/v1/review/items/{item}/decisions", json={"decision": "reject"})
        assert r.status_code == 422
        r = c.post(f"/v1/review/items/{item}/decisions", json={"decision": "maybe"})
        assert r.status_code == 422
        r = c.post(
            f"/v1/review/items/{item}/decisions",
            json={"decision": "reject", "reason": "企业无接收能力"},
        )
        assert r.status_code == 200 and r.json()["state"] == "rejected"
        r = c.post("/v1/review/submit", json={"recommendation_ids": [item]}).json()
        assert r["results"][0]["status"] == 409  # final: cannot be resubmitted
    assert count(world.url, "partnerships") == 0 and count(world.url, "reviews") == 1


def test_return_leaves_queue_until_resubmitted(world: World, base_url: str) -> None:
    item = pending(world, "zz", "zz1")
    with closing(login(base_url, "reviewer_zz")) as rv, closing(login(base_url, "bureau_zz")) as bz:
        assert (
            rv.post(
                f"/v1/review/items/{item}/decisions", json={"decision": "return", "reason": ""}
            ).status_code
            == 422
        )
        r = rv.post(
            f"/v1/review/items/{item}/decisions",
            json={"decision": "return", "reason": "请补充企业需求"},
        )
        assert r.status_code == 200 and r.json()["state"] == "returned"
        assert rv.get("/v1/review/queue").json()["total"] == 0
        r = rv.post(f"/v1/review/items/{item}/decisions", json={"decision": "approve"})
        assert r.status_code == 409 and "returned" in r.json()["detail"]
        res = bz.post("/v1/review/submit", json={"recommendation_ids": [item]}).json()
        assert res["results"][0]["status"] == 200
        assert [i["id"] for i in rv.get("/v1/review/queue").json()["items"]] == [item]
        assert (
            rv.post(f"/v1/review/items/{item}/decisions", json={"decision": "approve"}).status_code
            == 200
        )
        hist = rv.get(f"/v1/review/items/{item}/history").json()
    # Append-only: the return is still there, before the approval.
    assert [d["decision"] for d in hist["decisions"]] == ["return", "approve"]
    assert hist["decisions"][0]["reason"] == "请补充企业需求"
    assert hist["submitted_by"] == "bureau_zz" and hist["state"] == "approved"
    with psycopg.connect(world.url) as c, pytest.raises(psycopg.errors.InsufficientPrivilege):
        c.execute("UPDATE reviews SET decision = 'reject'")
    actions = [
        a["action"]
        for a in rows(
            world.url,
            "SELECT action FROM audit_log WHERE entity_type = 'recommendation' ORDER BY id",
        )
    ]
    assert actions == ["review.return", "review.submit", "review.approve"]


def test_undecidable_items_are_409_or_404(world: World, base_url: str) -> None:
    draft = rec(world, ("school", world.schools["zz"]), ("enterprise", world.enterprises["zz1"]))
    with closing(login(base_url, "admin")) as c:
        r = c.post(f"/v1/review/items/{draft}/decisions", json={"decision": "approve"})
        assert r.status_code == 409 and "not_submitted" in r.json()["detail"]
        r = c.post("/v1/review/items/999999/decisions", json={"decision": "approve"})
        assert r.status_code == 404
        assert c.get("/v1/review/items/999999/history").status_code == 404
        r = c.post("/v1/review/items/99999999999/decisions", json={"decision": "approve"})
        assert r.status_code in (404, 422)


def test_bureau_cannot_see_or_decide_outside_its_region(world: World, base_url: str) -> None:
    ly = pending(world, "ly", "ly1", region="410300")
    nowhere = pending(world, "zz", "zz2", region=None)  # no region: province admin only
    with closing(login(base_url, "bureau_zz")) as c:
        assert c.get("/v1/review/queue").json()["total"] == 0
        for item in (ly, nowhere):
            assert c.get(f"/v1/review/items/{item}").status_code == 403
            assert c.get(f"/v1/review/items/{item}/history").status_code == 403
            r = c.post(f"/v1/review/items/{item}/decisions", json={"decision": "approve"})
            assert r.status_code == 403 and "out_of_region" in r.json()["detail"]
    with closing(login(base_url, "bureau_ly")) as c:
        assert (
            c.post(f"/v1/review/items/{ly}/decisions", json={"decision": "approve"}).status_code
            == 200
        )
        assert (
            c.post(
                f"/v1/review/items/{nowhere}/decisions", json={"decision": "approve"}
            ).status_code
            == 403
        )
    with closing(login(base_url, "admin")) as c:
        assert (
            c.post(
                f"/v1/review/items/{nowhere}/decisions", json={"decision": "approve"}
            ).status_code
            == 200
        )
    assert count(world.url, "partnerships") == 2


def test_bulk_is_all_or_nothing(world: World, base_url: str) -> None:
    items = [pending(world, "zz", f"zz{i}") for i in (1, 2, 3)]
    ly = pending(world, "ly", "ly1", region="410300")
    draft = rec(world, ("school", world.schools["zz"]), ("enterprise", world.enterprises["zz4"]))
    with closing(login(base_url, "bureau_zz")) as c:
        batch = [
            {"id": items[0], "decision": "approve"},
            {"id": items[1], "decision": "reject", "reason": "不匹配"},
            {"id": draft, "decision": "approve"},
        ]
        r = c.post("/v1/review/decisions", json={"items": batch})
        assert r.status_code == 409, r.text
        assert [(e["row"], e["id"]) for e in r.json()["errors"]] == [(2, draft)]
        r = c.post(
            "/v1/review/decisions", json={"items": [*batch[:2], {"id": ly, "decision": "approve"}]}
        )
        assert r.status_code == 403
        r = c.post("/v1/review/decisions", json={"items": [batch[0], batch[0]]})
        assert r.status_code == 422
        assert count(world.url, "reviews") == 0 and count(world.url, "partnerships") == 0
        assert count(world.url, "audit_log") == 0 or all(
            a["action"] == "auth.login" for a in rows(world.url, "SELECT action FROM audit_log")
        )
        ok = [*batch[:2], {"id": items[2], "decision": "return", "reason": "补材料"}]
        r = c.post("/v1/review/decisions", json={"items": ok})
        assert r.status_code == 200, r.text
        assert [i["state"] for i in r.json()["items"]] == ["approved", "rejected", "returned"]
    assert count(world.url, "reviews") == 3 and count(world.url, "partnerships") == 1


def test_bad_input_is_4xx_and_writes_nothing(world: World, base_url: str) -> None:
    item = pending(world, "zz", "zz1")
    big = 2**40  # beyond PostgreSQL int
    with closing(login(base_url, "admin")) as c:
        res = c.post("/v1/review/submit", json={"recommendation_ids": [big, -1]}).json()
        assert [r["status"] for r in res["results"]] == [404, 404]
        assert (
            c.post(f"/v1/review/items/{big}/decisions", json={"decision": "approve"}).status_code
            == 404
        )
        r = c.post("/v1/review/decisions", json={"items": [{"id": big, "decision": "approve"}]})
        assert r.status_code == 404
        for body in (
            {"decision": "return", "reason": "坏\x00字符"},
            {"decision": "return", "reason": "长" * 2001},
            {"decision": "approve", "reason": 5},
            {},
        ):
            r = c.post(f"/v1/review/items/{item}/decisions", json=body)
            assert r.status_code == 422, body
        for params in (
            {"min_score": "nan"},
            {"max_age_days": "-1"},
            {"region": "41"},
            {"candidate_type": "bureau"},
            {"offset": "-1"},
        ):
            assert c.get("/v1/review/queue", params=params).status_code == 422, params
    assert count(world.url, "reviews") == 0
