"""Recommendation endpoints over real HTTP against a real database (the done-when of issue 5)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row

from service.config import Settings
from service.main import create_app
from tests.conftest import truncate_all
from tests.fixtures.server import running_server
from tests.service.auth.helpers import login, make_user
from tests.service.recommendations.world import World, build, partner


@pytest.fixture(scope="module")
def setup(pg_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, World]]:
    truncate_all(pg_url)
    world = build(pg_url)
    make_user(pg_url, "bureau_zz_t", "bureau", region="410100")
    make_user(pg_url, "admin_t", "province_admin")
    settings = Settings(
        database_url=pg_url,
        mode="test",
        var_dir=tmp_path_factory.mktemp("var"),
        quota_industries_per_school=2,
    )
    with running_server(create_app(settings)) as base:
        yield base, world
    truncate_all(pg_url)


@pytest.fixture(scope="module")
def bureau(setup: tuple[str, World]) -> Iterator[httpx.Client]:
    c = login(setup[0], "bureau_zz_t")
    yield c
    c.close()


@pytest.fixture(scope="module")
def admin(setup: tuple[str, World]) -> Iterator[httpx.Client]:
    c = login(setup[0], "admin_t")
    yield c
    c.close()


def _ids(body: dict[str, Any], n: int = 0) -> list[int]:
    return [it["candidate"]["id"] for it in body["results"][n]["items"]]


def _partners(bureau: httpx.Client, subject: dict[str, Any], **extra: Any) -> dict[str, Any]:
    r = bureau.post(
        "/v1/recommendations/partner-enterprises", json={"subject": subject, "k": 10, **extra}
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_anonymous_cannot_request(setup: tuple[str, World]) -> None:
    base, w = setup
    r = httpx.post(
        f"{base}/v1/recommendations/partner-enterprises",
        json={"subject": {"type": "school", "id": w["S1"]}},
    )
    assert r.status_code == 401


def test_guards_and_scope_for_a_school(setup: tuple[str, World], bureau: httpx.Client) -> None:
    _, w = setup
    body = _partners(bureau, {"type": "school", "id": w["S1"]})
    got = set(_ids(body))
    assert w["E1"] not in got  # existing pair
    assert w["E2"] not in got  # duplicate record of the partnered E1
    assert w["E3"] not in got  # partnered with the school's programme P2
    assert w["E4"] not in got  # same group as E3, which works with this school
    assert w["E5"] not in got  # in 洛阳: outside the bureau's region
    assert w["E7"] not in got  # would add a 3rd industry: quota of 2 per school in this app
    assert w["E6"] in got and w["E8"] in got
    excluded = body["results"][0]["excluded"]
    assert excluded.get("quota_school_industries", 0) >= 1
    for item in body["results"][0]["items"]:
        codes = {r["code"] for r in item["reasons"]}
        assert "guards_passed" in codes and "semantic_match" in codes
        assert set(item["features"]) >= {"dense", "bm25", "industry_match", "load"}
        assert item["recommendation_id"] is not None
        assert item["candidate"]["city_name"] == "郑州市"


def test_bureau_cannot_look_outside_its_region(
    setup: tuple[str, World], bureau: httpx.Client
) -> None:
    _, w = setup
    r = bureau.post(
        "/v1/recommendations/partner-enterprises",
        json={"subject": {"type": "school", "id": w["S1"]}, "region": "410300"},
    )
    assert r.status_code == 403


def test_pending_pair_is_not_proposed(
    setup: tuple[str, World], bureau: httpx.Client, pg_url: str
) -> None:
    _, w = setup
    body = _partners(bureau, {"type": "school", "id": w["S1"]})
    item = next(i for i in body["results"][0]["items"] if i["candidate"]["id"] == w["E8"])
    with psycopg.connect(pg_url) as c:  # sent to review, not decided yet
        c.execute(
            "UPDATE recommendations SET submitted_at = now() WHERE id = %s",
            (item["recommendation_id"],),
        )
    again = _partners(bureau, {"type": "school", "id": w["S1"]})
    assert w["E8"] not in _ids(again)
    assert again["results"][0]["excluded"].get("pending_review") == 1


def test_new_partnership_is_seen_at_once(
    setup: tuple[str, World], bureau: httpx.Client, pg_url: str
) -> None:
    _, w = setup
    assert w["E6"] in _ids(_partners(bureau, {"type": "programme", "id": w["P1"]}))
    with psycopg.connect(pg_url, row_factory=dict_row) as c:
        pid = partner(c, ("programme", w["P1"]), ("enterprise", w["E6"]), "共建专业")
    try:
        assert w["E6"] not in _ids(_partners(bureau, {"type": "programme", "id": w["P1"]}))
    finally:
        with psycopg.connect(pg_url) as c:
            c.execute("DELETE FROM partnerships WHERE id = %s", (pid,))


def test_programme_without_capacity_gets_no_partners(
    setup: tuple[str, World], bureau: httpx.Client
) -> None:
    _, w = setup  # P2 has capacity 1 and already co-builds with E3
    body = _partners(bureau, {"type": "programme", "id": w["P2"]})
    assert body["results"][0]["items"] == []
    assert "名额已满" in body["results"][0]["notice"]


def test_batch_respects_exposure_cap(setup: tuple[str, World], admin: httpx.Client) -> None:
    _, w = setup
    r = admin.post(
        "/v1/recommendations/partner-enterprises",
        json={
            "subjects": [
                {"type": "programme", "id": w["P1"]},
                {"type": "programme", "id": w["P3"]},
                {"type": "school", "id": w["S2"]},
            ],
            "k": 3,
            "exposure_cap": 1,
        },
    )
    assert r.status_code == 200, r.text
    seen = [i["candidate"]["id"] for res in r.json()["results"] for i in res["items"]]
    assert seen and len(seen) == len(set(seen))


def test_programmes_for_a_need(setup: tuple[str, World], admin: httpx.Client) -> None:
    _, w = setup
    r = admin.post("/v1/recommendations/programmes", json={"need_id": w["N1"], "k": 5})
    assert r.status_code == 200, r.text
    items = r.json()["results"][0]["items"]
    assert items and items[0]["candidate"]["id"] in (w["P1"], w["P3"])
    assert w["P2"] not in [i["candidate"]["id"] for i in items]  # no capacity left
    r = admin.post(
        "/v1/recommendations/programmes",
        json={"text": "软件 开发 人 才", "levels": ["本科"], "k": 5},
    )
    assert r.status_code == 200
    assert all(i["candidate"]["level"] == "本科" for i in r.json()["results"][0]["items"])


def test_mentors_honour_capacity_and_kind(setup: tuple[str, World], admin: httpx.Client) -> None:
    _, w = setup
    r = admin.post("/v1/recommendations/mentors", json={"programme_id": w["P1"], "k": 5})
    got = [i["candidate"]["id"] for i in r.json()["results"][0]["items"]]
    assert w["M1"] not in got  # capacity 1, already mentoring P3
    assert w["M2"] in got
    r = admin.post(
        "/v1/recommendations/mentors",
        json={"text": "我对数控系统研究感兴趣", "kinds": ["research"], "k": 5},
    )
    assert [i["candidate"]["id"] for i in r.json()["results"][0]["items"]] == [w["M3"]]


def test_practice_bases_honour_slots_and_distance(
    setup: tuple[str, World], admin: httpx.Client
) -> None:
    _, w = setup
    r = admin.post(
        "/v1/recommendations/practice-bases",
        json={"programme_id": w["P1"], "max_distance_km": 50, "k": 5},
    )
    got = [i["candidate"]["id"] for i in r.json()["results"][0]["items"]]
    assert w["B1"] in got
    assert w["B2"] not in got  # no slots
    assert w["B3"] not in got  # 洛阳 is ~120 km from 郑州


def test_run_is_stored_and_reproducible(setup: tuple[str, World], admin: httpx.Client) -> None:
    _, w = setup
    body = admin.post(
        "/v1/recommendations/practice-bases", json={"programme_id": w["P1"], "k": 5}
    ).json()
    run = admin.get(f"/v1/recommendations/runs/{body['run_id']}").json()
    assert run["run"]["request"]["programme_id"] == w["P1"]
    assert run["run"]["versions"]["encoder"] == body["versions"]["encoder"]
    assert [i["candidate_id"] for i in run["items"]] == [
        i["candidate"]["id"] for i in body["results"][0]["items"]
    ]
    assert all(i["features"] and i["explanation"] for i in run["items"])
    again = admin.post(
        "/v1/recommendations/practice-bases", json={"programme_id": w["P1"], "k": 5}
    ).json()
    assert [i["candidate"]["id"] for i in again["results"][0]["items"]] == [
        i["candidate"]["id"] for i in body["results"][0]["items"]
    ]


def test_search_and_duplicates(setup: tuple[str, World], admin: httpx.Client) -> None:
    _, w = setup
    hits = admin.get("/v1/search", params={"q": "数控机床", "type": "enterprise"}).json()
    assert hits and hits[0]["type"] == "enterprise"
    assert httpx.get(f"{setup[0]}/v1/search", params={"q": "数控"}).status_code == 200
    dups = admin.get("/v1/duplicates").json()
    assert [sorted(r["id"] for r in c["records"]) for c in dups["items"]] == [
        sorted([w["E1"], w["E2"]])
    ]


def test_bad_requests_are_4xx(setup: tuple[str, World], admin: httpx.Client) -> None:
    _, w = setup
    bad = [
        ("/v1/recommendations/partner-enterprises", {}),
        ("/v1/recommendations/partner-enterprises", {"subject": {"type": "school", "id": 999999}}),
        (
            "/v1/recommendations/partner-enterprises",
            {"subject": {"type": "school", "id": w["S1"]}, "region": "999999"},
        ),
        ("/v1/recommendations/partner-enterprises", {"subject": {"type": "school", "id": 2**40}}),
        ("/v1/recommendations/programmes", {"need_id": 1, "text": "两个都给"}),
        ("/v1/recommendations/mentors", {}),
        ("/v1/recommendations/practice-bases", {"programme_id": "abc"}),
    ]
    for path, body in bad:
        r = admin.post(path, json=body)
        assert 400 <= r.status_code < 500, (path, body, r.status_code, r.text)
