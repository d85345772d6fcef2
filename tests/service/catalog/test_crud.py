"""Create → read → list → update → delete over real HTTP, for every catalogue entity."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row

from tests.service.catalog import helpers as h

World = dict[str, dict[str, Any]]


@pytest.fixture
def world(api: httpx.Client, clean_db: str) -> World:
    s = h.school(api)
    e = h.enterprise(api)
    return {"school": s, "enterprise": e, "park": h.park(api)}


# entity path → (create body, patch body, field the patch changes and its expected value)
CASES: dict[str, Callable[[World], tuple[dict[str, Any], dict[str, Any], str, Any]]] = {
    "bureaus": lambda w: (
        {"name": "郑州市教育局", "region": "410100"},
        {"name": "郑州市教育局（新）"},
        "name",
        "郑州市教育局（新）",
    ),
    "parks": lambda w: (
        {
            "name": "郑州航空港经济综合实验区",
            "region": "410100",
            "leading_industries": ["39", "3911"],
        },
        {"description": "电子信息产业集群"},
        "description",
        "电子信息产业集群",
    ),
    "schools": lambda w: (
        {
            "code": "4141013050",
            "name": "郑州铁路职业技术学院",
            "kind": "高职专科",
            "region": "410102",
        },
        {"kind": "职教本科"},
        "kind",
        "职教本科",
    ),
    "programmes": lambda w: (
        {"school_id": w["school"]["id"], "major_code": "080901", "level": "本科", "capacity": 2},
        {"capacity": 5},
        "capacity",
        5,
    ),
    "enterprises": lambda w: (
        {
            "credit_code": h.credit_code(),
            "name": "河南数字科技有限公司",
            "region": "410105",
            "park_id": w["park"]["id"],
            "size": "大型",
        },
        {"size": "小型"},
        "size",
        "小型",
    ),
    "needs": lambda w: (
        {
            "enterprise_id": w["enterprise"]["id"],
            "kind": "technology",
            "title": "工业视觉检测",
            "deadline": "2027-06-30",
        },
        {"status": "matched"},
        "status",
        "matched",
    ),
    "mentors": lambda w: (
        {
            "name": "赵教授",
            "kind": "industry_professor",
            "enterprise_id": w["enterprise"]["id"],
            "fields": ["机器视觉"],
        },
        {"capacity": 1},
        "capacity",
        1,
    ),
    "practice-bases": lambda w: (
        {
            "name": "智能制造实训基地",
            "region": "410102",
            "host_enterprise_id": w["enterprise"]["id"],
        },
        {"slots_per_term": 40},
        "slots_per_term",
        40,
    ),
    "partnerships": lambda w: (
        {
            "a": {"type": "school", "id": w["school"]["id"]},
            "b": {"type": "enterprise", "id": w["enterprise"]["id"]},
            "kind": "结对包联",
        },
        {"progress": "已签订协议"},
        "progress",
        "已签订协议",
    ),
}

ENTITY_TYPE = {"practice-bases": "practice_base", "partnerships": "partnership"}


def audit_rows(url: str, entity_type: str, entity_id: int) -> list[dict[str, Any]]:
    with psycopg.connect(url, row_factory=dict_row) as c:
        return c.execute(
            "SELECT action, before, after FROM audit_log WHERE entity_type = %s AND entity_id = %s"
            " ORDER BY id",
            (entity_type, entity_id),
        ).fetchall()


@pytest.mark.parametrize("path", list(CASES))
def test_round_trip(api: httpx.Client, world: World, clean_db: str, path: str) -> None:
    body, patch, field, value = CASES[path](world)
    r = api.post(f"/v1/{path}", json=body)
    assert r.status_code == 201, r.text
    created = r.json()
    row_id = created["id"]

    got = api.get(f"/v1/{path}/{row_id}")
    assert got.status_code == 200
    assert got.json() == created

    listed = api.get(f"/v1/{path}", params={"limit": 500}).json()
    assert row_id in [item["id"] for item in listed["items"]]
    assert listed["total"] == len(listed["items"])

    r = api.patch(f"/v1/{path}/{row_id}", json=patch)
    assert r.status_code == 200, r.text
    updated = r.json()
    assert updated[field] == value
    assert updated["updated_at"] >= created["updated_at"]
    assert api.get(f"/v1/{path}/{row_id}").json()[field] == value

    r = api.delete(f"/v1/{path}/{row_id}")
    assert r.status_code == 204, r.text
    assert api.get(f"/v1/{path}/{row_id}").status_code == 404
    assert api.delete(f"/v1/{path}/{row_id}").status_code == 404

    entity_type = ENTITY_TYPE.get(path, path.rstrip("s"))
    log = audit_rows(clean_db, entity_type, row_id)
    # an active partnership is created (and audited) by service.partnerships.create
    created_as = "partnership.create" if path == "partnerships" else "create"
    assert [a["action"] for a in log] == [created_as, "update", "delete"]
    assert log[0]["before"] is None and log[0]["after"]["id"] == row_id
    assert log[1]["before"][field] != value and log[1]["after"][field] == value
    assert log[2]["before"][field] == value and log[2]["after"] is None


def test_out_shapes_carry_joined_names(api: httpx.Client, world: World) -> None:
    e = h.enterprise(api, park_id=world["park"]["id"], region="410105")
    assert (e["region_code"], e["region_name"]) == ("410105", "金水区")
    assert e["park_name"] == world["park"]["name"]
    p = h.programme(api, world["school"]["id"])
    assert p["school_name"] == world["school"]["name"]
    assert (p["name"], p["level"]) == ("计算机应用技术", "高职专科")  # completed from the catalogue
    assert p["region_code"] == world["school"]["region_code"]
    n = h.need(api, e["id"])
    assert n["enterprise_name"] == e["name"]
    b = h.practice_base(api, host_school_id=world["school"]["id"])
    assert b["host_name"] == world["school"]["name"]
    m = h.mentor(api, school_id=world["school"]["id"])
    assert m["school_name"] == world["school"]["name"] and m["enterprise_name"] is None


def test_partnership_is_stored_in_canonical_order(api: httpx.Client, world: World) -> None:
    s, e = world["school"], world["enterprise"]
    p = h.partnership(api, ("school", s["id"]), ("enterprise", e["id"]))
    # ('enterprise', …) < ('school', …): the schema's CHECK wants a < b.
    assert p["a"] == {"type": "enterprise", "id": e["id"], "name": e["name"]}
    assert p["b"] == {"type": "school", "id": s["id"], "name": s["name"]}
    assert p["status"] == "active" and p["source"] == "manual"


def test_patch_changes_only_given_fields(api: httpx.Client, world: World) -> None:
    e = world["enterprise"]
    r = api.patch(f"/v1/enterprises/{e['id']}", json={"group_name": "河南投资集团"})
    assert r.status_code == 200
    after = r.json()
    assert after["group_name"] == "河南投资集团"
    same = ("group_name", "updated_at")
    assert {k: v for k, v in after.items() if k not in same} == {
        k: v for k, v in e.items() if k not in same
    }
    # null clears a nullable column; region moves by code
    r = api.patch(f"/v1/enterprises/{e['id']}", json={"group_name": None, "region": "410300"})
    assert r.status_code == 200
    assert r.json()["group_name"] is None and r.json()["region_name"] == "洛阳市"


def test_delete_with_children_needs_force(api: httpx.Client, world: World, clean_db: str) -> None:
    s = world["school"]
    p = h.programme(api, s["id"])
    r = api.delete(f"/v1/schools/{s['id']}")
    assert r.status_code == 409
    assert "1 个专业" in r.json()["detail"] and "force=true" in r.json()["detail"]
    assert api.get(f"/v1/programmes/{p['id']}").status_code == 200  # nothing lost
    assert api.delete(f"/v1/schools/{s['id']}", params={"force": "true"}).status_code == 204
    assert api.get(f"/v1/programmes/{p['id']}").status_code == 404


def test_delete_of_a_partnered_row_is_refused(api: httpx.Client, world: World) -> None:
    s, e = world["school"], world["enterprise"]
    p = h.programme(api, s["id"])
    link = h.partnership(api, ("programme", p["id"]), ("enterprise", e["id"]))
    for path, row_id in (("schools", s["id"]), ("programmes", p["id"]), ("enterprises", e["id"])):
        r = api.delete(f"/v1/{path}/{row_id}", params={"force": "true"})
        assert r.status_code == 409, (path, r.text)
        assert "合作关系" in r.json()["detail"]
    assert api.delete(f"/v1/partnerships/{link['id']}").status_code == 204
    assert api.delete(f"/v1/programmes/{p['id']}").status_code == 204


def test_delete_of_a_park_unlinks_its_enterprises(api: httpx.Client, world: World) -> None:
    pk = world["park"]
    e = h.enterprise(api, park_id=pk["id"])
    assert api.delete(f"/v1/parks/{pk['id']}").status_code == 409
    assert api.delete(f"/v1/parks/{pk['id']}", params={"force": "true"}).status_code == 204
    assert api.get(f"/v1/enterprises/{e['id']}").json()["park_id"] is None


def test_partnership_from_a_review_cannot_be_deleted(
    api: httpx.Client, world: World, clean_db: str
) -> None:
    s, e = world["school"], world["enterprise"]
    link = h.partnership(api, ("school", s["id"]), ("enterprise", e["id"]))
    with psycopg.connect(clean_db) as c:
        user = c.execute(
            "INSERT INTO users (username, password_hash, role) VALUES"
            " ('admin1', 'x', 'province_admin') RETURNING id"
        ).fetchone()[0]
        run = c.execute(
            "INSERT INTO recommendation_runs (kind, request) VALUES"
            " ('partner_enterprises', '{}') RETURNING id"
        ).fetchone()[0]
        rec = c.execute(
            "INSERT INTO recommendations (run_id, rank, subject_type, subject_id, candidate_type,"
            " candidate_id, score) VALUES (%s, 1, 'school', %s, 'enterprise', %s, 0.9)"
            " RETURNING id",
            (run, s["id"], e["id"]),
        ).fetchone()[0]
        c.execute(
            "INSERT INTO reviews (recommendation_id, decision, reviewer_id, partnership_id)"
            " VALUES (%s, 'approve', %s, %s)",
            (rec, user, link["id"]),
        )
    r = api.delete(f"/v1/partnerships/{link['id']}", params={"force": "true"})
    assert r.status_code == 409 and "审核记录" in r.json()["detail"]
    assert api.patch(f"/v1/partnerships/{link['id']}", json={"status": "ended"}).status_code == 200
