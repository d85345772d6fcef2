"""The cold ingest path: each distinct text is encoded once, large jobs over worker processes,
with the same vectors as encoding every text in this process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from indexing import vector_cache
from models import encoder as E
from models.encoder import encode_documents_parallel, load_encoder

TEXTS = ["数控机床维修", "食品加工与包装", "工业机器人运维", "数控机床维修", "软件测试"] * 4


def test_worker_processes_give_the_same_vectors(monkeypatch: pytest.MonkeyPatch) -> None:
    enc = load_encoder("hash-64")
    monkeypatch.setattr(type(enc), "cheap", False)  # the hashing encoder is never parallel
    parts: list[int] = []
    got = encode_documents_parallel(enc, TEXTS * 30, workers=2, minimum=0, progress=parts.append)
    np.testing.assert_allclose(got, enc.encode_documents(TEXTS * 30), rtol=0, atol=1e-6)
    assert sum(parts) == len(TEXTS) * 30 and len(parts) > 1  # in chunks, from the workers
    queries = encode_documents_parallel(enc, TEXTS, workers=2, minimum=0, queries=True)
    np.testing.assert_allclose(queries, enc.encode_queries(TEXTS), rtol=0, atol=1e-6)


def test_each_distinct_text_is_encoded_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    enc = E.HashingEncoder(64)  # its own instance: the cached one is shared by other tests
    seen: list[str] = []
    real = enc.encode_documents

    def counting(texts: Any, batch_size: int = 64, progress: Any = None) -> np.ndarray:
        seen.extend(texts)
        return real(texts, batch_size, progress)

    monkeypatch.setattr(enc, "encode_documents", counting)
    ids = np.arange(1, len(TEXTS) + 1, dtype=np.int64)
    hashes = vector_cache.text_hashes(TEXTS)
    vectors, encoded = vector_cache.cached_vectors(tmp_path, ids, TEXTS, hashes, enc)
    assert encoded == len(TEXTS)  # rows encoded (for the manifest) ...
    assert sorted(seen) == sorted(set(TEXTS))  # ... but each text only once
    np.testing.assert_allclose(vectors, real(TEXTS), rtol=0, atol=1e-6)


def test_a_deferred_job_encodes_nothing_and_reports_the_rows_left(tmp_path: Path) -> None:
    enc = load_encoder("hash-64")
    ids = np.arange(1, len(TEXTS) + 1, dtype=np.int64)
    hashes = vector_cache.text_hashes(TEXTS)
    vectors, encoded, missing = vector_cache.ready_vectors(
        tmp_path, ids, TEXTS, hashes, enc, defer_from=5
    )
    assert encoded == 0 and missing.tolist() == list(range(len(TEXTS)))
    assert not vectors.any() and not (tmp_path / "vectors.json").exists()
    # under the threshold the same call encodes at once
    _, encoded, missing = vector_cache.ready_vectors(
        tmp_path, ids, TEXTS, hashes, enc, defer_from=len(TEXTS) + 1
    )
    assert encoded == len(TEXTS) and len(missing) == 0
    assert E.encode_workers() >= 1
