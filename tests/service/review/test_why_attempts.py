"""Issue 10, "Why": each attempt an outsider made, as its own test, with the status it now gets.

World (conftest): 郑州 (410100) and 洛阳 (410300) schools and enterprises, one account per role.
The login-throttling attempt is tests/service/auth/test_throttle.py.
"""

from __future__ import annotations

import re
import threading
from contextlib import closing
from typing import Any

import httpx
import psycopg
from psycopg.rows import dict_row

from tests.service.auth.helpers import login, one, rows
from tests.service.catalog.helpers import credit_code
from tests.service.review import factories as f
from tests.service.review.conftest import World


def count(url: str, query: str, params: Any = None) -> int:
    return int(one(url, f"SELECT count(*) AS n FROM ({query}) q", params)["n"])


def _body(r: httpx.Response) -> dict[str, Any]:
    return dict(r.json())


def test_other_bureau_cannot_write_zhengzhou_rows(world: World, base_url: str) -> None:
    """洛阳 bureau: create, edit, delete 郑州 enterprises / schools / partnerships → 403."""
    zz_school, zz_ent = world.schools["zz"], world.enterprises["zz1"]
    with closing(login(base_url, "bureau_ly")) as ly:
        new = {"credit_code": credit_code("410100"), "name": "郑州新建公司", "region": "410102"}
        r = ly.post("/v1/enterprises", json=new)
        assert r.status_code == 403 and "辖区" in _body(r)["detail"]
        assert ly.patch(f"/v1/enterprises/{zz_ent}", json={"name": "改名"}).status_code == 403
        assert ly.patch(f"/v1/schools/{zz_school}", json={"name": "改名"}).status_code == 403
        assert ly.delete(f"/v1/enterprises/{zz_ent}").status_code == 403
        assert ly.delete(f"/v1/schools/{zz_school}").status_code == 403
        pair = {"a": {"type": "school", "id": zz_school}, "b": {"type": "enterprise", "id": zz_ent}}
        assert ly.post("/v1/partnerships", json=pair).status_code == 403
        # its own region works
        own = {"credit_code": credit_code("410300"), "name": "洛阳新建公司", "region": "410300"}
        assert ly.post("/v1/enterprises", json=own).status_code == 201
    with closing(login(base_url, "bureau_zz")) as zz:
        made = zz.post("/v1/partnerships", json=pair)
        assert made.status_code == 201, made.text
    with closing(login(base_url, "bureau_ly")) as ly:
        pid = made.json()["id"]
        assert ly.patch(f"/v1/partnerships/{pid}", json={"progress": "x"}).status_code == 403
        assert ly.delete(f"/v1/partnerships/{pid}").status_code == 403
    name = one(world.url, "SELECT name FROM enterprises WHERE id = %s", (zz_ent,))["name"]
    assert name == "郑州装备制造有限公司1"
    assert count(world.url, "SELECT 1 FROM enterprises WHERE name = '郑州新建公司'") == 0


def test_bureau_cannot_move_an_enterprise_out_of_its_region(world: World, base_url: str) -> None:
    zz_ent = world.enterprises["zz1"]
    with closing(login(base_url, "bureau_zz")) as zz:
        r = zz.patch(f"/v1/enterprises/{zz_ent}", json={"region": "410300"})
        assert r.status_code == 403
    with closing(login(base_url, "bureau_ly")) as ly:  # nor pull one into its own
        r = ly.patch(f"/v1/enterprises/{zz_ent}", json={"region": "410300"})
        assert r.status_code == 403
    region = one(
        world.url,
        "SELECT g.code FROM enterprises e JOIN regions g ON g.id = e.region_id WHERE e.id = %s",
        (zz_ent,),
    )
    assert region["code"] == "410100"


def test_import_with_rows_of_another_region_writes_nothing(world: World, base_url: str) -> None:
    csv = (
        "统一社会信用代码,企业名称,所在地区\n"
        f"{credit_code('410300')},洛阳导入公司,410300\n"
        f"{credit_code('410100')},郑州导入公司,410100\n"
    ).encode()
    with closing(login(base_url, "bureau_ly")) as ly:
        r = ly.post("/v1/imports/enterprises", files={"file": ("e.csv", csv, "text/csv")})
    assert r.status_code == 403, r.text
    body = r.json()
    assert body["committed"] is False
    assert [e["row"] for e in body["errors"] if e["code"] == "forbidden"] == [3]
    assert count(world.url, "SELECT 1 FROM enterprises WHERE name LIKE '%导入公司'") == 0


