"""Cohorts: create, shortlist for interviews (3:1), record interviews, assign, track meetings.

Fit of a student and a mentor is the cosine of the engine's encoder between the student's
subject and interest text (a query) and the mentor's profile (a document, the same text the
mentor index holds: models.profiles.mentor_text).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import psycopg

from models import cohort as C
from models.profiles import mentor_text
from service.cohorts import repository as repo
from service.cohorts.schemas import CohortIn, InterviewsIn, MeetingIn
from service.errors import Conflict, InvalidInput, NotFound
from service.plans import access
from service.plans import repository as plans_repo
from service.recommendations.engine import Engine


def create(conn: psycopg.Connection, body: CohortIn, actor: Any) -> dict[str, Any]:
    region = plans_repo.region(conn, body.region)
    if region is None:
        raise NotFound(f"未知的行政区划代码：{body.region}")
    access.require(actor, "catalogue.write", region["path"], f"地区 {region['name']}")
    ids = [m.mentor_id for m in body.mentors]
    if len(set(ids)) != len(ids):
        raise InvalidInput("导师重复")
    found = repo.mentors_exist(conn, ids)
    errors = [
        {"row": n + 1, "column": "mentor_id", "message": f"导师 {m.mentor_id} 不存在"}
        for n, m in enumerate(body.mentors)
        if m.mentor_id not in found
    ]
    errors += [
        {"row": n + 1, "column": "choices", "message": f"志愿导师 {c} 不在本批导师中"}
        for n, s in enumerate(body.students)
        for c in s.choices
        if c not in set(ids)
    ]
    if errors:
        raise InvalidInput(f"有 {len(errors)} 处错误", errors=errors)
    cohort_id = repo.insert_cohort(
        conn, region["id"], body.name, body.year, getattr(actor, "id", None)
    )
    repo.insert_members(
        conn,
        cohort_id,
        [m.model_dump() for m in body.mentors],
        [s.model_dump() for s in body.students],
    )
    return {"cohort_id": cohort_id}


def _cohort(conn: psycopg.Connection, cohort_id: int, actor: Any, action: str) -> dict[str, Any]:
    row = repo.cohort(conn, cohort_id)
    if row is None:
        raise NotFound(f"批次 {cohort_id} 不存在")
    access.require(actor, action, row["region_path"], f"批次 {cohort_id}")
    return row


def load(conn: psycopg.Connection, engine: Engine, cohort_id: int) -> C.Cohort:
    mentors = repo.mentors(conn, cohort_id)
    students = repo.students(conn, cohort_id)
    fit: dict[tuple[int, int], float] = {}
    if mentors and students:
        q = engine.encoder.encode_queries(
            [f"{s['subject']} {s['interest']}"[:256] for s in students]
        )
        d = engine.encoder.encode_documents([mentor_text(m) for m in mentors])
        sims = np.clip(np.asarray(q) @ np.asarray(d).T, 0.0, 1.0)
        for i, s in enumerate(students):
            for j, m in enumerate(mentors):
                fit[(int(s["id"]), int(m["mentor_id"]))] = round(float(sims[i, j]), 6)
    return C.Cohort(
        students=[
            C.Student(int(s["id"]), s["subject"], tuple(s["choices"] or ())) for s in students
        ],
        mentors=[C.Mentor(int(m["mentor_id"]), m["subject"], int(m["seats"])) for m in mentors],
        fit=fit,
        passed=repo.passed(conn, cohort_id),
    )


def view(conn: psycopg.Connection, cohort_id: int, actor: Any) -> dict[str, Any]:
    row = _cohort(conn, cohort_id, actor, "recommend")
    assigned = repo.assignments(conn, cohort_id)
    return {
        "cohort_id": cohort_id,
        "name": row["name"],
        "year": row["year"],
        "region": row["region_code"],
        "region_name": row["region_name"],
        "mentors": repo.mentors(conn, cohort_id),
        "students": repo.students(conn, cohort_id),
        "assignments": assigned,
        "below_minimum": [a for a in assigned if a["meetings"] < C.MIN_MEETINGS],
        "min_meetings": C.MIN_MEETINGS,
    }


def shortlist(conn: psycopg.Connection, engine: Engine, cohort_id: int, actor: Any) -> dict:
    _cohort(conn, cohort_id, actor, "recommend")
    c = load(conn, engine, cohort_id)
    sl = C.shortlist(c)
    names = {int(s["id"]): s["name"] for s in repo.students(conn, cohort_id)}
    choices = {st.id: st.choices for st in c.students}
    return {
        "ratio": C.INTERVIEW_RATIO,
        "mentors": [
            {
                "mentor_id": m.id,
                "seats": m.seats,
                "needed": C.INTERVIEW_RATIO * m.seats,
                "short_by": sl.short.get(m.id, 0),
                "candidates": [
                    {
                        "student_id": s,
                        "name": names[s],
                        "fit": c.fit_of(s, m.id),
                        "choice_rank": (choices[s].index(m.id) + 1) if m.id in choices[s] else None,
                    }
                    for s in sl.by_mentor[m.id]
                ],  # fmt: skip
            }
            for m in c.mentors
        ],
    }


def interviews(conn: psycopg.Connection, cohort_id: int, body: InterviewsIn, actor: Any) -> dict:
    _cohort(conn, cohort_id, actor, "catalogue.write")
    students = {int(s["id"]) for s in repo.students(conn, cohort_id)}
    mentors = {int(m["mentor_id"]) for m in repo.mentors(conn, cohort_id)}
    errors = [
        {"row": n + 1, "column": "student_id" if i.student_id not in students else "mentor_id",
         "message": "学生或导师不在本批次中"}
        for n, i in enumerate(body.interviews)
        if i.student_id not in students or i.mentor_id not in mentors
    ]  # fmt: skip
    if errors:
        raise InvalidInput(f"有 {len(errors)} 条面试记录无效", errors=errors)
    repo.record_interviews(conn, cohort_id, [i.model_dump() for i in body.interviews])
    return {"recorded": len(body.interviews)}


def assign(conn: psycopg.Connection, engine: Engine, cohort_id: int, actor: Any) -> dict:
    _cohort(conn, cohort_id, actor, "catalogue.write")
    c = load(conn, engine, cohort_id)
    if not c.passed:
        raise Conflict("尚未录入面试结果，不能分配导师")
    got = C.assign(c)
    da = C.deferred_acceptance(c)
    repo.replace_assignments(conn, cohort_id, [(s, m, c.fit_of(s, m)) for s, m in got.items()])
    return {
        "assigned": len(got),
        "unassigned": len(c.students) - len(got),
        "total_fit": round(C.total_fit(c, got), 6),
        "baseline_deferred_acceptance": {
            "assigned": len(da),
            "total_fit": round(C.total_fit(c, da), 6),
        },
        "assignments": repo.assignments(conn, cohort_id),
    }


def meeting(conn: psycopg.Connection, cohort_id: int, body: MeetingIn, actor: Any) -> dict:
    _cohort(conn, cohort_id, actor, "catalogue.write")
    a = repo.assignment_of(conn, cohort_id, body.student_id)
    if a is None:
        raise NotFound(f"学生 {body.student_id} 在本批次中没有导师")
    repo.add_meeting(conn, int(a["id"]), body.met_on, body.note)
    rows = [r for r in repo.assignments(conn, cohort_id) if r["id"] == a["id"]]
    return rows[0]
