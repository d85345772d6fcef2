"""All SQL of the importer: reference look-ups, the staging table, COPY and the upsert.

Identifiers come from the fixed target specs in `service.ingest.kinds` (never from the file);
values always travel as parameters or through COPY.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row, tuple_row

STAGE_META = ("_seq", "_row", "_key", "_keyval")


# ---------------------------------------------------------------- reference look-ups


def regions(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    """Every region with the names of its ancestors, province first."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """SELECT r.id, r.code, r.path,
                      (SELECT array_agg(a.name ORDER BY length(a.path))
                         FROM regions a WHERE r.path LIKE a.path || '%') AS names
               FROM regions r"""
        ).fetchall()


def parks(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute("SELECT id, name, region_id FROM parks").fetchall()


def schools(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute("SELECT id, code, name, region_id FROM schools").fetchall()


def bureaus(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute("SELECT id, name, region_id FROM bureaus").fetchall()


def enterprises_matching(
    conn: psycopg.Connection[Any], probes: Sequence[str]
) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """SELECT id, credit_code, name, region_id FROM enterprises
               WHERE credit_code = ANY(%(p)s) OR name = ANY(%(p)s)""",
            {"p": list(probes)},
        ).fetchall()


def enterprises_like(
    conn: psycopg.Connection[Any], text: str, limit: int = 20
) -> list[dict[str, Any]]:
    """Enterprises whose name is closest to `text` (trigram index), for "did you mean"."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """SELECT e.name, e.region_id FROM enterprises e
               WHERE e.name %% %(t)s ORDER BY similarity(e.name, %(t)s) DESC LIMIT %(n)s""",
            {"t": text, "n": limit},
        ).fetchall()


# ---------------------------------------------------------------- staging


@dataclass(frozen=True)
class Stage:
    """A temporary table holding the validated records for one target table."""

    name: str
    table: str
    columns: tuple[str, ...]  # target columns carried by this import
    oids: tuple[int, ...]  # COPY types of STAGE_META + columns


def create_stage(
    conn: psycopg.Connection[Any], name: str, table: str, columns: Sequence[str]
) -> Stage:
    """Same column types as the target, no constraints; dropped with the import's savepoint."""
    select = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    conn.execute(
        sql.SQL(
            "CREATE TEMP TABLE {stage} AS SELECT 0::int AS _seq, 0::int AS _row, ''::text AS _key,"
            " ''::text AS _keyval, {cols} FROM {table} WITH NO DATA"
        ).format(stage=sql.Identifier(name), cols=select, table=sql.Identifier(table))
    )
    with conn.cursor(row_factory=tuple_row) as cur:
        oids = cur.execute(
            """SELECT atttypid::int FROM pg_attribute
               WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum""",
            (name,),
        ).fetchall()
    return Stage(name, table, tuple(columns), tuple(o[0] for o in oids))


def copy_rows(conn: psycopg.Connection[Any], stage: Stage, rows: Iterable[Sequence[Any]]) -> None:
    cols = sql.SQL(", ").join(sql.Identifier(c) for c in (*STAGE_META, *stage.columns))
    with (
        conn.cursor() as cur,
        cur.copy(
            sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(stage.name), cols)
        ) as copy,
    ):
        copy.set_types(list(stage.oids))
        for row in rows:
            copy.write_row(row)


def index_stage(conn: psycopg.Connection[Any], stage: Stage) -> None:
    conn.execute(sql.SQL("CREATE INDEX ON {} (_seq)").format(sql.Identifier(stage.name)))
    conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(stage.name)))


