"""Damaged index caches under a real `xiaoqi serve`: detected at the next start, rebuilt from
PostgreSQL, logged; recommendations work and /health says ok.

Two kinds of damage on the files the first start wrote: bytes flipped in the middle of the
enterprise vectors (same size, only the checksum can tell) and the programme ids truncated.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from indexing.artefacts import read_manifest
from tests.faults.helpers import PrivateDatabase, ServerProcess, api_token, server_process
from tests.service.recommendations.world import World, build


@pytest.fixture(scope="module")
def world(db: PrivateDatabase) -> World:
    return build(db.url)


@pytest.fixture(scope="module")
def proc(
    db: PrivateDatabase, world: World, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """The server starts on the small world, so its first load writes every cache."""
    with server_process(db, tmp_path_factory.mktemp("var")) as server:
        server.start()
        yield server


def _flip_bytes(path: Path) -> None:
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    for i in range(middle, min(middle + 64, len(data))):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def test_a_corrupt_cache_file_is_rebuilt_at_the_next_start(
    server: ServerProcess, db: PrivateDatabase, world: World
) -> None:
    _, token = api_token(db.url, "cache_admin", "province_admin")
    request = {"subject": {"type": "school", "id": world["S1"]}, "k": 10}

    def recommend() -> list[int]:
        with server.client(token) as c:
            r = c.post("/v1/recommendations/partner-enterprises", json=request)
        assert r.status_code == 200, r.text
        return [it["candidate"]["id"] for it in r.json()["results"][0]["items"]]

    server.wait_engine_ready()
    before = recommend()
    assert before, "the small world has partner candidates"
    server.stop()  # a clean stop: the caches it wrote are complete

    indexes = server.var_dir / "indexes"
    flipped, truncated = indexes / "enterprise" / "vectors.npy", indexes / "programme" / "ids.npy"
    for path in (flipped, truncated):
        assert path.exists(), sorted(p.name for p in path.parent.iterdir())
        # the first start wrote them with their checksums
        assert read_manifest(path.parent, "vectors.json", {}) is not None
    _flip_bytes(flipped)
    _truncate(truncated)

    server.start()
    health = server.wait_engine_ready()
    assert health["status"] == "ok" and health["reasons"] == [], health
    log = server.log()
    for path in (flipped, truncated):
        assert f"in {path.parent}" in log and "rebuilding it from PostgreSQL" in log, log
        # rewritten, and what was written verifies again
        assert read_manifest(path.parent, "vectors.json", {}) is not None
    assert "checksum mismatch" in log and "truncated" in log, log
    assert recommend() == before
