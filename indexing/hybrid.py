"""Online hybrid retrieval over one candidate type: dense (FAISS) + BM25, fused with the same
learned weights as ``xiaoqi eval`` (``models.retrieval``, data/retrieval/fusion.json).

Public API (kept stable; the service, ``xiaoqi eval`` and the planner call only this):

* ``open_hybrid_index(directory, *, entity, ids, texts, encoder, data_version, ...)`` builds or
  loads (by checked manifest) the index of one entity; ``known=`` supplies vectors encoded
  elsewhere.
* ``HybridIndex.search(qvec, qtokens, *, mask, k, qtext=None) -> list[Hit]``: the top ``k`` of
  the pool (dense top-k ∪ BM25 top-k), fused; ``mask`` is a bool array of length
  ``index.count`` (None: everything live). ``Hit.position`` indexes the snapshot's rows.
* Positions: ``0 .. base_count-1`` are the base (FAISS, BM25 postings, ``vectors``);
  ``base_count .. count-1`` the delta segment (rows appended by ``with_changes``). Read vectors
  with ``vector_rows(positions)`` and postings with ``postings_of(term)`` — never
  ``vectors[pool]`` directly, which holds the base only. ``live`` (None or bool array) marks
  tombstoned positions; ``search`` leaves them out.
* ``with_changes(dead=, ids=, vectors=, tokens=)`` returns a new index (the base is shared and
  never changed); ``exact_copy()`` the same index with brute-force dense search.

Search honours the mask: small masked subsets are scored exactly from the stored vectors; large
ones go through the ANN index and are filtered after; the delta segment is always scored
exactly. Vectors are cached on disk by (id, text hash), so a rebuild re-encodes only rows whose
profile text changed, and every cached file is checksummed (indexing/artefacts.py).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bm25s
import numpy as np

from indexing.artefacts import Damaged, Mismatch, read_manifest, record_repair, write_manifest
from indexing.bm25_store import BM25_MANIFEST, load_or_build_bm25
from indexing.delta import DeltaSegment
from indexing.dense_index import ENTITY_MANIFEST, PendingDense, build_dense_index
from indexing.hits import Hit, TermMatcher
from indexing.rerank import RerankStage, build_stage
from indexing.vector_cache import VECTORS_MANIFEST, ready_vectors, text_hashes
from models.encoder import Encoder
from models.retrieval import FusionWeights, fuse_scores, load_fusion_weights

__all__ = [
    "ANN_THRESHOLD",
    "EXACT_SUBSET",
    "Hit",
    "HybridIndex",
    "PendingDense",
    "open_hybrid_index",
]

MAX_QUERY_TERMS = 48  # keyword query terms kept (rarest first)
EXACT_SUBSET = 20_000  # masked subsets up to this size are scored exactly
ANN_THRESHOLD = 50_000  # above this many vectors the dense index is IVF, below it exact


class HybridIndex:
    def __init__(
        self,
        ids: np.ndarray,
        vectors: np.ndarray,
        bm25: bm25s.BM25,
        manifest: dict[str, Any],
        ann_threshold: int = ANN_THRESHOLD,
        pending: PendingDense | None = None,
        dense_dir: Path | None = None,
    ) -> None:
        self.ids = ids
        self.vectors = vectors
        self.bm25 = bm25
        self.manifest = manifest
        self.ann_threshold = ann_threshold
        self.pending = pending
        ready = pending.has_vector if pending is not None else None
        self.dense = build_dense_index(vectors, ann_threshold, ready, dense_dir)
        self.fusion: FusionWeights = load_fusion_weights()
        self.base_count = len(ids)  # positions below this are the base; the rest, the delta
        self.live: np.ndarray | None = None  # False = tombstoned position (None: all live)
        self.delta: DeltaSegment | None = None
        self.avg_doc_len = float(manifest.get("avg_doc_len") or 1.0)
        self.rerank: RerankStage | None = None  # issue 15: learned candidate scoring (rerank.py)

    # ----------------------------------------------------------------- positions
    @property
    def dense_coverage(self) -> float:
        """Share of base rows that have their dense vector (1.0 once encoding is complete)."""
        if self.pending is None or not self.base_count:
            return 1.0
        return round(1.0 - len(self.pending.positions) / self.base_count, 4)

    def has_vector(self, position: int) -> bool:
        """Whether ``position`` has its dense vector (delta rows always do)."""
        p = self.pending
        return p is None or position >= self.base_count or bool(p.has_vector[position])

    @property
    def count(self) -> int:
        """Positions (base + delta, tombstoned included): the length every mask must have."""
        return len(self.ids)

    def vector_rows(self, positions: Any) -> np.ndarray:
        """Stored vectors at ``positions`` (base or delta)."""
        pos = np.asarray(positions, dtype=np.int64)
        if self.delta is None or not len(pos) or pos.max() < self.base_count:
            return np.asarray(self.vectors[pos])
        out = np.empty((len(pos), self.vectors.shape[1]), dtype=np.float32)
        base = pos < self.base_count
        out[base] = self.vectors[pos[base]]
        out[~base] = self.delta.vectors[pos[~base] - self.base_count]
        return out

    def doc_freq(self, term: str) -> int:
        base = self._base_df(term)
        extra = self.delta.postings.get(term) if self.delta is not None else None
        return base + (0 if extra is None else len(extra[0]))

    def postings_of(self, term: str) -> list[np.ndarray]:
        """The term's document positions, ascending: the base's, then the delta's."""
        out = []
        tid = self.bm25.vocab_dict.get(term)
        if tid is not None:
            s = self.bm25.scores
            out.append(s["indices"][s["indptr"].item(tid) : s["indptr"].item(tid + 1)])
        if self.delta is not None and term in self.delta.postings:
            out.append(self.delta.postings[term][0])
        return out

    def with_changes(
        self, *, dead: Any, ids: np.ndarray, vectors: np.ndarray, tokens: list[list[str]]
    ) -> HybridIndex:
        """A new index: positions ``dead`` tombstoned, rows (``ids``, ``vectors``, document
        ``tokens``) appended to the delta segment. The base (FAISS, BM25, vectors) is shared;
        this index is left as it was, so requests holding it are unaffected."""
        twin = copy.copy(self)
        # The learned stage (issue 15) has per-document features for base rows only: a delta'd
        # index is scored by the linear fusion until compaction folds the delta into a new base.
        if not getattr(self.rerank, "handles_delta", False):
            twin.rerank = None
        live = self.live.copy() if self.live is not None else np.ones(self.count, dtype=bool)
        live[np.asarray(dead, dtype=np.int64)] = False
        twin.live = np.concatenate([live, np.ones(len(ids), dtype=bool)])
        twin.ids = np.concatenate([self.ids, np.asarray(ids, dtype=np.int64)])
        docs = [tuple(t) for t in tokens]
        old = self.delta or DeltaSegment(self.base_count, np.zeros((0, vectors.shape[1]), "f4"), ())
        base_docs, avg_len = self.base_count, self.avg_doc_len
        twin.delta = old.extended(
            vectors, docs, base_docs=base_docs, base_df=self._base_df, avg_len=avg_len
        )
        return twin

    def _base_df(self, term: str) -> int:
        tid = self.bm25.vocab_dict.get(term)
        if tid is None:
            return 0
        indptr = self.bm25.scores["indptr"]
        return int(indptr.item(tid + 1) - indptr.item(tid))

    def exact_copy(self) -> HybridIndex:
        """The same index with brute-force dense search (the benchmark's baseline); shares the
        vectors and BM25."""
        twin = copy.copy(self)
        ready = self.pending.has_vector if self.pending is not None else None
        twin.dense = build_dense_index(self.vectors, 2**62, ready)  # numpy over the shared rows
        return twin

    def manifest_summary(self) -> dict[str, Any]:
        # "rerank": the learned stage's model version (shipped or fine-tuned from decisions)
        keys = [
            "entity",
            "encoder",
            "dim",
            "count",
            "data_version",
            "created_at",
            "dense_index",
            "rerank",
        ]
        return {**{k: self.manifest.get(k) for k in keys}, "dense_coverage": self.dense_coverage}

    # ----------------------------------------------------------------- search
    def _effective(self, mask: np.ndarray | None) -> np.ndarray | None:
        """The caller's mask without tombstoned positions."""
        if self.live is None:
            return mask
        return self.live if mask is None else mask & self.live

    def _dense(
        self, q: np.ndarray, mask: np.ndarray | None, k: int
    ) -> tuple[np.ndarray, np.ndarray]:
        n, base_n = self.count, self.base_count
        if n == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        if mask is not None and self.pending is not None:  # rows without a vector: BM25 only
            mask = mask.copy()
            mask[:base_n] &= self.pending.has_vector
        if mask is not None:
            allowed = np.flatnonzero(mask)
            if len(allowed) <= EXACT_SUBSET:
                scores = self.vector_rows(allowed) @ q
                top = _top(scores, k)
                return allowed[top], scores[top]
        pos, scores = np.zeros(0, np.int64), np.zeros(0, np.float32)
        if base_n:
            want = k if mask is None else min(base_n, k * 8)
            found, pos2 = self.dense.search(q[None, :].astype(np.float32), want)
            pos, scores = pos2[0], found[0]
            keep = pos >= 0
            if mask is not None:
                keep &= mask[np.clip(pos, 0, base_n - 1)]
            pos, scores = pos[keep], scores[keep]
        if self.delta is not None and len(self.delta):  # the delta segment, exactly
            rows = np.arange(base_n, n)
            if mask is not None:
                rows = rows[mask[base_n:]]
            extra = self.delta.vectors[rows - base_n] @ q
            pos, scores = np.concatenate([pos, rows]), np.concatenate([scores, extra])
            top = _top(scores, k)
            return pos[top], scores[top]
        return pos[:k], scores[:k]

    def _keyword(
        self, tokens: list[str], mask: np.ndarray | None, k: int
    ) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray | None]:
        vocab = self.bm25.vocab_dict
        s = self.bm25.scores
        delta = self.delta.postings if self.delta is not None else {}
        terms = [t for t in dict.fromkeys(tokens) if t in vocab or t in delta]
        # Query pruning: a long profile (a school with many programmes) yields hundreds of terms;
        # the rarest carry the signal, while the commonest have long postings and tiny idf.
        if len(terms) > MAX_QUERY_TERMS:
            terms = sorted(terms, key=self.doc_freq)[:MAX_QUERY_TERMS]
        n = self.count
        if not terms or n == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32), terms, None
        scores = np.zeros(n, dtype=np.float32)
        indptr, indices, data = s["indptr"], s["indices"], s["data"]
        for t in terms:
            tid = vocab.get(t)
            if tid is not None:
                lo, hi = indptr.item(tid), indptr.item(tid + 1)
                # a document occurs once in a term's postings, so plain fancy-index += is exact
                # (and an order of magnitude faster than np.add.at)
                scores[indices[lo:hi]] += data[lo:hi]
            if t in delta:
                rows, weights = delta[t]
                scores[rows] += weights
        if mask is not None:
            scores[~mask] = 0.0
        top = _top(scores, k)
        top = top[scores[top] > 0]
        return top, scores[top], terms, scores

    def search(
        self,
        qvec: np.ndarray,
        qtokens: list[str],
        *,
        mask: np.ndarray | None,
        k: int,
        qtext: str | None = None,
    ) -> list[Hit]:
        """Top-``k`` of the pool (dense top-k ∪ BM25 top-k), each pooled candidate scored by both
        channels and fused (by the learned stage when one is loaded; ``qtext`` is the query's
        text for its n-gram features); ``Hit.fused`` is min-max scaled to [0, 1] within the pool."""
        mask = self._effective(mask)
        dpos, dscore = self._dense(qvec, mask, k)
        kpos, _, terms, bm25_all = self._keyword(qtokens, mask, k)
        pool = list(dict.fromkeys(dpos.tolist() + kpos.tolist()))
        if not pool:
            return []
        dense_of = dict(zip(dpos.tolist(), dscore.tolist(), strict=True))
        missing = [p for p in pool if p not in dense_of]
        if missing:  # keyword-only hits still get their true cosine
            sims = self.vector_rows(missing) @ qvec
            dense_of.update(zip(missing, sims.tolist(), strict=True))
        d = np.array([dense_of[p] for p in pool], dtype=np.float64)
        b = bm25_all[pool].astype(np.float64) if bm25_all is not None else np.zeros(len(pool))
        fused = fuse_scores(d, b, self.fusion)
        if self.rerank is not None:  # issue 15 hook: the learned stage scores the pool
            text = qtext if qtext is not None else "".join(qtokens)
            fused = self.rerank.score(self, text, qvec, qtokens, np.asarray(pool), d, b, fused)
        lo, hi = float(fused.min()), float(fused.max())
        scaled = (fused - lo) / (hi - lo) if hi - lo > 1e-12 else np.ones_like(fused)
        order = np.argsort(-fused, kind="stable")[:k].tolist()
        matcher = TermMatcher(self, terms, [pool[j] for j in order]) if terms else None
        return [Hit(pool[j], float(d[j]), float(b[j]), float(scaled[j]), matcher) for j in order]


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    if len(scores) <= k:
        return np.argsort(-scores)
    part = np.argpartition(-scores, k)[:k]
    return part[np.argsort(-scores[part])]


