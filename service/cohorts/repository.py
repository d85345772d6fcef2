"""SQL for cohorts (parameterised)."""

from __future__ import annotations

from typing import Any

import psycopg

Row = dict[str, Any]


def insert_cohort(conn: psycopg.Connection[Any], region_id: int, name: str, year: int,
                  user_id: int | None) -> int:  # fmt: skip
    row: Any = conn.execute(
        """INSERT INTO cohorts (region_id, name, year, created_by) VALUES (%s, %s, %s, %s)
           RETURNING id""",
        (region_id, name, year, user_id),
    ).fetchone()
    return int(row["id"])


def insert_members(conn: psycopg.Connection[Any], cohort_id: int, mentors: list[Row],
                   students: list[Row]) -> None:  # fmt: skip
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO cohort_mentors (cohort_id, mentor_id, subject, seats)
               VALUES (%s, %s, %s, %s)""",
            [(cohort_id, m["mentor_id"], m["subject"], m["seats"]) for m in mentors],
        )
        cur.executemany(
            """INSERT INTO cohort_students (cohort_id, name, subject, interest, choices)
               VALUES (%s, %s, %s, %s, %s)""",
            [(cohort_id, s["name"], s["subject"], s["interest"], s["choices"]) for s in students],
        )


def mentors_exist(conn: psycopg.Connection[Any], ids: list[int]) -> set[int]:
    rows = conn.execute("SELECT id FROM mentors WHERE id = ANY(%s)", (ids,)).fetchall()
    return {int(r["id"]) for r in rows}


def cohort(conn: psycopg.Connection[Any], cohort_id: int) -> Row | None:
    return conn.execute(
        """SELECT c.*, r.code AS region_code, r.name AS region_name, r.path AS region_path
           FROM cohorts c JOIN regions r ON r.id = c.region_id WHERE c.id = %s""",
        (cohort_id,),
    ).fetchone()


def mentors(conn: psycopg.Connection[Any], cohort_id: int) -> list[Row]:
    return conn.execute(
        """SELECT cm.mentor_id, cm.subject, cm.seats, m.name, m.title, m.fields, m.description,
                  m.kind, coalesce(s.name, e.name) AS affiliation_name
           FROM cohort_mentors cm JOIN mentors m ON m.id = cm.mentor_id
           LEFT JOIN schools s ON s.id = m.school_id
           LEFT JOIN enterprises e ON e.id = m.enterprise_id
           WHERE cm.cohort_id = %s ORDER BY cm.mentor_id""",
        (cohort_id,),
    ).fetchall()


def students(conn: psycopg.Connection[Any], cohort_id: int) -> list[Row]:
    return conn.execute(
        "SELECT * FROM cohort_students WHERE cohort_id = %s ORDER BY id", (cohort_id,)
    ).fetchall()


def record_interviews(conn: psycopg.Connection[Any], cohort_id: int, rows: list[Row]) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO cohort_interviews (cohort_id, student_id, mentor_id, passed)
               VALUES (%s, %s, %s, %s)
               ON CONFLICT (student_id, mentor_id)
               DO UPDATE SET passed = EXCLUDED.passed, recorded_at = now()""",
            [(cohort_id, r["student_id"], r["mentor_id"], r["passed"]) for r in rows],
        )


def passed(conn: psycopg.Connection[Any], cohort_id: int) -> set[tuple[int, int]]:
    rows = conn.execute(
        "SELECT student_id, mentor_id FROM cohort_interviews WHERE cohort_id = %s AND passed",
        (cohort_id,),
    ).fetchall()
    return {(int(r["student_id"]), int(r["mentor_id"])) for r in rows}


def replace_assignments(conn: psycopg.Connection[Any], cohort_id: int,
                        rows: list[tuple[int, int, float]]) -> None:  # fmt: skip
    """New assignments; a pair kept from before keeps its id (and so its meetings)."""
    keep = [(s, m) for s, m, _ in rows]
    conn.execute(
        """DELETE FROM cohort_assignments WHERE cohort_id = %s
           AND (student_id, mentor_id) NOT IN (SELECT * FROM unnest(%s::int[], %s::int[]))""",
        (cohort_id, [s for s, _ in keep], [m for _, m in keep]),
    )
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO cohort_assignments (cohort_id, student_id, mentor_id, fit)
               VALUES (%s, %s, %s, %s)
               ON CONFLICT (student_id) DO UPDATE SET fit = EXCLUDED.fit""",
            [(cohort_id, s, m, f) for s, m, f in rows],
        )


def assignments(conn: psycopg.Connection[Any], cohort_id: int) -> list[Row]:
    return conn.execute(
        """SELECT a.id, a.student_id, st.name AS student_name, st.subject, a.mentor_id,
                  m.name AS mentor_name, a.fit,
                  (SELECT count(*) FROM cohort_meetings mt WHERE mt.assignment_id = a.id)
                      AS meetings
           FROM cohort_assignments a JOIN cohort_students st ON st.id = a.student_id
           JOIN mentors m ON m.id = a.mentor_id
           WHERE a.cohort_id = %s ORDER BY a.mentor_id, a.student_id""",
        (cohort_id,),
    ).fetchall()


def assignment_of(conn: psycopg.Connection[Any], cohort_id: int, student_id: int) -> Row | None:
    return conn.execute(
        "SELECT * FROM cohort_assignments WHERE cohort_id = %s AND student_id = %s",
        (cohort_id, student_id),
    ).fetchone()


def add_meeting(conn: psycopg.Connection[Any], assignment_id: int, met_on: Any, note: str
                ) -> None:  # fmt: skip
    conn.execute(
        "INSERT INTO cohort_meetings (assignment_id, met_on, note) VALUES (%s, %s, %s)",
        (assignment_id, met_on, note),
    )
