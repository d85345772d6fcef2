"""`xiaoqi serve --workers 2` (service/workers.py) as a real process tree over real HTTP: both
forked workers answer on the one socket, a killed or hung worker is replaced by a new fork, and
SIGTERM stops the workers and the parent cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tests.fixtures.server import free_port

REPO = Path(__file__).resolve().parents[2]
HEALTHCHECK_S = 3


def _until(what: str, check: Callable[[], Any], timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (httpx.HTTPError, psutil.Error) as exc:
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


class Served:
    def __init__(self, proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.proc, self.port, self.log = proc, port, log
        self.base = f"http://127.0.0.1:{port}"

    def workers(self) -> list[int]:
        return sorted(
            p.pid
            for p in psutil.Process(self.proc.pid).children()
            if p.status() != psutil.STATUS_ZOMBIE
        )

    def answered_by(self) -> int:
        """The pid of the worker that accepted a new connection and answered /health on it."""
        with httpx.Client(base_url=self.base, timeout=10) as client:
            assert client.get("/health").status_code in (200, 503)  # loading or ready: it answers
            mine = next(
                c.laddr.port
                for c in psutil.Process().net_connections("tcp")
                if c.raddr and c.raddr.port == self.port
            )
            for pid in self.workers():
                for c in psutil.Process(pid).net_connections("tcp"):
                    if c.raddr and c.raddr.port == mine:
                        return pid
        raise AssertionError("no worker holds the connection")

    def only(self, pid: int) -> int:
        """Answered by `pid` while every other worker is stopped (SIGSTOP takes it off accept)."""
        others = [p for p in self.workers() if p != pid]
        for other in others:
            os.kill(other, signal.SIGSTOP)
        try:
            return self.answered_by()
        finally:
            for other in others:
                os.kill(other, signal.SIGCONT)

    def text(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@contextmanager
def served(pg_url: str, tmp_path: Path) -> Iterator[Served]:
    port = free_port()
    log = tmp_path / "serve.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("XIAOQI_")}
    env |= {
        "XIAOQI_DATABASE_URL": pg_url,
        "XIAOQI_VAR_DIR": str(tmp_path / "var"),
        "XIAOQI_INDEX_DIR": str(tmp_path / "var" / "indexes"),
        "XIAOQI_ENCODER": "hash",  # the engine's load is not what these tests are about
        "XIAOQI_MODE": "test",
    }
    cmd = [sys.executable, "-m", "scripts.cli", "serve", "--workers", "2", "--port", str(port)]
    cmd += ["--worker-healthcheck-s", str(HEALTHCHECK_S)]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Served(proc, port, log)
    try:
        _until("two workers", lambda: len(server.workers()) == 2 or None)
        _until("an answer", lambda: httpx.get(f"{server.base}/health", timeout=5))
        yield server
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


@pytest.fixture(scope="module")
def server(pg_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with served(pg_url, tmp_path_factory.mktemp("workers")) as s:
        yield s


def test_both_forked_workers_answer_on_one_socket(server: Served) -> None:
    first, second = _until(
        "two workers", lambda: server.workers() if len(server.workers()) == 2 else None
    )
    assert server.only(first) == first
    assert server.only(second) == second
    # forks of the parent, not new interpreters: the worker's command line is the parent's
    parent = psutil.Process(server.proc.pid)
    assert all(psutil.Process(p).cmdline() == parent.cmdline() for p in (first, second))


def test_a_killed_worker_is_replaced(server: Served) -> None:
    before = _until("two workers", lambda: server.workers() if len(server.workers()) == 2 else None)
    os.kill(before[0], signal.SIGKILL)
    after = _until(
        "a replacement", lambda: w if len(w := server.workers()) == 2 and w != before else None
    )
    (new,) = set(after) - set(before)
    assert before[1] in after
    assert _until("the new worker to answer", lambda: server.only(new)) == new, server.text()
    assert "exited with -9" in server.text()


def test_a_hung_worker_is_replaced_after_the_health_check(server: Served) -> None:
    before = _until("two workers", lambda: server.workers() if len(server.workers()) == 2 else None)
    os.kill(before[0], signal.SIGSTOP)  # alive, but answers no ping
    started = time.monotonic()
    after = _until(
        "a replacement",
        lambda: w if len(w := server.workers()) == 2 and before[0] not in w else None,
        timeout=HEALTHCHECK_S + 30,
    )
    assert time.monotonic() - started >= HEALTHCHECK_S - 1.5  # not before its deadline
    (new,) = set(after) - set(before)
    assert _until("the new worker to answer", lambda: server.only(new)) == new, server.text()
    assert "did not answer" in server.text()


def test_sigterm_stops_workers_and_parent_cleanly(pg_url: str, tmp_path: Path) -> None:
    with served(pg_url, tmp_path) as server:
        workers = server.workers()
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(40) == 0, server.text()
        assert not any(
            psutil.pid_exists(p) and psutil.Process(p).status() != "zombie" for p in workers
        )
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{server.base}/health", timeout=2)
        assert "Traceback" not in server.text()
        assert "while the parent runs threads" not in server.text()  # forked from one thread
