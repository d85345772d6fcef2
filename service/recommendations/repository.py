"""SQL for recommendations: candidate snapshots, subjects, guards' facts, stored runs."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import orjson
import psycopg
from psycopg.types.json import Jsonb

Row = dict[str, Any]

# Region columns shared by every snapshot: the candidate's region, its city and its coordinates.
_REGION = """r.path AS region_path, r.code AS region_code, r.name AS region_name,
    coalesce(c.code, r.code) AS city_code, coalesce(c.name, r.name) AS city_name,
    coalesce(r.lat, c.lat) AS lat, coalesce(r.lon, c.lon) AS lon"""
_REGION_JOIN = """JOIN regions r ON r.id = {col}
    LEFT JOIN regions c ON c.code = split_part(r.path, '.', 2)"""


CHANGE_SEQ = "__row_changes"  # key of the change log position in data_versions()
# data_versions row holding the highest change seq pruned from the log (prune_changes): an
# engine whose position is below it has missed changes and rebuilds.
PRUNED = "row_changes_pruned"
# the log position: the last change logged, or what was pruned when nothing is left after it
_LOG_POSITION = f"""greatest(coalesce(max(seq), 0), coalesce((SELECT version FROM data_versions
                                 WHERE entity_type = '{PRUNED}'), 0))"""


def data_versions(conn: psycopg.Connection[Any]) -> dict[str, int]:
    """Every table's data version and, under CHANGE_SEQ, the last row change logged: one round
    trip, since every request asks."""
    rows = conn.execute(
        "SELECT entity_type, version FROM data_versions UNION ALL "
        f"SELECT %s, {_LOG_POSITION} FROM row_changes",
        (CHANGE_SEQ,),
    ).fetchall()
    return {r["entity_type"]: int(r["version"]) for r in rows}


def change_seq(conn: psycopg.Connection[Any]) -> int:
    """The last row change logged (migration 0020); 0 before any."""
    row: Any = conn.execute(f"SELECT {_LOG_POSITION} AS seq FROM row_changes").fetchone()
    return int(row["seq"])


def prune_changes(
    conn: psycopg.Connection[Any], upto: int, older_than_s: float, limit: int = 50_000
) -> int:
    """Delete logged changes up to ``upto`` that are older than ``older_than_s`` (the oldest
    ``limit``, so one statement stays short) and record the highest seq deleted under PRUNED;
    returns how many rows went."""
    row: Any = conn.execute(
        """
        WITH gone AS (
            DELETE FROM row_changes WHERE seq IN (
                SELECT seq FROM row_changes
                WHERE seq <= %s AND changed_at < now() - make_interval(secs => %s)
                ORDER BY seq LIMIT %s)
            RETURNING seq
        ), mark AS (
            INSERT INTO data_versions (entity_type, version, updated_at)
            SELECT %s, max(seq), now() FROM gone HAVING count(*) > 0
            ON CONFLICT (entity_type) DO UPDATE
                SET version = greatest(data_versions.version, EXCLUDED.version),
                    updated_at = now()
        )
        SELECT count(*) AS n FROM gone""",
        (upto, older_than_s, limit, PRUNED),
    ).fetchone()
    return int(row["n"])


def changes_since(conn: psycopg.Connection[Any], seq: int, limit: int) -> list[Row]:
    """Row changes after ``seq``, oldest first, at most ``limit``."""
    return conn.execute(
        "SELECT seq, entity_type, row_id FROM row_changes WHERE seq > %s ORDER BY seq LIMIT %s",
        (seq, limit),
    ).fetchall()


def changes_at(conn: psycopg.Connection[Any], seqs: Sequence[int]) -> list[Row]:
    """The row changes with these sequence numbers (gaps seen earlier, now committed)."""
    return conn.execute(
        "SELECT seq, entity_type, row_id FROM row_changes WHERE seq = ANY(%s) ORDER BY seq",
        (list(seqs),),
    ).fetchall()


def _only(column: str, ids: Sequence[int] | None) -> tuple[str, tuple[Any, ...]]:
    """A WHERE clause limiting a snapshot query to ``ids`` (all rows when None)."""
    return ("", ()) if ids is None else (f"WHERE {column} = ANY(%s)", (list(ids),))


def stream(conn: psycopg.Connection[Any], query: str, params: Sequence[Any] = ()) -> Iterator[Row]:
    with conn.cursor(name="xiaoqi_snapshot") as cur:
        cur.itersize = 5000
        cur.execute(query, params or None)
        yield from cur


def enterprises(conn: psycopg.Connection[Any], ids: Sequence[int] | None = None) -> Iterator[Row]:
    where, params = _only("e.id", ids)
    return stream(
        conn,
        f"""
        SELECT e.id, e.name, e.credit_code, e.industry_codes, e.size, e.park_id, e.group_name,
               e.description, e.status, p.name AS park_name, {_REGION},
               coalesce((SELECT array_agg(n.title || '：' || n.description ORDER BY n.id)
                         FROM needs n WHERE n.enterprise_id = e.id AND n.status = 'open'), '{{}}')
                   AS need_texts,
               coalesce((SELECT array_agg(DISTINCT n.kind) FROM needs n
                         WHERE n.enterprise_id = e.id AND n.status = 'open'), '{{}}') AS need_kinds
        FROM enterprises e {_REGION_JOIN.format(col="e.region_id")}
        LEFT JOIN parks p ON p.id = e.park_id
        {where}
        ORDER BY e.id""",
        params,
    )


def programmes(conn: psycopg.Connection[Any], ids: Sequence[int] | None = None) -> Iterator[Row]:
    where, params = _only("pr.id", ids)
    return stream(
        conn,
        f"""
        SELECT pr.id, pr.name, pr.major_code, pr.level, pr.description, pr.industries,
               pr.capacity, pr.school_id, s.name AS school_name, s.kind AS school_kind, {_REGION}
        FROM programmes pr JOIN schools s ON s.id = pr.school_id
        {_REGION_JOIN.format(col="s.region_id")}
        {where}
        ORDER BY pr.id""",
        params,
    )


def mentors(conn: psycopg.Connection[Any], ids: Sequence[int] | None = None) -> Iterator[Row]:
    where, params = _only("m.id", ids)
    return stream(
        conn,
        f"""
        SELECT m.id, m.name, m.kind, m.title, m.fields, m.description, m.capacity,
               m.school_id, m.enterprise_id, coalesce(s.name, e.name) AS affiliation_name,
               coalesce(e.industry_codes, '{{}}') AS industry_codes, {_REGION}
        FROM mentors m LEFT JOIN schools s ON s.id = m.school_id
        LEFT JOIN enterprises e ON e.id = m.enterprise_id
        {_REGION_JOIN.format(col="coalesce(s.region_id, e.region_id)")}
        {where}
        ORDER BY m.id""",
        params,
    )


def practice_bases(
    conn: psycopg.Connection[Any], ids: Sequence[int] | None = None
) -> Iterator[Row]:
    where, params = _only("b.id", ids)
    return stream(
        conn,
        f"""
        SELECT b.id, b.name, b.fields, b.description, b.slots_per_term, b.host_enterprise_id,
               b.host_school_id, coalesce(e.name, s.name) AS host_name,
               coalesce(e.industry_codes, '{{}}') AS industry_codes, {_REGION}
        FROM practice_bases b LEFT JOIN enterprises e ON e.id = b.host_enterprise_id
        LEFT JOIN schools s ON s.id = b.host_school_id
        {_REGION_JOIN.format(col="b.region_id")}
        {where}
        ORDER BY b.id""",
        params,
    )


def active_partnerships(conn: psycopg.Connection[Any]) -> list[tuple[str, int, str, int]]:
    rows = conn.execute(
        "SELECT a_type, a_id, b_type, b_id FROM partnerships WHERE status = 'active'"
    ).fetchall()
    return [(r["a_type"], r["a_id"], r["b_type"], r["b_id"]) for r in rows]


def programme_schools(conn: psycopg.Connection[Any]) -> dict[int, int]:
    return {r["id"]: r["school_id"] for r in conn.execute("SELECT id, school_id FROM programmes")}


def pending_pairs(conn: psycopg.Connection[Any]) -> list[Row]:
    """Pairs submitted for review whose latest decision is none (or 'return' then resubmitted)."""
    return conn.execute("""
        SELECT r.subject_type, r.subject_id, r.candidate_type, r.candidate_id
        FROM recommendations r
        WHERE r.submitted_at IS NOT NULL AND r.subject_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM reviews v WHERE v.recommendation_id = r.id
                          AND v.created_at >= r.submitted_at)""").fetchall()


def region_by_code(conn: psycopg.Connection[Any], code: str) -> Row | None:
    return conn.execute(
        "SELECT id, code, name, level, path, lat, lon FROM regions WHERE code = %s", (code,)
    ).fetchone()


def region_by_id(conn: psycopg.Connection[Any], region_id: int) -> Row | None:
    return conn.execute(
        "SELECT id, code, name, level, path, lat, lon FROM regions WHERE id = %s", (region_id,)
    ).fetchone()


# One query per subject type, for one row (a request) or all rows (the engine precomputes each
# stored subject's query vector): both must give the same row, hence the same query text.
_SCHOOL = f"""
    SELECT s.id, s.name, s.kind, s.description, s.region_id, {_REGION}
    FROM schools s {_REGION_JOIN.format(col="s.region_id")}"""
_SCHOOL_PROGRAMMES = "SELECT id, school_id, name, major_code, industries, capacity FROM programmes"
_PROGRAMME = f"""
    SELECT pr.id, pr.name, pr.major_code, pr.level, pr.description, pr.industries,
           pr.capacity, pr.school_id, s.name AS school_name, s.kind AS school_kind,
           s.region_id, {_REGION}
    FROM programmes pr JOIN schools s ON s.id = pr.school_id
    {_REGION_JOIN.format(col="s.region_id")}"""
_PARK = f"""
    SELECT p.id, p.name, p.leading_industries, p.description, p.region_id, {_REGION}
    FROM parks p {_REGION_JOIN.format(col="p.region_id")}"""
_NEED = f"""
    SELECT n.id, n.kind, n.title, n.description, n.status, n.enterprise_id,
           e.name AS enterprise_name, e.industry_codes, e.region_id, {_REGION}
    FROM needs n JOIN enterprises e ON e.id = n.enterprise_id
    {_REGION_JOIN.format(col="e.region_id")}"""


def school(conn: psycopg.Connection[Any], school_id: int) -> Row | None:
    return conn.execute(_SCHOOL + " WHERE s.id = %s", (school_id,)).fetchone()


def school_with_programmes(conn: psycopg.Connection[Any], school_id: int) -> Row | None:
    """A school (as `school`) with its programmes (as `school_programmes`) in one round trip."""
    row = conn.execute(
        f"""SELECT q.*, coalesce((SELECT json_agg(p ORDER BY p.id)
                                 FROM ({_SCHOOL_PROGRAMMES} WHERE school_id = q.id) p), '[]')
                         AS programmes
            FROM ({_SCHOOL} WHERE s.id = %s) q""",
        (school_id,),
    ).fetchone()
    return row


def school_programmes(conn: psycopg.Connection[Any], school_id: int) -> list[Row]:
    return conn.execute(
        _SCHOOL_PROGRAMMES + " WHERE school_id = %s ORDER BY id", (school_id,)
    ).fetchall()


def programme(conn: psycopg.Connection[Any], programme_id: int) -> Row | None:
    return conn.execute(_PROGRAMME + " WHERE pr.id = %s", (programme_id,)).fetchone()


def park(conn: psycopg.Connection[Any], park_id: int) -> Row | None:
    return conn.execute(_PARK + " WHERE p.id = %s", (park_id,)).fetchone()


def need(conn: psycopg.Connection[Any], need_id: int) -> Row | None:
    return conn.execute(_NEED + " WHERE n.id = %s", (need_id,)).fetchone()


def all_schools(conn: psycopg.Connection[Any]) -> Iterator[Row]:
    """Every school with its programmes (as `school_programmes` lists them)."""
    progs: dict[int, list[Row]] = {}
    for p in conn.execute(_SCHOOL_PROGRAMMES + " ORDER BY id"):
        progs.setdefault(p["school_id"], []).append(p)
    for s in stream(conn, _SCHOOL + " ORDER BY s.id"):
        s["programmes"] = progs.get(s["id"], [])
        yield s


def all_programmes(conn: psycopg.Connection[Any]) -> Iterator[Row]:
    return stream(conn, _PROGRAMME + " ORDER BY pr.id")


def all_parks(conn: psycopg.Connection[Any]) -> Iterator[Row]:
    return stream(conn, _PARK + " ORDER BY p.id")


def all_needs(conn: psycopg.Connection[Any]) -> Iterator[Row]:
    return stream(conn, _NEED + " ORDER BY n.id")


def _dumps(obj: Any) -> bytes | str:
    """A stored run's JSON by orjson (a run's items, with their features and explanations,
    ~14 kB: 0.05 ms instead of json.dumps's 0.35); json.dumps for anything orjson refuses."""
    try:
        return orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)
    except TypeError:
        return json.dumps(obj)


