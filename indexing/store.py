"""One entity type's indexes on disk: dense (FAISS) + keyword (BM25) + a manifest.

``build_index`` streams ``(id, text)`` items in batches (encode → FAISS, tokenise → BM25), so a
million items work with bounded extra memory and a progress bar; ``load_index`` checks the
manifest against the configured encoder and the expected data version; ``EntityIndex`` offers
incremental ``add`` / ``update`` / ``remove`` and dense, keyword and hybrid search.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from itertools import islice
from pathlib import Path

import numpy as np

from indexing.dense import DenseIndex, choose_kind
from indexing.keyword import KeywordIndex
from indexing.manifest import IndexMismatchError, Manifest, StaleIndexError, utc_now
from models.encoder import Encoder
from models.retrieval import Candidate, FusionWeights, load_fusion_weights, pool_and_fuse, union_ids
from models.text import normalize, tokenize

TOKENIZER_ID = "jieba-search+userdict+snowball-en/v1"
BATCH = 256
Items = Iterable[tuple[int, str]]


class EntityIndex:
    """Dense + keyword index of one entity type."""

    def __init__(
        self,
        manifest: Manifest,
        dense: DenseIndex,
        keyword: KeywordIndex,
        encoder: Encoder,
        directory: Path | None = None,
        weights: FusionWeights | None = None,
    ) -> None:
        self.manifest = manifest
        self.dense = dense
        self.keyword = keyword
        self.encoder = encoder
        self.directory = directory
        self.weights = weights or load_fusion_weights()

    # ------------------------------------------------------------------ incremental
    def add(self, items: Items, data_version: str | None = None) -> int:
        """Add (or replace) items; returns how many were written."""
        n = 0
        for batch in _batched(items, BATCH):
            ids = [i for i, _ in batch]
            texts = [normalize(t) for _, t in batch]
            self.dense.upsert(ids, self.encoder.encode_documents(texts))
            self.keyword.upsert(ids, [tokenize(t, normalized=True) for t in texts])
            n += len(batch)
        self._touch(data_version)
        return n

    update = add  # an update is a replace of the same id

    def remove(self, ids: Iterable[int], data_version: str | None = None) -> None:
        ids = list(ids)
        self.dense.remove(ids)
        self.keyword.remove(ids)
        self._touch(data_version)

    def _touch(self, data_version: str | None) -> None:
        self.manifest.count = self.dense.count
        self.manifest.updated_at = utc_now()
        if data_version is not None:
            self.manifest.data_version = data_version

    def save(self, directory: Path | None = None) -> Path:
        """Write atomically-ish: parts first, the manifest last."""
        d = Path(directory or self.directory or "")
        if not str(d):
            raise ValueError("no directory to save the index to")
        d.mkdir(parents=True, exist_ok=True)
        self.dense.save(d / "dense")
        self.keyword.save(d / "keyword")
        self.manifest.save(d)
        self.directory = d
        return d

    # ------------------------------------------------------------------ search
    def search(self, query: str | np.ndarray, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Dense search by text or by query vector(s): (ids, scores), -1 ids pad."""
        if isinstance(query, str):
            vec = self.encoder.encode_queries([query])
            ids, scores = self.dense.search(vec, k)
            return ids[0], scores[0]
        q = np.asarray(query, dtype=np.float32)
        ids, scores = self.dense.search(q.reshape(-1, self.manifest.dim), k)
        return (ids[0], scores[0]) if q.ndim == 1 else (ids, scores)

    def search_keyword(self, query: str, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        return self.keyword.search(tokenize(query), k)

    def search_hybrid(
        self,
        query: str,
        k: int = 200,
        query_vec: np.ndarray | None = None,
        explain: bool = True,
    ) -> list[Candidate]:
        """Online hybrid search: one query encoding, FAISS + BM25 candidates, fused.

        Each candidate carries its dense (cosine) and BM25 scores — ranking features — and, if
        ``explain``, the query terms it matched.
        """
        w = self.weights
        pool_k = max(k, w.pool_k)
        text = normalize(query)
        qv = self.encoder.encode_queries([text]) if query_vec is None else query_vec
        qv = np.asarray(qv, dtype=np.float32).reshape(1, -1)
        d_ids, d_sc = self.dense.search(qv, pool_k)
        terms = tokenize(text, normalized=True)
        main = self.keyword.main_scores(terms)
        k_ids, _ = self.keyword.search(terms, pool_k, main=main)
        pool = union_ids(d_ids[0], k_ids)
        if not len(pool):
            return []
        dense_of = np.full(len(pool), np.nan, dtype=np.float32)
        pos = {int(i): j for j, i in enumerate(pool.tolist())}
        for i, s in zip(d_ids[0].tolist(), d_sc[0].tolist(), strict=True):
            if i >= 0:
                dense_of[pos[i]] = s
        missing = np.isnan(dense_of)
        if missing.any():
            dense_of[missing] = self.dense.vectors(pool[missing]) @ qv[0]
        kw_of = self.keyword.score_ids(terms, pool.tolist(), main=main)
        out = pool_and_fuse(d_ids[0], k_ids, dense_of, kw_of, pool, w, k)
        if explain:
            for c in out:
                c.matched_terms = self.keyword.matched_terms(terms, c.id)
        return out


def _batched(items: Iterable[tuple[int, str]], n: int) -> Iterable[list[tuple[int, str]]]:
    it = iter(items)
    while batch := list(islice(it, n)):
        yield batch


def build_index(
    entity_type: str,
    items: Items,
    encoder: Encoder,
    out_dir: Path | str | None,
    data_version: str,
    expected_count: int | None = None,
    kind: str | None = None,
    progress: bool | Callable[[int], None] = True,
) -> EntityIndex:
    """Build dense + keyword indexes from ``(id, text)`` items; save if ``out_dir`` is given.

    ``kind`` forces "flat" or "hnsw"; otherwise it follows ``expected_count`` (or the number of
    items, which are then read into memory first when no count is given).
    """
    if kind is None:
        if expected_count is None:
            items = list(items)
            expected_count = len(items)
        kind = choose_kind(expected_count)
    dense = DenseIndex(encoder.dim, kind)
    all_ids: list[int] = []
    all_tokens: list[list[str]] = []
    bar = _progress(progress, expected_count, f"index {entity_type}")
    t0 = time.perf_counter()
    for batch in _batched(items, BATCH):
        ids = [int(i) for i, _ in batch]
        texts = [normalize(t) for _, t in batch]
        dense.add_bulk(ids, encoder.encode_documents(texts, batch_size=64))
        all_ids.extend(ids)
        all_tokens.extend(tokenize(t, normalized=True) for t in texts)
        bar(len(batch))
    if len(set(all_ids)) != len(all_ids):
        raise ValueError(f"duplicate ids in the items for {entity_type!r}")
    keyword = KeywordIndex()
    keyword.build(all_ids, all_tokens)
    manifest = Manifest(
        entity_type=entity_type,
        encoder_id=encoder.id,
        dim=encoder.dim,
        count=len(all_ids),
        data_version=data_version,
        dense_kind=kind,
        dense_params={"metric": "inner_product", "build_seconds": time.perf_counter() - t0},
        keyword={"tokenizer": TOKENIZER_ID, "k1": keyword.k1, "b": keyword.b},
    )
    index = EntityIndex(manifest, dense, keyword, encoder)
    if out_dir is not None:
        out = Path(out_dir)
        tmp = out.with_name(out.name + ".building")
        shutil.rmtree(tmp, ignore_errors=True)
        index.save(tmp)
        shutil.rmtree(out, ignore_errors=True)
        tmp.rename(out)
        index.directory = out
    return index


def load_index(
    directory: Path | str, encoder: Encoder, expected_data_version: str | None = None
) -> EntityIndex:
    """Load an index, refusing (with a clear message) one built for another encoder or data.

    Raises :class:`IndexMismatchError` or :class:`StaleIndexError`; use :func:`load_or_build`
    to rebuild instead.
    """
    d = Path(directory)
    manifest = Manifest.load(d)
    manifest.check(encoder.id, encoder.dim, expected_data_version, TOKENIZER_ID)
    dense = DenseIndex.load(d / "dense", manifest.dim, manifest.dense_kind)
    keyword = KeywordIndex.load(d / "keyword")
    return EntityIndex(manifest, dense, keyword, encoder, d)


def load_or_build(
    directory: Path | str,
    entity_type: str,
    encoder: Encoder,
    data_version: str,
    items: Callable[[], Items],
    expected_count: int | None = None,
) -> EntityIndex:
    """Load the index if it matches encoder and data version, else rebuild it from ``items()``."""
    try:
        return load_index(directory, encoder, data_version)
    except (FileNotFoundError, IndexMismatchError, StaleIndexError):
        return build_index(
            entity_type, items(), encoder, directory, data_version, expected_count=expected_count
        )


def _progress(
    progress: bool | Callable[[int], None], total: int | None, label: str
) -> Callable[[int], None]:
    if callable(progress):
        return progress
    if not progress:
        return lambda n: None
    from tqdm import tqdm

    bar = tqdm(total=total, desc=label, unit="item", mininterval=1.0)
    return lambda n: bar.update(n)


def ids_texts(ids: Sequence[int], texts: Sequence[str]) -> list[tuple[int, str]]:
    return list(zip(ids, texts, strict=True))
