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
        vocab = index.bm25.vocab_dict
        s = index.bm25.scores
        # plain views: element access on a memory map costs a Python object per call
        indptr, indices, data = (
            np.asarray(s[k]).view(np.ndarray) for k in ("indptr", "indices", "data")
        )
        unique = list(dict.fromkeys(qtokens))
        terms_of = {vocab[t]: t for t in unique if t in vocab}
        found = np.fromiter(terms_of, dtype=np.int64, count=len(terms_of))
        freq = indptr[found + 1] - indptr[found]
        ids = found[np.argsort(freq, kind="stable")][:MAX_FEATURE_TERMS]
        starts, stops = indptr[ids].astype(np.int64), indptr[ids + 1].astype(np.int64)
        head_tokens = self.query_side(text)[1]
        hits = _term_hits(indices, data, starts, stops, np.asarray(pool, dtype=np.int64))
        n_docs = max(len(index.ids), 1)
        df = (stops - starts).astype(np.float64)
        ids = ids.tolist()
        idf = np.log(1.0 + (n_docs - df + 0.5) / (df + 0.5)) if len(ids) else np.zeros(0)
        # rows appended since the build (a delta segment) have no stored n-gram rows here:
        # their text features read as absent until the next full build
        rows = getattr(index, "vector_rows", None)
        vecs = rows(pool) if rows is not None else index.vectors[pool]
        channels: list[np.ndarray] = []
        adapted: list[np.ndarray] = []
        for (_, lo, hi), adapter in zip(self.channels, self.adapters or [], strict=True):
            dn = np.linalg.norm(vecs[:, lo:hi], axis=1)
            for out, qpart in (
                (channels, qvec[lo:hi]),
                (adapted, qvec[lo:hi] @ adapter if adapter is not None else qvec[lo:hi]),
            ):
                qn = float(np.linalg.norm(qpart))
                dot = vecs[:, lo:hi] @ qpart
                ok = (dn > 1e-9) & (qn > 1e-9)
                out.append(np.where(ok, dot / np.maximum(dn * qn, 1e-9), 0.0))
        norms = self._norms(index)
        return ltr.QueryInput(
            text=text,
            pool=pool,
            dense=dense,
            channels=channels,
            bm25=bm25,
            term_hits=hits,
            term_idf=idf.astype(np.float32),
            head_terms=np.array([terms_of[t] in head_tokens for t in ids], dtype=bool),
            bm25_norm=norms[np.minimum(pool, len(norms) - 1)],
            adapted=adapted,
            term_names=[terms_of[t] for t in ids],
        )

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


CONCAT_POSTINGS = 1 << 20  # postings read as one array up to this many; a loop per term above


def _term_hits(
    indices: np.ndarray, data: np.ndarray, starts: np.ndarray, stops: np.ndarray, pool: np.ndarray
) -> np.ndarray:
    """(terms, pool) BM25 weight of each term in each pooled document (0 where absent), read
    from term-major postings sorted by document (see hybrid._sorted_postings): one sorted key
    array over all the query's postings and one search for every (term, document) pair."""
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
    pairs = list(zip(starts.tolist(), stops.tolist(), strict=True))
    docs = np.concatenate([indices[lo:hi] for lo, hi in pairs]).astype(np.int64)
    vals = np.concatenate([data[lo:hi] for lo, hi in pairs])
    span = int(max(int(pool.max()), int(docs.max())) + 1)  # term row × span + document: sorted
    keys = docs + np.repeat(np.arange(len(starts), dtype=np.int64) * span, lens)
    wanted = (np.arange(len(starts), dtype=np.int64)[:, None] * span + pool[None, :]).ravel()
    at = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
    hit = keys[at] == wanted
    hits.ravel()[hit] = vals[at[hit]]
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
        loaded = model
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
