"""Who sees contact details, who is named in the audit log, and the app's meta endpoints."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row

from tests.fixtures.server import client
from tests.service.catalog import helpers as h

PASSWORD = "catalogue-test-9"
CONTACTS = {"contact_name", "contact_phone", "contact_email"}


@pytest.fixture
def signed_in(api_base: str, clean_db: str) -> Iterator[tuple[httpx.Client, int]]:
    """A real account logged in through the auth API: its cookie sets request.state.user."""
    from service.auth.service import hash_password

    with psycopg.connect(clean_db, row_factory=dict_row) as c:
        user_id = c.execute(
            "INSERT INTO users (username, password_hash, role) VALUES (%s, %s, 'province_admin')"
            " RETURNING id",
            ("catalog_admin", hash_password(PASSWORD)),
        ).fetchone()["id"]
    with client(api_base) as c:
        r = c.post("/v1/auth/login", json={"username": "catalog_admin", "password": PASSWORD})
        assert r.status_code == 200, r.text
        yield c, int(user_id)


def test_contacts_hidden_from_anonymous_readers(
    api: httpx.Client, anon: httpx.Client, clean_db: str
) -> None:
    s = h.school(api, contact_name="王老师", contact_phone="0371-1234567")
    e = h.enterprise(api, contact_name="李经理")
    m = h.mentor(api, school_id=s["id"], contact_email="wang@example.edu.cn")
    b = h.bureau(api, contact_phone="0371-7654321")
    for path, row in (("schools", s), ("enterprises", e), ("mentors", m), ("bureaus", b)):
        assert CONTACTS & set(row), path  # the signed-in writer sees what it wrote
        assert not CONTACTS & set(anon.get(f"/v1/{path}/{row['id']}").json())
        for item in anon.get(f"/v1/{path}").json()["items"]:
            assert not CONTACTS & set(item)
        assert CONTACTS & set(api.get(f"/v1/{path}/{row['id']}").json())  # the admin sees them
    # …but they were stored
    with psycopg.connect(clean_db) as c:
        got = c.execute("SELECT contact_name FROM schools WHERE id = %s", (s["id"],)).fetchone()
    assert got == ("王老师",)


def test_signed_in_readers_see_contacts_and_are_audited(
    anon: httpx.Client, signed_in: tuple[httpx.Client, int], clean_db: str
) -> None:
    user, user_id = signed_in
    r = user.post(
        "/v1/schools",
        json={
            "code": "41990001",
            "name": "登录后创建的学校",
            "kind": "中职",
            "region": "410102",
            "contact_name": "赵老师",
        },
    )
    assert r.status_code == 201, r.text
    school: dict[str, Any] = r.json()
    assert school["contact_name"] == "赵老师" and school["contact_phone"] is None
    assert user.get(f"/v1/schools/{school['id']}").json()["contact_name"] == "赵老师"
    assert "contact_name" not in anon.get(f"/v1/schools/{school['id']}").json()  # anonymous
    user.patch(f"/v1/schools/{school['id']}", json={"contact_phone": "13900000000"})
    assert (
        anon.patch(f"/v1/schools/{school['id']}", json={"description": "匿名修改"}).status_code
        == 401
    )
    with psycopg.connect(clean_db, row_factory=dict_row) as c:
        log = c.execute(
            "SELECT action, actor_id FROM audit_log WHERE entity_type = 'school'"
            " AND entity_id = %s ORDER BY id",
            (school["id"],),
        ).fetchall()
    assert [(a["action"], a["actor_id"]) for a in log] == [("create", user_id), ("update", user_id)]
    items = user.get("/v1/audit-log", params={"entity_type": "school"}).json()["items"]
    entry = next(e for e in items if e["action"] == "update")
    assert entry["after"]["contact_phone"] == "13900000000"


def test_failed_write_leaves_no_audit_row(api: httpx.Client, clean_db: str) -> None:
    s = h.school(api)
    r = api.post(
        "/v1/schools",
        json={"code": "41990002", "name": s["name"], "kind": "中职", "region": "410102"},
    )
    assert r.status_code == 409
    assert api.get("/v1/audit-log").json()["total"] == 1  # only the first school's create


def test_health_docs_openapi(api: httpx.Client) -> None:
    answer = api.get("/health")
    health = answer.json()
    assert health["database"] == "ok"
    assert health["engine"] in ("ready", "loading")
    # degraded (503) while the engine is still loading; ok (200) once it serves
    assert (health["status"], answer.status_code) == (
        ("ok", 200) if health["engine"] == "ready" else ("degraded", 503)
    )
    docs = api.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    spec = api.get("/openapi.json").json()
    for name in (
        "regions",
        "bureaus",
        "parks",
        "schools",
        "programmes",
        "enterprises",
        "needs",
        "mentors",
        "practice-bases",
        "partnerships",
        "audit-log",
    ):
        assert f"/v1/{name}" in spec["paths"], name
    assert set(spec["paths"]["/v1/enterprises/{row_id}"]) == {"get", "patch", "delete"}
    assert set(spec["paths"]["/v1/regions"]) == {"get"}


def test_writes_need_an_account_of_a_writing_role(
    api: httpx.Client, anon: httpx.Client, api_base: str, clean_db: str
) -> None:
    s = h.school(api)
    body = {"code": "41990003", "name": "匿名新建的学校", "kind": "中职", "region": "410102"}
    assert anon.post("/v1/schools", json=body).status_code == 401
    assert anon.delete(f"/v1/schools/{s['id']}").status_code == 401
    assert anon.get("/v1/audit-log").status_code == 401
    r = anon.post("/v1/imports/schools", files={"file": ("s.csv", "学校代码,学校名称\n".encode())})
    assert r.status_code == 401 and r.json()["error"] == "unauthorized"
    with psycopg.connect(clean_db, row_factory=dict_row) as c:
        c.execute(
            "INSERT INTO users (username, password_hash, role, school_id) VALUES "
            "('school_user', %s, 'school', %s)",
            (__import__("service.auth.service", fromlist=["x"]).hash_password(PASSWORD), s["id"]),
        )
    with client(api_base) as school_user:
        r = school_user.post(
            "/v1/auth/login", json={"username": "school_user", "password": PASSWORD}
        )
        assert r.status_code == 200, r.text
        assert school_user.post("/v1/schools", json=body).status_code == 403
        assert school_user.get(f"/v1/schools/{s['id']}").status_code == 200
    assert anon.get(f"/v1/schools/{s['id']}").json()["name"] == s["name"]  # nothing changed
