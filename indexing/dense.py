"""FAISS inner-product index keyed by database ids, with incremental add / update / remove.

Layout: a *main* index built in bulk — ``IndexIDMap2(IndexFlatIP)`` below
:data:`HNSW_THRESHOLD` vectors (exact), ``IndexIDMap2(IndexHNSWFlat)`` above it (M=32,
efSearch=128: recall@10 ≥ 0.95 against exact search, see docs/retrieval.md) — plus a small exact
*delta* index for vectors added or updated since the build, and a set of *dead* ids (removed or
superseded in main), excluded with an ID selector at search time. ``compact()`` folds the delta in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import faiss as _faiss
import numpy as np

# faiss's bundled type stubs lag the SWIG API (SearchParametersHNSW, selectors…)
faiss: Any = _faiss

HNSW_THRESHOLD = 50_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128
COMPACT_RATIO = 0.2  # compact when delta + dead exceed this share of main


def _ids(ids: Any) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(ids, dtype=np.int64).reshape(-1))


def _vecs(x: np.ndarray, dim: int) -> np.ndarray:
    x = np.ascontiguousarray(np.asarray(x, dtype=np.float32).reshape(-1, dim))
    return x


def new_main(dim: int, kind: str, hnsw_m: int = HNSW_M) -> Any:
    if kind == "hnsw":
        inner: Any = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
        inner.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        inner.hnsw.efSearch = HNSW_EF_SEARCH
    elif kind == "flat":
        inner = faiss.IndexFlatIP(dim)
    else:
        raise ValueError(f"unknown dense index kind {kind!r}")
    return faiss.IndexIDMap2(inner)


def choose_kind(expected_count: int) -> str:
    return "hnsw" if expected_count >= HNSW_THRESHOLD else "flat"


class DenseIndex:
    """Main + delta FAISS indexes with tombstones; ids are int64 database ids."""

    def __init__(self, dim: int, kind: str = "flat", ef_search: int = HNSW_EF_SEARCH) -> None:
        self.dim = dim
        self.kind = kind
        self.ef_search = ef_search
        self.main = new_main(dim, kind)
        self.delta = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self.dead: set[int] = set()
        self._main_ids: set[int] | None = set()
        self._delta_ids: set[int] = set()

    # ------------------------------------------------------------------ building
    def add_bulk(self, ids: Any, vectors: np.ndarray) -> None:
        """Append to the main index (build time; ids must be new)."""
        ids = _ids(ids)
        self.main.add_with_ids(_vecs(vectors, self.dim), ids)
        if self._main_ids is not None:
            self._main_ids.update(ids.tolist())

    # ------------------------------------------------------------------ incremental
    def _main_id_set(self) -> set[int]:
        if self._main_ids is None:
            self._main_ids = set(faiss.vector_to_array(self.main.id_map).tolist())
        return self._main_ids

    def __contains__(self, item_id: int) -> bool:
        i = int(item_id)
        return (i in self._main_id_set() and i not in self.dead) or self._in_delta(i)

    def _in_delta(self, item_id: int) -> bool:
        return item_id in self._delta_ids

    def remove(self, ids: Any) -> int:
        """Remove ids (unknown ids are ignored); returns how many were present."""
        ids = _ids(ids)
        main_ids = self._main_id_set()
        n = 0
        for i in ids.tolist():
            if i in main_ids and i not in self.dead:
                self.dead.add(i)
                n += 1
        gone = [i for i in ids.tolist() if i in self._delta_ids]
        if gone:
            self.delta.remove_ids(_ids(gone))
            self._delta_ids.difference_update(gone)
        return n + len(gone)

    def upsert(self, ids: Any, vectors: np.ndarray) -> None:
        """Add new ids or replace the vectors of existing ones."""
        ids = _ids(ids)
        self.remove(ids)
        self.delta.add_with_ids(_vecs(vectors, self.dim), ids)
        self._delta_ids.update(ids.tolist())

    @property
    def count(self) -> int:
        return int(self.main.ntotal) - len(self.dead) + int(self.delta.ntotal)

    def needs_compaction(self) -> bool:
        return (len(self.dead) + self.delta.ntotal) > COMPACT_RATIO * max(self.main.ntotal, 1000)

    def compact(self) -> None:
        """Rebuild main from live main vectors + delta; empties delta and dead."""
        ids, vecs = self.export()
        kind = choose_kind(len(ids)) if self.kind == "flat" else self.kind
        fresh = DenseIndex(self.dim, kind, self.ef_search)
        for s in range(0, len(ids), 100_000):
            fresh.add_bulk(ids[s : s + 100_000], vecs[s : s + 100_000])
        self.main, self.delta, self.dead = fresh.main, fresh.delta, set()
        self._delta_ids = set()
        self.kind, self._main_ids = kind, fresh._main_ids

    def export(self) -> tuple[np.ndarray, np.ndarray]:
        """All live (id, vector) pairs."""
        main_ids = faiss.vector_to_array(self.main.id_map).astype(np.int64)
        keep = np.array([i not in self.dead for i in main_ids.tolist()], dtype=bool)
        main_vecs = (
            faiss.downcast_index(self.main.index).reconstruct_n(0, self.main.ntotal)
            if self.main.ntotal
            else np.empty((0, self.dim), dtype=np.float32)
        )
        d_ids = faiss.vector_to_array(self.delta.id_map).astype(np.int64)
        d_vecs = (
            faiss.downcast_index(self.delta.index).reconstruct_n(0, self.delta.ntotal)
            if self.delta.ntotal
            else np.empty((0, self.dim), dtype=np.float32)
        )
        return np.concatenate([main_ids[keep], d_ids]), np.vstack([main_vecs[keep], d_vecs])

    def vectors(self, ids: Any) -> np.ndarray:
        """Stored vectors of ``ids`` (zeros for unknown ids) — for exact rescoring."""
        ids = _ids(ids)
        out = np.zeros((len(ids), self.dim), dtype=np.float32)
        for row, i in enumerate(ids.tolist()):
            if self._in_delta(i):
                out[row] = self.delta.reconstruct(i)
            elif i not in self.dead and i in self._main_id_set():
                out[row] = self.main.reconstruct(i)
        return out

    # ------------------------------------------------------------------ search
    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (ids, inner-product scores) per query row; missing slots have id -1."""
        q = _vecs(queries, self.dim)
        nq = q.shape[0]
        params: Any = None
        sel = None
        if self.dead:
            sel = faiss.IDSelectorNot(faiss.IDSelectorBatch(_ids(sorted(self.dead))))
        if self.kind == "hnsw":
            params = faiss.SearchParametersHNSW(efSearch=max(self.ef_search, k))
            if sel is not None:
                params.sel = sel
        elif sel is not None:
            params = faiss.SearchParameters(sel=sel)
        k_main = min(k, max(int(self.main.ntotal), 1))
        if self.main.ntotal:
            s_main, i_main = self.main.search(q, k_main, params=params)
        else:
            s_main = np.full((nq, 0), -np.inf, dtype=np.float32)
            i_main = np.full((nq, 0), -1, dtype=np.int64)
        if self.delta.ntotal:
            s_d, i_d = self.delta.search(q, min(k, int(self.delta.ntotal)))
            s_all = np.hstack([s_main, s_d])
            i_all = np.hstack([i_main, i_d])
        else:
            s_all, i_all = s_main, i_main
        s_all = np.where(i_all < 0, -np.inf, s_all)
        order = np.argsort(-s_all, axis=1, kind="stable")[:, :k]
        ids = np.take_along_axis(i_all, order, axis=1)
        scores = np.take_along_axis(s_all, order, axis=1)
        if ids.shape[1] < k:
            pad = k - ids.shape[1]
            ids = np.hstack([ids, np.full((nq, pad), -1, dtype=np.int64)])
            scores = np.hstack([scores, np.full((nq, pad), -np.inf, dtype=np.float32)])
        return ids, scores.astype(np.float32)

    # ------------------------------------------------------------------ persistence
    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        faiss.write_index(self.main, str(directory / "main.faiss"))
        faiss.write_index(self.delta, str(directory / "delta.faiss"))
        np.save(directory / "dead.npy", _ids(sorted(self.dead)))

    @classmethod
    def load(
        cls, directory: Path, dim: int, kind: str, ef_search: int = HNSW_EF_SEARCH
    ) -> DenseIndex:
        idx = cls(dim, kind, ef_search)
        idx.main = faiss.read_index(str(directory / "main.faiss"))
        idx.delta = faiss.read_index(str(directory / "delta.faiss"))
        idx.dead = set(np.load(directory / "dead.npy").tolist())
        idx._main_ids = None
        idx._delta_ids = set(faiss.vector_to_array(idx.delta.id_map).tolist())
        if idx.main.d != dim:
            raise ValueError(f"FAISS index dimension {idx.main.d} != manifest dimension {dim}")
        return idx
