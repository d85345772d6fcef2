"""Pool-side pieces of the learned stage's features (:mod:`models.ltr_features`), written for
speed with the same numbers: the whole-text n-gram products by column, name containment, the
per-document values of recent query texts a stored subject reads again, and char_wb n-grams
sliced without scikit-learn's per-gram loop. Pure (no index, no I/O)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

if TYPE_CHECKING:
    from models.ltr_features import DocSide, QuerySide, SparseVec

CSC_MAX_NNZ = 1 << 23  # whole-text n-gram non-zeros up to which a by-column copy is kept (64 MiB)
CORPUS_MEMO_ROWS = 2048  # up to this many documents a recent query keeps per-document values
CORPUS_MEMO_TEXTS = 256  # of this many recent query texts (at most 2 × 8 bytes per document each)


class CorpusMemo:
    """Per-document values (n-gram products, name containment) of the most recent query texts,
    keyed by the lower-cased normalised text they are a function of: a stored subject asking
    again reads its pool from them. Oldest dropped first; one lock (served from threads)."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, str], np.ndarray] = {}
        self._lock = threading.Lock()

    def get(self, kind: str, text: str) -> np.ndarray | None:
        return self._items.get((kind, text))

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def put(self, kind: str, text: str, values: np.ndarray) -> None:
        with self._lock:
            self._items[(kind, text)] = values
            while len(self._items) > 2 * CORPUS_MEMO_TEXTS:
                del self._items[next(iter(self._items))]


def char_wb_grams(text: str, max_n: int) -> list[str]:
    """scikit-learn's ``char_wb`` 1..``max_n`` (≤ 3) n-grams of ``text``, lower-cased, in its
    order: each whitespace-split word padded with a space either side, every slice of each
    length (a padded word has at least 3 characters, so every n yields len - n + 1 grams)."""
    grams: list[str] = []
    extend = grams.extend
    for w in text.lower().split():
        w = f" {w} "
        extend(w)
        if max_n >= 2:
            extend([w[i : i + 2] for i in range(len(w) - 1)])
        if max_n >= 3:
            extend([w[i : i + 3] for i in range(len(w) - 2)])
    return grams


def column_products(
    csr: Any, csc: Any, cols: np.ndarray, weights: np.ndarray, pool: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None]:
    """``csr[pool] @ W`` where ``W`` (matrix columns × k) is zero outside the sorted rows
    ``cols`` and holds ``weights`` (len(cols), k) there. By column (``csc[:, cols]`` over every
    row, then the pool's) when ``csc`` is kept and those columns hold fewer entries than the
    pool's rows (a query's few words: 3× cheaper than the pool's rows times a sparse ``W``),
    else by row. Returns the pool's (len(pool), k) float32 values and, by column,
    every row's (else None)."""
    k = weights.shape[1]
    if not len(cols) or not len(pool):
        return np.zeros((len(pool), k), dtype=np.float32), None
    if csc is not None:
        cptr = csc.indptr
        by_column = int((cptr[cols + 1] - cptr[cols]).sum()) <= int(
            (csr.indptr[pool + 1] - csr.indptr[pool]).sum()
        )
        if by_column:
            every = np.asarray(csc[:, cols] @ weights, dtype=np.float32)
            return every[pool], every
    w = sp.csr_matrix(
        (weights.ravel(), (np.repeat(cols, k), np.tile(np.arange(k), len(cols)))),
        shape=(csr.shape[1], k),
        dtype=np.float32,
    )
    return np.asarray((csr[pool] @ w).toarray(), dtype=np.float32), None


def union(a: SparseVec, b: SparseVec) -> tuple[np.ndarray, np.ndarray]:
    """The n-gram columns of either vector (sorted) and the (columns, 2) values of both."""
    cols = np.sort(np.concatenate([a.cols, b.cols]))
    cols = cols[np.r_[True, cols[1:] != cols[:-1]]] if len(cols) else cols
    vals = np.zeros((len(cols), 2), dtype=np.float32)
    vals[np.searchsorted(cols, a.cols), 0] = a.vals
    vals[np.searchsorted(cols, b.cols), 1] = b.vals
    return cols, vals


def char_products(docs: DocSide, side: QuerySide, pool: np.ndarray) -> np.ndarray:
    """(pool, 2): the pool's whole-text n-gram rows times the query's and its name's vectors.
    By column (the query's columns over every document, then the pool's rows) when those
    columns hold fewer non-zeros than the pool's rows; else the pool's rows times the dense
    query vectors. Same products, summed in another order (float32 rounding)."""
    memo = len(docs.log_len) <= CORPUS_MEMO_ROWS
    found = docs.memo.get("char", side.lower) if memo else None
    if found is not None:
        return found[pool]
    cols, vals = union(side.full, side.head_full or side.full)
    by_column = docs.full_csc is not None and len(cols) > 0
    if by_column:
        indptr = docs.full.indptr
        by_column = int(docs.full_df[cols].sum()) <= int((indptr[pool + 1] - indptr[pool]).sum())
    if by_column:
        assert docs.full_csc is not None
        every = np.asarray(docs.full_csc[:, cols] @ vals)  # (documents, 2)
        if memo:  # the same text again (a stored subject) reads any pool from it
            docs.memo.put("char", side.lower, every)
        return every[pool]
    qfull = np.zeros((docs.full.shape[1], 2), dtype=np.float32)
    qfull[cols] = vals
    return np.asarray(docs.full[pool] @ qfull)


def containment(side: QuerySide, docs: DocSide, pool: np.ndarray) -> tuple[np.ndarray, ...]:
    """(document name in the query, query name in the document) for the pool; with a small
    catalogue each document's pair is kept with the query's memo once read (NaN: not yet)."""
    n = len(docs.core_list)
    if n > CORPUS_MEMO_ROWS:
        got = _contained(side, docs, pool)
        return got[:, 0], got[:, 1]
    known = docs.memo.get("contain", side.lower)
    if known is None:
        known = np.full((n, 2), np.nan, dtype=np.float32)
        docs.memo.put("contain", side.lower, known)
    got = known[pool]
    missing = np.isnan(got[:, 0])
    if missing.any():
        got[missing] = known[pool[missing]] = _contained(side, docs, pool[missing])
    return got[:, 0], got[:, 1]


def _contained(side: QuerySide, docs: DocSide, at: np.ndarray) -> np.ndarray:
    text, qcore, rows = side.lower, side.core, at.tolist()
    out = np.zeros((len(rows), 2), dtype=np.float32)
    out[:, 0] = [(c := docs.core_list[j]) is not None and c in text for j in rows]
    if len(qcore) > 1:
        bodies = docs.bodies
        out[:, 1] = [qcore in bodies[j] for j in rows]
    return out
