"""The database stopped under a running `xiaoqi serve`, then started again.

While it is down every database-backed request (anonymous, with a token, a login) answers a
prompt 503 with Retry-After and the usual JSON body in Chinese, and /health says degraded with
a non-200 status. Once it is back the same process serves again by itself within 30 s.
The database is this module's own (tests/faults/helpers.py), so no other test sees the outage.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from tests.faults.helpers import PrivateDatabase, ServerProcess, api_token, wait_for

ANSWER_WITHIN_S = 5.0
RECOVER_WITHIN_S = 30.0


def _timed(call: Any) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def _clean_503(r: httpx.Response, seconds: float) -> None:
    assert seconds < ANSWER_WITHIN_S, f"{r.request.url}: {seconds:.1f} s"
    assert r.status_code == 503, (r.request.url, r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/json")
    assert r.headers["Retry-After"].isdigit()
    body = r.json()
    assert body["error"] == "service_unavailable", body
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["detail"]), body  # Chinese


def test_database_stop_gives_clean_503s_then_the_service_recovers(
    server: ServerProcess, db: PrivateDatabase
) -> None:
    _, token = api_token(db.url, "outage_admin", "province_admin")
    server.wait_engine_ready()
    with server.client() as anon, server.client(token) as admin:
        assert anon.get("/v1/schools").status_code == 200
        assert admin.get("/v1/enterprises").status_code == 200

        db.stop()
        requests = {
            "anonymous read": lambda: anon.get("/v1/schools"),
            "read with a token": lambda: admin.get("/v1/enterprises"),
            "write with a token": lambda: admin.post("/v1/schools", json={"name": "停机测试学校"}),
            "login": lambda: anon.post(
                "/v1/auth/login", json={"username": "outage_admin", "password": "x" * 12}
            ),
        }
        # all at once, twice: the first round finds the dead pooled connections, the second none
        with ThreadPoolExecutor(len(requests)) as crowd:
            for _round in range(2):
                for answer in list(crowd.map(_timed, requests.values())):
                    _clean_503(*answer)
        health, seconds = _timed(lambda: anon.get("/health"))
        assert seconds < ANSWER_WITHIN_S
        assert health.status_code == 503, health.text
        body = health.json()
        assert body["status"] == "degraded" and body["database"] == "unavailable", body
        assert any("数据库" in reason for reason in body["reasons"]), body
        assert server.proc is not None and server.proc.poll() is None  # still running

        db.start()
        back = time.monotonic()
        wait_for(
            "reads with a token to succeed again",
            lambda: admin.get("/v1/enterprises").status_code == 200,
            RECOVER_WITHIN_S,
            every=0.25,
        )
        wait_for(
            "/health to say ok again",
            lambda: anon.get("/health").status_code == 200,
            RECOVER_WITHIN_S - (time.monotonic() - back),
            every=0.25,
        )
        assert anon.get("/v1/schools").status_code == 200
        login = anon.post("/v1/auth/login", json={"username": "nobody", "password": "x" * 12})
        assert login.status_code == 401, login.text  # answered from the database again
    assert "Traceback" not in server.log(), server.log()
