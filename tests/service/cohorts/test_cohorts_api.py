"""Cohort mentor assignment over real HTTP: shortlist 3:1, interviews, assignment within seats
and choices, meetings and the pairs below 10."""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
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

SUBJECTS = {"数学": "代数 几何 数论", "物理": "凝聚态 光学 力学", "化学": "有机合成 催化"}


@pytest.fixture(scope="module")
def setup(pg_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[int]]]:
    truncate_all(pg_url)
    with psycopg.connect(pg_url, row_factory=dict_row) as c:
        region: Any = c.execute("SELECT id FROM regions WHERE code = '410100'").fetchone()
        school: Any = c.execute(
            "INSERT INTO schools (code, name, kind, region_id) VALUES ('10459', '郑州大学', "
            "'双一流', %s) RETURNING id",
            (region["id"],),
        ).fetchone()
        mentors = []
        for n, (subject, words) in enumerate(SUBJECTS.items()):
            row: Any = c.execute(
                "INSERT INTO mentors (name, kind, school_id, title, fields, description) "
                "VALUES (%s, 'academic', %s, '教授', %s, %s) RETURNING id",
                (f"导师{n}", school["id"], [subject], f"{subject}：{words}"),
            ).fetchone()
            mentors.append(int(row["id"]))
    make_user(pg_url, "bureau_zz_c", "bureau", region="410100")
    make_user(pg_url, "bureau_ly_c", "bureau", region="410300")
    settings = Settings(database_url=pg_url, mode="test", var_dir=tmp_path_factory.mktemp("v"))
    with running_server(create_app(settings)) as base:
        deadline = time.monotonic() + 180
        while httpx.get(f"{base}/health").json().get("engine") != "ready":
            assert time.monotonic() < deadline
            time.sleep(0.2)
        yield base, mentors
    truncate_all(pg_url)


def test_cohort_from_shortlist_to_meetings(setup: tuple[str, list[int]]) -> None:
    base, mentors = setup
    bureau = login(base, "bureau_zz_c")
    seats = [1, 2, 1]
    subjects = list(SUBJECTS)
    students = []
    for n in range(15):
        subject = subjects[n % 3]
        own = mentors[n % 3]
        other = mentors[(n + 1) % 3]
        students.append({"name": f"学生{n}", "subject": subject,
                         "interest": SUBJECTS[subject], "choices": [own, other]})  # fmt: skip
    body = {"region": "410100", "name": "英才计划", "year": 2026, "students": students,
            "mentors": [{"mentor_id": m, "subject": subjects[i], "seats": seats[i]}
                        for i, m in enumerate(mentors)]}  # fmt: skip
    other = login(base, "bureau_ly_c")
    assert other.post("/v1/cohorts", json=body).status_code == 403
    bad = {**body, "students": [{**students[0], "choices": [999999]}]}
    r = bureau.post("/v1/cohorts", json=bad)
    assert r.status_code == 422 and r.json()["errors"][0]["column"] == "choices"
    r = bureau.post("/v1/cohorts", json=body)
    assert r.status_code == 200, r.text
    cid = r.json()["cohort_id"]
    assert bureau.post(f"/v1/cohorts/{cid}/assign").status_code == 409  # no interviews yet
    sl = bureau.post(f"/v1/cohorts/{cid}/shortlist").json()
    for m in sl["mentors"]:
        assert len(m["candidates"]) >= 3 * m["seats"]
        ranks = [c["choice_rank"] for c in m["candidates"] if c["choice_rank"]]
        assert ranks == sorted(ranks)  # first choices ahead of second choices
    ids = {s["name"]: s["id"] for s in bureau.get(f"/v1/cohorts/{cid}").json()["students"]}
    interviews = [
        {"student_id": c["student_id"], "mentor_id": m["mentor_id"], "passed": True}
        for m in sl["mentors"]
        for c in m["candidates"]
    ]
    assert bureau.put(f"/v1/cohorts/{cid}/interviews", json={"interviews": interviews}).is_success
    got = bureau.post(f"/v1/cohorts/{cid}/assign").json()
    assert got["assigned"] == sum(seats)
    assert got["total_fit"] >= got["baseline_deferred_acceptance"]["total_fit"] - 1e-9
    per_mentor = Counter(a["mentor_id"] for a in got["assignments"])
    assert all(per_mentor[m] <= seats[i] for i, m in enumerate(mentors))
    chosen = {ids[s["name"]]: s["choices"] for s in students}
    assert all(a["mentor_id"] in chosen[a["student_id"]] for a in got["assignments"])
    first = got["assignments"][0]
    for k in range(10):
        day = dt.date(2026, 1, 1) + dt.timedelta(days=30 * k)
        meet = {"student_id": first["student_id"], "met_on": str(day)}
        r = bureau.post(f"/v1/cohorts/{cid}/meetings", json=meet)
        assert r.status_code == 200, r.text
    assert r.json()["meetings"] == 10
    view = bureau.get(f"/v1/cohorts/{cid}").json()
    below = {a["student_id"] for a in view["below_minimum"]}
    assert first["student_id"] not in below and len(below) == sum(seats) - 1
    html = bureau.get(f"/cohorts/{cid}")
    assert html.status_code == 200 and 'id="below"' in html.text
    assert html.text.count("<li>") >= len(below)
    import io

    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(bureau.get(f"/cohorts/{cid}/assignments.xlsx").content))
    assert wb["导师分配"].max_row == sum(seats) + 1