def test_audit_trail_of_another_region_and_contacts_in_snapshots(
    world: World, base_url: str
) -> None:
    zz_ent = world.enterprises["zz2"]
    with closing(login(base_url, "admin")) as admin:
        r = admin.patch(
            f"/v1/enterprises/{zz_ent}",
            json={"contact_name": "李经理", "contact_phone": "13812345678"},
        )
        assert r.status_code == 200
        mine = admin.get("/v1/audit-log", params={"entity_type": "enterprise"}).json()["items"]
        assert mine and mine[0]["after"]["contact_phone"] == "13812345678"  # admins see all
    with closing(login(base_url, "bureau_ly")) as ly:
        seen = ly.get("/v1/audit-log", params={"limit": 200}).json()["items"]
        assert all(a["entity_id"] != zz_ent or a["entity_type"] != "enterprise" for a in seen)
    for who in ("bureau_zz", "reviewer_zz"):
        with closing(login(base_url, who)) as zz:
            got = zz.get("/v1/audit-log", params={"entity_type": "enterprise"}).json()["items"]
            assert any(a["entity_id"] == zz_ent for a in got)
            assert "13812345678" not in str(got) and "李经理" not in str(got)
    with closing(login(base_url, "school_zz")) as school:
        assert school.get("/v1/audit-log").status_code == 403


def test_cross_region_subject_and_self_approval(world: World, base_url: str) -> None:
    """洛阳 bureau asks for partners of a 郑州 school (no region) → 403; an item it submitted
    itself cannot be decided by it (four eyes) → 403."""
    with closing(login(base_url, "bureau_ly")) as ly:
        body = {"subject": {"type": "school", "id": world.schools["zz"]}, "k": 3}
        r = ly.post("/v1/recommendations/partner-enterprises", json=body)
        assert r.status_code == 403, r.text
    with psycopg.connect(world.url, row_factory=dict_row) as c:
        item = f.recommendation(
            c,
            ("school", world.schools["zz"]),
            ("enterprise", world.enterprises["zz3"]),
            submitted_by=world.users["bureau_zz"],
        )
    with closing(login(base_url, "bureau_zz")) as zz:
        r = zz.post(f"/v1/review/items/{item}/decisions", json={"decision": "approve"})
        assert r.status_code == 403 and "本人提交" in r.json()["detail"]
    with closing(login(base_url, "bureau_ly")) as ly:
        r = ly.post(f"/v1/review/items/{item}/decisions", json={"decision": "approve"})
        assert r.status_code == 403 and "辖区" in r.json()["detail"]
    assert count(world.url, "SELECT 1 FROM partnerships") == 0


def test_anonymous_partnerships_carry_no_contacts(world: World, base_url: str) -> None:
    with closing(login(base_url, "bureau_zz")) as zz:
        pair = {
            "a": {"type": "school", "id": world.schools["zz"]},
            "b": {"type": "enterprise", "id": world.enterprises["zz4"]},
            "a_contact": "张老师 13900001111",
            "b_contact": "王经理 wang@example.com",
        }
        made = zz.post("/v1/partnerships", json=pair)
        assert made.status_code == 201, made.text
        assert made.json()["b_contact"] == "王经理 wang@example.com"  # the region's bureau
    anon = httpx.get(base_url + "/v1/partnerships").text
    assert "13900001111" not in anon and "@example.com" not in anon
    with closing(login(base_url, "bureau_ly")) as ly:  # another region's bureau: no contacts
        assert "13900001111" not in ly.get("/v1/partnerships").text
    with closing(login(base_url, "ent_zz")) as ent:  # not a party (zz1 is not zz4)
        assert "13900001111" not in ent.get(f"/v1/partnerships/{made.json()['id']}").text


def test_runs_are_readable_by_their_requester_and_region_only(world: World, base_url: str) -> None:
    with psycopg.connect(world.url, row_factory=dict_row) as c:
        run = c.execute(
            "INSERT INTO recommendation_runs (kind, request, requester_id)"
            " VALUES ('partner_enterprises', '{}', %s) RETURNING id",
            (world.users["school_zz"],),
        ).fetchone()["id"]
        f.recommendation(
            c, ("school", world.schools["zz"]), ("enterprise", world.enterprises["zz1"]),
            run_id=run,
        )  # fmt: skip
    expected = {"school_zz": 200, "admin": 200, "reviewer_zz": 200, "bureau_zz": 200,
                "bureau_ly": 403, "ent_zz": 403}  # fmt: skip
    for who, status in expected.items():
        with closing(login(base_url, who)) as c:
            r = c.get(f"/v1/recommendations/runs/{run}")
            assert r.status_code == status, (who, r.text)


