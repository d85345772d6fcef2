"""Features of the learned scoring stage: cheap query–candidate signals, normalised per query.

Pure: features come from arrays the index hands over (the pool's dense vectors and BM25 scores,
per-term postings hits) and a document side fitted once per index (char n-gram TF-IDF of whole
texts and of names/titles, name token and character sets). Nothing here is derived from labels:
no per-document priors, no per-query lookups; a document contributes only its own text, so an
unseen query or a new document is scored the same way as a trained one.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from models.encoder import cjk_share
from models.ltr_pool import CSC_MAX_NNZ, CorpusMemo, char_products, char_wb_grams, containment
from models.text import normalize, tokenize

FEATURES_VERSION = "ltr-features/v2"

_HEAD_SPLIT = re.compile(r"[:：。;；\n]")
_BRACKETED = re.compile(r"[（(][^）)]*[）)]")
HEAD_MAX = 48  # a name or title longer than this is not a name


def split_head(text: str) -> tuple[str, str]:
    """(name/title, rest) of a profile text: the part before the first ``:``/``。`` when short
    enough (benchmark ``title: text``, the service's ``name。industries。description``)."""
    return _split_normal(normalize(text))


def _split_normal(text: str) -> tuple[str, str]:
    """:func:`split_head` of an already normalised text (the query side normalises once)."""
    m = _HEAD_SPLIT.search(text, 0, HEAD_MAX + 1)
    if m is None or m.start() == 0:
        return "", text
    return text[: m.start()].strip(), text[m.end() :].strip()


def head_core(head: str) -> str:
    """A name without its bracketed qualifier (``现代种业技术（职教本科）`` → ``现代种业技术``)."""
    return _BRACKETED.sub("", head).strip().lower()


def _fit(vec: TfidfVectorizer, docs: list[str]) -> sp.csr_matrix:
    """Fit and transform; a corpus with no n-gram at all (an empty catalogue) gets a one-term
    vocabulary, so every document is the zero vector instead of the build failing."""
    try:
        return vec.fit_transform(docs).tocsr()
    except ValueError:
        vec.fit(["_"])
        return vec.transform(docs).tocsr()


@dataclass
class Incidence:
    """Sparse 0/1 matrix (documents × items) with its vocabulary: set overlaps for a whole pool
    in one sparse product instead of a Python loop per candidate."""

    matrix: sp.csr_matrix
    vocab: dict[str, int]
    sizes: np.ndarray  # items per document

    @classmethod
    def build(cls, sets: Sequence[set[str]]) -> Incidence:
        vocab: dict[str, int] = {}
        rows, cols = [], []
        for i, items in enumerate(sets):
            for it in items:
                rows.append(i)
                cols.append(vocab.setdefault(it, len(vocab)))
        m = sp.csr_matrix(
            (np.ones(len(rows), np.float32), (rows, cols)), shape=(len(sets), max(len(vocab), 1))
        )
        return cls(m, vocab, np.asarray(m.sum(1), dtype=np.float32).ravel())

    def weights(self, weight: dict[str, float], default: float = 0.0) -> np.ndarray:
        out = np.full(self.matrix.shape[1], default, dtype=np.float32)
        for item, w in weight.items():
            j = self.vocab.get(item)
            if j is not None:
                out[j] = w
        return out


@dataclass
class DocSide:
    """Document-side state fitted once per index: char n-gram TF-IDF of whole texts and of the
    heads (names/titles), head character and word sets, name cores and texts for containment."""

    full_vec: TfidfVectorizer
    head_vec: TfidfVectorizer
    full: sp.csr_matrix
    head: sp.csr_matrix
    head_chars: Incidence  # which characters each name has
    log_len: np.ndarray
    head_tokens: Incidence  # which words each name has
    cores: list[str] = field(default_factory=list)  # names without bracketed qualifiers
    bodies: list[str] = field(default_factory=list)  # lower-cased normalised texts
    # [name n-grams | name characters | name words] side by side: a pool's name features are
    # one row slice and one product instead of three of each
    names: sp.csr_matrix = field(init=False)
    spaces: tuple[Space, Space] = field(init=False)  # whole texts, names
    # the whole-text matrix by column (None above CSC_MAX_NNZ) and each n-gram's document count:
    # a query's ~250 n-gram columns hold fewer non-zeros than its pool's ~200 rows (see
    # _char_products, which picks the cheaper side per query)
    full_csc: sp.csc_matrix | None = field(init=False)
    full_df: np.ndarray = field(init=False)
    core_list: list[str | None] = field(init=False)  # cores of 2+ characters (None: too short)
    memo: CorpusMemo = field(init=False)  # per-document values of recent query texts

    def __post_init__(self) -> None:
        self.spaces = (Space.of(self.full_vec), Space.of(self.head_vec))
        self.names = sp.hstack(
            [self.head, self.head_chars.matrix, self.head_tokens.matrix], format="csr"
        ).astype(np.float32)
        small = self.full.nnz <= CSC_MAX_NNZ
        self.full_csc = self.full.tocsc() if small else None
        self.full_df = np.bincount(self.full.indices, minlength=self.full.shape[1])
        self.core_list = [c if len(c) > 1 else None for c in self.cores]
        self.memo = CorpusMemo()

    @classmethod
    def build(cls, texts: Sequence[str]) -> DocSide:
        split = [split_head(t) for t in texts]
        heads = [h for h, _ in split]
        full_vec = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, dtype=np.float32
        )
        head_vec = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(1, 2), sublinear_tf=True, dtype=np.float32
        )
        normal = [normalize(t) for t in texts]
        # an empty index still fits a vocabulary on one blank text; keep zero rows (the incidence
        # matrices below have one row per text, and the two are stacked side by side)
        full = _fit(full_vec, normal or [""])[: len(texts)]
        head = _fit(head_vec, [h or " " for h in heads] or [" "])[: len(texts)]
        return cls(
            full_vec,
            head_vec,
            full,
            head,
            Incidence.build([set(h.lower()) for h in heads]),
            np.log1p(np.array([len(t) for t in texts], dtype=np.float32)),
            Incidence.build([set(tokenize(h)) for h in heads]),
            [head_core(h) for h in heads],
            [t.lower() for t in normal],
        )


