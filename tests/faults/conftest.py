"""Fault tests: each module gets its own embedded PostgreSQL and a real server process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.faults.helpers import PrivateDatabase, ServerProcess, private_database, server_process


@pytest.fixture(scope="module")
def db() -> Iterator[PrivateDatabase]:
    with private_database() as database:
        yield database


@pytest.fixture(scope="module")
def proc(db: PrivateDatabase, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with server_process(db, tmp_path_factory.mktemp("var")) as server:
        server.start()
        yield server


@pytest.fixture
def server(proc: ServerProcess) -> ServerProcess:
    """The module's server, started again if an earlier test crashed it on purpose."""
    if proc.proc is None or proc.proc.poll() is not None:
        proc.start()
    return proc
