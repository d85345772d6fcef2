"""Encoded vectors kept on disk by (id, text hash), so a rebuild re-encodes only what changed.

One folder per vector set: ``ids.npy``, ``hashes.npy`` (8-byte blake2b of each text) and
``vectors.npy`` (float32, loaded by memory map, so every worker process shares one copy in the
page cache), listed with their sizes and checksums in ``vectors.json`` beside the encoder, its
dimension and the side (query/document). A different encoder discards the cache; a missing,
truncated or corrupt file is detected before use, logged as a repair and re-encoded. Folders
written by the older ``vectors.npz`` layout are read once and rewritten.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from indexing.artefacts import (
    Damaged,
    Mismatch,
    folder_lock,
    read_manifest,
    record_repair,
    write_manifest,
)
from models.encoder import Encoder, encode_documents_parallel

EncodeFn = Callable[[Sequence[str], Callable[[int], None] | None], np.ndarray]


def text_hash(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()


def text_hashes(texts: Sequence[str]) -> np.ndarray:
    return np.array([text_hash(t) for t in texts], dtype="S8") if texts else np.zeros(0, "S8")


VECTORS_MANIFEST = "vectors.json"
VECTOR_FILES = ("ids.npy", "hashes.npy", "vectors.npy")


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
    known: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, int]:
    """Vectors for ``texts`` (rows keyed by ``ids``): reused from ``directory`` where id and text
    hash match, encoded otherwise; the folder is rewritten when anything changed. Returns the
    vectors (a read-only memory map of the folder's file) and how many were encoded.
    ``queries`` encodes with the query side of the encoder; ``known`` (ids, hashes, vectors)
    are vectors encoded elsewhere, used like cached ones."""
    vectors, encoded, _ = ready_vectors(
        directory,
        ids,
        texts,
        hashes,
        encoder,
        queries=queries,
        label=label,
        progress=progress,
        known=known,
    )
    return vectors, encoded


def ready_vectors(
    directory: Path,
    ids: np.ndarray,
    texts: Sequence[str],
    hashes: np.ndarray,
    encoder: Encoder,
    *,
    queries: bool = False,
    label: str = "",
    progress: bool = False,
    known: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    defer_from: int | None = None,
) -> tuple[np.ndarray, int, np.ndarray]:
    """Like :func:`cached_vectors`, and returns the positions still to encode as well: when at
    least ``defer_from`` rows need encoding, nothing is encoded or written and those rows are
    zeros in a writable in-memory array (the caller serves what is ready and completes it later
    with :func:`cached_vectors`). Otherwise the positions are empty and the vectors complete.

    Two locks per folder, so that service workers loading or filling the same index encode it
    once and a long encoding blocks no loader: reads and writes take the folder lock (briefly);
    encoding takes the folder's *encoding* lock and holds it until the vectors are written.
    A second worker that needs the same vectors waits on the encoding lock, then finds the
    first one's vectors written and maps them; a worker that would defer them never waits for
    it. Both are fcntl locks, released when their holder exits: a worker that dies while
    encoding leaves the job to the next one, who encodes what is still missing."""
    directory.mkdir(parents=True, exist_ok=True)
    meta = {"encoder": encoder.id, "dim": encoder.dim, "side": "query" if queries else "document"}
    vectors, missing, complete = _lookup(directory, meta, ids, hashes, known)
    if complete:
        return vectors, 0, missing  # the common restart
    if defer_from is not None and len(missing) >= defer_from:
        return vectors, 0, missing
    if not len(missing):  # complete from the cache and ``known``: only the folder to rewrite
        with folder_lock(directory):
            return _write(directory, meta, ids, hashes, vectors), 0, missing
    with encoding_lock(directory):
        # whoever held the encoding lock before may have written (some of) these vectors
        vectors, missing, complete = _lookup(directory, meta, ids, hashes, known)
        if complete:
            return vectors, 0, missing
        if len(missing):
            vectors[missing] = _encode(
                encoder, [texts[i] for i in missing.tolist()], queries, label, progress
            )
        with folder_lock(directory):
            written = _write(directory, meta, ids, hashes, vectors)
        return written, int(len(missing)), missing[:0]


def _lookup(
    directory: Path,
    meta: dict[str, Any],
    ids: np.ndarray,
    hashes: np.ndarray,
    known: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
) -> tuple[np.ndarray, np.ndarray, bool]:
    """(vectors, positions still to encode, whether the folder holds exactly these rows), read
    under the folder lock."""
    with folder_lock(directory):
        cached = _read(directory, meta)
        if cached is not None:
            c_ids, c_hashes, c_vectors = cached
            if np.array_equal(c_ids, ids) and np.array_equal(c_hashes, hashes):
                return c_vectors, np.zeros(0, np.int64), True
        vectors, todo = _reuse(int(meta["dim"]), ids, hashes, cached, known)
    return vectors, np.flatnonzero(todo), False


@contextmanager
def encoding_lock(directory: Path) -> Iterator[None]:
    """The folder's encoding lock (``.encoding.lock``): held by the one process encoding the
    folder's missing vectors, beside the short folder lock of reads and writes."""
    with folder_lock(directory, ".encoding.lock"):
        yield


def read_cached(
    directory: Path, encoder: Encoder, *, queries: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The folder's (ids, hashes, vectors) as last written, checked, vectors memory-mapped;
    None when nothing usable is cached (damage is logged as a repair)."""
    if not directory.exists():
        return None
    meta = {"encoder": encoder.id, "dim": encoder.dim, "side": "query" if queries else "document"}
    with folder_lock(directory):
        return _read(directory, meta)


def _reuse(
    dim: int,
    ids: np.ndarray,
    hashes: np.ndarray,
    cached: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
    known: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
) -> tuple[np.ndarray, np.ndarray]:
    """The rows' vectors found in the cache or in ``known`` (zeros elsewhere), and which rows
    are still to encode."""
    vectors = np.zeros((len(ids), dim), dtype=np.float32)
    todo = np.ones(len(ids), dtype=bool)
    if cached is not None:
        c_ids, c_hashes, c_vectors = cached
        key = {
            (int(i), h): n
            for n, (i, h) in enumerate(zip(c_ids.tolist(), c_hashes.tolist(), strict=True))
        }
        rows = [key.get((i, h), -1) for i, h in zip(ids.tolist(), hashes.tolist(), strict=True)]
        src = np.asarray(rows, dtype=np.int64)
        found = np.flatnonzero(src >= 0)
        vectors[found] = c_vectors[src[found]]
        todo[found] = False
    if known is not None and todo.any():
        k_ids, k_hashes, k_vectors = known
        pairs = zip(k_ids.tolist(), k_hashes.tolist(), strict=True)
        spare = {(int(i), h): n for n, (i, h) in enumerate(pairs)}
        for row in np.flatnonzero(todo).tolist():
            hit = spare.get((int(ids[row]), hashes[row].tobytes()))
            if hit is not None:
                vectors[row] = k_vectors[hit]
                todo[row] = False
    return vectors, todo


def _read(
    directory: Path, meta: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    try:
        body = read_manifest(directory, VECTORS_MANIFEST, meta)
    except Damaged as exc:
        legacy = _read_legacy(directory, meta)
        if legacy is None:
            record_repair("vectors", directory, str(exc))
        return legacy
    except Mismatch:  # another encoder: not damage, just not reusable
        return None
    if body is None:
        return _read_legacy(directory, meta)
    try:
        c_ids = np.load(directory / "ids.npy")
        c_hashes = np.load(directory / "hashes.npy")
        c_vectors = np.load(directory / "vectors.npy", mmap_mode="r")
        if c_vectors.shape != (len(c_ids), meta["dim"]) or len(c_hashes) != len(c_ids):
            raise ValueError(f"shapes {c_ids.shape} {c_hashes.shape} {c_vectors.shape} disagree")
    except (OSError, ValueError) as exc:
        record_repair("vectors", directory, f"{type(exc).__name__}: {exc}")
        return None
    return c_ids, c_hashes, c_vectors


def _read_legacy(
    directory: Path, meta: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The older single-file layout (vectors.npz), when it is intact and fits ``meta``."""
    store = directory / "vectors.npz"
    if not store.exists():
        return None
    meta_path = directory / VECTORS_MANIFEST
    if not meta_path.exists():
        meta_path = directory / "manifest.json"
    try:
        old = json.loads(meta_path.read_text(encoding="utf-8"))
        if any(old.get(k, "document" if k == "side" else None) != v for k, v in meta.items()):
            return None  # another encoder: not damage, just not reusable
        with np.load(store) as npz:  # read each member once (indexing re-reads the zip)
            return npz["ids"], npz["hashes"], npz["vectors"]
    except Exception as exc:  # zip, pickle or shape errors alike: the file cannot be trusted
        record_repair("vectors", directory, f"{store}: {type(exc).__name__}: {exc}")
        return None


def _write(
    directory: Path, meta: dict[str, Any], ids: np.ndarray, hashes: np.ndarray, vectors: np.ndarray
) -> np.ndarray:
    """Write the three arrays (each by rename), then the manifest that vouches for them; return
    the vectors as a memory map of the written file."""
    arrays = {"ids.npy": ids.astype(np.int64), "hashes.npy": hashes, "vectors.npy": vectors}
    for name, array in arrays.items():
        # a temporary name of this writer's own (as in artefacts.write_manifest): writers that
        # miss the folder lock (no fcntl, a caller outside ready_vectors) must not share one
        tmp = directory / f".{name}.{os.getpid()}.{threading.get_ident()}.tmp"
        with tmp.open("wb") as f:
            np.save(f, np.ascontiguousarray(array))
        os.replace(tmp, directory / name)
    write_manifest(directory, VECTORS_MANIFEST, VECTOR_FILES, meta)
    (directory / "vectors.npz").unlink(missing_ok=True)
    return np.load(directory / "vectors.npy", mmap_mode="r")


def _encode(
    encoder: Encoder, texts: list[str], queries: bool, label: str, progress: bool
) -> np.ndarray:
    """Encode each distinct text once (generated and real catalogues repeat whole texts: needs
    copied from one occupation profile, branches with one description), over every core for a
    large job (models.encoder.encode_documents_parallel)."""
    first: dict[str, int] = {}
    where = np.fromiter((first.setdefault(t, len(first)) for t in texts), np.int64, len(texts))
    distinct = list(first)

    def run(advance: Callable[[int], None] | None) -> np.ndarray:
        return encode_documents_parallel(encoder, distinct, progress=advance, queries=queries)

    if not progress:
        return run(None)[where]
    from rich.progress import Progress

    with Progress() as bar:
        task = bar.add_task(f"encoding {label} ({len(distinct)} distinct)", total=len(distinct))
        return run(lambda n: bar.advance(task, n))[where]