@dataclass
class QueryInput:
    """Everything about one query and its candidate pool the features read."""

    text: str
    pool: np.ndarray  # positions in the index
    dense: np.ndarray  # cosine of the full (routed) vectors
    channels: list[np.ndarray]  # cosine per dense channel (0 where a side lacks it)
    bm25: np.ndarray  # the hybrid's BM25 score
    term_hits: np.ndarray  # (terms, pool) BM25 contribution of each query term, 0 when absent
    term_idf: np.ndarray  # (terms,) weight of each query term
    head_terms: np.ndarray  # (terms,) bool: the term occurs in the query's head
    bm25_norm: np.ndarray  # (pool,) L2 norm of each candidate's BM25 term-weight row
    adapted: list[np.ndarray]  # cosine per channel after the query adapter (raw without one)
    term_names: list[str] = field(default_factory=list)  # the terms of term_hits' rows


BASE = (
    "dense",
    "bm25",
    "bm25_qhead",
    "coverage",
    "coverage_qhead",
    "char_full",
    "char_head",
    "char_qhead_full",
    "head_contains",
    "head_contained",
    "bm25_all",
    "bm25_cos",
    "head_word_recall",
    "qhead_word_in_head",
    "char_qfull_head",  # the whole query against the document's name (its n-gram space)
    "head_match_idf",  # idf mass of the document name's words that the query has
    "core_in_query",  # the document's name (qualifier dropped) occurs verbatim in the query
    "qcore_in_doc",  # the query's name occurs verbatim in the document
)
# the features read from the document side, absent (0) for rows added after it was fitted
_DOC_SIDE = frozenset(
    (
        "char_full",
        "char_head",
        "char_qhead_full",
        "head_contains",
        "head_contained",
        "head_word_recall",
        "qhead_word_in_head",
        "char_qfull_head",
        "head_match_idf",
        "core_in_query",
        "qcore_in_doc",
    )
)
NORMS = ("z", "gap", "rank")
CONTEXT = ("doc_log_len", "query_log_len", "query_cjk", "pool_size")


def base_names(n_channels: int) -> list[str]:
    return (
        list(BASE)
        + [f"dense_ch{c}" for c in range(n_channels)]
        + [f"adapted_ch{c}" for c in range(n_channels)]
    )


def feature_names(n_channels: int) -> list[str]:
    base = base_names(n_channels)
    return base + [f"{f}_{k}" for f in base for k in NORMS] + list(CONTEXT)


def per_query(base: np.ndarray) -> np.ndarray:
    """(pool, 3·features): for each column its z-score within the pool, its gap to the pool's
    best and its rank share (0 = best), interleaved in :data:`NORMS` order."""
    n, m = base.shape
    if n == 0:
        return np.zeros((0, 3 * m), dtype=base.dtype)
    out = np.empty((n, m, 3), dtype=np.result_type(base.dtype, np.float32))
    sd = base.std(0)
    np.divide(base - base.mean(0), np.maximum(sd, 1e-9), out=out[:, :, 0])
    out[:, sd <= 1e-9, 0] = 0.0  # a constant column
    np.subtract(base, base.max(0), out=out[:, :, 1])
    order = np.argsort(-base, axis=0, kind="stable")
    out[order, np.arange(m), 2] = (np.arange(n, dtype=np.float32) / max(n - 1, 1))[:, None]
    return out.reshape(n, 3 * m)