def duplicates(conn: psycopg.Connection[Any], stage: Stage) -> list[tuple[int, str, int]]:
    """(row, key as written, first row) for each later occurrence of a key already staged."""
    with conn.cursor(row_factory=tuple_row) as cur:
        return cur.execute(
            sql.SQL(
                """SELECT _row, _keyval, first FROM (
                       SELECT _row, _keyval, _seq,
                              first_value(_row) OVER w AS first,
                              first_value(_seq) OVER w AS first_seq
                       FROM {} WINDOW w AS (PARTITION BY _key ORDER BY _seq)) d
                   WHERE _seq <> first_seq ORDER BY _row"""
            ).format(sql.Identifier(stage.name))
        ).fetchall()


def drop_later_duplicates(conn: psycopg.Connection[Any], stage: Stage) -> int:
    cur = conn.execute(
        sql.SQL(
            """DELETE FROM {s} s USING {s} f
               WHERE f._key = s._key AND f._seq < s._seq"""
        ).format(s=sql.Identifier(stage.name))
    )
    return cur.rowcount


def drop_rows(conn: psycopg.Connection[Any], stage: Stage, rows: Sequence[int]) -> None:
    if rows:
        conn.execute(
            sql.SQL("DELETE FROM {} WHERE _row = ANY(%s)").format(sql.Identifier(stage.name)),
            (list(rows),),
        )


def stage_bounds(conn: psycopg.Connection[Any], stage: Stage) -> tuple[int, int, int]:
    with conn.cursor(row_factory=tuple_row) as cur:
        row = cur.execute(
            sql.SQL(
                "SELECT coalesce(min(_seq), 0), coalesce(max(_seq), -1), count(*) FROM {}"
            ).format(sql.Identifier(stage.name))
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


def drop_stage(conn: psycopg.Connection[Any], stage: Stage) -> None:
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(stage.name)))


# ---------------------------------------------------------------- upsert


def _key_sql(exprs: Sequence[str], alias: str) -> sql.Composable:
    prefix = f"{alias}." if alias else ""
    return sql.SQL(", ").join(sql.SQL(e.format(t=prefix)) for e in exprs)


def upsert_batch(
    conn: psycopg.Connection[Any],
    stage: Stage,
    *,
    key: Sequence[str],
    match: str,
    insert_only: Sequence[str],
    lo: int,
    hi: int,
) -> tuple[int, int, int]:
    """Upsert stage rows with lo <= _seq <= hi. Returns (inserted, updated, unchanged).

    Unchanged rows are removed from the stage first, and the INSERT runs only if something is
    left: statement-level triggers (data_versions) fire even for statements touching no row.
    """
    s, t = sql.Identifier(stage.name), sql.Identifier(stage.table)
    compare = [c for c in stage.columns if c not in insert_only and f"{{t}}{c}" not in key]
    cols_t = sql.SQL(", ").join(sql.SQL("t.") + sql.Identifier(c) for c in compare)
    cols_s = sql.SQL(", ").join(sql.SQL("s.") + sql.Identifier(c) for c in compare)
    extra = sql.SQL(f" AND {match.format(t='t.')}" if match else "")
    same: sql.Composable
    if compare:
        same = sql.SQL("({}) IS NOT DISTINCT FROM ({})").format(cols_t, cols_s)
    else:
        same = sql.SQL("true")
    unchanged = conn.execute(
        sql.SQL(
            """DELETE FROM {s} s USING {t} t
               WHERE s._seq BETWEEN %(lo)s AND %(hi)s
                 AND ({kt}) = ({ks}){extra} AND {same}"""
        ).format(s=s, t=t, kt=_key_sql(key, "t"), ks=_key_sql(key, "s"), extra=extra, same=same),
        {"lo": lo, "hi": hi},
    ).rowcount
    with conn.cursor(row_factory=tuple_row) as cur:
        left = cur.execute(
            sql.SQL("SELECT count(*) FROM {} WHERE _seq BETWEEN %s AND %s").format(s), (lo, hi)
        ).fetchone()
        if not left or not left[0]:
            return 0, 0, unchanged
        cols = sql.SQL(", ").join(sql.Identifier(c) for c in stage.columns)
        action: sql.Composable
        if compare:
            excluded = sql.SQL(", ").join(sql.SQL("EXCLUDED.") + sql.Identifier(c) for c in compare)
            sets = sql.SQL(", ").join(
                sql.SQL("{c} = EXCLUDED.{c}").format(c=sql.Identifier(c)) for c in compare
            )
            action = sql.SQL(
                "DO UPDATE SET {sets}, updated_at = now() WHERE ({cols_t}) IS DISTINCT FROM ({ex})"
            ).format(sets=sets, cols_t=cols_t, ex=excluded)
        else:
            action = sql.SQL("DO NOTHING")
        conflict = sql.SQL("({}){}").format(
            _key_sql(key, ""), sql.SQL(f" WHERE {match.format(t='')}" if match else "")
        )
        row = cur.execute(
            sql.SQL(
                """WITH up AS (
                       INSERT INTO {t} AS t ({cols})
                       SELECT {cols} FROM {s} WHERE _seq BETWEEN %(lo)s AND %(hi)s ORDER BY _seq
                       ON CONFLICT {conflict} {action}
                       RETURNING (xmax = 0) AS inserted)
                   SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted)
                   FROM up"""
            ).format(t=t, cols=cols, s=s, conflict=conflict, action=action),
            {"lo": lo, "hi": hi},
        ).fetchone()
    assert row is not None
    inserted, updated = int(row[0]), int(row[1])
    return inserted, updated, unchanged + (int(left[0]) - inserted - updated)


