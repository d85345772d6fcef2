"""SQL the web pages need beyond the domain services: pickers, counts, names, recent decisions."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from service.review import repository as review_repo

Row = dict[str, Any]
PICK_LIMIT = 300  # options shown in a subject picker (narrow it with the search box)


def _all(conn: psycopg.Connection, query: Any, params: Any = None) -> list[Row]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, params).fetchall()


def _one(conn: psycopg.Connection, query: Any, params: Any = None) -> Row | None:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, params).fetchone()


def _scope_sql(scope: str | None, alias: str = "g") -> tuple[sql.Composable, list[Any]]:
    """`TRUE`, or the region-path prefix test of the user's scope on `alias`.path."""
    if scope is None:
        return sql.SQL("TRUE"), []
    path = sql.Identifier(alias, "path")
    return sql.SQL("({p} = %s OR {p} LIKE %s)").format(p=path), [scope, scope + ".%"]


# Subjects a bureau can ask about: schools, programmes, parks (label shown in the picker).
_SUBJECTS = {
    "school": """SELECT s.id, s.name AS label, g.name AS region_name FROM schools s
                 JOIN regions g ON g.id = s.region_id WHERE {scope} AND {own}
                   AND s.name ILIKE %s ORDER BY s.name LIMIT %s""",
    "programme": """SELECT p.id, s.name || ' · ' || p.name || '（' || p.major_code || '）' AS label,
                        g.name AS region_name
                 FROM programmes p JOIN schools s ON s.id = p.school_id
                 JOIN regions g ON g.id = s.region_id WHERE {scope} AND {own}
                   AND (s.name || p.name || p.major_code) ILIKE %s
                 ORDER BY s.name, p.name LIMIT %s""",
    "park": """SELECT s.id, s.name AS label, g.name AS region_name FROM parks s
               JOIN regions g ON g.id = s.region_id WHERE {scope} AND {own}
                 AND s.name ILIKE %s ORDER BY s.name LIMIT %s""",
}


def subjects(
    conn: psycopg.Connection, kind: str, *, scope: str | None, q: str, school_id: int | None
) -> list[Row]:
    """Schools / programmes / parks in the scope whose name contains `q` (school users: their
    own school only)."""
    where, params = _scope_sql(scope)
    own: sql.Composable = sql.SQL("TRUE")
    own_params: list[Any] = []
    if school_id is not None:
        if kind == "park":
            return []
        own = sql.SQL("s.id = %s")
        own_params = [school_id]
    query = sql.SQL(_SUBJECTS[kind]).format(scope=where, own=own)
    return _all(conn, query, [*params, *own_params, f"%{_like(q)}%", PICK_LIMIT])


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def counts(conn: psycopg.Connection) -> Row:
    row = _one(
        conn,
        """
        SELECT (SELECT count(*) FROM schools) AS schools,
               (SELECT count(*) FROM programmes) AS programmes,
               (SELECT count(*) FROM enterprises WHERE status = 'active') AS enterprises,
               (SELECT count(*) FROM partnerships WHERE status = 'active') AS partnerships,
               (SELECT count(*) FROM review_pending_pairs) AS pending""",
    )
    assert row is not None
    return row


def enterprise_needs(conn: psycopg.Connection, enterprise_id: int) -> list[Row]:
    return _all(
        conn,
        """SELECT id, kind, title, description FROM needs
                         WHERE enterprise_id = %s AND status = 'open' ORDER BY id LIMIT 100""",
        (enterprise_id,),
    )


def need(conn: psycopg.Connection, need_id: int) -> Row | None:
    return _one(
        conn,
        "SELECT id, enterprise_id, kind, title, description FROM needs WHERE id = %s",
        (need_id,),
    )


def recent_decisions(conn: psycopg.Connection, scope: str | None, limit: int) -> list[Row]:
    """The latest review decisions on items in the scope, newest first."""
    where, params = _scope_sql(scope)
    query = sql.SQL("""
        SELECT v.id AS review_id, v.recommendation_id, v.decision, v.reason, v.partnership_id,
               v.created_at, u.username AS reviewer, r.subject_type, r.subject_id,
               r.candidate_type, r.candidate_id, r.score, g.name AS region_name
        FROM reviews v JOIN recommendations r ON r.id = v.recommendation_id
        JOIN users u ON u.id = v.reviewer_id
        LEFT JOIN regions g ON g.id = r.region_id
        WHERE {w} ORDER BY v.id DESC LIMIT %s""").format(w=where)
    return _all(conn, query, [*params, limit])


def schools_in_scope(conn: psycopg.Connection, scope: str | None) -> list[Row]:
    where, params = _scope_sql(scope)
    query = sql.SQL("""SELECT s.id, s.name, s.kind, g.name AS region_name, g.path
                       FROM schools s JOIN regions g ON g.id = s.region_id
                       WHERE {w} ORDER BY g.path, s.name""").format(w=where)
    return _all(conn, query, params)


# Display names of graph parties: the review evidence's lookup (a programme shows its school).
names = review_repo.names
PARTY_TYPES = tuple(t for t in review_repo.PARTY_NAME_QUERIES if t != "need")


_FIND = {
    "school": "SELECT id, name FROM schools WHERE name ILIKE %s ORDER BY name LIMIT %s",
    "programme": """SELECT p.id, s.name || ' · ' || p.name AS name FROM programmes p
                    JOIN schools s ON s.id = p.school_id
                    WHERE (s.name || p.name) ILIKE %s ORDER BY s.name, p.name LIMIT %s""",
    "enterprise": "SELECT id, name FROM enterprises WHERE name ILIKE %s ORDER BY name LIMIT %s",
    "park": "SELECT id, name FROM parks WHERE name ILIKE %s ORDER BY name LIMIT %s",
    "bureau": "SELECT id, name FROM bureaus WHERE name ILIKE %s ORDER BY name LIMIT %s",
    "mentor": "SELECT id, name FROM mentors WHERE name ILIKE %s ORDER BY name LIMIT %s",
    "practice_base": "SELECT id, name FROM practice_bases WHERE name ILIKE %s ORDER BY name"
    " LIMIT %s",
}


def find_parties(conn: psycopg.Connection, ptype: str, q: str, limit: int = 30) -> list[Row]:
    return _all(conn, _FIND[ptype], (f"%{_like(q)}%", limit))
