"""BM25 keyword index (bm25s, Lucene variant) keyed by database ids, with incremental updates.

The bulk-built *main* index is a bm25s sparse score matrix. Documents added or updated later live
in a *delta* (id → tokens) scored with the main index's statistics (N, document frequencies,
average length), so their scores are on the same scale; removed or superseded main rows are
masked. ``compact`` (a rebuild from the source rows) folds the delta in.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import bm25s
import numpy as np

K1 = 1.5
B = 0.75


class KeywordIndex:
    def __init__(self, k1: float = K1, b: float = B) -> None:
        self.k1, self.b = k1, b
        self.bm25: Any = bm25s.BM25(k1=k1, b=b, method="lucene")
        self.row_ids = np.empty(0, dtype=np.int64)
        self.avgdl = 1.0
        self.delta: dict[int, list[str]] = {}
        self.dead: set[int] = set()
        self._row_of: dict[int, int] = {}
        self._df: np.ndarray = np.empty(0, dtype=np.int64)
        self._mask: np.ndarray | None = None

    # ------------------------------------------------------------------ building
    def build(self, ids: Sequence[int], tokens: Sequence[list[str]]) -> None:
        self.row_ids = np.asarray(ids, dtype=np.int64)
        if len(tokens):
            self.bm25.index([list(t) for t in tokens], show_progress=False)
        self.avgdl = float(np.mean([len(t) for t in tokens])) if len(tokens) else 1.0
        self.delta, self.dead = {}, set()
        self._refresh()

    def _refresh(self) -> None:
        self._row_of = {int(i): r for r, i in enumerate(self.row_ids.tolist())}
        indptr = self.bm25.scores.get("indptr") if getattr(self.bm25, "scores", None) else None
        self._df = np.diff(indptr) if indptr is not None else np.empty(0, dtype=np.int64)
        self._update_mask()

    def _update_mask(self) -> None:
        if not self.dead:
            self._mask = None
            return
        mask = np.ones(len(self.row_ids), dtype=np.float32)
        for i in self.dead:
            r = self._row_of.get(i)
            if r is not None:
                mask[r] = 0.0
        self._mask = mask

    @property
    def vocab(self) -> dict[str, int]:
        return dict(getattr(self.bm25, "vocab_dict", None) or {})

    # ------------------------------------------------------------------ incremental
    def remove(self, ids: Sequence[int]) -> None:
        for i in map(int, ids):
            self.delta.pop(i, None)
            if i in self._row_of:
                self.dead.add(i)
        self._update_mask()

    def upsert(self, ids: Sequence[int], tokens: Sequence[list[str]]) -> None:
        self.remove(ids)
        for i, t in zip(ids, tokens, strict=True):
            self.delta[int(i)] = list(t)

    @property
    def count(self) -> int:
        return len(self.row_ids) - len(self.dead) + len(self.delta)

    # ------------------------------------------------------------------ scoring
    def _idf(self, term: str) -> float:
        tid = self.vocab.get(term)
        df = int(self._df[tid]) if tid is not None and tid < len(self._df) else 0
        n = len(self.row_ids)
        return math.log(1.0 + (n - df + 0.5) / (df + 0.5))

    def _score_tokens(self, query: list[str], doc: list[str]) -> float:
        tf = Counter(doc)
        norm = self.k1 * (1 - self.b + self.b * len(doc) / max(self.avgdl, 1e-9))
        s = 0.0
        for t in query:
            f = tf.get(t, 0)
            if f:
                s += self._idf(t) * f / (f + norm)
        return s

    def main_scores(self, query: list[str]) -> np.ndarray:
        """BM25 score of every main row (removed rows score 0)."""
        if not len(self.row_ids):
            return np.empty(0, dtype=np.float32)
        s = np.asarray(self.bm25.get_scores(query), dtype=np.float32)
        return s * self._mask if self._mask is not None else s

    def search(
        self, query: list[str], k: int, main: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (ids, scores) with score > 0, best first."""
        s = self.main_scores(query) if main is None else main
        kk = min(k, len(s))
        if kk:
            top = np.argpartition(-s, kk - 1)[:kk]
            ids = self.row_ids[top]
            scores = s[top]
        else:
            ids = np.empty(0, dtype=np.int64)
            scores = np.empty(0, dtype=np.float32)
        if self.delta:
            d_ids = np.fromiter(self.delta, dtype=np.int64, count=len(self.delta))
            d_sc = np.array([self._score_tokens(query, t) for t in self.delta.values()], "f4")
            ids, scores = np.concatenate([ids, d_ids]), np.concatenate([scores, d_sc])
        keep = scores > 0
        ids, scores = ids[keep], scores[keep]
        order = np.argsort(-scores, kind="stable")[:k]
        return ids[order], scores[order]

    def score_ids(
        self, query: list[str], ids: Sequence[int], main: np.ndarray | None = None
    ) -> np.ndarray:
        """BM25 scores of given ids (0 for unknown or removed ones)."""
        s = self.main_scores(query) if main is None else main
        out = np.zeros(len(ids), dtype=np.float32)
        for j, i in enumerate(map(int, ids)):
            if i in self.delta:
                out[j] = self._score_tokens(query, self.delta[i])
            elif i not in self.dead and (r := self._row_of.get(i)) is not None:
                out[j] = s[r]
        return out

    def matched_terms(self, query: list[str], item_id: int) -> list[str]:
        """Query terms that occur in the document (for explanations)."""
        i = int(item_id)
        if i in self.delta:
            doc = set(self.delta[i])
            return [t for t in dict.fromkeys(query) if t in doc]
        r = self._row_of.get(i)
        if r is None or i in self.dead:
            return []
        vocab, sc = self.vocab, self.bm25.scores
        out = []
        for t in dict.fromkeys(query):
            tid = vocab.get(t)
            if tid is None:
                continue
            rows = sc["indices"][sc["indptr"][tid] : sc["indptr"][tid + 1]]
            pos = np.searchsorted(rows, r)
            if pos < len(rows) and rows[pos] == r:
                out.append(t)
        return out

    # ------------------------------------------------------------------ persistence
    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        if len(self.row_ids):
            self.bm25.save(str(directory / "bm25"), show_progress=False)
        np.save(directory / "row_ids.npy", self.row_ids)
        state = {
            "k1": self.k1,
            "b": self.b,
            "avgdl": self.avgdl,
            "dead": sorted(self.dead),
            "delta": {str(i): t for i, t in self.delta.items()},
        }
        (directory / "state.json").write_text(json.dumps(state, ensure_ascii=False), "utf-8")

    @classmethod
    def load(cls, directory: Path, mmap: bool = False) -> KeywordIndex:
        state = json.loads((directory / "state.json").read_text("utf-8"))
        idx = cls(state["k1"], state["b"])
        idx.row_ids = np.load(directory / "row_ids.npy")
        if len(idx.row_ids):
            idx.bm25 = bm25s.BM25.load(str(directory / "bm25"), mmap=mmap, show_progress=False)
        idx.avgdl = float(state["avgdl"])
        idx.dead = {int(i) for i in state["dead"]}
        idx.delta = {int(i): list(t) for i, t in state["delta"].items()}
        idx._refresh()
        return idx