def classify(
    conn: psycopg.Connection[Any],
    stage: Stage,
    *,
    key: Sequence[str],
    match: str,
    insert_only: Sequence[str],
    first_wins: bool,
) -> list[tuple[int, str, str]]:
    """(row, key as written, insert / update / unchanged) for every staged record: what
    `upsert_batch` would do, without doing it (the preview). `first_wins`: later records
    repeating a key are merged into the first, so only the first is reported."""
    s, t = sql.Identifier(stage.name), sql.Identifier(stage.table)
    compare = [c for c in stage.columns if c not in insert_only and f"{{t}}{c}" not in key]
    same: sql.Composable = sql.SQL("true")
    if compare:
        same = sql.SQL("({}) IS NOT DISTINCT FROM ({})").format(
            sql.SQL(", ").join(sql.SQL("t.") + sql.Identifier(c) for c in compare),
            sql.SQL(", ").join(sql.SQL("s.") + sql.Identifier(c) for c in compare),
        )
    extra = sql.SQL(f" AND {match.format(t='t.')}" if match else "")
    later = (
        sql.SQL(
            " WHERE NOT EXISTS (SELECT 1 FROM {s} f WHERE f._key = s._key AND f._seq < s._seq)"
        ).format(s=s)
        if first_wins
        else sql.SQL("")
    )
    with conn.cursor(row_factory=tuple_row) as cur:
        rows = cur.execute(
            sql.SQL(
                """SELECT s._row, s._keyval,
                          CASE WHEN t.ctid IS NULL THEN 'insert'
                               WHEN {same} THEN 'unchanged' ELSE 'update' END
                   FROM {s} s LEFT JOIN {t} t ON ({kt}) = ({ks}){extra}{later}
                   ORDER BY s._seq"""
            ).format(
                s=s,
                t=t,
                same=same,
                kt=_key_sql(key, "t"),
                ks=_key_sql(key, "s"),
                extra=extra,
                later=later,
            )
        ).fetchall()
    return [(int(r[0]), str(r[1]), str(r[2])) for r in rows]


def data_state(conn: psycopg.Connection[Any]) -> str:
    """Every entity's data version (bumped by each write): equal strings, unchanged data."""
    with conn.cursor(row_factory=tuple_row) as cur:
        row = cur.execute(
            "SELECT coalesce(string_agg(entity_type || ':' || version, ',' ORDER BY entity_type),"
            " '') FROM data_versions"
        ).fetchone()
    return str(row[0]) if row else ""
