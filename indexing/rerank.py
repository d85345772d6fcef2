"""The learned candidate-scoring stage of :class:`indexing.hybrid.HybridIndex` (issue 15).

Built beside the index from the same profile texts (:class:`models.ltr.DocSide`), it turns a
search's candidate pool into feature rows (BM25 term hits read from the index's own postings,
per-channel cosines from its stored vectors) and scores them with the shipped lambdarank model
(data/retrieval/ltr.json). Without a shipped model, or with ``XIAOQI_RERANK=0``, the hybrid's
linear fusion scores the pool as before.
"""

from __future__ import annotations

import logging
import os
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from models import ltr
from models import ltr_features_extra as lfx
from models.text import tokenize

if TYPE_CHECKING:
    from indexing.hybrid import HybridIndex

log = logging.getLogger(__name__)
MAX_FEATURE_TERMS = 128  # query terms read for coverage features (rarest first)
QUERY_MEMO = 4096  # query texts whose query-side features are kept
Capture = Callable[[np.ndarray, np.ndarray], None]


def encoder_channels(encoder: Any) -> list[tuple[str, int, int]]:
    """(name, start, stop) of each dense channel in the encoder's vectors."""
    channels = getattr(encoder, "channels", None)
    return list(channels) if channels else [(str(encoder.id), 0, int(encoder.dim))]