# --------------------------------------------------------------------------- build / load
def open_hybrid_index(
    directory: Path,
    *,
    entity: str,
    ids: np.ndarray,
    texts: Sequence[str],
    encoder: Encoder,
    data_version: str,
    progress: bool = False,
    ann_threshold: int = ANN_THRESHOLD,
    known: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    rerank_model: Any = True,
    defer_encoding_from: int | None = None,
    hashes: np.ndarray | None = None,
) -> HybridIndex:
    """Load vectors cached for unchanged texts, encode the rest, build dense + BM25 indexes and
    the learned scoring stage (``rerank_model``: see :func:`indexing.rerank.build_stage`).

    The folder's ``manifest.json`` (read and checked first) names what built the index and
    checksums the two sub-manifests (``vectors.json``, ``bm25/manifest.json``), which checksum
    their own files; anything damaged is logged as a repair and rebuilt. ``known`` (ids, text
    hashes, vectors) supplies vectors encoded elsewhere (a compaction's delta rows).

    ``defer_encoding_from``: when at least that many rows need encoding, none is encoded here;
    the index serves at once with those rows searched by BM25 only (``index.pending``,
    ``dense_coverage`` < 1) and the caller completes it with ``complete_dense`` +
    ``with_dense``. The entity manifest is written when the vectors are complete.

    ``texts`` may be any sequence (a persisted snapshot's memory-mapped texts); ``hashes``, the
    texts' hashes when the caller has them (indexing.vector_cache.text_hashes otherwise).
    An IVF index is persisted in the folder (``dense.faiss``) and memory-mapped."""
    try:
        read_manifest(directory, ENTITY_MANIFEST, {"entity": entity})
    except Mismatch:
        pass
    except Damaged as exc:
        record_repair("manifest", directory, str(exc))
    hashes = text_hashes(texts) if hashes is None else hashes
    vectors, reencoded, missing = ready_vectors(
        directory,
        ids,
        texts,
        hashes,
        encoder,
        label=entity,
        progress=progress,
        known=known,
        defer_from=defer_encoding_from,
    )
    bm25, avg_len = load_or_build_bm25(directory / "bm25", ids, hashes, texts)
    meta = {
        "entity": entity,
        "encoder": encoder.id,
        "dim": encoder.dim,
        "count": len(ids),
        "data_version": data_version,
        "created_at": datetime.now(UTC).isoformat(),
        "reencoded": int(reencoded or len(missing)),
        "dense_index": "flat-ip" if len(ids) <= ann_threshold else "ivf-flat",
        "fusion": load_fusion_weights().__dict__,
        "avg_doc_len": avg_len,
    }
    stage = build_stage(texts, encoder, rerank_model)  # issue 15 hook
    if stage is not None and stage.model is not None:
        meta["rerank"] = stage.model.manifest.get("version")
    if len(missing):
        has_vector = np.ones(len(ids), dtype=bool)
        has_vector[missing] = False
        pending = PendingDense(
            missing,
            [texts[i] for i in missing.tolist()],
            hashes,
            directory,
            meta,
            stage,
            has_vector,
        )
        partial = {**meta, "dense_index": "flat-ip (rows with vectors only)"}
        return HybridIndex(ids, vectors, bm25, partial, ann_threshold, pending)
    files = [VECTORS_MANIFEST, f"bm25/{BM25_MANIFEST}"] if len(ids) else [VECTORS_MANIFEST]
    manifest = write_manifest(directory, ENTITY_MANIFEST, files, meta)
    index = HybridIndex(ids, vectors, bm25, manifest, ann_threshold, dense_dir=directory)
    index.rerank = stage
    return index
