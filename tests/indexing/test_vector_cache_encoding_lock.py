"""One vector folder, several service workers (issue 11 item 5): a folder's missing vectors
are encoded once (the others wait on its encoding lock and map what was written), a loader that
defers them never waits for an encoding in progress, and a worker that dies while encoding
leaves the job to the next one instead of a lock held forever."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from indexing import vector_cache
from models import encoder as E

TEXTS = [f"数控机床维修与保养 第{i}项" for i in range(40)]
IDS = np.arange(1, len(TEXTS) + 1, dtype=np.int64)
HASHES = vector_cache.text_hashes(TEXTS)


class GatedCounter:
    """The real hashing encoder; counts the texts it encodes, and waits for ``gate`` first."""

    def __init__(self) -> None:
        self.inner = E.HashingEncoder(64)
        self.id, self.dim = self.inner.id, self.inner.dim
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.seen: list[str] = []
        self.lock = threading.Lock()

    def encode_documents(self, texts: Any, batch_size: int = 64, progress: Any = None) -> Any:
        self.entered.set()
        assert self.gate.wait(30), "the test never opened the gate"
        with self.lock:
            self.seen.extend(texts)
        return self.inner.encode_documents(texts, batch_size, progress)


def _in_thread(fn: Any) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(fn()), daemon=True)
    thread.start()
    return thread, out


def test_two_workers_encode_a_folder_once_and_a_deferring_loader_does_not_wait(
    tmp_path: Path,
) -> None:
    enc = GatedCounter()

    def fill() -> Any:
        return vector_cache.cached_vectors(tmp_path, IDS, TEXTS, HASHES, enc)  # type: ignore[arg-type]

    first, first_out = _in_thread(fill)
    assert enc.entered.wait(10)  # the first worker is encoding, holding the encoding lock
    second, second_out = _in_thread(fill)
    time.sleep(0.3)
    assert second.is_alive()  # waits for the first one's vectors instead of encoding them too

    # a worker loading the index meanwhile defers these rows at once: no wait on the encoding
    t0 = time.perf_counter()
    deferring: Any = enc
    vectors, encoded, missing = vector_cache.ready_vectors(
        tmp_path, IDS, TEXTS, HASHES, deferring, defer_from=1
    )
    assert time.perf_counter() - t0 < 5
    assert encoded == 0 and len(missing) == len(TEXTS) and not np.asarray(vectors).any()

    enc.gate.set()
    first.join(30)
    second.join(30)
    assert not first.is_alive() and not second.is_alive()
    (v1, n1), (v2, n2) = first_out[0], second_out[0]
    assert n1 == len(TEXTS) and n2 == 0  # the second encoded nothing: it mapped the first's
    assert sorted(enc.seen) == sorted(TEXTS)  # every text encoded exactly once
    np.testing.assert_allclose(v2, v1, rtol=0, atol=0)
    np.testing.assert_allclose(v1, enc.inner.encode_documents(TEXTS), rtol=0, atol=1e-6)


_HOLDER = """
import sys, time
from pathlib import Path
from indexing.vector_cache import encoding_lock
with encoding_lock(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(120)
"""


def test_a_worker_dying_while_encoding_releases_the_job_to_the_next(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        enc = GatedCounter()
        enc.gate.set()
        waiting, out = _in_thread(
            lambda: vector_cache.cached_vectors(tmp_path, IDS, TEXTS, HASHES, enc)  # type: ignore[arg-type]
        )
        time.sleep(0.3)
        assert waiting.is_alive() and not enc.seen  # the lock is held by the other process
        holder.kill()  # dies holding it: the kernel releases an flock with its holder
        holder.wait(10)
        waiting.join(30)
        assert not waiting.is_alive()
        vectors, encoded = out[0]
        assert encoded == len(TEXTS) and sorted(enc.seen) == sorted(TEXTS)
        assert vector_cache._read(tmp_path, {"encoder": enc.id, "dim": 64, "side": "document"})
    finally:
        holder.kill()
        holder.wait(10)
