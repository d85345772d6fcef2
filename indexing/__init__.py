"""Persistent per-entity indexes: FAISS (dense) and BM25 (keyword), each with a manifest.

Public API (see :mod:`indexing.store`): ``build_index``, ``load_index``, ``load_or_build``,
``EntityIndex.add / update / remove / search / search_keyword / search_hybrid / save``.
"""

from indexing.manifest import IndexMismatchError, Manifest, StaleIndexError
from indexing.store import EntityIndex, build_index, load_index, load_or_build

__all__ = [
    "EntityIndex",
    "IndexMismatchError",
    "Manifest",
    "StaleIndexError",
    "build_index",
    "load_index",
    "load_or_build",
]
