"""Logged-in recommendation requests wait for a loading engine without a pooled connection
(issue 14 item 3; the 100k soak's finding 3: `subject_scope` held its `Conn` through the wait,
so a crowd of waiters took the whole pool and the catalogue answered 503). Over real HTTP."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from service.config import Settings
from service.main import create_app
from tests.fixtures.server import running_server, wait_engine_ready
from tests.service.conftest import admin_token
from tests.service.recommendations.world import World, build

POOL = 2
CROWD = 8  # more waiters than the pool has connections


@pytest.fixture
def served(clean_db: str, tmp_path: Path) -> Iterator[tuple[FastAPI, str, World]]:
    world = build(clean_db)
    settings = Settings(
        database_url=clean_db,
        mode="test",
        encoder="hash-64",
        var_dir=tmp_path,
        pool_min_size=1,
        pool_max_size=POOL,
        pool_timeout_s=0.5,
        engine_wait_s=4,
    )
    app = create_app(settings)
    with running_server(app) as base:
        wait_engine_ready(base)
        yield app, base, world


def test_logged_in_waiters_for_a_loading_engine_leave_the_pool_free(
    served: tuple[FastAPI, str, World],
) -> None:
    app, base, world = served
    auth = {"Authorization": f"Bearer {admin_token(app.state.settings.database_url, 'pool_admin')}"}
    url = f"{base}/v1/recommendations/partner-enterprises"
    body = {"subject": {"type": "school", "id": world["S1"]}, "k": 5}
    engine, ready = app.state.engine, app.state.engine_ready
    app.state.engine, app.state.engine_ready = None, threading.Event()  # "loading" again
    try:
        with ThreadPoolExecutor(CROWD) as crowd:
            waiting = [
                crowd.submit(httpx.post, url, json=body, headers=auth, timeout=30)
                for _ in range(CROWD)
            ]
            time.sleep(1.0)  # every waiter is past its scope check and waiting
            assert not any(f.done() for f in waiting)
            for _ in range(3):
                t0 = time.monotonic()
                r = httpx.get(f"{base}/v1/schools", timeout=30)
                assert r.status_code == 200, r.text
                assert time.monotonic() - t0 < 2
            # the scope is still checked before the wait: an unknown subject is 404 at once
            t0 = time.monotonic()
            missing = {"subject": {"type": "school", "id": 2_000_000_000}}
            r = httpx.post(url, json=missing, headers=auth, timeout=30)
            assert r.status_code == 404, r.text
            assert time.monotonic() - t0 < 2
            answers = [f.result() for f in waiting]
        assert [a.status_code for a in answers] == [503] * CROWD
        assert all(a.json()["error"] == "engine_unavailable" for a in answers)
    finally:
        app.state.engine, app.state.engine_ready = engine, ready
    r = httpx.post(url, json=body, headers=auth, timeout=30)
    assert r.status_code == 200, r.text
    assert r.json()["results"][0]["items"]