@dataclass
class Space:
    """A fitted n-gram vectorizer's analyzer, vocabulary and idf, read once (kept with the
    document side: keying a global cache by ``id(vectorizer)`` would outlive a rebuilt index)."""

    analyzer: Any
    vocab: dict[str, int]
    idf: np.ndarray
    char_wb: int = 0  # the largest n of a plain lower-cased char_wb 1..n (≤ 3) analyzer, else 0

    @classmethod
    def of(cls, vec: TfidfVectorizer) -> Space:
        plain = (
            vec.analyzer == "char_wb"
            and vec.lowercase
            and vec.preprocessor is None
            and vec.strip_accents is None
            and vec.input == "content"
            and vec.ngram_range[0] == 1
            and vec.ngram_range[1] <= 3
        )
        return cls(
            vec.build_analyzer(),
            vec.vocabulary_,
            np.asarray(vec.idf_, dtype=np.float32),
            vec.ngram_range[1] if plain else 0,
        )


@dataclass
class SparseVec:
    """An L2-normalised TF-IDF row kept as its non-zeros: a memoised query costs its n-grams,
    not the vocabulary's size."""

    cols: np.ndarray
    vals: np.ndarray

    def into(self, out: np.ndarray, column: int, offset: int = 0) -> None:
        out[self.cols + offset, column] = self.vals


def _vector(space: Space, grams: Counter[str]) -> SparseVec:
    """The fitted vectorizer's L2-normalised row for counted n-grams (sklearn's ``transform``
    spends ~1 ms per call validating; this is the same arithmetic)."""
    vocab, idf = space.vocab, space.idf
    ids = np.fromiter(map(vocab.get, grams, repeat(-1)), dtype=np.int64, count=len(grams))
    tf = np.fromiter(grams.values(), dtype=np.float32, count=len(grams))
    known = ids >= 0  # n-grams outside the fitted vocabulary weigh nothing
    cols, tf = ids[known], tf[known]
    vals = (1.0 + np.log(tf)) * idf[cols]
    return SparseVec(cols, vals / max(float(np.linalg.norm(vals)), 1e-12))


def _grams(vec: Space, text: str) -> Counter[str]:
    """The analyzer's n-grams of ``text``, counted (a plain ``char_wb`` analyzer's sliced by
    :func:`models.ltr_pool.char_wb_grams`: the same list, a third of the query side's time)."""
    if not vec.char_wb:
        return Counter(vec.analyzer(text))
    return Counter(char_wb_grams(text, vec.char_wb))


@dataclass
class QuerySide:
    """What the features need of the query text alone (memoised per text by the stage: a
    stored subject asks with the same text again and again)."""

    head: str
    full: SparseVec  # whole query, whole-text n-gram space
    head_vec: SparseVec  # query name, name n-gram space
    head_full: SparseVec | None  # query name, whole-text n-gram space
    full_head: SparseVec  # whole query, name n-gram space
    lower: str = ""  # the normalised query, lower-cased (containment)
    core: str = ""  # the query's name without qualifier
    # query-only values the features read, computed once per text (a stored subject asks again)
    cjk: float | None = None  # cjk_share of the text
    head_chars: frozenset[str] = frozenset()  # the query name's lower-cased characters
    memo: dict[str, Any] = field(default_factory=dict)  # the stage's per-index query values


def query_side(docs: DocSide, text: str) -> QuerySide:
    normal = normalize(text)
    head, _ = _split_normal(normal)
    full, names = docs.spaces
    grams = _grams(full, normal)
    # char_wb 1–2-grams are exactly the 1–3-gram analyzer's grams of length ≤ 2 (same padding,
    # same lower-casing), and the name space's vocabulary has no 3-gram: it reads the whole-text
    # grams as they are
    head_grams = _grams(full, head) if head else Counter()
    return QuerySide(
        head,
        _vector(full, grams),
        _vector(names, head_grams),
        _vector(full, head_grams) if head else None,
        _vector(names, grams),
        normal.lower(),
        head_core(head) if head else "",
        cjk_share(text),
        frozenset(head.lower()),
    )


