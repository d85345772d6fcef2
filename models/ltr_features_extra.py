"""Word-level features of the learned stage (issue 15, ``ltr-features/v3``), beside the char
n-gram and BM25 ones of :mod:`models.ltr_features`.

The document side (:class:`WordSide`) is fitted once per index from the same texts: each text's
name/title and rest are tokenised once (jieba words, as the keyword index), giving a word TF-IDF
of whole texts and of names and a BM25 weight matrix per field (name, rest). Per query: the
cosine of the query's words with whole texts and with names (whole query and query name), and
BM25 of the query's words over the names and over the rest, each normalised per query.

Pure and label-free like the other features: a document contributes only its own text.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from models.ltr_features import NORMS, feature_names, per_query, split_head
from models.ltr_pool import CSC_MAX_NNZ, column_products
from models.text import tokenize

FEATURES_VERSION = "ltr-features/v3"
WORD_BASE = (
    "word_full",  # whole query vs whole text, word TF-IDF cosine
    "word_head",  # query name vs document name
    "word_qfull_head",  # whole query vs document name
    "word_qhead_full",  # query name vs whole text
    "bm25_dhead",  # BM25 of the query's words over document names only
    "bm25_dbody",  # ... over the rest of the text only
    "bm25_qhead_dhead",  # BM25 of the query name's words over document names
)
BM25_K1, BM25_B = 1.2, 0.75


def word_names() -> list[str]:
    return list(WORD_BASE) + [f"{f}_{k}" for f in WORD_BASE for k in NORMS]


def stage_feature_names(n_channels: int) -> list[str]:
    """Every column the stage scores: :func:`models.ltr_features.feature_names`, then these."""
    return feature_names(n_channels) + word_names()


def _counts(docs: Sequence[list[str]], vocab: dict[str, int]) -> sp.csr_matrix:
    rows, cols, vals = [], [], []
    for i, toks in enumerate(docs):
        for t, c in Counter(toks).items():
            rows.append(i)
            cols.append(vocab[t])
            vals.append(float(c))
    shape = (len(docs), max(len(vocab), 1))
    return sp.csr_matrix((np.array(vals, np.float32), (rows, cols)), shape=shape)


def _l2_rows(m: sp.csr_matrix) -> sp.csr_matrix:
    norms = np.sqrt(np.asarray(m.multiply(m).sum(1), dtype=np.float64).ravel())
    return sp.csr_matrix(sp.diags(1.0 / np.maximum(norms, 1e-12)) @ m, dtype=np.float32)


def _bm25(tf: sp.csr_matrix) -> sp.csr_matrix:
    """BM25 document-side weights of a count matrix (query side: 1 per distinct word)."""
    n = tf.shape[0]
    df = np.bincount(tf.indices, minlength=tf.shape[1]).astype(np.float64)
    idf = np.log(1.0 + (n - df + 0.5) / (df + 0.5))
    dl = np.asarray(tf.sum(1), dtype=np.float64).ravel()
    rows = np.repeat(np.arange(n), np.diff(tf.indptr))
    d = tf.data.astype(np.float64)
    norm = BM25_K1 * (1.0 - BM25_B + BM25_B * dl[rows] / max(float(dl.mean()) if n else 1.0, 1e-9))
    out = tf.copy()
    out.data = (idf[tf.indices] * d * (BM25_K1 + 1.0) / (d + norm)).astype(np.float32)
    return out


@dataclass
class WordSide:
    """Word TF-IDF (whole texts, names) and per-field BM25 of the indexed texts."""

    vocab: dict[str, int]
    idf: np.ndarray
    full: sp.csr_matrix  # L2-normalised sublinear TF-IDF rows of whole texts
    head: sp.csr_matrix  # ... of names
    bm25_head: sp.csr_matrix
    bm25_body: sp.csr_matrix
    # documents × [full | head | bm25 head | bm25 body] side by side: one row slice per pool
    stacked: sp.csr_matrix
    # the same by column (None above CSC_MAX_NNZ): a query's few words hold fewer entries over
    # the whole catalogue than its pool's rows (see models.ltr_pool.column_products)
    stacked_csc: sp.csc_matrix | None = None

    @classmethod
    def build(cls, texts: Sequence[str]) -> WordSide:
        split = [split_head(t) for t in texts]
        heads = [tokenize(h) if h else [] for h, _ in split]
        bodies = [tokenize(b) if b else [] for _, b in split]
        vocab: dict[str, int] = {}
        for toks in (*heads, *bodies):
            for t in toks:
                vocab.setdefault(t, len(vocab))
        full_tf = _counts([h + b for h, b in zip(heads, bodies, strict=True)], vocab)
        head_tf = _counts(heads, vocab)
        n = full_tf.shape[0]
        df = np.bincount(full_tf.indices, minlength=full_tf.shape[1]).astype(np.float64)
        idf = (np.log((1.0 + n) / (1.0 + df)) + 1.0).astype(np.float32)  # sklearn's smooth idf

        def tfidf(tf: sp.csr_matrix) -> sp.csr_matrix:
            out = tf.copy()
            out.data = ((1.0 + np.log(out.data)) * idf[out.indices]).astype(np.float32)
            return _l2_rows(out)

        full, head = tfidf(full_tf), tfidf(head_tf)
        bh, bb = _bm25(head_tf), _bm25(_counts(bodies, vocab))
        stacked = sp.hstack([full, head, bh, bb], format="csr").astype(np.float32)
        csc = stacked.tocsc() if stacked.nnz <= CSC_MAX_NNZ else None
        return cls(vocab, idf, full, head, bh, bb, stacked, csc)

    def _query_columns(
        self, tokens: Sequence[str], head_tokens: Sequence[str]
    ) -> tuple[np.ndarray, np.ndarray]:
        """The query's weights against the pool's stacked rows, as the sorted stacked columns
        they touch and a (columns, len(WORD_BASE)) block: the query's (and its name's) TF-IDF
        against whole texts and names, its distinct (name) words against the BM25 fields
        (a dense column block would cost four vocabularies per query)."""
        v = len(self.vocab)
        rows: list[np.ndarray] = []
        cols: list[int] = []
        vals: list[np.ndarray] = []

        def put(at: np.ndarray, col: int, w: np.ndarray) -> None:
            rows.append(at)
            cols.extend([col] * len(at))
            vals.append(w)

        for col_full, col_head, toks in ((0, 2, tokens), (3, 1, head_tokens)):
            counts = Counter(t for t in toks if t in self.vocab)
            if not counts:
                continue
            ids = np.fromiter((self.vocab[t] for t in counts), np.int64, len(counts))
            tf = np.fromiter(counts.values(), np.float32, len(counts))
            w = (1.0 + np.log(tf)) * self.idf[ids]
            w /= max(float(np.linalg.norm(w)), 1e-12)
            put(ids, col_full, w)  # against whole texts
            put(v + ids, col_head, w)  # against names
        named = head_tokens or tokens  # a query without a name: its words stand for it
        for col, offset, toks in ((4, 2 * v, tokens), (5, 3 * v, tokens), (6, 2 * v, named)):
            words = np.array(sorted({self.vocab[t] for t in toks if t in self.vocab}), np.int64)
            put(offset + words, col, np.ones(len(words), np.float32))
        if not rows:
            return np.zeros(0, np.int64), np.zeros((0, len(WORD_BASE)), np.float32)
        at = np.concatenate(rows)
        touched, which = np.unique(at, return_inverse=True)
        block = np.zeros((len(touched), len(WORD_BASE)), dtype=np.float32)
        block[which, np.array(cols, np.int64)] = np.concatenate(vals)  # one entry per cell
        return touched, block

    def features(
        self, pool: np.ndarray, tokens: Sequence[str], head_tokens: Sequence[str]
    ) -> np.ndarray:
        """(pool, len(word_names())) in :func:`word_names` order; rows added after the fit
        (positions past the fitted texts) read 0."""
        known = pool < self.stacked.shape[0]
        cols, block = self._query_columns(tokens, head_tokens)
        base, _ = column_products(
            self.stacked, self.stacked_csc, cols, block, np.where(known, pool, 0)
        )
        base[~known] = 0.0
        return np.hstack([base, per_query(base)]).astype(np.float32, copy=False)
