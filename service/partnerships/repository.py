"""SQL of partnership creation: locks, the neighbourhood the guards read, the pending-pair rule,
the insert."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import psycopg
from psycopg.rows import dict_row

from models.vocab import PARTY_TABLES
from service.review.pairs import Pair

Row = dict[str, Any]
Node = tuple[str, int]

_TABLES = PARTY_TABLES

# The pending-pair rule, in one place: a submitted item is pending until a decision follows its
# (latest) submission; approve and reject are final. The view review_pending_pairs (migration
# 0003) is this predicate; the review queue inlines it (it scans recommendations once).
PENDING_SQL = """r.submitted_at IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM reviews v WHERE v.recommendation_id = r.id
      AND (v.decision IN ('approve', 'reject') OR v.created_at >= r.submitted_at))"""


def _one(conn: psycopg.Connection, query: Any, params: Any = None) -> Row | None:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, params).fetchone()


def _all(conn: psycopg.Connection, query: Any, params: Any = None) -> list[Row]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, params).fetchall()


def advisory_locks(conn: psycopg.Connection, keys: Iterable[str]) -> None:
    """Transaction-scoped advisory locks, sorted (two creators cannot deadlock on them)."""
    for key in sorted(set(keys)):
        conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (key,))


def lock_rows(conn: psycopg.Connection, nodes: Iterable[Node]) -> dict[Node, Row]:
    """Row-lock each party (sorted); returns the locked rows (a missing party is absent)."""
    out: dict[Node, Row] = {}
    for ptype, pid in sorted(set(nodes)):
        table = _TABLES[ptype]
        row = _one(conn, f"SELECT * FROM {table} WHERE id = %s FOR UPDATE", (pid,))  # noqa: S608
        if row is not None:
            out[(ptype, pid)] = row
    return out


def school_programmes(conn: psycopg.Connection, school_id: int) -> list[int]:
    rows = _all(conn, "SELECT id FROM programmes WHERE school_id = %s", (school_id,))
    return [int(r["id"]) for r in rows]


def edges_touching(
    conn: psycopg.Connection, nodes: Iterable[Node]
) -> list[tuple[str, int, str, int]]:
    ns = sorted(set(nodes))
    if not ns:
        return []
    # two index lookups (one per end) instead of an OR of two IN lists, which PostgreSQL can
    # only answer by a scan of every partnership: O(n^2) over an import of n pairs
    rows = _all(
        conn,
        """WITH q AS (SELECT * FROM unnest(%s::text[], %s::int[]) AS q(t, i))
           SELECT p.a_type, p.a_id, p.b_type, p.b_id FROM partnerships p
           JOIN q ON (p.a_type, p.a_id) = (q.t, q.i) WHERE p.status = 'active'
           UNION
           SELECT p.a_type, p.a_id, p.b_type, p.b_id FROM partnerships p
           JOIN q ON (p.b_type, p.b_id) = (q.t, q.i) WHERE p.status = 'active'""",
        ([t for t, _ in ns], [i for _, i in ns]),
    )
    return [(r["a_type"], r["a_id"], r["b_type"], r["b_id"]) for r in rows]


def school_divisions(conn: psycopg.Connection, divisions: list[str]) -> list[tuple[int, str, str]]:
    """(school id, the school's region path, division) of every active school / programme –
    enterprise partnership whose enterprise works in one of the divisions (what the quota
    'schools per leading industry' counts, per city: models/quotas.py)."""
    if not divisions:
        return []
    rows = _all(
        conn,
        """SELECT DISTINCT s.id AS school_id, r.path, d.division
           FROM partnerships p
           JOIN enterprises e ON p.a_type = 'enterprise' AND e.id = p.a_id
           LEFT JOIN programmes pr ON p.b_type = 'programme' AND pr.id = p.b_id
           JOIN schools s ON s.id = CASE WHEN p.b_type = 'school' THEN p.b_id ELSE pr.school_id END
           JOIN regions r ON r.id = s.region_id
           CROSS JOIN LATERAL (
               SELECT DISTINCT left(regexp_replace(c, '[^0-9]', '', 'g'), 2) AS division
               FROM unnest(e.industry_codes) c) d
           WHERE p.status = 'active' AND p.b_type IN ('school', 'programme')
             AND d.division = ANY(%s)""",
        (divisions,),
    )
    return [(int(r["school_id"]), str(r["path"]), str(r["division"])) for r in rows]


def school_region_path(conn: psycopg.Connection, school_id: int) -> str:
    row = _one(
        conn,
        "SELECT r.path FROM schools s JOIN regions r ON r.id = s.region_id WHERE s.id = %s",
        (school_id,),
    )
    return str(row["path"]) if row else ""


def programme_schools(conn: psycopg.Connection, programme_ids: list[int]) -> dict[int, int]:
    rows = _all(conn, "SELECT id, school_id FROM programmes WHERE id = ANY(%s)", (programme_ids,))
    return {int(r["id"]): int(r["school_id"]) for r in rows}


def enterprises(conn: psycopg.Connection, ids: list[int]) -> list[Row]:
    """What the group, duplicate-record and quota guards read of each enterprise."""
    return _all(
        conn,
        """SELECT e.id, e.name, e.credit_code, e.group_name, e.industry_codes,
                  coalesce(c.code, r.code) AS city_code
           FROM enterprises e JOIN regions r ON r.id = e.region_id
           LEFT JOIN regions c ON c.code = split_part(r.path, '.', 2)
           WHERE e.id = ANY(%s)""",
        (ids,),
    )


def pending_with_pair(conn: psycopg.Connection, pair: Pair, other_than: int | None) -> int | None:
    """A pending review item for this pair (other than `other_than`), if any."""
    row = _one(
        conn,
        f"""SELECT r.id FROM recommendations r
            WHERE r.pair_a_type = %s AND r.pair_a_id = %s AND r.pair_b_type = %s
              AND r.pair_b_id = %s AND r.id IS DISTINCT FROM %s AND {PENDING_SQL}
            LIMIT 1""",  # noqa: S608
        (pair.a.type, pair.a.id, pair.b.type, pair.b.id, other_than),
    )
    return None if row is None else int(row["id"])


def active_partnership(conn: psycopg.Connection, pair: Pair) -> int | None:
    row = _one(
        conn,
        """SELECT id FROM partnerships WHERE status = 'active'
           AND a_type = %s AND a_id = %s AND b_type = %s AND b_id = %s""",
        (pair.a.type, pair.a.id, pair.b.type, pair.b.id),
    )
    return None if row is None else int(row["id"])


def insert(conn: psycopg.Connection, pair: Pair, values: dict[str, Any]) -> Row:
    row = _one(
        conn,
        """INSERT INTO partnerships (a_type, a_id, b_type, b_id, kind, status, since, source,
                                     progress, a_contact, b_contact)
           VALUES (%(a_type)s, %(a_id)s, %(b_type)s, %(b_id)s, %(kind)s, 'active',
                   coalesce(%(since)s, current_date), %(source)s, %(progress)s,
                   %(a_contact)s, %(b_contact)s)
           RETURNING id, a_type, a_id, b_type, b_id, kind, status, since, source, progress,
                     a_contact, b_contact""",
        {
            "a_type": pair.a.type,
            "a_id": pair.a.id,
            "b_type": pair.b.type,
            "b_id": pair.b.id,
            **values,
        },
    )
    assert row is not None
    return row


# ---- imports: the staged partnerships of an import (service.ingest's staging table) ---------


def staged(conn: psycopg.Connection, stage: str, columns: tuple[str, ...]) -> list[Row]:
    """Staged partnership records with whether their pair is active already."""
    from psycopg import sql

    cols = sql.SQL(", ").join(sql.SQL("s.") + sql.Identifier(c) for c in columns)
    return _all(
        conn,
        sql.SQL(
            """SELECT s._seq, s._row, s._keyval, {cols},
                      EXISTS (SELECT 1 FROM partnerships p WHERE p.status = 'active'
                              AND (p.a_type, p.a_id, p.b_type, p.b_id)
                                  = (s.a_type, s.a_id, s.b_type, s.b_id)) AS active
               FROM {stage} s ORDER BY s._seq"""
        ).format(cols=cols, stage=sql.Identifier(stage)),
    )


def drop_staged(conn: psycopg.Connection, stage: str, seqs: list[int]) -> None:
    from psycopg import sql

    if seqs:
        conn.execute(
            sql.SQL("DELETE FROM {} WHERE _seq = ANY(%s)").format(sql.Identifier(stage)), (seqs,)
        )