def _name_weights(docs: DocSide, q: QueryInput, side: QuerySide) -> np.ndarray:
    """Columns multiplied with the pool's name rows (see :attr:`DocSide.names`): query name
    n-grams, whole-query name-space n-grams, query name characters, then three word weightings
    (idf, a missing word at the mean idf; idf; idf of the query name's words only)."""
    n_head, n_chars = docs.head.shape[1], docs.head_chars.matrix.shape[1]
    at = n_head + n_chars
    out = np.zeros((docs.names.shape[1], 6), dtype=np.float32)
    side.head_vec.into(out, 0)
    side.full_head.into(out, 1)
    qchars = side.head_chars or set(side.head.lower())
    out[n_head:at, 2] = docs.head_chars.weights(dict.fromkeys(qchars, 1.0))
    weight = dict(zip(q.term_names, q.term_idf.tolist(), strict=True))
    heads = q.head_terms.tolist()
    mean_idf = float(np.mean(q.term_idf)) if len(q.term_idf) else 1.0
    ht = docs.head_tokens
    out[at:, 3] = ht.weights(weight, mean_idf)
    out[at:, 4] = ht.weights(weight)
    out[at:, 5] = ht.weights({t: w for (t, w), h in zip(weight.items(), heads, strict=True) if h})
    return out


def features(q: QueryInput, docs: DocSide, side: QuerySide | None = None) -> np.ndarray:
    """(pool, features) matrix in :func:`feature_names` order."""
    side = side or query_side(docs, q.text)
    known = q.pool < docs.full.shape[0]  # rows added after the document side was fitted: absent
    pool = np.where(known, q.pool, 0)
    n = len(pool)
    char_full, char_qhead_full = char_products(docs, side, pool).T
    name = docs.names[pool] @ _name_weights(docs, q, side)
    present = q.term_hits > 0
    total = float(q.term_idf.sum())
    coverage = q.term_idf @ present / total if total > 0 else np.zeros(n, np.float32)
    hw = q.term_idf * q.head_terms
    coverage_qhead = hw @ present / hw.sum() if hw.sum() > 0 else coverage
    contains = np.zeros(n, dtype=np.float32)
    contained = np.zeros(n, dtype=np.float32)
    n_qchars = len(side.head_chars or set(side.head.lower()))
    if n_qchars:
        sizes = docs.head_chars.sizes[pool]
        contains = np.where(sizes > 0, name[:, 2] / n_qchars, 0.0)
        contained = np.where(sizes > 0, name[:, 2] / np.maximum(sizes, 1.0), 0.0)
    bm25_all = q.term_hits.sum(0)
    qn = float(np.sqrt((q.term_idf**2).sum())) or 1.0
    qhw = sum(w for w, h in zip(q.term_idf.tolist(), q.head_terms.tolist(), strict=True) if h)
    total_w, matched = name[:, 3], name[:, 4]
    core_in, q_in = containment(side, docs, pool)
    cols = {
        "dense": q.dense,
        "bm25": q.bm25,
        "bm25_qhead": q.head_terms.astype(np.float32) @ q.term_hits,
        "coverage": coverage,
        "coverage_qhead": coverage_qhead,
        "char_full": char_full,
        "char_head": name[:, 0],
        "char_qhead_full": char_qhead_full,
        "head_contains": contains,
        "head_contained": contained,
        "bm25_all": bm25_all,
        "bm25_cos": bm25_all / (np.maximum(q.bm25_norm, 1e-9) * qn),
        "head_word_recall": np.where(total_w > 0, matched / np.maximum(total_w, 1e-9), 0.0),
        "qhead_word_in_head": name[:, 5] / qhw if qhw > 0 else np.zeros(n),
        "char_qfull_head": name[:, 1],
        "head_match_idf": matched,
        "core_in_query": core_in,
        "qcore_in_doc": q_in,
    }
    m = len(BASE) + 2 * len(q.channels)
    base = np.empty((n, m), dtype=np.float32)
    for i, name in enumerate(BASE):
        base[:, i] = cols[name]
    if not known.all():
        base[np.ix_(~known, [i for i, name in enumerate(BASE) if name in _DOC_SIDE])] = 0.0
    for c, (raw, adapted) in enumerate(zip(q.channels, q.adapted, strict=True)):
        base[:, len(BASE) + c] = raw
        base[:, len(BASE) + len(q.channels) + c] = adapted
    x = np.empty((n, 4 * m + len(CONTEXT)), dtype=np.float32)  # [base | per query | context]
    x[:, :m] = base
    x[:, m : 4 * m] = per_query(base)
    ctx = x[:, 4 * m :]
    ctx[:, 0] = np.where(known, docs.log_len[pool], 0.0)
    ctx[:, 1] = np.log1p(len(q.text))
    ctx[:, 2] = cjk_share(q.text) if side.cjk is None else side.cjk
    ctx[:, 3] = np.log1p(n)
    return x
