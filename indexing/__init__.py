"""Per-entity retrieval indexes: one stack, :mod:`indexing.hybrid` (FAISS dense + BM25, mask-aware
search, the learned scoring stage of :mod:`indexing.rerank`), used by the service, ``xiaoqi eval``
and ``xiaoqi bench index``.
"""

from indexing.manifest import IndexMismatchError, Manifest, StaleIndexError

__all__ = ["IndexMismatchError", "Manifest", "StaleIndexError"]
