"""Hybrid retrieval maths: fuse dense and keyword candidates.

Fusion is a weighted sum of per-query z-scores computed over the candidate pool (the union of
the dense top-``pool_k`` and the BM25 top-``pool_k``, each candidate scored by both channels).
Two weights, learned on the dev qrels (see ``scripts/eval_bench.py learn``), ship in
``data/retrieval/fusion.json``; reciprocal rank fusion is available as a parameter-free option.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

FUSION_PATH = Path(__file__).resolve().parent.parent / "data" / "retrieval" / "fusion.json"


@dataclass(frozen=True)
class FusionWeights:
    dense: float = 0.55
    keyword: float = 0.45
    pool_k: int = 200
    method: str = "zscore"  # "zscore" | "rrf"
    rrf_k: int = 60

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)


def load_fusion_weights(path: Path | None = None) -> FusionWeights:
    """Weights shipped with the product (defaults if the file is absent)."""
    p = path or FUSION_PATH
    if not p.exists():
        return FusionWeights()
    raw = json.loads(p.read_text(encoding="utf-8"))
    fields = FusionWeights.__dataclass_fields__
    return FusionWeights(**{k: v for k, v in raw.items() if k in fields})


@dataclass
class Candidate:
    """One fused candidate with its ranking features."""

    id: int
    score: float
    dense: float
    bm25: float
    matched_terms: list[str] = field(default_factory=list)


def _z(x: np.ndarray) -> np.ndarray:
    sd = float(x.std())
    return (x - float(x.mean())) / sd if sd > 1e-9 else np.zeros_like(x)


def _ranks(x: np.ndarray) -> np.ndarray:
    order = np.argsort(-x, kind="stable")
    r = np.empty(len(x), dtype=np.float64)
    r[order] = np.arange(1, len(x) + 1)
    return r


def fuse_scores(dense: np.ndarray, keyword: np.ndarray, w: FusionWeights) -> np.ndarray:
    """Fused score of each pooled candidate from its dense and BM25 scores."""
    dense = np.asarray(dense, dtype=np.float64)
    keyword = np.asarray(keyword, dtype=np.float64)
    if w.method == "rrf":
        return w.dense / (w.rrf_k + _ranks(dense)) + w.keyword / (w.rrf_k + _ranks(keyword))
    return w.dense * _z(dense) + w.keyword * _z(keyword)


def pool_and_fuse(
    dense_ids: np.ndarray,
    keyword_ids: np.ndarray,
    dense_of: np.ndarray,
    keyword_of: np.ndarray,
    pool_ids: np.ndarray,
    weights: FusionWeights,
    k: int,
) -> list[Candidate]:
    """Rank ``pool_ids`` (whose dense / BM25 scores are ``dense_of`` / ``keyword_of``)."""
    del dense_ids, keyword_ids  # the pool already is their union
    fused = fuse_scores(dense_of, keyword_of, weights)
    order = np.argsort(-fused, kind="stable")[:k]
    return [
        Candidate(int(pool_ids[j]), float(fused[j]), float(dense_of[j]), float(keyword_of[j]))
        for j in order
    ]


def union_ids(*id_lists: np.ndarray) -> np.ndarray:
    """Union of candidate id arrays in first-seen order, without the -1 padding."""
    seen: dict[int, None] = {}
    for ids in id_lists:
        for i in np.asarray(ids).reshape(-1).tolist():
            if i >= 0:
                seen.setdefault(int(i), None)
    return np.fromiter(seen, dtype=np.int64, count=len(seen))
