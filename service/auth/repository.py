"""SQL for users, sessions and API tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from service.auth.schemas import User

Row = dict[str, Any]


def _one(conn: psycopg.Connection, query: Any, params: Any = None) -> Row | None:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, params).fetchone()


def _all(conn: psycopg.Connection, query: Any, params: Any = None) -> list[Row]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, params).fetchall()


_USER_COLUMNS = """
    u.id, u.username, u.display_name, u.role, u.region_id, u.school_id, u.enterprise_id,
    u.password_hash, u.active,
    g.code AS region_code, g.name AS region_name, g.path AS region_path"""

# A user's region: its own, else that of its school or enterprise.
_USER_FROM = """
    FROM users u
    LEFT JOIN schools s ON s.id = u.school_id
    LEFT JOIN enterprises e ON e.id = u.enterprise_id
    LEFT JOIN regions g ON g.id = coalesce(u.region_id, s.region_id, e.region_id)"""


def to_user(row: Row) -> User:
    return User(
        id=row["id"],
        username=row["username"],
        display_name=row["display_name"],
        role=row["role"],
        region_id=row["region_id"],
        region_code=row["region_code"],
        region_name=row["region_name"],
        region_path=row["region_path"],
        school_id=row["school_id"],
        enterprise_id=row["enterprise_id"],
    )


def user_by_username(conn: psycopg.Connection, username: str) -> Row | None:
    return _one(conn, f"SELECT {_USER_COLUMNS} {_USER_FROM} WHERE u.username = %s", (username,))


def user_by_id(conn: psycopg.Connection, user_id: int) -> Row | None:
    return _one(conn, f"SELECT {_USER_COLUMNS} {_USER_FROM} WHERE u.id = %s", (user_id,))


def user_by_session(conn: psycopg.Connection, session_hash: str) -> Row | None:
    return _one(
        conn,
        f"""SELECT {_USER_COLUMNS} {_USER_FROM}
            JOIN sessions x ON x.user_id = u.id
            WHERE x.id = %s AND x.expires_at > now() AND u.active""",
        (session_hash,),
    )


def user_by_token(conn: psycopg.Connection, token_hash: str) -> Row | None:
    return _one(
        conn,
        f"""SELECT {_USER_COLUMNS} {_USER_FROM}
            JOIN api_tokens t ON t.user_id = u.id
            WHERE t.token_hash = %s AND t.revoked_at IS NULL AND u.active""",
        (token_hash,),
    )


def insert_user(
    conn: psycopg.Connection,
    *,
    username: str,
    display_name: str,
    password_hash: str,
    role: str,
    region_id: int | None,
    school_id: int | None,
    enterprise_id: int | None,
) -> int:
    row = _one(
        conn,
        """INSERT INTO users (username, display_name, password_hash, role, region_id,
                              school_id, enterprise_id)
           VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id""",
        (username, display_name, password_hash, role, region_id, school_id, enterprise_id),
    )
    assert row is not None
    return int(row["id"])


def set_password_hash(conn: psycopg.Connection, user_id: int, password_hash: str) -> None:
    conn.execute("UPDATE users SET password_hash = %s WHERE id = %s", (password_hash, user_id))


def region_id_by_code(conn: psycopg.Connection, code: str) -> int | None:
    row = _one(conn, "SELECT id FROM regions WHERE code = %s", (code,))
    return None if row is None else int(row["id"])


def school_id_by_code(conn: psycopg.Connection, code: str) -> int | None:
    row = _one(conn, "SELECT id FROM schools WHERE code = %s", (code,))
    return None if row is None else int(row["id"])


def enterprise_id_by_credit_code(conn: psycopg.Connection, code: str) -> int | None:
    row = _one(conn, "SELECT id FROM enterprises WHERE credit_code = %s", (code,))
    return None if row is None else int(row["id"])


def insert_session(
    conn: psycopg.Connection, session_hash: str, user_id: int, expires_at: datetime
) -> None:
    conn.execute(
        "INSERT INTO sessions (id, user_id, expires_at) VALUES (%s, %s, %s)",
        (session_hash, user_id, expires_at),
    )


def delete_session(conn: psycopg.Connection, session_hash: str) -> int | None:
    """Delete a session; returns its user id (None when there was none)."""
    row = _one(conn, "DELETE FROM sessions WHERE id = %s RETURNING user_id", (session_hash,))
    return None if row is None else int(row["user_id"])


def delete_expired_sessions(conn: psycopg.Connection, user_id: int) -> None:
    conn.execute("DELETE FROM sessions WHERE user_id = %s AND expires_at <= now()", (user_id,))


def insert_token(conn: psycopg.Connection, user_id: int, token_hash: str, name: str) -> Row:
    row = _one(
        conn,
        """INSERT INTO api_tokens (user_id, token_hash, name) VALUES (%s, %s, %s)
           RETURNING id, name, created_at""",
        (user_id, token_hash, name),
    )
    assert row is not None
    return row


def revoke_token(conn: psycopg.Connection, user_id: int, token_id: int) -> bool:
    row = _one(
        conn,
        """UPDATE api_tokens SET revoked_at = now()
           WHERE id = %s AND user_id = %s AND revoked_at IS NULL RETURNING id""",
        (token_id, user_id),
    )
    return row is not None


def list_tokens(conn: psycopg.Connection, user_id: int) -> list[Row]:
    return _all(
        conn,
        "SELECT id, name, created_at, revoked_at FROM api_tokens WHERE user_id = %s ORDER BY id",
        (user_id,),
    )


# ---- what the access policy needs to know about rows (service.auth.targets) -----------------

# Region and owners of a party or catalogue row, by type: a programme lies in its school's region,
# a need in its enterprise's, a mentor in its school's or enterprise's. One small branch per type
# (each gated by its type, so only one runs per row): every recommendation request asks, and the
# one fourteen-table outer join this replaced took 1.5-15 ms to plan (GEQO) for a 0.2 ms run.
_SCOPES = """
    SELECT q.t, q.i, x.path, x.school_id, x.enterprise_id, x.found IS NOT NULL AS found
    FROM unnest(%s::text[], %s::int[]) AS q(t, i)
    LEFT JOIN LATERAL (
        SELECT g.path, s.id AS school_id, NULL::int AS enterprise_id, true AS found
        FROM schools s LEFT JOIN regions g ON g.id = s.region_id
        WHERE q.t = 'school' AND s.id = q.i
        UNION ALL
        SELECT g.path, p.school_id, NULL, true
        FROM programmes p LEFT JOIN schools ps ON ps.id = p.school_id
        LEFT JOIN regions g ON g.id = ps.region_id
        WHERE q.t = 'programme' AND p.id = q.i
        UNION ALL
        SELECT g.path, NULL, e.id, true
        FROM enterprises e LEFT JOIN regions g ON g.id = e.region_id
        WHERE q.t = 'enterprise' AND e.id = q.i
        UNION ALL
        SELECT g.path, NULL, n.enterprise_id, true
        FROM needs n LEFT JOIN enterprises ne ON ne.id = n.enterprise_id
        LEFT JOIN regions g ON g.id = ne.region_id
        WHERE q.t = 'need' AND n.id = q.i
        UNION ALL
        SELECT g.path, m.school_id, m.enterprise_id, true
        FROM mentors m LEFT JOIN schools ms ON ms.id = m.school_id
        LEFT JOIN enterprises me ON me.id = m.enterprise_id
        LEFT JOIN regions g ON g.id = coalesce(ms.region_id, me.region_id)
        WHERE q.t = 'mentor' AND m.id = q.i
        UNION ALL
        SELECT g.path, b.host_school_id, b.host_enterprise_id, true
        FROM practice_bases b LEFT JOIN regions g ON g.id = b.region_id
        WHERE q.t = 'practice_base' AND b.id = q.i
        UNION ALL
        SELECT g.path, NULL, NULL, true
        FROM parks k LEFT JOIN regions g ON g.id = k.region_id
        WHERE q.t = 'park' AND k.id = q.i
        UNION ALL
        SELECT g.path, NULL, NULL, true
        FROM bureaus u LEFT JOIN regions g ON g.id = u.region_id
        WHERE q.t = 'bureau' AND u.id = q.i
    ) x ON true"""


def row_scopes(conn: psycopg.Connection, rows: list[tuple[str, int]]) -> dict[tuple[str, int], Row]:
    """(type, id) → {path, school_id, enterprise_id, found} for catalogue rows and parties."""
    if not rows:
        return {}
    found = _all(conn, _SCOPES, ([t for t, _ in rows], [i for _, i in rows]))
    return {(r["t"], r["i"]): r for r in found}


def region_paths(conn: psycopg.Connection, region_ids: list[int]) -> dict[int, str]:
    rows = _all(conn, "SELECT id, path FROM regions WHERE id = ANY(%s)", (region_ids,))
    return {int(r["id"]): str(r["path"]) for r in rows}


def staged_with_existing(
    conn: psycopg.Connection, stage: str, table: str, key: tuple[str, ...], match: str
) -> list[Row]:
    """Each staged import record with the row it would update (by natural key), if any. `key`
    and `match` are the importer's fixed SQL expressions ({t} = table alias prefix)."""
    from psycopg import sql

    def keys(alias: str) -> sql.Composable:
        return sql.SQL(", ").join(sql.SQL(e.format(t=f"{alias}.")) for e in key)

    extra = sql.SQL(f" AND {match.format(t='t.')}" if match else "")
    return _all(
        conn,
        sql.SQL(
            """SELECT s._row, s._keyval, to_jsonb(s) AS staged, t.id AS existing_id,
                      to_jsonb(t) AS existing
               FROM {s} s LEFT JOIN {t} t ON ({kt}) = ({ks}){extra} ORDER BY s._seq"""
        ).format(
            s=sql.Identifier(stage),
            t=sql.Identifier(table),
            kt=keys("t"),
            ks=keys("s"),
            extra=extra,
        ),
    )


