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
    """Crashes and outages are about the database and the process, not retrieval: the engine
    uses the tests' hashing encoder, so its load does not compete with the test for the CPU.
    (test_corrupt_cache.py overrides this fixture and keeps the real default encoder.)"""
    with server_process(db, tmp_path_factory.mktemp("var"), XIAOQI_ENCODER="hash") as server:
        server.start()
        yield server


@pytest.fixture
def server(proc: ServerProcess) -> ServerProcess:
    """The module's server, started again if an earlier test crashed it on purpose."""
    if proc.proc is None or proc.proc.poll() is not None:
        proc.start()
    return proc
