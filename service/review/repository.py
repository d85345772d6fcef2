"""SQL of the review workflow. Times of submissions and decisions are clock_timestamp() taken
under the recommendation's row lock, so the derived state (view review_state) is well ordered."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from service.partnerships.repository import PENDING_SQL
from service.review.pairs import Pair, Party

Row = dict[str, Any]

_REC = """
    SELECT r.id, r.run_id, r.rank, r.subject_type, r.subject_id, r.candidate_type,
           r.candidate_id, r.score, r.features, r.explanation, r.region_id, r.submitted_at,
           r.submitted_by, r.pair_a_type, r.pair_a_id, r.pair_b_type, r.pair_b_id,
           g.code AS region_code, g.name AS region_name, g.path AS region_path,
           u.username AS submitted_by_username
    FROM recommendations r
    LEFT JOIN regions g ON g.id = r.region_id
    LEFT JOIN users u ON u.id = r.submitted_by"""


def _one(conn: psycopg.Connection, query: Any, params: Any = None) -> Row | None:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, params).fetchone()


def _all(conn: psycopg.Connection, query: Any, params: Any = None) -> list[Row]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, params).fetchall()


def get(conn: psycopg.Connection, rec_id: int) -> Row | None:
    return _one(conn, _REC + " WHERE r.id = %s", (rec_id,))


def get_many(conn: psycopg.Connection, ids: list[int]) -> list[Row]:
    return _all(conn, _REC + " WHERE r.id = ANY(%s) ORDER BY r.id", (ids,))


def lock(conn: psycopg.Connection, ids: list[int]) -> dict[int, Row]:
    """Lock the recommendation rows (in id order, so concurrent lockers cannot deadlock)."""
    rows = _all(conn, _REC + " WHERE r.id = ANY(%s) ORDER BY r.id FOR UPDATE OF r", (ids,))
    return {r["id"]: r for r in rows}


def states(conn: psycopg.Connection, ids: list[int]) -> dict[int, str]:
    rows = _all(
        conn,
        "SELECT recommendation_id, state FROM review_state WHERE recommendation_id = ANY(%s)",
        (ids,),
    )
    return {r["recommendation_id"]: r["state"] for r in rows}


def lock_pairs(conn: psycopg.Connection, pairs: Iterable[Pair]) -> None:
    """Serialise submissions of the same pair until commit (sorted: no deadlock between two)."""
    for key in sorted({p.lock_key for p in pairs}):
        conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (key,))


def need_enterprise(conn: psycopg.Connection, need_id: int) -> int | None:
    row = _one(conn, "SELECT enterprise_id FROM needs WHERE id = %s", (need_id,))
    return None if row is None else int(row["enterprise_id"])


def programme_school(conn: psycopg.Connection, programme_id: int) -> int | None:
    row = _one(conn, "SELECT school_id FROM programmes WHERE id = %s", (programme_id,))
    return None if row is None else int(row["school_id"])


def mark_submitted(conn: psycopg.Connection, rec_id: int, user_id: int, pair: Pair) -> Row:
    row = _one(
        conn,
        """UPDATE recommendations SET submitted_at = clock_timestamp(), submitted_by = %s,
               pair_a_type = %s, pair_a_id = %s, pair_b_type = %s, pair_b_id = %s
           WHERE id = %s RETURNING submitted_at, submitted_by""",
        (user_id, pair.a.type, pair.a.id, pair.b.type, pair.b.id, rec_id),
    )
    assert row is not None
    return row


def insert_review(
    conn: psycopg.Connection,
    rec_id: int,
    decision: str,
    reviewer_id: int,
    reason: str,
    partnership_id: int | None,
) -> Row:
    row = _one(
        conn,
        """INSERT INTO reviews (recommendation_id, decision, reviewer_id, reason,
                                partnership_id, created_at)
           VALUES (%s, %s, %s, %s, %s, clock_timestamp())
           RETURNING id, recommendation_id, decision, reviewer_id, reason, partnership_id,
                     created_at""",
        (rec_id, decision, reviewer_id, reason, partnership_id),
    )
    assert row is not None
    return row


def history(conn: psycopg.Connection, rec_id: int) -> list[Row]:
    return _all(
        conn,
        """SELECT v.id, v.decision, v.reason, v.reviewer_id, u.username AS reviewer,
                  v.partnership_id, v.created_at
           FROM reviews v JOIN users u ON u.id = v.reviewer_id
           WHERE v.recommendation_id = %s ORDER BY v.id""",
        (rec_id,),
    )


def region_path(conn: psycopg.Connection, code: str) -> str | None:
    row = _one(conn, "SELECT path FROM regions WHERE code = %s", (code,))
    return None if row is None else str(row["path"])


# The pending-pair rule lives in service.partnerships.repository (one home).
_PENDING = PENDING_SQL


def _queue_where(f: dict[str, Any]) -> tuple[sql.Composable, dict[str, Any]]:
    conds: list[sql.Composable] = [sql.SQL(_PENDING)]
    params: dict[str, Any] = {}
    for name in ("scope", "region"):
        if f.get(name) is not None:
            conds.append(
                sql.SQL("(g.path = {p} OR g.path LIKE {p} || '.%%')").format(
                    p=sql.Placeholder(name)
                )
            )
            params[name] = f[name]
    if f.get("candidate_type"):
        conds.append(sql.SQL("r.candidate_type = %(candidate_type)s"))
        params["candidate_type"] = f["candidate_type"]
    if f.get("min_score") is not None:
        conds.append(sql.SQL("r.score >= %(min_score)s"))
        params["min_score"] = f["min_score"]
    if f.get("max_age_days") is not None:
        conds.append(
            sql.SQL("r.submitted_at >= now() - make_interval(secs => %(max_age_days)s * 86400)")
        )
        params["max_age_days"] = f["max_age_days"]
    return sql.SQL(" AND ").join(conds), params


_ORDER = {
    "score": sql.SQL("r.score DESC, r.id"),
    "age": sql.SQL("r.submitted_at, r.id"),  # oldest first
}


def queue(
    conn: psycopg.Connection, filters: dict[str, Any], sort: str, limit: int, offset: int
) -> tuple[int, list[Row]]:
    where, params = _queue_where(filters)
    total = _one(
        conn,
        sql.SQL(
            "SELECT count(*) AS n FROM recommendations r"
            " LEFT JOIN regions g ON g.id = r.region_id WHERE {w}"
        ).format(w=where),
        params,
    )
    rows = _all(
        conn,
        sql.SQL(_REC + " WHERE {w} ORDER BY {o} LIMIT %(limit)s OFFSET %(offset)s").format(
            w=where, o=_ORDER[sort]
        ),
        {**params, "limit": limit, "offset": offset},
    )
    return int(total["n"]) if total else 0, rows


# Display names by party type (a programme shows its school; a need its enterprise).
PARTY_NAME_QUERIES = {
    "bureau": "SELECT id, name FROM bureaus WHERE id = ANY(%s)",
    "park": "SELECT id, name FROM parks WHERE id = ANY(%s)",
    "school": "SELECT id, name FROM schools WHERE id = ANY(%s)",
    "programme": """SELECT p.id, s.name || ' · ' || p.name AS name FROM programmes p
                    JOIN schools s ON s.id = p.school_id WHERE p.id = ANY(%s)""",
    "enterprise": "SELECT id, name FROM enterprises WHERE id = ANY(%s)",
    "mentor": "SELECT id, name FROM mentors WHERE id = ANY(%s)",
    "practice_base": "SELECT id, name FROM practice_bases WHERE id = ANY(%s)",
    "need": """SELECT n.id, e.name || ' · ' || n.title AS name FROM needs n
               JOIN enterprises e ON e.id = n.enterprise_id WHERE n.id = ANY(%s)""",
}


def names(
    conn: psycopg.Connection, parties: Iterable[tuple[str, int | None]]
) -> dict[tuple[str, int], str]:
    by_type: dict[str, set[int]] = {}
    for t, i in parties:
        if i is not None and t in PARTY_NAME_QUERIES:
            by_type.setdefault(t, set()).add(i)
    out: dict[tuple[str, int], str] = {}
    for t, ids in by_type.items():
        for r in _all(conn, PARTY_NAME_QUERIES[t], (sorted(ids),)):
            out[(t, r["id"])] = r["name"]
    return out


def partnerships_of(conn: psycopg.Connection, parties: Iterable[Party]) -> list[Row]:
    """Active partnerships touching any of the parties."""
    ps = sorted(set(parties))
    if not ps:
        return []
    types, ids = [p.type for p in ps], [p.id for p in ps]
    return _all(
        conn,
        """WITH q AS (SELECT * FROM unnest(%s::text[], %s::int[]) AS q(t, i))
           SELECT id, a_type, a_id, b_type, b_id, kind, since, source FROM partnerships
           WHERE status = 'active'
             AND ((a_type, a_id) IN (SELECT t, i FROM q) OR (b_type, b_id) IN (SELECT t, i FROM q))
           ORDER BY id""",
        (types, ids),
    )
