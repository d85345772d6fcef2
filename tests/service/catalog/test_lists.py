"""List endpoints: filters, region scope by path prefix, pagination and sorting."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.service.catalog import helpers as h


def names(api: httpx.Client, path: str, **params: Any) -> list[str]:
    r = api.get(f"/v1/{path}", params={"limit": 500, **params})
    assert r.status_code == 200, r.text
    key = "title" if path == "needs" else "name"
    return [item[key] for item in r.json()["items"]]


@pytest.fixture
def firms(api: httpx.Client, clean_db: str) -> dict[str, dict[str, Any]]:
    park = h.park(api, name="郑州经开区")
    return {
        "zz_zhongyuan": h.enterprise(
            api,
            name="中原电子有限公司",
            region="410102",
            industry_codes=["3911", "3921"],
            park_id=park["id"],
        ),
        "zz_jinshui": h.enterprise(
            api, name="金水软件有限公司", region="410105", industry_codes=["6513"], size="小型"
        ),
        "zz_city": h.enterprise(
            api, name="郑州市直属电子集团", region="410100", industry_codes=["39"], size="大型"
        ),
        "luoyang": h.enterprise(
            api,
            name="洛阳轴承有限公司",
            region="410300",
            industry_codes=["3451"],
            size="大型",
            status="inactive",
        ),
    }


def test_region_filter_covers_the_region_and_everything_below(
    api: httpx.Client, firms: Any
) -> None:
    assert set(names(api, "enterprises", region="410100")) == {
        "中原电子有限公司",
        "金水软件有限公司",
        "郑州市直属电子集团",
    }
    assert names(api, "enterprises", region="410102") == ["中原电子有限公司"]
    assert len(names(api, "enterprises", region="410000")) == 4
    assert names(api, "enterprises", region="410200") == []  # 开封: exists, nothing there


def test_unknown_region_code_is_a_422_not_an_empty_list(api: httpx.Client, firms: Any) -> None:
    r = api.get("/v1/enterprises", params={"region": "999999"})
    assert r.status_code == 422
    assert "999999" in r.json()["detail"]


def test_enterprise_filters(api: httpx.Client, firms: Any) -> None:
    electronics = {"中原电子有限公司", "郑州市直属电子集团"}
    assert set(names(api, "enterprises", industry="39")) == electronics
    assert names(api, "enterprises", industry="392") == ["中原电子有限公司"]
    assert names(api, "enterprises", industry="65") == ["金水软件有限公司"]
    assert set(names(api, "enterprises", industry="C")) == electronics | {"洛阳轴承有限公司"}
    assert names(api, "enterprises", industry="i") == ["金水软件有限公司"]  # 65 is in section I
    park_id = firms["zz_zhongyuan"]["park_id"]
    assert names(api, "enterprises", park_id=park_id) == ["中原电子有限公司"]
    assert set(names(api, "enterprises", size="大型")) == {"郑州市直属电子集团", "洛阳轴承有限公司"}
    assert names(api, "enterprises", status="inactive") == ["洛阳轴承有限公司"]
    assert set(names(api, "enterprises", q="电子")) == {"中原电子有限公司", "郑州市直属电子集团"}
    code = firms["zz_jinshui"]["credit_code"]
    assert names(api, "enterprises", credit_code=code.lower()) == ["金水软件有限公司"]
    # filters combine with AND
    assert names(api, "enterprises", region="410100", size="大型") == ["郑州市直属电子集团"]


def test_q_is_literal_not_a_pattern(api: httpx.Client, firms: Any) -> None:
    h.enterprise(api, name="百分百_科技%公司")
    assert names(api, "enterprises", q="_科技%") == ["百分百_科技%公司"]
    assert names(api, "enterprises", q="%") == ["百分百_科技%公司"]


def test_pagination_and_totals(api: httpx.Client, clean_db: str) -> None:
    for i in range(7):
        h.school(api, name=f"学校{i}")
    first = api.get("/v1/schools", params={"limit": 3, "sort": "name"}).json()
    assert first["total"] == 7 and first["limit"] == 3 and first["offset"] == 0
    assert [s["name"] for s in first["items"]] == ["学校0", "学校1", "学校2"]
    pages = [
        api.get("/v1/schools", params={"limit": 3, "offset": o, "sort": "name"}).json()
        for o in (0, 3, 6, 9)
    ]
    assert [len(p["items"]) for p in pages] == [3, 3, 1, 0]
    assert all(p["total"] == 7 for p in pages)
    seen = [s["name"] for p in pages for s in p["items"]]
    assert seen == [f"学校{i}" for i in range(7)]
    no_total = api.get("/v1/schools", params={"limit": 3, "with_total": "false"}).json()
    assert no_total["total"] is None and len(no_total["items"]) == 3


def test_sorting(api: httpx.Client, clean_db: str) -> None:
    s = h.school(api)
    for code, cap in (("510201", 5), ("510202", 1), ("510203", 5)):
        h.programme(api, s["id"], major_code=code, capacity=cap)
    r = api.get("/v1/programmes", params={"sort": "-capacity,major_code"}).json()
    assert [(p["capacity"], p["major_code"]) for p in r["items"]] == [
        (5, "510201"),
        (5, "510203"),
        (1, "510202"),
    ]
    r = api.get("/v1/programmes", params={"sort": "-id"}).json()
    ids = [p["id"] for p in r["items"]]
    assert ids == sorted(ids, reverse=True)
    bad = api.get("/v1/programmes", params={"sort": "password_hash"})
    assert bad.status_code == 422
    assert "capacity" in bad.json()["errors"][0]["reason"]  # lists what is allowed


def test_nullable_sort_keys_put_nulls_last(api: httpx.Client, clean_db: str) -> None:
    e = h.enterprise(api)
    h.need(api, e["id"], title="甲", deadline="2027-01-01")
    h.need(api, e["id"], title="乙")
    h.need(api, e["id"], title="丙", deadline="2026-12-01")
    assert names(api, "needs", sort="deadline") == ["丙", "甲", "乙"]
    assert names(api, "needs", sort="-deadline") == ["甲", "丙", "乙"]


def test_school_programme_need_mentor_base_filters(api: httpx.Client, clean_db: str) -> None:
    zz = h.school(api, name="郑州职院", kind="高职专科", region="410102", tags=["双高"])
    ly = h.school(api, name="洛阳理工", kind="本科", region="410300", tags=[])
    assert names(api, "schools", region="410100") == ["郑州职院"]
    assert names(api, "schools", kind="本科") == ["洛阳理工"]
    assert names(api, "schools", tag="双高") == ["郑州职院"]
    assert names(api, "schools", q="洛阳") == ["洛阳理工"]

    h.programme(api, zz["id"], major_code="510201")
    h.programme(api, ly["id"], major_code="080901", industries=["6511"])
    assert names(api, "programmes", region="410300") == ["计算机科学与技术"]
    assert names(api, "programmes", school_id=zz["id"]) == ["计算机应用技术"]
    assert names(api, "programmes", major_code="0809") == ["计算机科学与技术"]
    assert names(api, "programmes", level="高职专科") == ["计算机应用技术"]
    assert names(api, "programmes", industry="6511") == ["计算机科学与技术"]

    e = h.enterprise(api, region="410300")
    h.need(api, e["id"], title="需要导师", kind="mentor", status="closed")
    h.need(api, e["id"], title="需要人才", kind="talent")
    assert names(api, "needs", enterprise_id=e["id"], kind="mentor") == ["需要导师"]
    assert names(api, "needs", status="open") == ["需要人才"]
    assert len(names(api, "needs", region="410300")) == 2
    assert names(api, "needs", region="410100") == []

    h.mentor(api, name="钱老师", kind="academic", school_id=zz["id"], fields=["嵌入式"])
    h.mentor(api, name="孙工", kind="industry_professor", enterprise_id=e["id"])
    assert names(api, "mentors", kind="industry_professor") == ["孙工"]
    assert names(api, "mentors", school_id=zz["id"]) == ["钱老师"]
    assert names(api, "mentors", enterprise_id=e["id"]) == ["孙工"]
    assert names(api, "mentors", field="嵌入式") == ["钱老师"]

    h.practice_base(api, name="企业基地", region="410300", host_enterprise_id=e["id"])
    h.practice_base(api, name="校内基地", region="410102", host_school_id=zz["id"])
    assert names(api, "practice-bases", region="410300") == ["企业基地"]
    assert names(api, "practice-bases", host=f"school:{zz['id']}") == ["校内基地"]
    assert names(api, "practice-bases", host=f"enterprise:{e['id']}") == ["企业基地"]


def test_partnership_filters(api: httpx.Client, clean_db: str) -> None:
    s1, s2 = h.school(api), h.school(api)
    e = h.enterprise(api)
    b = h.bureau(api)
    p1 = h.partnership(api, ("school", s1["id"]), ("enterprise", e["id"]))
    p2 = h.partnership(
        api, ("bureau", b["id"]), ("school", s2["id"]), kind="共建专业", status="ended"
    )

    def ids(**params: Any) -> list[int]:
        r = api.get("/v1/partnerships", params=params)
        assert r.status_code == 200, r.text
        return [p["id"] for p in r.json()["items"]]

    assert ids(party=f"school:{s1['id']}") == [p1["id"]]
    assert ids(party=f"enterprise:{e['id']}") == [p1["id"]]  # either side
    assert ids(party=f"school:{s2['id']}") == [p2["id"]]
    assert ids(party_type="bureau") == [p2["id"]]
    assert ids(party_type="school") == [p1["id"], p2["id"]]
    assert ids(status="active") == [p1["id"]]
    assert ids(kind="共建专业") == [p2["id"]]
    assert api.get("/v1/partnerships", params={"party": "school"}).status_code == 422
    assert api.get("/v1/partnerships", params={"party": "user:1"}).status_code == 422


def test_regions(api: httpx.Client) -> None:
    cities = api.get("/v1/regions", params={"level": "city", "limit": 100}).json()
    assert cities["total"] == 18
    zz = api.get("/v1/regions", params={"parent": "410100", "limit": 100}).json()
    assert zz["items"] and all(r["parent_code"] == "410100" for r in zz["items"])
    within = api.get("/v1/regions", params={"within": "410100", "limit": 100}).json()
    assert within["total"] == zz["total"] + 1  # the city itself and its counties
    one = api.get(f"/v1/regions/{zz['items'][0]['id']}").json()
    assert one == zz["items"][0]
    assert api.post("/v1/regions", json={"code": "419999"}).status_code == 405
    assert api.get("/v1/regions", params={"within": "000000"}).status_code == 422


def test_audit_log_lists_and_filters(api: httpx.Client, clean_db: str) -> None:
    s = h.school(api)
    api.patch(f"/v1/schools/{s['id']}", json={"description": "国家双高计划建设单位"})
    h.enterprise(api)
    r = api.get("/v1/audit-log", params={"entity_type": "school", "entity_id": s["id"]}).json()
    assert [a["action"] for a in r["items"]] == ["update", "create"]  # newest first
    assert r["items"][0]["after"]["description"] == "国家双高计划建设单位"
    assert api.get("/v1/audit-log", params={"action": "create"}).json()["total"] == 2


def test_keyset_pages_by_id(api: httpx.Client, clean_db: str) -> None:
    made = [h.park(api)["id"] for _ in range(5)]
    seen: list[int] = []
    after = 0
    while True:
        page = api.get("/v1/parks", params={"limit": 2, "after_id": after}).json()
        if not page["items"]:
            break
        assert page["total"] == 5  # the count ignores the keyset
        seen += [p["id"] for p in page["items"]]
        after = seen[-1]
    assert seen == made
    down = api.get("/v1/parks", params={"sort": "-id", "after_id": made[2]}).json()
    assert [p["id"] for p in down["items"]] == [made[1], made[0]]
    r = api.get("/v1/parks", params={"sort": "name", "after_id": 1})
    assert r.status_code == 422 and r.json()["errors"][0]["column"] == "after_id"
