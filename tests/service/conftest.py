"""A running app for HTTP tests of any service domain: `api_base` (its URL) and `api` (a client).

Module-scoped: one uvicorn server per test module, on the session's throwaway database. Pair it
with `clean_db` to start each test from empty catalogue tables.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row

from service.config import Settings
from service.main import create_app
from tests.fixtures.server import client, running_server


@pytest.fixture(scope="module")
def api_base(pg_url: str) -> Iterator[str]:
    app = create_app(Settings(database_url=pg_url, mode="test"))
    try:  # until create_app() installs the auth middleware itself
        from service.auth.middleware import AuthMiddleware, install

        if not any(m.cls is AuthMiddleware for m in app.user_middleware):
            install(app)
    except ImportError:
        pass
    with running_server(app) as base:
        yield base


def admin_token(url: str, username: str = "test_admin") -> str:
    """A province admin with an API token, made directly in the database (writes need one)."""
    from service.auth import service as auth
    from service.auth.schemas import User

    with psycopg.connect(url, row_factory=dict_row) as c:
        c.execute(
            "INSERT INTO users (username, password_hash, role) VALUES (%s, '!', "
            "'province_admin') ON CONFLICT (username) DO NOTHING",
            (username,),
        )
        user = c.execute("SELECT * FROM users WHERE username = %s", (username,)).fetchone()
        admin = User(
            id=user["id"],
            username=username,
            display_name="",
            role="province_admin",
            region_id=None,
            region_code=None,
            region_name=None,
            region_path=None,
            school_id=None,
            enterprise_id=None,
        )
        token = auth.create_token(c, admin, "tests")["token"]
        # the token's own audit entry would disturb tests that count the audit log
        c.execute("TRUNCATE audit_log")
    return str(token)


@pytest.fixture
def api(api_base: str, clean_db: str) -> Iterator[httpx.Client]:
    """A client signed in as a province admin (catalogue writes need an account)."""
    with client(api_base) as c:
        c.headers["Authorization"] = f"Bearer {admin_token(clean_db)}"
        yield c


@pytest.fixture
def anon(api_base: str) -> Iterator[httpx.Client]:
    """An anonymous client."""
    with client(api_base) as c:
        yield c
