"""The engine's first load holds no transaction open while it encodes and indexes (the 100k
soak's finding 4: one transaction across the whole rebuild outlived the pool's
idle_in_transaction_session_timeout, PostgreSQL ended it, the rollback failed and the engine
stayed 'failed'). Here the pool's timeout is 2 s and the encoder takes longer than that."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from models.encoder import load_encoder
from service.config import Settings
from service.main import create_app
from service.recommendations import engine as engine_module
from tests.fixtures.server import running_server
from tests.service.recommendations.world import build

IDLE_MS = 2_000
SLOW_S = 2.6  # a document encoding outlasts the idle-in-transaction timeout ...
SLOW_CALLS = 2  # ... for the first two (enough to fail the old load; keeps the test short)


class SlowEncoder:
    """The real hashing encoder, slowed past the idle-in-transaction timeout."""

    def __init__(self) -> None:
        self.inner = load_encoder("hash-64")
        self.id, self.dim = self.inner.id, self.inner.dim
        self.slow_calls = 0
        self._lock = threading.Lock()

    def encode_queries(self, texts: Any, batch_size: int = 64) -> np.ndarray:
        return self.inner.encode_queries(texts, batch_size)

    def encode_documents(self, texts: Any, batch_size: int = 64, progress: Any = None) -> Any:
        with self._lock:
            slow = self.slow_calls < SLOW_CALLS
            self.slow_calls += slow
        if slow:
            time.sleep(SLOW_S)
        return self.inner.encode_documents(texts, batch_size, progress)


def test_engine_loads_although_encoding_outlasts_the_idle_transaction_timeout(
    clean_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(clean_db)
    slow = SlowEncoder()
    monkeypatch.setattr(engine_module, "load_encoder", lambda name: slow)
    settings = Settings(
        database_url=clean_db,
        mode="test",
        var_dir=tmp_path,  # empty indexes: everything is encoded
        idle_in_transaction_timeout_ms=IDLE_MS,
    )
    app = create_app(settings)
    with running_server(app) as base:
        with app.state.pool.connection() as conn:
            row: Any = conn.execute("SHOW idle_in_transaction_session_timeout").fetchone()
        assert row["idle_in_transaction_session_timeout"] == "2s"
        deadline = time.monotonic() + 120
        while (engine := httpx.get(f"{base}/health").json()["engine"]) == "loading":
            assert time.monotonic() < deadline, "engine did not load"
            time.sleep(0.2)
        assert engine == "ready", app.state.engine_error
        assert slow.slow_calls == SLOW_CALLS  # the build really waited past the timeout
