"""Connections, the pool and migrations."""

from __future__ import annotations

import hashlib
import select
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from service.config import Settings, get_settings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def database_url(settings: Settings | None = None) -> str:
    """The configured server, or the embedded one (started or reused) when none is configured."""
    settings = settings or get_settings()
    if settings.database_url:
        return settings.database_url
    from service.embedded_pg import ensure_server

    return ensure_server(settings.pgdata).uri


def connect(url: str | None = None, **kwargs: object) -> psycopg.Connection:
    return psycopg.connect(url or database_url(), row_factory=dict_row, **kwargs)  # type: ignore[arg-type]


def check_connection(conn: psycopg.Connection) -> None:
    """The pool's check as a connection is handed out, without a round trip while its socket
    has nothing to read: a server that ended the connection (restart, crash, terminated
    backend) has sent its FATAL message or closed the socket, which makes it readable; only
    then is the connection asked (psycopg_pool's check, an empty query) and, dead, replaced."""
    if conn.closed:
        raise psycopg.OperationalError("the connection is closed")
    # poll, not select: select refuses descriptors >= 1024 (a long-lived process has them)
    poller = select.poll()
    poller.register(conn.fileno(), select.POLLIN)
    if poller.poll(0):
        ConnectionPool.check_connection(conn)


def make_pool(url: str, settings: Settings | None = None) -> ConnectionPool:
    """The request pool: bounded waits everywhere, so an outage is a prompt 503, not a hang.

    - a request waits at most pool_timeout_s for a connection (PoolTimeout → 503);
    - a new connection gives up after connect_timeout_s;
    - every connection is checked as it is handed out (check_connection: no round trip
      while the server has said nothing), so connections a database restart killed are
      replaced instead of failing one request each;
    - a lost connection is re-made with backoff for pool_reconnect_timeout_s, after which the
      next request that needs one starts a fresh attempt (recovery within seconds of the
      database returning, however long it was gone)."""
    settings = settings or get_settings()
    timeout = int(settings.statement_timeout_ms)
    idle = int(settings.idle_in_transaction_timeout_ms)

    def configure(conn: psycopg.Connection) -> None:
        conn.execute(f"SET statement_timeout = {timeout}")
        conn.execute(f"SET idle_in_transaction_session_timeout = {idle}")
        conn.commit()

    return ConnectionPool(
        url,
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        kwargs={"row_factory": dict_row, "connect_timeout": settings.connect_timeout_s},
        configure=configure,
        check=check_connection,
        timeout=settings.pool_timeout_s,
        reconnect_timeout=settings.pool_reconnect_timeout_s,
        open=True,
    )


@contextmanager
def transaction(pool: ConnectionPool) -> Iterator[psycopg.Connection]:
    """One transaction: commit on success, roll back on any exception."""
    with pool.connection() as conn, conn.transaction():
        yield conn


def migration_files() -> list[Path]:
    return sorted(MIGRATIONS_DIR.glob("*.sql"))


def migrate(conn: psycopg.Connection) -> list[str]:
    """Apply pending migrations in order; each in its own transaction, recorded with a checksum."""
    conn.execute(
        """CREATE TABLE IF NOT EXISTS schema_migrations (
               name text PRIMARY KEY, checksum text NOT NULL,
               applied_at timestamptz NOT NULL DEFAULT now())"""
    )
    conn.commit()
    # One migrator at a time (tests and the server may start together).
    conn.execute("SELECT pg_advisory_lock(727100)")
    try:
        done = {
            r[0] if isinstance(r, tuple) else r["name"]: r
            for r in conn.execute("SELECT name, checksum FROM schema_migrations").fetchall()
        }
        applied: list[str] = []
        for path in migration_files():
            sql = path.read_text(encoding="utf-8")
            checksum = hashlib.sha256(sql.encode()).hexdigest()
            if path.name in done:
                row = done[path.name]
                old = row[1] if isinstance(row, tuple) else row["checksum"]
                if old != checksum:
                    raise RuntimeError(f"migration {path.name} changed after it was applied")
                continue
            with conn.transaction():
                conn.execute(sql.encode())  # a file of statements: no parameters
                conn.execute(
                    "INSERT INTO schema_migrations (name, checksum) VALUES (%s, %s)",
                    (path.name, checksum),
                )
            applied.append(path.name)
        conn.commit()
        return applied
    finally:
        conn.execute("SELECT pg_advisory_unlock(727100)")
        conn.commit()
