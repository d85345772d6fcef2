"""The dense (FAISS) index over one entity's vectors, and completing it when the vectors of a
cold build arrive after the index has started serving (``PendingDense``: those rows are
searched by BM25 only meanwhile)."""

from __future__ import annotations

import copy
import hashlib
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import faiss
import numpy as np

from indexing.artefacts import (
    Damaged,
    Mismatch,
    folder_lock,
    read_manifest,
    record_repair,
    write_manifest,
)
from indexing.bm25_store import BM25_MANIFEST
from indexing.vector_cache import VECTORS_MANIFEST, cached_vectors
from models.encoder import Encoder

if TYPE_CHECKING:
    from indexing.hybrid import HybridIndex
    from indexing.rerank import RerankStage

ENTITY_MANIFEST = "manifest.json"


DENSE_MANIFEST = "dense.json"
DENSE_FILE = "dense.faiss"
IVF_NPROBE = 24


class ExactDense:
    """Exact inner-product search straight over the (memory-mapped) vectors: nothing is copied,
    so every worker shares the vectors' pages; answers like ``faiss.IndexFlatIP`` (positions as
    ids, -1 padding)."""

    def __init__(self, vectors: np.ndarray) -> None:
        self.vectors = vectors
        self.ntotal = len(vectors)

    def search(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        scores = np.asarray(self.vectors @ q[0], dtype=np.float32)
        n = len(scores)
        top = np.argsort(-scores, kind="stable") if n <= k else np.argpartition(-scores, k)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        found = np.full((1, k), -np.inf, dtype=np.float32)
        pos = np.full((1, k), -1, dtype=np.int64)
        found[0, : len(top)], pos[0, : len(top)] = scores[top], top
        return found, pos


def build_dense_index(
    vectors: np.ndarray,
    ann_threshold: int,
    ready: np.ndarray | None = None,
    directory: Path | None = None,
) -> Any:
    """Exact search over the vectors up to ``ann_threshold`` rows, IVF above (persisted in
    ``directory`` and read back by memory map, so a restart trains nothing and the workers
    share its lists); ``ready`` (partial coverage) indexes only the rows that have a vector,
    exactly."""
    n, dim = vectors.shape
    positions = np.arange(n, dtype=np.int64)
    if ready is not None:
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        if ready.any():
            index.add_with_ids(np.ascontiguousarray(vectors[ready]), positions[ready])
        return index
    if n <= ann_threshold:
        return ExactDense(vectors)
    if directory is None:
        return _build_ivf(vectors)
    directory.mkdir(parents=True, exist_ok=True)
    key = _vectors_key(vectors)
    with folder_lock(directory):
        try:
            if read_manifest(directory, DENSE_MANIFEST, {"key": key}) is not None:
                return _read_ivf(directory)
        except Mismatch:
            pass  # built over other vectors
        except Damaged as exc:
            record_repair("dense", directory, str(exc))
        except RuntimeError as exc:  # listed file intact but unreadable by FAISS
            record_repair("dense", directory, f"{type(exc).__name__}: {exc}")
        (directory / DENSE_MANIFEST).unlink(missing_ok=True)
        tmp = directory / f".{DENSE_FILE}.{os.getpid()}.{threading.get_ident()}.tmp"
        faiss.write_index(_build_ivf(vectors), str(tmp))
        os.replace(tmp, directory / DENSE_FILE)
        write_manifest(directory, DENSE_MANIFEST, [DENSE_FILE], {"key": key, "kind": "ivf-flat"})
        return _read_ivf(directory)


def _vectors_key(vectors: np.ndarray) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(f"ivf-flat/nprobe{IVF_NPROBE}/{vectors.shape}".encode())
    flat = np.ascontiguousarray(vectors).reshape(-1).view(np.uint8)
    for lo in range(0, len(flat), 1 << 24):
        h.update(flat[lo : lo + (1 << 24)].tobytes())
    return h.hexdigest()


def _read_ivf(directory: Path) -> Any:
    index = faiss.read_index(
        str(directory / DENSE_FILE), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY
    )
    faiss.extract_index_ivf(index).nprobe = IVF_NPROBE
    return index


def _build_ivf(vectors: np.ndarray) -> Any:
    n, dim = vectors.shape
    nlist = int(min(4096, max(64, 4 * np.sqrt(n))))
    quantizer = faiss.IndexFlatIP(dim)
    ivf = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
    rng = np.random.default_rng(0)
    sample = vectors[rng.choice(n, size=min(n, 40 * nlist), replace=False)]
    ivf.train(np.ascontiguousarray(sample))
    ivf.nprobe = IVF_NPROBE
    index = faiss.IndexIDMap2(ivf)
    index.add_with_ids(np.ascontiguousarray(vectors), np.arange(n, dtype=np.int64))
    return index


@dataclass(frozen=True)
class PendingDense:
    """Base rows whose dense vectors are still being encoded (a cold build that serves before it
    is complete): they are searched by BM25 only until :func:`with_dense`."""

    positions: np.ndarray  # base positions without a vector (zeros in ``vectors``)
    texts: list[str]  # their profile texts, to encode
    hashes: np.ndarray  # every base row's text hash (the vector cache's key)
    directory: Path
    meta: dict[str, Any]  # the entity manifest to write once complete
    stage: RerankStage | None = None  # the learned stage, held back until the vectors exist
    has_vector: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))


def with_dense(index: HybridIndex, vectors: np.ndarray) -> HybridIndex:
    """A new index with every base vector present (``vectors``: the completed base, in base
    order): the full dense index is built, the learned stage restored (unless a delta is
    appended: its features cover base rows only), the entity manifest written."""
    pending = index.pending
    if pending is None:
        return index
    twin = copy.copy(index)
    twin.vectors = vectors
    twin.pending = None
    twin.dense = build_dense_index(vectors, index.ann_threshold, directory=pending.directory)
    if index.delta is None:
        twin.rerank = pending.stage
    files = [VECTORS_MANIFEST, f"bm25/{BM25_MANIFEST}"]
    twin.manifest = write_manifest(pending.directory, ENTITY_MANIFEST, files, pending.meta)
    return twin


def complete_dense(index: HybridIndex, encoder: Encoder, *, progress: bool = False) -> np.ndarray:
    """Encode the pending rows' texts (into the vector cache, under its lock) and return the
    complete base vectors; publish them with :func:`with_dense`."""
    pending = index.pending
    if pending is None:
        return index.vectors
    texts = [""] * index.base_count
    for pos, text in zip(pending.positions.tolist(), pending.texts, strict=True):
        texts[pos] = text
    vectors, _ = cached_vectors(
        pending.directory,
        index.ids[: index.base_count],
        texts,
        pending.hashes,
        encoder,
        label=str(index.manifest.get("entity", "")),
        progress=progress,
    )
    return vectors