def test_two_approvals_cannot_overfill_a_programme(world: World, base_url: str) -> None:
    with psycopg.connect(world.url, row_factory=dict_row) as c:
        prog = f.programme(c, world.schools["zz"])
        c.execute("UPDATE programmes SET capacity = 1 WHERE id = %s", (prog,))
        # two distinct companies (the world's 郑州装备制造有限公司1…5 are one entity to dedup)
        firms = {
            "a": f.enterprise(c, "郑州精密轴承有限公司"),
            "b": f.enterprise(c, "郑州智能传感科技有限公司"),
        }
        items = [
            f.recommendation(
                c, ("programme", prog), ("enterprise", firms[e]),
                submitted_by=world.users["school_zz"],
            )
            for e in ("a", "b")
        ]  # fmt: skip
    clients = [login(base_url, "reviewer_zz"), login(base_url, "admin")]
    barrier = threading.Barrier(2)
    out: list[httpx.Response] = []

    def go(i: int) -> None:
        barrier.wait()
        out.append(
            clients[i].post(f"/v1/review/items/{items[i]}/decisions", json={"decision": "approve"})
        )

    threads = [threading.Thread(target=go, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for c in clients:
        c.close()
    assert sorted(r.status_code for r in out) == [200, 409], [r.text for r in out]
    loser = next(r for r in out if r.status_code == 409)
    assert "名额/容量已满" in loser.json()["detail"]
    assert count(world.url, "SELECT 1 FROM partnerships WHERE b_id = %s", (prog,)) == 1


def test_cross_port_form_cannot_decide(world: World, base_url: str) -> None:
    """A page on another port of the same host posts with the reviewer's cookie → 403."""
    with psycopg.connect(world.url, row_factory=dict_row) as c:
        item = f.recommendation(
            c, ("school", world.schools["zz"]), ("enterprise", world.enterprises["zz5"]),
            submitted_by=world.users["school_zz"],
        )  # fmt: skip
    host, port = re.match(r"http://([^:]+):(\d+)", base_url).groups()  # type: ignore[union-attr]
    evil = f"http://{host}:{int(port) + 1}"
    with closing(login(base_url, "reviewer_zz")) as rev:
        for path, data in (
            (f"/review/items/{item}/decide", {"decision": "approve"}),
            (f"/v1/review/items/{item}/decisions", None),
        ):
            for header in ({"Origin": evil}, {"Referer": evil + "/form.html"}, {"Origin": "null"}):
                if data is None:
                    r = rev.post(path, json={"decision": "approve"}, headers=header)
                else:
                    r = rev.post(path, data=data, headers=header)
                assert r.status_code == 403, (path, header, r.status_code)
        # same origin but no CSRF token (a form someone else rendered): 403 too
        r = rev.post(f"/review/items/{item}/decide", data={"decision": "approve"},
                     headers={"Origin": base_url})  # fmt: skip
        assert r.status_code == 403
    assert count(world.url, "SELECT 1 FROM reviews") == 0


def test_declared_partnerships_get_the_guards(world: World, base_url: str) -> None:
    """POST /v1/partnerships and the partnership import apply the recommender's guards."""
    with psycopg.connect(world.url, row_factory=dict_row) as c:
        firms = {
            "zz1": f.enterprise(c, "郑州精密轴承有限公司"),
            "zz2": f.enterprise(c, "郑州智能传感科技有限公司"),
        }
        c.execute(
            "UPDATE enterprises SET group_name = '中原装备集团' WHERE id = ANY(%s)",
            (list(firms.values()),),
        )
    school = world.schools["zz"]

    def pair(e: str) -> dict[str, Any]:
        return {"a": {"type": "school", "id": school}, "b": {"type": "enterprise",
                "id": firms[e]}}  # fmt: skip

    with closing(login(base_url, "bureau_zz")) as zz:
        assert zz.post("/v1/partnerships", json=pair("zz1")).status_code == 201
        r = zz.post("/v1/partnerships", json=pair("zz2"))
        assert r.status_code == 409 and "group_partnered" in r.json()["detail"]
        csv = "甲方,乙方\n郑州职业技术学院,郑州智能传感科技有限公司\n".encode()
        r = zz.post("/v1/imports/partnerships", files={"file": ("p.csv", csv, "text/csv")})
        assert r.status_code == 422, r.text
        assert any("group_partnered" in e["reason"] for e in r.json()["errors"])
    assert count(world.url, "SELECT 1 FROM partnerships") == 1
    assert rows(world.url, "SELECT source FROM partnerships")[0]["source"] == "manual"
