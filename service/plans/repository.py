"""SQL for leading industries and plans (parameterised; rows as dicts)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

Row = dict[str, Any]


def region(conn: psycopg.Connection[Any], code: str) -> Row | None:
    return conn.execute(
        "SELECT id, code, name, level, path FROM regions WHERE code = %s", (code,)
    ).fetchone()


def cities_under(conn: psycopg.Connection[Any], path: str) -> list[Row]:
    """The region itself when it is a city, else the cities inside it."""
    return conn.execute(
        """SELECT id, code, name, path FROM regions
           WHERE level = 'city' AND (path = %s OR path LIKE %s || '.%%') ORDER BY code""",
        (path, path),
    ).fetchall()


def leading_industries(conn: psycopg.Connection[Any], region_ids: Iterable[int]) -> list[Row]:
    return conn.execute(
        """SELECT li.region_id, r.code AS region_code, r.name AS region_name, li.code, li.name,
                  li.rank
           FROM leading_industries li JOIN regions r ON r.id = li.region_id
           WHERE li.region_id = ANY(%s) ORDER BY r.code, li.rank, li.code""",
        (list(region_ids),),
    ).fetchall()


def replace_leading_industries(
    conn: psycopg.Connection[Any], region_id: int, items: list[tuple[str, str]], user_id: int | None
) -> None:
    conn.execute("DELETE FROM leading_industries WHERE region_id = %s", (region_id,))
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO leading_industries (region_id, code, name, rank, updated_by)
               VALUES (%s, %s, %s, %s, %s)""",
            [(region_id, code, name, n, user_id) for n, (code, name) in enumerate(items)],
        )


def schools_in(conn: psycopg.Connection[Any], path: str, kinds: list[str]) -> list[Row]:
    return conn.execute(
        """SELECT s.id, s.name, s.kind, r.path AS region_path,
                  coalesce(c.code, r.code) AS city_code, coalesce(c.name, r.name) AS city_name
           FROM schools s JOIN regions r ON r.id = s.region_id
           LEFT JOIN regions c ON c.code = split_part(r.path, '.', 2)
           WHERE (r.path = %s OR r.path LIKE %s || '.%%') AND s.kind = ANY(%s)
           ORDER BY s.id""",
        (path, path, kinds),
    ).fetchall()


def insert_plan(
    conn: psycopg.Connection[Any],
    *,
    region_id: int,
    user_id: int | None,
    settings: dict[str, Any],
    summary: dict[str, Any],
    items: list[dict[str, Any]],
) -> tuple[int, list[int]]:
    row: Any = conn.execute(
        """INSERT INTO plans (region_id, requested_by, settings, summary)
           VALUES (%s, %s, %s, %s) RETURNING id""",
        (region_id, user_id, Jsonb(settings), Jsonb(summary)),
    ).fetchone()
    plan_id = int(row["id"])
    ids: list[int] = []
    if items:
        got = conn.execute(
            """INSERT INTO plan_items (plan_id, school_id, programme_id, enterprise_id, industry,
                                       fit, features, reasons)
               SELECT %s, * FROM unnest(%s::int[], %s::int[], %s::int[], %s::text[],
                                        %s::float8[], %s::jsonb[], %s::jsonb[])
               RETURNING id""",
            (
                plan_id,
                [i["school_id"] for i in items],
                [i["programme_id"] for i in items],
                [i["enterprise_id"] for i in items],
                [i["industry"] for i in items],
                [i["fit"] for i in items],
                [Jsonb(i["features"]) for i in items],
                [Jsonb(i["reasons"]) for i in items],
            ),
        ).fetchall()
        ids = [int(r["id"]) for r in got]
    return plan_id, ids


def plan(conn: psycopg.Connection[Any], plan_id: int, *, lock: bool = False) -> Row | None:
    return conn.execute(
        """SELECT p.*, r.code AS region_code, r.name AS region_name, r.path AS region_path
           FROM plans p JOIN regions r ON r.id = p.region_id WHERE p.id = %s"""
        + (" FOR UPDATE OF p" if lock else ""),
        (plan_id,),
    ).fetchone()


