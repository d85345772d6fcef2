"""Data versions are bumped once per writing transaction and entity (migration 0073): as many
statements as an import makes, the committed version moves once, cheaply; a savepoint rolled
back takes its bump with it, so a later write in the same transaction bumps again."""

from __future__ import annotations

import time
from typing import Any

import psycopg


def _version(conn: psycopg.Connection[Any], entity: str) -> int:
    row: Any = conn.execute(
        "SELECT version FROM data_versions WHERE entity_type = %s", (entity,)
    ).fetchone()
    return 0 if row is None else int(row[0] if isinstance(row, tuple) else row["version"])


def _park(conn: psycopg.Connection[Any], name: str) -> None:
    conn.execute(
        "INSERT INTO parks (name, region_id) SELECT %s, id FROM regions ORDER BY id LIMIT 1",
        (name,),
    )


def test_one_bump_per_transaction_and_a_rolled_back_savepoint_takes_its_bump(
    pg_url: str,
) -> None:
    tag = f"版本测试园{time.monotonic_ns()}"
    with psycopg.connect(pg_url) as conn:
        before = _version(conn, "park")  # (opens the transaction: the loop's are savepoints)
        for i in range(300):  # 300 statements, each in a savepoint (as an import's pairs are)
            with conn.transaction():
                _park(conn, f"{tag}-{i}")
        assert _version(conn, "park") == before + 1  # moved, inside the transaction too
        conn.commit()
        assert _version(conn, "park") == before + 1

        # the first write of a transaction in a savepoint rolled back: the bump goes with it,
        # and the transaction's next write bumps
        conn.execute("SELECT 1")
        with conn.transaction():
            _park(conn, f"{tag}-gone")
            assert _version(conn, "park") == before + 2
            raise psycopg.Rollback()
        assert _version(conn, "park") == before + 1
        _park(conn, f"{tag}-kept")
        assert _version(conn, "park") == before + 2
        conn.commit()

        # another transaction bumps again; another entity has its own marker
        _park(conn, f"{tag}-next")
        conn.commit()
        assert _version(conn, "park") == before + 3
        conn.execute("DELETE FROM parks WHERE name LIKE %s", (f"{tag}%",))
        conn.commit()
        assert _version(conn, "park") == before + 4