def insert_run(
    conn: psycopg.Connection[Any],
    *,
    kind: str,
    requester_id: int | None,
    request: dict[str, Any],
    versions: dict[str, Any],
    timings_ms: dict[str, float],
    items: Sequence[Row],
) -> tuple[int, list[int]]:
    """Store a run and its ranked items in one statement (one round trip); returns the run id
    and the items' ids in rank order. Items: rank, subject_type, subject_id, candidate_type,
    candidate_id, score, features, explanation, region_id."""
    row = conn.execute(
        """
        WITH run AS (
            INSERT INTO recommendation_runs (kind, requester_id, request, versions, timings_ms)
            VALUES (%s, %s, %s, %s, %s) RETURNING id
        ), items AS (
            INSERT INTO recommendations (run_id, rank, subject_type, subject_id, candidate_type,
                                         candidate_id, score, features, explanation, region_id)
            SELECT run.id, i.rank, i.subject_type, i.subject_id, i.candidate_type,
                   i.candidate_id, i.score, i.features, i.explanation, i.region_id
            FROM run, jsonb_to_recordset(%s) AS i(
                rank int, subject_type text, subject_id int, candidate_type text,
                candidate_id int, score double precision, features jsonb, explanation jsonb,
                region_id int)
            RETURNING id, rank
        )
        SELECT (SELECT id FROM run) AS run_id,
               coalesce((SELECT array_agg(id ORDER BY rank) FROM items), '{}') AS item_ids""",
        (
            kind,
            requester_id,
            Jsonb(request, dumps=_dumps),
            Jsonb(versions, dumps=_dumps),
            Jsonb(timings_ms, dumps=_dumps),
            Jsonb(list(items), dumps=_dumps),
        ),
    ).fetchone()
    assert row is not None
    return int(row["run_id"]), [int(i) for i in row["item_ids"]]


def run_with_items(conn: psycopg.Connection[Any], run_id: int) -> tuple[Row | None, list[Row]]:
    run = conn.execute("SELECT * FROM recommendation_runs WHERE id = %s", (run_id,)).fetchone()
    items = conn.execute(
        "SELECT * FROM recommendations WHERE run_id = %s ORDER BY rank", (run_id,)
    ).fetchall()
    return run, items


def enterprise_clusters_source(conn: psycopg.Connection[Any]) -> Iterator[Row]:
    return stream(
        conn,
        """
        SELECT e.id, e.name, e.credit_code, coalesce(c.code, r.code) AS city
        FROM enterprises e JOIN regions r ON r.id = e.region_id
        LEFT JOIN regions c ON c.code = split_part(r.path, '.', 2)
        ORDER BY e.id""",
    )


def enterprise_names(conn: psycopg.Connection[Any], ids: Sequence[int]) -> dict[int, Row]:
    rows = conn.execute(
        "SELECT id, name, credit_code, group_name FROM enterprises WHERE id = ANY(%s)", (list(ids),)
    ).fetchall()
    return {r["id"]: r for r in rows}
