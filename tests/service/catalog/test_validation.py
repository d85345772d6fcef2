"""Clear 404 / 409 / 422 answers, with reasons, for writes the catalogue must refuse."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.service.catalog import helpers as h


def refused(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, (r.status_code, r.text)
    return dict(r.json())


def reasons(body: dict[str, Any]) -> dict[str, str]:
    return {e["column"]: e["reason"] for e in body["errors"]}


@pytest.fixture
def s_e(api: httpx.Client, clean_db: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return h.school(api), h.enterprise(api)


def test_credit_code_is_checked(api: httpx.Client, clean_db: str) -> None:
    body = {"name": "某公司", "region": "410102"}
    bad = refused(
        api.post("/v1/enterprises", json=body | {"credit_code": "91440300708461136X"}), 422
    )
    assert bad["error"] == "invalid_input"
    assert reasons(bad)["credit_code"] == "统一社会信用代码校验位错误"
    short = refused(api.post("/v1/enterprises", json=body | {"credit_code": "9144"}), 422)
    assert "18位" in reasons(short)["credit_code"]
    # lower case and spaces are normalised, then checked
    ok = api.post("/v1/enterprises", json=body | {"credit_code": " 91440300708461136t "})
    assert ok.status_code == 201 and ok.json()["credit_code"] == "91440300708461136T"
    dup = refused(
        api.post("/v1/enterprises", json=body | {"credit_code": "91440300708461136T"}), 409
    )
    assert "统一社会信用代码已存在" in dup["detail"]
    e = ok.json()["id"]
    patched = refused(
        api.patch(f"/v1/enterprises/{e}", json={"credit_code": "91440300708461136X"}), 422
    )
    assert "校验位" in patched["detail"]


def test_major_code_and_level_are_checked(api: httpx.Client, s_e: Any) -> None:
    s, _ = s_e
    bad = refused(api.post("/v1/programmes", json={"school_id": s["id"], "major_code": "12"}), 422)
    assert "专业代码" in reasons(bad)["major_code"]
    unknown = refused(
        api.post("/v1/programmes", json={"school_id": s["id"], "major_code": "999999"}), 422
    )
    assert "不在专业目录中" in reasons(unknown)["major_code"]
    mismatch = refused(
        api.post(
            "/v1/programmes", json={"school_id": s["id"], "major_code": "080901", "level": "中职"}
        ),
        422,
    )
    assert "本科" in reasons(mismatch)["level"]
    p = h.programme(api, s["id"])
    refused(api.post("/v1/programmes", json={"school_id": s["id"], "major_code": "510201"}), 409)
    refused(api.patch(f"/v1/programmes/{p['id']}", json={"level": "本科"}), 422)


def test_unknown_region_and_foreign_keys_are_422(api: httpx.Client, s_e: Any) -> None:
    r = refused(
        api.post(
            "/v1/schools",
            json={"code": "41999999", "name": "无名学校", "kind": "中职", "region": "419999"},
        ),
        422,
    )
    assert reasons(r)["region"] == "未知的行政区划代码 419999"
    r = refused(api.post("/v1/programmes", json={"school_id": 4242, "major_code": "510201"}), 422)
    assert reasons(r)["school_id"] == "学校 4242 不存在"
    r = refused(
        api.post(
            "/v1/enterprises",
            json={
                "credit_code": h.credit_code(),
                "name": "新企业",
                "region": "410102",
                "park_id": 77,
            },
        ),
        422,
    )
    assert reasons(r)["park_id"] == "园区 77 不存在"
    r = refused(
        api.post("/v1/needs", json={"enterprise_id": 99, "kind": "talent", "title": "x"}), 422
    )
    assert "企业 99 不存在" in r["detail"]
    # several problems at once are all reported
    r = refused(
        api.post(
            "/v1/practice-bases", json={"name": "基地", "region": "000000", "host_school_id": 9}
        ),
        422,
    )
    assert set(reasons(r)) == {"region", "host_school_id"}


def test_mentor_and_practice_base_rules(api: httpx.Client, s_e: Any) -> None:
    s, e = s_e
    both = refused(
        api.post(
            "/v1/mentors",
            json={"name": "甲", "kind": "academic", "school_id": s["id"], "enterprise_id": e["id"]},
        ),
        422,
    )
    assert "恰填其一" in both["detail"]
    refused(api.post("/v1/mentors", json={"name": "乙", "kind": "academic"}), 422)
    prof = refused(
        api.post(
            "/v1/mentors", json={"name": "丙", "kind": "industry_professor", "school_id": s["id"]}
        ),
        422,
    )
    assert "产业教授" in prof["detail"]
    m = h.mentor(api, school_id=s["id"])
    # moving a mentor from school to enterprise takes both fields in one PATCH
    refused(api.patch(f"/v1/mentors/{m['id']}", json={"enterprise_id": e["id"]}), 422)
    moved = api.patch(f"/v1/mentors/{m['id']}", json={"enterprise_id": e["id"], "school_id": None})
    assert moved.status_code == 200 and moved.json()["enterprise_name"] == e["name"]
    refused(api.post("/v1/practice-bases", json={"name": "无主基地", "region": "410102"}), 422)


def test_partnership_rules(api: httpx.Client, s_e: Any) -> None:
    s, e = s_e
    first = h.partnership(api, ("school", s["id"]), ("enterprise", e["id"]))
    # same pair, either order → 409 with the existing partnership named
    again = refused(
        api.post(
            "/v1/partnerships",
            json={
                "a": {"type": "enterprise", "id": e["id"]},
                "b": {"type": "school", "id": s["id"]},
            },
        ),
        409,
    )
    assert f"结对 {first['id']}" in again["detail"] and "already_partnered" in again["detail"]
    # an ended one does not block, and a second ended one is fine too
    ended = h.partnership(api, ("school", s["id"]), ("enterprise", e["id"]), status="ended")
    # re-activating it while the first is active → 409
    refused(api.patch(f"/v1/partnerships/{ended['id']}", json={"status": "active"}), 409)
    assert api.patch(f"/v1/partnerships/{first['id']}", json={"status": "ended"}).status_code == 200
    assert (
        api.patch(f"/v1/partnerships/{ended['id']}", json={"status": "active"}).status_code == 200
    )
    self_pair = refused(
        api.post(
            "/v1/partnerships",
            json={"a": {"type": "school", "id": s["id"]}, "b": {"type": "school", "id": s["id"]}},
        ),
        422,
    )
    assert "同一方" in self_pair["detail"]
    ghost = refused(
        api.post(
            "/v1/partnerships",
            json={"a": {"type": "school", "id": s["id"]}, "b": {"type": "mentor", "id": 555}},
        ),
        422,
    )
    assert reasons(ghost)["b"] == "导师 555 不存在"
    refused(
        api.post(
            "/v1/partnerships",
            json={"a": {"type": "user", "id": 1}, "b": {"type": "school", "id": s["id"]}},
        ),
        422,
    )
    # the parties are its identity: not patchable
    refused(
        api.patch(f"/v1/partnerships/{first['id']}", json={"a": {"type": "school", "id": s["id"]}}),
        422,
    )


def test_concurrent_duplicates_make_one_partnership(
    api: httpx.Client, api_base: str, s_e: Any
) -> None:
    """Ten clients race to pair the same two parties: one 201, nine clear 409s, one row."""
    s, e = s_e
    body = {"a": {"type": "school", "id": s["id"]}, "b": {"type": "enterprise", "id": e["id"]}}
    barrier = threading.Barrier(10)

    def attempt(_: int) -> httpx.Response:
        with httpx.Client(base_url=api_base, timeout=60, headers=api.headers) as c:
            barrier.wait()
            return c.post("/v1/partnerships", json=body)

    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(attempt, range(10)))
    assert sorted(r.status_code for r in answers) == [201] + [409] * 9
    assert all("已建立合作关系" in r.json()["detail"] for r in answers if r.status_code == 409)
    with httpx.Client(base_url=api_base) as c:
        assert c.get("/v1/partnerships").json()["total"] == 1


def test_not_found_and_empty_patch(api: httpx.Client, s_e: Any) -> None:
    s, _ = s_e
    nf = refused(api.get("/v1/schools/987654"), 404)
    assert nf == {"error": "not_found", "detail": "学校 987654 不存在"}
    refused(api.patch("/v1/schools/987654", json={"name": "x"}), 404)
    refused(api.delete("/v1/schools/987654"), 404)
    empty = refused(api.patch(f"/v1/schools/{s['id']}", json={}), 422)
    assert "没有要修改的字段" in empty["detail"]
    refused(api.patch(f"/v1/schools/{s['id']}", json={"nmae": "拼错的字段"}), 422)
    refused(api.patch(f"/v1/schools/{s['id']}", json={"name": None}), 422)  # NOT NULL column
    refused(api.patch(f"/v1/schools/{s['id']}", json={"id": 5}), 422)


def test_unique_names_are_409(api: httpx.Client, s_e: Any) -> None:
    s, _ = s_e
    dup = refused(
        api.post(
            "/v1/schools",
            json={"code": "41000099", "name": s["name"], "kind": "中职", "region": "410102"},
        ),
        409,
    )
    assert dup["detail"] == "同名的学校已存在"
    other = h.school(api)
    refused(api.patch(f"/v1/schools/{other['id']}", json={"code": s["code"]}), 409)


def test_nul_bytes_and_strange_text(api: httpx.Client, s_e: Any) -> None:
    s, _ = s_e
    for value in ("学校\x00名", "\ud800"):
        r = api.patch(
            f"/v1/schools/{s['id']}",
            content=httpx_json({"name": value}),
            headers={"content-type": "application/json"},
        )
        assert r.status_code == 422, r.text
    assert api.get("/v1/schools", params={"q": "a\x00b"}).status_code == 422
    # what was refused was not written
    assert api.get(f"/v1/schools/{s['id']}").json()["name"] == s["name"]


def httpx_json(obj: Any) -> bytes:
    import json

    return json.dumps(obj).encode()  # ASCII escapes: lets a lone surrogate through as \ud800
