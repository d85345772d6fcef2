"""A running app for HTTP tests of any service domain: `api_base` (its URL) and `api` (a client).

Module-scoped: one uvicorn server per test module, on the session's throwaway database. Pair it
with `clean_db` to start each test from empty catalogue tables.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

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


@pytest.fixture
def api(api_base: str) -> Iterator[httpx.Client]:
    with client(api_base) as c:
        yield c
