from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import psycopg

from service.embedded_pg import ensure_server, server_running, stop_server


def test_start_reuse_stop() -> None:
    root = Path(tempfile.mkdtemp(prefix="xiaoqi-pg-"))
    os.chmod(root, 0o755)
    pgdata = root / "pgdata"
    try:
        first = ensure_server(pgdata)
        assert server_running(pgdata)
        with psycopg.connect(first.uri) as c:
            assert c.execute("SELECT 1").fetchone() == (1,)
        again = ensure_server(pgdata)  # reuse: same postmaster
        assert again.pid == first.pid
        assert stop_server(pgdata) is True
        assert not server_running(pgdata)
        assert stop_server(pgdata) is False
        restarted = ensure_server(pgdata)  # data directory survives a stop
        assert restarted.pid != first.pid
        with psycopg.connect(restarted.uri) as c:
            assert c.execute("SELECT 2").fetchone() == (2,)
    finally:
        stop_server(pgdata)
        shutil.rmtree(root, ignore_errors=True)