def run_scope(conn: psycopg.Connection, run_id: int) -> Row | None:
    """A recommendation run's requester and the regions of its items (for `run.read`)."""
    return _one(
        conn,
        """SELECT r.requester_id,
                  array_remove(array_agg(DISTINCT g.path), NULL) AS paths
           FROM recommendation_runs r
           LEFT JOIN recommendations i ON i.run_id = r.id
           LEFT JOIN regions g ON g.id = i.region_id
           WHERE r.id = %s GROUP BY r.id""",
        (run_id,),
    )


# ---- login throttling (service.auth.throttle) -------------------------------------------------


def lock_login(conn: psycopg.Connection, username: str) -> None:
    """Serialise attempts on one username until commit, so parallel guesses count exactly."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('login:' || %s, 0))", (username,))


def retry_after_s(
    conn: psycopg.Connection, username: str, client: str, limit: int, window_s: int
) -> int:
    """Seconds until fewer than `limit` failures of the username, and of the client, lie within
    the window (0 = not throttled)."""
    row = _one(
        conn,
        """SELECT greatest(0, ceil(extract(epoch FROM (max(nth) + make_interval(secs => %(w)s)
                                                         - clock_timestamp()))))::int AS wait
           FROM (
               (SELECT at AS nth FROM login_failures
                WHERE username = %(u)s AND at > clock_timestamp() - make_interval(secs => %(w)s)
                ORDER BY at DESC OFFSET %(o)s LIMIT 1)
               UNION ALL
               (SELECT at FROM login_failures
                WHERE client = %(c)s AND at > clock_timestamp() - make_interval(secs => %(w)s)
                ORDER BY at DESC OFFSET %(o)s LIMIT 1)
           ) f""",
        {"u": username, "c": client, "w": window_s, "o": limit - 1},
    )
    return int(row["wait"] or 0) if row else 0


def insert_login_failure(conn: psycopg.Connection, username: str, client: str) -> None:
    conn.execute(
        "INSERT INTO login_failures (username, client) VALUES (%s, %s)", (username, client)
    )
