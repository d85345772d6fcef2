"""Encoded vectors kept on disk by (id, text hash), so a rebuild re-encodes only what changed.

One folder per vector set: ``vectors.npz`` (ids, 8-byte blake2b text hashes, float32 vectors) and
``vectors.json`` naming the encoder (folders written before it existed name it in their
``manifest.json``); a different encoder or dimension discards the cache.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from models.encoder import Encoder

EncodeFn = Callable[[Sequence[str], Callable[[int], None] | None], np.ndarray]
ENCODE_CHUNK = 256  # texts per encoder call (progress granularity)


def text_hash(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()


def text_hashes(texts: Sequence[str]) -> np.ndarray:
    return np.array([text_hash(t) for t in texts], dtype="S8") if texts else np.zeros(0, "S8")


def cached_vectors(
    directory: Path,
    ids: np.ndarray,
    texts: Sequence[str],
    hashes: np.ndarray,
    encoder: Encoder,
    *,
    queries: bool = False,
    label: str = "",
    progress: bool = False,
) -> tuple[np.ndarray, int]:
    """Vectors for ``texts`` (rows keyed by ``ids``): reused from ``directory`` where id and text
    hash match, encoded otherwise; the folder is rewritten when anything changed. Returns the
    vectors and how many were encoded. ``queries`` encodes with the query side of the encoder."""
    directory.mkdir(parents=True, exist_ok=True)
    vectors = np.zeros((len(texts), encoder.dim), dtype=np.float32)
    todo = np.ones(len(texts), dtype=bool)
    store, meta_path = directory / "vectors.npz", directory / "vectors.json"
    if not meta_path.exists():
        meta_path = directory / "manifest.json"
    meta = {"encoder": encoder.id, "dim": encoder.dim, "side": "query" if queries else "document"}
    unchanged = False
    if meta_path.exists() and store.exists():
        old = json.loads(meta_path.read_text(encoding="utf-8"))
        if all(old.get(k, "document" if k == "side" else None) == v for k, v in meta.items()):
            # read each array once: indexing an NpzFile re-reads the member from the zip
            with np.load(store) as cached:
                c_ids, c_hashes, c_vectors = cached["ids"], cached["hashes"], cached["vectors"]
            key = {(int(i), h): n for n, (i, h) in enumerate(zip(c_ids, c_hashes, strict=True))}
            rows = [key.get((i, h), -1) for i, h in zip(ids.tolist(), hashes.tolist(), strict=True)]
            src = np.asarray(rows, dtype=np.int64)
            found = np.flatnonzero(src >= 0)
            vectors[found] = c_vectors[src[found]]
            todo[found] = False
            unchanged = len(found) == len(ids) == len(c_ids)
    missing = np.flatnonzero(todo)
    if len(missing):
        vectors[missing] = _encode(
            encoder, [texts[i] for i in missing.tolist()], queries, label, progress
        )
    if not unchanged:
        np.savez(store, ids=ids, hashes=hashes, vectors=vectors)
        (directory / "vectors.json").write_text(json.dumps(meta), encoding="utf-8")
    return vectors, int(len(missing))


def _encode(
    encoder: Encoder, texts: list[str], queries: bool, label: str, progress: bool
) -> np.ndarray:
    def run(advance: Callable[[int], None] | None) -> np.ndarray:
        if not queries:
            return encoder.encode_documents(texts, progress=advance)
        out = np.empty((len(texts), encoder.dim), dtype=np.float32)
        for lo in range(0, len(texts), ENCODE_CHUNK):
            out[lo : lo + ENCODE_CHUNK] = encoder.encode_queries(texts[lo : lo + ENCODE_CHUNK])
            if advance is not None:
                advance(len(texts[lo : lo + ENCODE_CHUNK]))
        return out

    if not progress:
        return run(None)
    from rich.progress import Progress

    with Progress() as bar:
        task = bar.add_task(f"encoding {label}", total=len(texts))
        return run(lambda n: bar.advance(task, n))
