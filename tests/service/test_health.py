"""Failure answers over real HTTP: pool exhausted → 503, statement timeout → 504, engine loading
→ /health degraded, and no starvation (callers waiting for the engine hold no pooled connection);
anonymous search is rate-limited per client address. A stopped database is tests/faults/."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import psycopg
import pytest
from fastapi import FastAPI

from service.config import Settings
from service.main import create_app
from tests.fixtures.server import running_server, wait_engine_ready
from tests.service.conftest import admin_token


@pytest.fixture(scope="module")
def served(pg_url: str) -> Iterator[tuple[FastAPI, str]]:
    settings = Settings(
        database_url=pg_url,
        mode="test",
        pool_min_size=1,
        pool_max_size=2,
        pool_timeout_s=0.5,
        statement_timeout_ms=800,
        engine_wait_s=3,
        anon_search_burst=4,
        anon_search_per_minute=6,
    )
    app = create_app(settings)
    with running_server(app) as base:
        wait_engine_ready(base)
        yield app, base


def _is_error_body(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    assert set(body) <= {"error", "detail", "errors"} and body["error"] and body["detail"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["detail"]), body  # Chinese
    return body


def test_health_ok_when_everything_serves(served: tuple[FastAPI, str]) -> None:
    _, base = served
    r = httpx.get(f"{base}/health")
    assert r.status_code == 200
    assert r.json()["status"] == "ok" and r.json()["reasons"] == []


def test_pool_exhausted_is_a_prompt_503_with_retry_after(served: tuple[FastAPI, str]) -> None:
    app, base = served
    pool = app.state.pool
    held = [pool.getconn(timeout=10) for _ in range(2)]  # every connection the pool may open
    try:
        t0 = time.monotonic()
        r = httpx.get(f"{base}/v1/schools", timeout=30)
        assert time.monotonic() - t0 < 5
        _is_error_body(r, 503)
        assert r.headers["Retry-After"].isdigit()
        health = httpx.get(f"{base}/health", timeout=30)
        assert health.status_code == 503 and health.json()["status"] == "degraded"
        assert health.json()["database"] == "unavailable"
        assert any("数据库" in reason for reason in health.json()["reasons"])
    finally:
        for conn in held:
            pool.putconn(conn)
    assert httpx.get(f"{base}/v1/schools").status_code == 200  # recovers at once
    assert httpx.get(f"{base}/health").status_code == 200


def test_statement_timeout_is_504(served: tuple[FastAPI, str], pg_url: str) -> None:
    _, base = served
    with psycopg.connect(pg_url) as locker:
        locker.execute("LOCK TABLE schools IN ACCESS EXCLUSIVE MODE")  # the list query waits
        t0 = time.monotonic()
        r = httpx.get(f"{base}/v1/schools", timeout=30)
        assert time.monotonic() - t0 < 5
        _is_error_body(r, 504)
        assert "Retry-After" in r.headers
    assert httpx.get(f"{base}/v1/schools").status_code == 200


def test_waiting_for_the_engine_takes_no_pooled_connection(served: tuple[FastAPI, str]) -> None:
    """While the engine 'loads', a crowd of searches waits without a connection: the catalogue
    (and /health, which says degraded) still answers; then the waiters get a clean 503."""
    app, base = served
    engine, ready = app.state.engine, app.state.engine_ready
    app.state.engine, app.state.engine_ready = None, threading.Event()
    token = admin_token(app.state.settings.database_url, "health_admin")
    auth = {"Authorization": f"Bearer {token}"}
    try:
        with ThreadPoolExecutor(12) as crowd:
            waiting = [
                crowd.submit(httpx.get, f"{base}/v1/search?q=智能制造", headers=auth, timeout=30)
                for _ in range(12)
            ]
            time.sleep(0.5)
            t0 = time.monotonic()
            assert httpx.get(f"{base}/v1/schools", timeout=30).status_code == 200
            assert time.monotonic() - t0 < 2
            health = httpx.get(f"{base}/health", timeout=30)
            assert health.status_code == 503 and health.json()["engine"] == "loading"
            for f in waiting:
                _is_error_body(f.result(), 503)
    finally:
        app.state.engine, app.state.engine_ready = engine, ready
    assert httpx.get(f"{base}/v1/search?q=智能制造", headers=auth).status_code == 200


def test_anonymous_search_is_rate_limited_per_client(served: tuple[FastAPI, str]) -> None:
    app, base = served
    token = admin_token(app.state.settings.database_url, "health_admin")
    codes = [httpx.get(f"{base}/v1/search?q=机械").status_code for _ in range(8)]
    assert codes[:4] == [200] * 4 and 429 in codes[4:], codes
    r = httpx.get(f"{base}/v1/search?q=机械")
    _is_error_body(r, 429)
    assert int(r.headers["Retry-After"]) >= 1
    # a signed-in caller from the same address is not limited by the anonymous budget
    signed = httpx.get(f"{base}/v1/search?q=机械", headers={"Authorization": f"Bearer {token}"})
    assert signed.status_code == 200
    assert httpx.get(f"{base}/network").status_code == 200  # its own budget
