"""The dense (FAISS) index over one entity's vectors, and completing it when the vectors of a
cold build arrive after the index has started serving (``PendingDense``: those rows are
searched by BM25 only meanwhile)."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import faiss
import numpy as np

from indexing.artefacts import write_manifest
from indexing.bm25_store import BM25_MANIFEST
from indexing.vector_cache import VECTORS_MANIFEST, cached_vectors
from models.encoder import Encoder

if TYPE_CHECKING:
    from indexing.hybrid import HybridIndex
    from indexing.rerank import RerankStage

ENTITY_MANIFEST = "manifest.json"


def build_dense_index(
    vectors: np.ndarray, ann_threshold: int, ready: np.ndarray | None = None
) -> faiss.Index:
    """Flat inner product up to ``ann_threshold`` vectors, IVF above; ``ready`` (partial
    coverage) indexes only the rows that have a vector, exactly."""
    n, dim = vectors.shape
    positions = np.arange(n, dtype=np.int64)
    if ready is not None:
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        if ready.any():
            index.add_with_ids(np.ascontiguousarray(vectors[ready]), positions[ready])
        return index
    if n <= ann_threshold:
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
    else:
        nlist = int(min(4096, max(64, 4 * np.sqrt(n))))
        quantizer = faiss.IndexFlatIP(dim)
        ivf = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(0)
        sample = vectors[rng.choice(n, size=min(n, 40 * nlist), replace=False)]
        ivf.train(sample)
        ivf.nprobe = 24
        index = faiss.IndexIDMap2(ivf)
    if n:
        index.add_with_ids(vectors, positions)
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
    twin.dense = build_dense_index(vectors, index.ann_threshold)
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
