"""The delta segment of a hybrid index: rows created or edited since the base was built.

A base index (FAISS + BM25 postings over positions ``0 .. base_count-1``) is never changed;
fresh rows are appended after it as a small segment searched exactly (their vectors by one
matrix product, their BM25 weights from their own postings, scored with the base's document
count, document frequencies and average length), and superseded or deleted positions are
tombstoned in a ``live`` mask. Compaction (a full rebuild in the background) folds both back
into a new base.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

K1, B = 1.5, 0.75  # bm25s defaults, as the base index is built (BM25_VERSION in hybrid.py)


@dataclass(frozen=True)
class DeltaSegment:
    start: int  # position of the segment's first row (= the base's row count)
    vectors: np.ndarray  # (rows, dim) float32
    tokens: tuple[tuple[str, ...], ...]  # each row's document tokens
    postings: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    # term → (global positions ascending, BM25 weights)

    def __len__(self) -> int:
        return len(self.tokens)

    @classmethod
    def build(
        cls,
        start: int,
        vectors: np.ndarray,
        tokens: list[tuple[str, ...]],
        *,
        base_docs: int,
        base_df: Any,
        avg_len: float,
    ) -> DeltaSegment:
        """Postings of ``tokens`` with Lucene BM25 weights; ``base_df(term)`` is the base's
        document frequency of a term (0 when the base never saw it)."""
        by_term: dict[str, list[tuple[int, float]]] = defaultdict(list)
        n_docs = base_docs + len(tokens)
        avg = avg_len if avg_len > 0 else 1.0
        for row, doc in enumerate(tokens):
            norm = K1 * ((1 - B) + B * len(doc) / avg)
            for term, tf in Counter(doc).items():
                df = int(base_df(term)) + 1
                idf = math.log(1 + (n_docs - df + 0.5) / (df + 0.5))
                by_term[term].append((start + row, idf * tf / (norm + tf)))
        postings = {
            t: (np.array([p for p, _ in got], np.int64), np.array([w for _, w in got], np.float32))
            for t, got in by_term.items()
        }
        return cls(start, np.ascontiguousarray(vectors, np.float32), tuple(tokens), postings)

    def extended(
        self,
        vectors: np.ndarray,
        tokens: list[tuple[str, ...]],
        *,
        base_docs: int,
        base_df: Any,
        avg_len: float,
    ) -> DeltaSegment:
        """This segment with more rows appended (a new object; this one is left as it was)."""
        return DeltaSegment.build(
            self.start,
            np.vstack([self.vectors, np.asarray(vectors, np.float32)]),
            [*self.tokens, *tokens],
            base_docs=base_docs,
            base_df=base_df,
            avg_len=avg_len,
        )