@dataclass
class RerankStage:
    docs: ltr.DocSide
    channels: list[tuple[str, int, int]]
    model: ltr.LtrModel | None
    capture: Capture | None = None  # eval/training: receives (pool, features) of every search
    adapters: list[np.ndarray | None] | None = None  # per channel; default: the model's
    words: lfx.WordSide | None = None  # word-level features (v3), built here when None
    _with_words: bool = False  # v3 columns: features only (training) or a v3 model
    _names: list[str] = field(default_factory=list)
    _bm25_norms: tuple[int, np.ndarray] | None = None
    _sides: dict[str, tuple[ltr.QuerySide, frozenset[str]]] = field(default_factory=dict)

    def query_side(self, text: str) -> tuple[ltr.QuerySide, frozenset[str]]:
        """The query's n-gram vectors and head tokens, kept per text."""
        found = self._sides.get(text)
        if found is None:
            side = ltr.query_side(self.docs, text)
            found = (side, frozenset(tokenize(side.head)) if side.head else frozenset())
            if len(self._sides) >= QUERY_MEMO:
                self._sides.clear()
            self._sides[text] = found
        return found

    def forget_queries(self) -> None:
        """Drop every memoised query value (benchmarks: the next ask is free text)."""
        self._sides.clear()
        self.docs.memo.clear()

    def __post_init__(self) -> None:
        v3 = lfx.stage_feature_names(len(self.channels))
        self._with_words = self.model is None or self.model.feature_names == v3
        self._names = v3 if self._with_words else ltr.feature_names(len(self.channels))
        if self._with_words and self.words is None:
            self.words = lfx.WordSide.build(self.docs.bodies)
        if self.adapters is None:
            found = self.model.adapters if self.model is not None else []
            self.adapters = list(found) + [None] * (len(self.channels) - len(found))

    def _norms(self, index: HybridIndex) -> np.ndarray:
        """Per-document L2 norm of the BM25 weight rows (once per BM25 object)."""
        s = index.bm25.scores
        if self._bm25_norms is None or self._bm25_norms[0] != id(index.bm25):
            data = np.asarray(s["data"], dtype=np.float64)
            sq = np.bincount(np.asarray(s["indices"]), weights=data**2, minlength=len(index.ids))
            self._bm25_norms = (id(index.bm25), np.sqrt(sq).astype(np.float32))
        return self._bm25_norms[1]

    @property
    def feature_names(self) -> list[str]:
        return self._names

    def query_input(
        self,
        index: HybridIndex,
        text: str,
        qvec: np.ndarray,
        qtokens: Sequence[str],
        pool: np.ndarray,
        dense: np.ndarray,
        bm25: np.ndarray,
    ) -> ltr.QueryInput:
        s = index.bm25.scores
        # plain views: element access on a memory map costs a Python object per call
        indptr, indices, data = (
            np.asarray(s[k]).view(np.ndarray) for k in ("indptr", "indices", "data")
        )
        side, head_tokens = self.query_side(text)
        terms = self._terms(index, side, qtokens, head_tokens, indptr)
        pool = np.asarray(pool, dtype=np.int64)
        hits = _term_hits(indices, data, terms.starts, terms.stops, pool)
        # rows appended since the build (a delta segment) have no stored n-gram rows here:
        # their text features read as absent until the next full build
        rows = getattr(index, "vector_rows", None)
        vecs = rows(pool) if rows is not None else index.vectors[pool]
        channels, adapted = self._cosines(qvec, np.asarray(vecs))
        norms = self._norms(index)
        return ltr.QueryInput(
            text=text,
            pool=pool,
            dense=dense,
            channels=channels,
            bm25=bm25,
            term_hits=hits,
            term_idf=terms.idf,
            head_terms=terms.head,
            bm25_norm=norms[np.minimum(pool, len(norms) - 1)],
            adapted=adapted,
            term_names=terms.names,
        )

    def _terms(
        self,
        index: HybridIndex,
        side: ltr.QuerySide,
        qtokens: Sequence[str],
        head_tokens: frozenset[str],
        indptr: np.ndarray,
    ) -> QueryTerms:
        """The query's BM25 terms in this index, rarest first (kept with the text's memo entry:
        a stored subject asks again with the same tokens)."""
        found = side.memo.get("terms")
        if (
            isinstance(found, QueryTerms)
            and found.bm25() is index.bm25
            and found.n_docs == len(index.ids)
            and found.tokens == tuple(qtokens)
        ):
            return found
        vocab = index.bm25.vocab_dict
        terms_of = {vocab[t]: t for t in dict.fromkeys(qtokens) if t in vocab}
        ids = np.fromiter(terms_of, dtype=np.int64, count=len(terms_of))
        freq = indptr[ids + 1] - indptr[ids]
        ids = ids[np.argsort(freq, kind="stable")][:MAX_FEATURE_TERMS]
        starts, stops = indptr[ids].astype(np.int64), indptr[ids + 1].astype(np.int64)
        n_docs = max(len(index.ids), 1)
        df = (stops - starts).astype(np.float64)
        idf = np.log(1.0 + (n_docs - df + 0.5) / (df + 0.5)) if len(ids) else np.zeros(0)
        names = [terms_of[t] for t in ids.tolist()]
        terms = QueryTerms(
            weakref.ref(index.bm25),
            len(index.ids),
            tuple(qtokens),
            starts,
            stops,
            idf.astype(np.float32),
            np.array([t in head_tokens for t in names], dtype=bool),
            names,
        )
        side.memo["terms"] = terms
        return terms

    def _cosines(
        self, qvec: np.ndarray, vecs: np.ndarray
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Cosine of the query with each pooled vector per channel, raw and after the channel's
        adapter: one product with the query parts side by side."""
        q = QueryParts.of(qvec, self.channels, self.adapters or [])
        n = len(self.channels)
        if not n:
            return [], []
        dot = vecs @ q.parts  # (pool, 2 channels): raw parts, then adapted ones
        dn = np.sqrt((vecs * vecs) @ q.select)  # (pool, channels)
        dn = np.concatenate([dn, dn], axis=1)
        ok = (dn > 1e-9) & (q.norms > 1e-9)
        cos = np.where(ok, dot / np.maximum(dn * q.norms, 1e-9), 0.0)
        return [cos[:, c] for c in range(n)], [cos[:, n + c] for c in range(n)]

    def score(
        self,
        index: HybridIndex,
        text: str,
        qvec: np.ndarray,
        qtokens: Sequence[str],
        pool: np.ndarray,
        dense: np.ndarray,
        bm25: np.ndarray,
        fallback: np.ndarray,
    ) -> np.ndarray:
        """Model scores of the pool (the linear ``fallback`` when no model is loaded)."""
        q = self.query_input(index, text, qvec, qtokens, pool, dense, bm25)
        side, head_tokens = self.query_side(text)
        x = ltr.features(q, self.docs, side)
        if self._with_words and self.words is not None:
            x = np.hstack([x, self.words.features(pool, qtokens, sorted(head_tokens))])
        if self.capture is not None:
            self.capture(pool, x)
        if self.model is None:
            return fallback
        return self.model.score(x)


@dataclass
class QueryTerms:
    """A query's BM25 terms (rarest first, at most MAX_FEATURE_TERMS) in one index's postings."""

    bm25: weakref.ref[Any]  # the BM25 object the ids index (a rebuilt index gets new ones)
    n_docs: int  # the idf's document count
    tokens: tuple[str, ...]
    starts: np.ndarray  # postings span of each term
    stops: np.ndarray
    idf: np.ndarray  # float32
    head: np.ndarray  # bool: the term occurs in the query's head
    names: list[str]


@dataclass
class QueryParts:
    """A query vector cut into its dense channels, raw and adapted, side by side as columns
    (zero outside the channel's rows), with their norms and a channel indicator."""

    parts: np.ndarray  # (dim, 2·channels) float32
    norms: np.ndarray  # (2·channels,) float32
    select: np.ndarray  # (dim, channels) 0/1: which rows each channel has

    @classmethod
    def of(
        cls,
        qvec: np.ndarray,
        channels: Sequence[tuple[str, int, int]],
        adapters: Sequence[np.ndarray | None],
    ) -> QueryParts:
        n, dim = len(channels), len(qvec)
        parts = np.zeros((dim, 2 * n), dtype=np.float32)
        select = np.zeros((dim, n), dtype=np.float32)
        norms = np.zeros(2 * n, dtype=np.float32)
        for c, ((_, lo, hi), adapter) in enumerate(zip(channels, adapters, strict=True)):
            raw = qvec[lo:hi]
            for col, part in ((c, raw), (n + c, raw @ adapter if adapter is not None else raw)):
                parts[lo:hi, col] = part
                norms[col] = float(np.linalg.norm(part))
            select[lo:hi, c] = 1.0
        return cls(parts, norms, select)


CONCAT_POSTINGS = 1 << 20  # postings read as one array up to this many; a loop per term above


def _term_hits(
    indices: np.ndarray, data: np.ndarray, starts: np.ndarray, stops: np.ndarray, pool: np.ndarray
) -> np.ndarray:
    """(terms, pool) BM25 weight of each term in each pooled document (0 where absent), read
    from term-major postings sorted by document: every posting of the query's terms gathered
    once, each looked up in a document → pool column table (a search per (term, document)
    pair cost ~5× more at ~7k postings and ~150 candidates)."""
    hits = np.zeros((len(starts), len(pool)), dtype=np.float32)
    lens = stops - starts
    if not len(starts) or not len(pool) or not lens.sum():
        return hits
    if lens.sum() > CONCAT_POSTINGS:  # very common terms in a big corpus: no big copy
        for row, (lo, hi) in enumerate(zip(starts.tolist(), stops.tolist(), strict=True)):
            docs = indices[lo:hi]
            if len(docs):
                at = np.minimum(np.searchsorted(docs, pool), len(docs) - 1)
                hit = docs[at] == pool
                hits[row, hit] = data[lo + at[hit]]
        return hits
    total = int(lens.sum())
    offsets = np.cumsum(lens) - lens
    at = np.arange(total, dtype=np.int64) + np.repeat(starts - offsets, lens)  # posting entries
    docs = indices[at]
    span = int(max(int(pool.max()), int(docs.max()))) + 1
    column = np.full(span, -1, dtype=np.int32)  # each document's column in the pool, -1: none
    column[pool] = np.arange(len(pool), dtype=np.int32)
    if not np.array_equal(column[pool], np.arange(len(pool))):  # a position pooled twice
        once, back = np.unique(pool, return_inverse=True)
        return _term_hits(indices, data, starts, stops, once)[:, back]
    col = column[docs]
    keep = col >= 0
    rows = np.repeat(np.arange(len(starts), dtype=np.int64), lens)
    hits[rows[keep], col[keep]] = data[at[keep]]
    return hits


def build_stage(
    texts: Sequence[str], encoder: Any, model: ltr.LtrModel | None | bool | Path = True
) -> RerankStage | None:
    """The stage for an index over ``texts``; ``model=True`` loads the shipped model (None when
    none is shipped or it was trained for other dense channels), a path loads that manifest
    instead (a stage fine-tuned from review decisions) and falls back to the shipped one when it
    is missing or does not fit, ``None`` builds features only (training), ``False`` or
    ``XIAOQI_RERANK=0`` builds nothing."""
    if model is False or os.environ.get("XIAOQI_RERANK", "1") == "0":
        return None
    channels = encoder_channels(encoder)
    loaded: ltr.LtrModel | None
    if isinstance(model, Path):
        tuned = _fitting(ltr.load(model), channels, encoder) if model.exists() else None
        if tuned is not None:
            return RerankStage(ltr.DocSide.build(texts), channels, tuned)
        model = True
    if model is True:
        loaded = _fitting(ltr.load(), channels, encoder)
        if loaded is None:
            return None
    else:
        loaded = model or None
    return RerankStage(ltr.DocSide.build(texts), channels, loaded)


def _fitting(
    model: ltr.LtrModel | None, channels: list[tuple[str, int, int]], encoder: Any
) -> ltr.LtrModel | None:
    """The model when it was trained for these features and this encoder's dense channels."""
    if model is None:
        return None
    known = (ltr.feature_names(len(channels)), lfx.stage_feature_names(len(channels)))
    if model.feature_names not in known or model.manifest.get("encoder") != getattr(
        encoder, "id", None
    ):
        log.warning(
            "ranking model %s was trained for other features; linear fusion",
            model.manifest.get("version"),
        )
        return None
    return model