def plan_items(conn: psycopg.Connection[Any], plan_id: int) -> list[Row]:
    """Items with names and their latest decision."""
    return conn.execute(
        """SELECT i.*, s.name AS school_name, pr.name AS programme_name,
                  e.name AS enterprise_name,
                  (SELECT d.decision FROM plan_decisions d WHERE d.item_id = i.id
                   ORDER BY d.id DESC LIMIT 1) AS decision
           FROM plan_items i JOIN schools s ON s.id = i.school_id
           LEFT JOIN programmes pr ON pr.id = i.programme_id
           JOIN enterprises e ON e.id = i.enterprise_id
           WHERE i.plan_id = %s ORDER BY i.school_id, i.industry, i.fit DESC""",
        (plan_id,),
    ).fetchall()


def submit(conn: psycopg.Connection[Any], plan_id: int, user_id: int | None) -> bool:
    cur = conn.execute(
        """UPDATE plans SET submitted_at = now(), submitted_by = %s
           WHERE id = %s AND submitted_at IS NULL""",
        (user_id, plan_id),
    )
    return cur.rowcount == 1


def record_decision(
    conn: psycopg.Connection[Any],
    *,
    plan_id: int,
    item_id: int,
    decision: str,
    user_id: int | None,
    partnership_id: int | None,
    note: str,
) -> None:
    conn.execute(
        """INSERT INTO plan_decisions (plan_id, item_id, decision, decided_by, partnership_id,
                                       note) VALUES (%s, %s, %s, %s, %s, %s)""",
        (plan_id, item_id, decision, user_id, partnership_id, note),
    )


def recent_plans(conn: psycopg.Connection[Any], region_id: int, limit: int = 20) -> list[Row]:
    return conn.execute(
        """SELECT id, summary, submitted_at, created_at FROM plans WHERE region_id = %s
           ORDER BY id DESC LIMIT %s""",
        (region_id, limit),
    ).fetchall()


def pending_plan_pairs(conn: psycopg.Connection[Any]) -> set[tuple[int, int]]:
    """(school, enterprise) pairs of submitted plans not yet decided: pending review."""
    rows = conn.execute(
        """SELECT i.school_id, i.enterprise_id FROM plan_items i
           JOIN plans p ON p.id = i.plan_id
           WHERE p.submitted_at IS NOT NULL
             AND NOT EXISTS (SELECT 1 FROM plan_decisions d WHERE d.item_id = i.id)"""
    ).fetchall()
    return {(int(r["school_id"]), int(r["enterprise_id"])) for r in rows}


def served_divisions(conn: psycopg.Connection[Any], school_ids: list[int]) -> dict[int, set[str]]:
    """Industry divisions each school serves now: its (and its programmes') active enterprise
    partners' divisions, read fresh (the re-check after an approval)."""
    rows = conn.execute(
        """WITH side AS (
               SELECT id AS school_id, 'school'::text AS t, id AS pid FROM schools
               WHERE id = ANY(%(ids)s)
               UNION ALL
               SELECT school_id, 'programme', id FROM programmes WHERE school_id = ANY(%(ids)s))
           SELECT side.school_id, e.industry_codes
           FROM side JOIN partnerships p ON p.status = 'active' AND (
                   (p.a_type = side.t AND p.a_id = side.pid AND p.b_type = 'enterprise')
                OR (p.b_type = side.t AND p.b_id = side.pid AND p.a_type = 'enterprise'))
           JOIN enterprises e ON e.id = CASE WHEN p.a_type = 'enterprise' THEN p.a_id
                                              ELSE p.b_id END""",
        {"ids": school_ids},
    ).fetchall()
    out: dict[int, set[str]] = {}
    for r in rows:
        for code in r["industry_codes"] or []:
            d = "".join(ch for ch in code if ch.isdigit())[:2]
            if d:
                out.setdefault(int(r["school_id"]), set()).add(d)
    return out
