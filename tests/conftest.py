"""Shared fixtures: one throwaway embedded PostgreSQL per test session, migrated once."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.rows import dict_row

from service.embedded_pg import ensure_server, stop_server

SHARED_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"

# Catalogue tables emptied between API tests (reference data such as regions stays).
TABLES = [
    "audit_log",
    "login_failures",  # issue 10: throttling counts failures per client (127.0.0.1 in tests)
    "reviews",
    "recommendations",
    "recommendation_runs",
    "sessions",
    "api_tokens",
    "users",
    "partnerships",
    "practice_bases",
    "mentors",
    "needs",
    "enterprises",
    "programmes",
    "schools",
    "parks",
    "bureaus",
]


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A private server for this test run (or XIAOQI_TEST_DATABASE_URL if given)."""
    given = os.environ.get("XIAOQI_TEST_DATABASE_URL")
    if given:
        yield given
        return
    root = Path(tempfile.mkdtemp(prefix="xiaoqi-test-"))
    os.chmod(root, 0o755)
    pgdata = root / "pgdata"
    server = ensure_server(pgdata)
    with psycopg.connect(server.uri, autocommit=True) as conn:
        conn.execute("CREATE DATABASE xiaoqi_test")
    url = server.uri.replace("/postgres?", "/xiaoqi_test?")
    from service.reference import setup_database

    with psycopg.connect(url, row_factory=dict_row) as conn:
        setup_database(conn)
    os.environ["XIAOQI_DATABASE_URL"] = url
    try:
        yield url
    finally:
        stop_server(pgdata)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def conn(pg_url: str) -> Iterator[psycopg.Connection]:
    """A connection whose work is rolled back after the test."""
    with psycopg.connect(pg_url, row_factory=dict_row) as c:
        yield c
        c.rollback()


def truncate_all(url: str) -> None:
    # A server from an earlier test module may still be re-indexing in a background thread; its
    # reads can deadlock with TRUNCATE's exclusive locks. PostgreSQL aborts one side: retry ours.
    for attempt in range(5):
        try:
            with psycopg.connect(url) as c:
                c.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
            return
        except psycopg.errors.DeadlockDetected:
            if attempt == 4:
                raise
            time.sleep(0.2 * (attempt + 1))


@pytest.fixture
def clean_db(pg_url: str) -> Iterator[str]:
    truncate_all(pg_url)
    yield pg_url


@pytest.fixture(scope="module")
def module_starts_empty(pg_url: str) -> None:
    """For modules whose rolled-back `conn` tests count rows: pytest-xdist sends whole files, in
    any order, to each worker, and an earlier file may have committed rows and kept them."""
    truncate_all(pg_url)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.skip("../shared/data is not beside this checkout")
    return SHARED_DATA
