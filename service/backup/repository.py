"""The SQL of backups: which tables the database has, and how many rows each holds."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql


def tables(conn: psycopg.Connection[Any]) -> list[str]:
    rows = conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
    ).fetchall()
    return [r[0] if isinstance(r, tuple) else r["tablename"] for r in rows]


def row_counts(conn: psycopg.Connection[Any], names: list[str] | None = None) -> dict[str, int]:
    """Exact row counts (count(*)) of the given tables, or of every table in `public`."""
    out: dict[str, int] = {}
    for name in tables(conn) if names is None else names:
        row = conn.execute(
            sql.SQL("SELECT count(*) AS n FROM {}").format(sql.Identifier("public", name))
        ).fetchone()
        assert row is not None
        out[name] = int(row[0] if isinstance(row, tuple) else row["n"])
    return out
