"""`xiaoqi load` at tiny scale: a few seconds of the real mix against a real server on a
generated sample report per-endpoint percentiles, memory and no errors; the same soak against
a server whose recommendation engine failed to load reports the 503s as errors and fails."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row

from scripts.load import soak, verdict
from service.config import Settings
from service.main import create_app
from service.reference import setup_database
from service.sample.generate import generate
from service.sample.load import load_dir
from tests.conftest import truncate_all
from tests.fixtures.server import running_server

RECOMMENDATIONS = ("partner-enterprises", "programmes", "mentors", "practice-bases")


@pytest.fixture(scope="module")
def world(pg_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("load")
    generate(root / "sample", 100, seed=11, max_schools=20)
    truncate_all(pg_url)
    with psycopg.connect(pg_url, row_factory=dict_row) as conn:
        setup_database(conn)
        load_dir(conn, root / "sample")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XIAOQI_ENCODE_WORKERS", "1")  # a tiny world: encode in this process
        yield root
    truncate_all(pg_url)


def wait_for(what: str, check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _ready(base: str) -> bool:
    r = httpx.get(f"{base}/health", timeout=5)
    return r.status_code == 200 and r.json()["engine"] == "ready"


def test_a_short_soak_checks_every_answer_and_reports(world: Path, pg_url: str) -> None:
    settings = Settings(database_url=pg_url, mode="test", encoder="hash-64", var_dir=world / "var")
    with running_server(create_app(settings)) as base:
        wait_for("the engine", lambda: _ready(base), timeout=240)
        figures = soak(base, pg_url, os.getpid(), duration=5, warmup=1, clients=2)
    assert figures["errors"] == 0, figures["examples"]
    assert figures["requests"] > 20 and figures["throughput_rps"] > 0
    for kind in RECOMMENDATIONS:
        timed = figures["endpoints"][f"POST /v1/recommendations/{kind}"]
        assert timed["requests"] > 0 and timed["errors"] == 0
        assert timed["p50_ms"] <= timed["p95_ms"] <= timed["p99_ms"]
    for label in ("POST /v1/review/submit", "GET /v1/search", "GET /v1/enterprises"):
        assert figures["endpoints"][label]["requests"] > 0
    assert figures["recommendation_checks"]["responses"] > 0
    memory = figures["memory"]
    assert memory["after_warmup_mb"] > 50 and memory["end_mb"] > 50
    assert str(os.getpid()) in memory["end"]["processes"]
    assert figures["health"]["status"] == "ok"
    # a test process's memory moves with everything else it runs: only the error verdict here
    assert verdict(figures, max_drift=1000.0) == []


def test_a_soak_against_a_failing_server_fails(world: Path, pg_url: str) -> None:
    blocker = world / "not-a-directory"
    blocker.write_text("")  # the engine cannot create its index directory under a file: it fails
    settings = Settings(
        database_url=pg_url, mode="test", encoder="hash-64", index_dir=blocker / "indexes"
    )
    with running_server(create_app(settings)) as base:
        wait_for(
            "the engine to fail",
            lambda: httpx.get(f"{base}/health", timeout=5).json()["engine"] == "failed",
            timeout=60,
        )
        figures = soak(base, pg_url, os.getpid(), duration=2, warmup=0.5, clients=2)
    failed = figures["endpoints"]["POST /v1/recommendations/mentors"]
    assert failed["errors"] == failed["requests"] > 0
    assert figures["errors"] >= failed["errors"]
    assert any("503" in line for line in figures["examples"])
    assert figures["endpoints"]["GET /v1/enterprises"]["errors"] == 0  # the catalogue still serves
    failures = verdict(figures, max_drift=1000.0)
    assert failures and "error answer" in failures[0]


def test_memory_drift_at_the_limit_fails() -> None:
    figures = {"errors": 0, "requests": 100, "memory": {"drift_pct": 5.0}}
    assert verdict(figures, max_drift=5.0) == ["resident memory drift 5.0% (limit < 5.0%)"]
    figures["memory"] = {"drift_pct": 4.99}
    assert verdict(figures, max_drift=5.0) == []
