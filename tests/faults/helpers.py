"""Fault-test plumbing: a private embedded PostgreSQL in tmp and a real `xiaoqi serve` process.

Each fault test owns its database server (stopping it cannot affect any other test) and runs
the service as a separate operating-system process, so kill -9 is a real crash: no finally
blocks, no lifespan shutdown, sockets closed by the kernel.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg.rows import dict_row

from service.embedded_pg import ensure_server, stop_server
from tests.fixtures.server import free_port

REPO = Path(__file__).resolve().parents[2]
APP_NAME = "xiaoqi-fault-server"  # application_name of the server's connections


def wait_for(what: str, check: Callable[[], Any], timeout: float, every: float = 0.1) -> Any:
    """Poll `check` until it returns something truthy; fail with `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (httpx.HTTPError, psycopg.Error) as exc:
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")


@dataclass
class PrivateDatabase:
    """An embedded PostgreSQL of this test alone, migrated, in a temporary directory."""

    root: Path
    url: str = ""

    @property
    def pgdata(self) -> Path:
        return self.root / "pgdata"

    def start(self) -> str:
        for attempt in range(3):
            try:
                uri = ensure_server(self.pgdata).uri
                break
            except subprocess.TimeoutExpired:  # the wheel's pg_ctl waits 10 s; a busy machine
                if attempt == 2:  # may need longer, and the next call finds it running
                    raise
        if not self.url:
            with psycopg.connect(uri, autocommit=True) as c:
                c.execute("CREATE DATABASE xiaoqi_fault")
            self.url = uri.replace("/postgres?", "/xiaoqi_fault?")
            from service.reference import setup_database

            with psycopg.connect(self.url, row_factory=dict_row) as c:
                setup_database(c)
        return self.url

    def stop(self) -> None:
        stop_server(self.pgdata)

    def connect(self) -> psycopg.Connection[dict[str, Any]]:
        return psycopg.connect(self.url, row_factory=dict_row)

    def scalar(self, query: str, params: Any = None) -> Any:
        with self.connect() as c:
            row = c.execute(query, params).fetchone()
            assert row is not None
            return next(iter(row.values()))

    def server_backends(self) -> list[dict[str, Any]]:
        """The service's own connections (by application_name), with what each is doing."""
        with self.connect() as c:
            return c.execute(
                """SELECT pid, state, wait_event_type, left(query, 200) AS query
                     FROM pg_stat_activity WHERE application_name = %s""",
                (APP_NAME,),
            ).fetchall()


_template: Path | None = None


def _migrated_template() -> Path:
    """A stopped data directory with the migrated database, made once per test process:
    copying it (cp -a keeps the server user's ownership) is much faster than initdb and the
    migrations again for every module."""
    global _template
    if _template is None or not (_template / "pgdata" / "PG_VERSION").exists():
        root = Path(tempfile.mkdtemp(prefix="xiaoqi-fault-template-"))
        os.chmod(root, 0o755)
        atexit.register(shutil.rmtree, root, True)
        PrivateDatabase(root).start()
        stop_server(root / "pgdata")
        _template = root
    return _template / "pgdata"


@contextmanager
def private_database() -> Iterator[PrivateDatabase]:
    root = Path(tempfile.mkdtemp(prefix="xiaoqi-fault-"))
    os.chmod(root, 0o755)  # the embedded server may run as another user
    db = PrivateDatabase(root)
    try:
        subprocess.run(["cp", "-a", str(_migrated_template()), str(db.pgdata)], check=True)
        uri = ensure_server(db.pgdata).uri
        db.url = uri.replace("/postgres?", "/xiaoqi_fault?")
        db.start()
        yield db
    finally:
        db.stop()
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class ServerProcess:
    """`python -m scripts.cli serve` (what `xiaoqi serve` runs) on a free loopback port."""

    db: PrivateDatabase
    var_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    base: str = ""
    log_path: Path | None = None
    starts: int = 0

    def start(self, timeout: float = 60) -> str:
        port = free_port()
        self.starts += 1
        self.log_path = self.var_dir / f"server-{self.starts}.log"
        url = self.db.url + f"&application_name={APP_NAME}"
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("XIAOQI_")}
        env = {
            **inherited,  # nothing another test set for its own server (index dir, limits)
            "XIAOQI_DATABASE_URL": url,
            "XIAOQI_VAR_DIR": str(self.var_dir),
            "XIAOQI_INDEX_DIR": str(self.var_dir / "indexes"),  # whatever a .env file says
            "XIAOQI_MODE": "test",
            "PYTHONUNBUFFERED": "1",
            **self.env,
        }
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "scripts.cli", "serve", "--host", "127.0.0.1"]
                + ["--port", str(port)],
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.base = f"http://127.0.0.1:{port}"

        def up() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited {self.proc.returncode}:\n{self.log()}")
            return httpx.get(f"{self.base}/health", timeout=5).status_code in (200, 503)

        wait_for("the server to answer /health", up, timeout)
        return self.base

    def wait_engine_ready(self, timeout: float = 90) -> dict[str, Any]:
        def ready() -> Any:
            r = httpx.get(f"{self.base}/health", timeout=5)
            body = r.json()
            if body["engine"] == "failed":
                raise AssertionError(f"engine failed: {body}\n{self.log()}")
            return body if r.status_code == 200 else None

        body: dict[str, Any] = wait_for("the engine to be ready", ready, timeout, every=0.3)
        return body

    def kill9(self, wait_sessions: bool = True) -> None:
        """A crash: SIGKILL, then (unless told not to, e.g. while a test still holds a lock a
        session waits on) wait until PostgreSQL has ended the server's sessions."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        assert self.proc.wait(10) == -signal.SIGKILL, "the server exited before the kill"
        if wait_sessions:
            self.wait_sessions_gone()

    def wait_sessions_gone(self) -> None:
        wait_for("the crashed server's sessions to end", lambda: not self.db.server_backends(), 30)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    def log(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-6000:]

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.base, timeout=30, headers=headers)


@contextmanager
def server_process(db: PrivateDatabase, var_dir: Path, **env: str) -> Iterator[ServerProcess]:
    server = ServerProcess(db, var_dir, env=env)
    try:
        yield server
    finally:
        if server.proc is not None and server.proc.poll() is None:
            server.proc.kill()
            server.proc.wait(10)


def api_token(url: str, username: str, role: str, **scope: Any) -> tuple[int, str]:
    """A user (no password login needed) and an API token for it, written directly."""
    from service.auth import repository as auth_repo
    from service.auth import service as auth

    columns = {"region_id": None, "school_id": None, "enterprise_id": None}
    c: Any
    with psycopg.connect(url, row_factory=dict_row) as c:
        region = scope.pop("region", None)
        if region:
            row = c.execute("SELECT id FROM regions WHERE code = %s", (region,)).fetchone()
            assert row is not None
            columns["region_id"] = row["id"]
        columns.update(scope)
        c.execute(
            """INSERT INTO users (username, password_hash, role, region_id, school_id,
                                  enterprise_id)
               VALUES (%s, '!', %s, %s, %s, %s)""",
            (username, role, columns["region_id"], columns["school_id"], columns["enterprise_id"]),
        )
        found = auth_repo.user_by_username(c, username)
        assert found is not None
        user = auth_repo.to_user(found)
        token = auth.create_token(c, user, "fault tests")["token"]
        return user.id, str(token)


def regions(url: str) -> list[tuple[str, str]]:
    """(code, name) of every city and county: the region column of generated enterprises."""
    with psycopg.connect(url, row_factory=dict_row) as c:
        rows = c.execute("SELECT code, name FROM regions WHERE level <> 'province' ORDER BY code")
        return [(r["code"], r["name"]) for r in rows]


def write_enterprises_csv(path: Path, url: str, start: int, n: int) -> Path:
    """n valid, distinct enterprises (credit codes start..start+n-1), as the import expects."""
    import csv

    from scripts.bench_import import HEADER, credit_code

    places = regions(url)
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        for i in range(start, start + n):
            code, name = places[i % len(places)]
            w.writerow(
                [
                    f"河南故障测试{i}有限公司",
                    credit_code(i, code),
                    "C34",
                    name,
                    "",
                    "中型",
                    "",
                    f"数控机床与智能装备的研发、生产与服务（第 {i} 号）",
                    f"联系人{i % 97}",
                    f"0371-{6000000 + i:07d}",
                ]
            )
    return path
