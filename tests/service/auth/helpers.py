"""Shared by the auth and review tests: the app under uvicorn, users, logged-in clients."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row

from service.auth.middleware import AuthMiddleware, install
from service.auth.service import hash_password
from service.config import Settings
from service.main import create_app
from tests.fixtures.server import client, running_server

PASSWORD = "correct-horse-9"


@lru_cache
def password_hash() -> str:
    return hash_password(PASSWORD)  # argon2 is slow on purpose: hash once per test session


@pytest.fixture(scope="module")
def base_url(pg_url: str) -> Iterator[str]:
    """The real app (auth middleware installed, as create_app will) on a loopback port."""
    app = create_app(Settings(database_url=pg_url, mode="test"))
    if not any(m.cls is AuthMiddleware for m in app.user_middleware):
        install(app)  # until create_app() calls service.auth.middleware.install itself
    with running_server(app) as base:
        yield base


def region_id(conn: psycopg.Connection[Any], code: str) -> int:
    row = conn.execute("SELECT id FROM regions WHERE code = %s", (code,)).fetchone()
    assert row is not None, code
    return int(row[0] if isinstance(row, tuple) else row["id"])


def make_user(
    url: str,
    username: str,
    role: str,
    *,
    region: str | None = None,
    school_id: int | None = None,
    enterprise_id: int | None = None,
) -> int:
    with psycopg.connect(url, row_factory=dict_row) as c:
        rid = region_id(c, region) if region else None
        row = c.execute(
            """INSERT INTO users (username, password_hash, role, region_id, school_id,
                                  enterprise_id)
               VALUES (%s, %s, %s, %s, %s, %s) RETURNING id""",
            (username, password_hash(), role, rid, school_id, enterprise_id),
        ).fetchone()
        assert row is not None
        return int(row["id"])


def login(base: str, username: str, password: str = PASSWORD) -> httpx.Client:
    c = client(base)
    r = c.post("/v1/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return c


def token_client(base: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=base, timeout=60, headers={"Authorization": f"Bearer {token}"})


def one(url: str, query: str, params: Any = None) -> dict[str, Any]:
    with psycopg.connect(url, row_factory=dict_row) as c:
        row = c.execute(query, params).fetchone()
        assert row is not None
        return row


def rows(url: str, query: str, params: Any = None) -> list[dict[str, Any]]:
    with psycopg.connect(url, row_factory=dict_row) as c:
        return c.execute(query, params).fetchall()
