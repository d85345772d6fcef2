"""Concurrent writers of one vector folder (two uvicorn workers rebuilding one index): each
writes through a temporary file of its own, so no rename finds its file taken by another."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from indexing import vector_cache

META = {"encoder": "test@1", "dim": 8, "side": "document"}


def test_concurrent_writes_of_one_folder_all_succeed(tmp_path: Path) -> None:
    ids = np.arange(50, dtype=np.int64)
    hashes = vector_cache.text_hashes([f"text {i}" for i in range(50)])
    vectors = np.random.default_rng(3).random((50, 8), dtype=np.float32)
    failures: list[BaseException] = []
    start = threading.Barrier(4)

    def writer() -> None:
        start.wait()
        for _ in range(150):
            try:  # _write directly: the folder lock would serialise ready_vectors' writers
                vector_cache._write(tmp_path, META, ids, hashes, vectors)
            except Exception as exc:  # noqa: BLE001 - every failure counts
                failures.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    read = vector_cache._read(tmp_path, META)
    assert read is not None
    assert np.array_equal(read[0], ids) and np.allclose(read[2], vectors)
    assert not list(tmp_path.glob(".*.tmp"))
