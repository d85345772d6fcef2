"""Learned fusion: many cheap query–candidate signals, normalised per query, scored by a
LightGBM lambdarank model (data/retrieval/ltr.json + ltr-model.txt).

Pure: features come from arrays the index hands over (the pool's dense vectors and BM25 scores,
per-term postings hits, the document side's fitted n-gram matrices). Nothing here is derived
from labels: no per-document priors, no per-query lookups; a document contributes only its own
text, so an unseen query or a new document is scored the same way as a trained one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from models.encoder import cjk_share
from models.text import normalize, tokenize

LTR_DIR = Path(__file__).resolve().parent.parent / "data" / "retrieval"
MANIFEST = LTR_DIR / "ltr.json"
FEATURES_VERSION = "ltr-features/v1"

_HEAD_SPLIT = re.compile(r"[:：。;；\n]")
HEAD_MAX = 48  # a name or title longer than this is not a name


def split_head(text: str) -> tuple[str, str]:
    """(name/title, rest) of a profile text: the part before the first ``:``/``。`` when short
    enough (benchmark ``title: text``, the service's ``name。industries。description``)."""
    text = normalize(text)
    m = _HEAD_SPLIT.search(text, 0, HEAD_MAX + 1)
    if m is None or m.start() == 0:
        return "", text
    return text[: m.start()].strip(), text[m.end() :].strip()


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
    heads (names/titles), head character sets and text lengths."""

    full_vec: TfidfVectorizer
    head_vec: TfidfVectorizer
    full: sp.csr_matrix
    head: sp.csr_matrix
    head_chars: Incidence  # which characters each name has
    log_len: np.ndarray
    head_tokens: Incidence  # which words each name has

    @classmethod
    def build(cls, texts: Sequence[str]) -> DocSide:
        heads = [split_head(t)[0] for t in texts]
        full_vec = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, dtype=np.float32
        )
        head_vec = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(1, 2), sublinear_tf=True, dtype=np.float32
        )
        full = _fit(full_vec, [normalize(t) for t in texts] or [""])
        head = _fit(head_vec, [h or " " for h in heads] or [" "])
        return cls(
            full_vec,
            head_vec,
            full,
            head,
            Incidence.build([set(h.lower()) for h in heads]),
            np.log1p(np.array([len(t) for t in texts], dtype=np.float32)),
            Incidence.build([set(tokenize(h)) for h in heads]),
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
)


def feature_names(n_channels: int) -> list[str]:
    base = list(BASE) + [f"dense_ch{c}" for c in range(n_channels)]
    base += [f"adapted_ch{c}" for c in range(n_channels)]
    norm = [f"{f}_{k}" for f in base for k in ("z", "gap", "rank")]
    return base + norm + ["doc_log_len", "query_log_len", "query_cjk", "pool_size"]


def _per_query(x: np.ndarray) -> list[np.ndarray]:
    sd = float(x.std())
    z = (x - x.mean()) / sd if sd > 1e-9 else np.zeros_like(x)
    order = np.argsort(-x, kind="stable")
    rank = np.empty(len(x), dtype=np.float32)
    rank[order] = np.arange(len(x), dtype=np.float32) / max(len(x) - 1, 1)
    return [z, x - x.max(), rank]


def _query_vector(vec: TfidfVectorizer, text: str) -> np.ndarray:
    """The fitted vectorizer's L2-normalised row for one text, as a dense vector: sklearn's
    ``transform`` spends ~1 ms per call validating; this is the same arithmetic."""
    analyzer, vocab = _analyzers(vec)
    counts: dict[int, int] = {}
    for gram in analyzer(text):
        j = vocab.get(gram)
        if j is not None:
            counts[j] = counts.get(j, 0) + 1
    out = np.zeros(len(vocab), dtype=np.float32)
    if counts:
        cols = np.fromiter(counts, dtype=np.int64, count=len(counts))
        tf = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))
        out[cols] = (1.0 + np.log(tf)) * vec.idf_[cols]
        out /= max(float(np.linalg.norm(out)), 1e-12)
    return out


_ANALYZERS: dict[int, tuple[Any, dict[str, int]]] = {}


def _analyzers(vec: TfidfVectorizer) -> tuple[Any, dict[str, int]]:
    key = id(vec)
    if key not in _ANALYZERS:
        _ANALYZERS[key] = (vec.build_analyzer(), vec.vocabulary_)
    return _ANALYZERS[key]


@dataclass
class QuerySide:
    """What the features need of the query text alone (memoised per text by the stage: a
    stored subject asks with the same text again and again)."""

    head: str
    full: np.ndarray
    head_vec: np.ndarray
    head_full: np.ndarray | None


def query_side(docs: DocSide, text: str) -> QuerySide:
    head, _ = split_head(text)
    return QuerySide(
        head,
        _query_vector(docs.full_vec, normalize(text)),
        _query_vector(docs.head_vec, head or " "),
        _query_vector(docs.full_vec, head) if head else None,
    )


def features(q: QueryInput, docs: DocSide, side: QuerySide | None = None) -> np.ndarray:
    """(pool, features) matrix in :func:`feature_names` order."""
    side = side or query_side(docs, q.text)
    head = side.head
    known = q.pool < docs.full.shape[0]  # rows added after the document side was fitted: absent
    pool = np.where(known, q.pool, 0)
    full_rows = docs.full[pool]
    char_full = full_rows @ side.full
    char_head = docs.head[pool] @ side.head_vec
    char_qhead_full = full_rows @ side.head_full if side.head_full is not None else char_full
    present = q.term_hits > 0
    idf = q.term_idf[:, None]
    total = float(q.term_idf.sum())
    coverage = (present * idf).sum(0) / total if total > 0 else np.zeros(len(pool))
    hw = q.term_idf * q.head_terms
    coverage_qhead = (present * hw[:, None]).sum(0) / hw.sum() if hw.sum() > 0 else coverage
    bm25_qhead = (q.term_hits * q.head_terms[:, None]).sum(0)
    qchars = set(head.lower())
    contains = np.zeros(len(pool), dtype=np.float32)
    contained = np.zeros(len(pool), dtype=np.float32)
    if qchars:
        hc = docs.head_chars
        common = hc.matrix[pool] @ hc.weights(dict.fromkeys(qchars, 1.0))
        sizes = hc.sizes[pool]
        contains = np.where(sizes > 0, common / len(qchars), 0.0)
        contained = np.where(sizes > 0, common / np.maximum(sizes, 1.0), 0.0)
    bm25_all = q.term_hits.sum(0)
    qn = float(np.sqrt((q.term_idf**2).sum())) or 1.0
    bm25_cos = bm25_all / (np.maximum(q.bm25_norm, 1e-9) * qn)
    weight = dict(zip(q.term_names, q.term_idf.tolist(), strict=True))
    qhead_terms = {t for t, h in zip(q.term_names, q.head_terms.tolist(), strict=True) if h}
    qhead_weight = sum(weight[t] for t in qhead_terms)
    mean_idf = float(np.mean(q.term_idf)) if len(q.term_idf) else 1.0
    ht = docs.head_tokens
    rows = ht.matrix[pool]
    # a title word the query lacks weighs as the query's mean idf (its own idf is not at hand)
    total = rows @ ht.weights(weight, mean_idf)
    matched = rows @ ht.weights(weight)
    head_recall = np.where(total > 0, matched / np.maximum(total, 1e-9), 0.0)
    qhead_in_head = (
        rows @ ht.weights({t: weight[t] for t in qhead_terms}) / qhead_weight
        if qhead_weight > 0
        else np.zeros(len(pool), dtype=np.float32)
    )
    base = [
        q.dense,
        q.bm25,
        bm25_qhead,
        coverage,
        coverage_qhead,
        char_full,
        char_head,
        char_qhead_full,
        contains,
        contained,
        bm25_all,
        bm25_cos,
        head_recall,
        qhead_in_head,
        *q.channels,
        *q.adapted,
    ]
    base = [np.asarray(b, dtype=np.float32) for b in base]
    if not known.all():
        for i in (5, 6, 7, 8, 9, 12, 13):  # the features read from the document side
            base[i][~known] = 0.0
    norm = [v for b in base for v in _per_query(b)]
    n = len(pool)
    ctx = [
        np.where(known, docs.log_len[pool], 0.0).astype(np.float32),
        np.full(n, np.log1p(len(q.text)), np.float32),
        np.full(n, cjk_share(q.text), np.float32),
        np.full(n, np.log1p(n), np.float32),
    ]
    return np.column_stack(base + norm + ctx).astype(np.float32)


ADAPTER_RIDGE = 4.0


def fit_adapter(queries: np.ndarray, positives: np.ndarray, ridge: float = ADAPTER_RIDGE) -> Any:
    """Linear query adapter ``W`` (dim × dim) pulling each query towards its relevant documents:
    ridge regression of positive document vectors on query vectors, shrunk towards identity."""
    dim = queries.shape[1]
    eye = np.eye(dim, dtype=np.float64)
    q = queries.astype(np.float64)
    gram = q.T @ q + ridge * eye
    return np.linalg.solve(gram, q.T @ positives.astype(np.float64) + ridge * eye).astype(
        np.float32
    )


@dataclass
class LtrModel:
    """A trained lambdarank booster and what it expects."""

    booster: Any
    feature_names: list[str]
    manifest: dict[str, Any] = field(default_factory=dict)
    adapters: list[np.ndarray | None] = field(default_factory=list)  # per dense channel

    def score(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.booster.predict(x, num_threads=1), dtype=np.float64)


DEFAULT_PARAMS: dict[str, Any] = {
    "objective": "lambdarank",
    "metric": "ndcg",
    "ndcg_eval_at": [10],
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_data_in_leaf": 40,
    "feature_fraction": 0.7,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "lambdarank_truncation_level": 20,
    "num_threads": 2,
    "verbose": -1,
    "seed": 0,
    "deterministic": True,
}
DEFAULT_ROUNDS = 300


def train(
    blocks: Sequence[tuple[np.ndarray, np.ndarray]],
    names: list[str],
    params: dict[str, Any] | None = None,
    rounds: int = DEFAULT_ROUNDS,
    init: LtrModel | None = None,
) -> LtrModel:
    """Fit lambdarank on per-query (features, graded labels) blocks; ``init`` continues an
    existing model (fine-tuning from review decisions)."""
    import lightgbm as lgb

    blocks = [(x, y) for x, y in blocks if len(y) and y.max() > 0]
    x = np.vstack([b[0] for b in blocks])
    y = np.concatenate([b[1] for b in blocks])
    data = lgb.Dataset(x, y, group=[len(b[1]) for b in blocks], feature_name=names)
    booster = lgb.train(
        {**DEFAULT_PARAMS, **(params or {})},
        data,
        num_boost_round=rounds,
        init_model=init.booster if init is not None else None,
    )
    return LtrModel(booster, names)


def save(model: LtrModel, manifest: dict[str, Any], directory: Path = LTR_DIR) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    model_file = directory / "ltr-model.txt"
    model.booster.save_model(str(model_file))
    present = {f"ch{c}": a for c, a in enumerate(model.adapters) if a is not None}
    np.savez_compressed(directory / "ltr-adapters.npz", **present)  # type: ignore[arg-type]
    body = {
        **manifest,
        "features": model.feature_names,
        "model_file": model_file.name,
        "adapters_file": "ltr-adapters.npz",
        "adapters": sorted(present),
    }
    (directory / "ltr.json").write_text(json.dumps(body, ensure_ascii=False, indent=2), "utf-8")
    return directory / "ltr.json"


def load(manifest_path: Path = MANIFEST) -> LtrModel | None:
    """The shipped model, or None when none is shipped (the hybrid then fuses linearly)."""
    if not manifest_path.exists():
        return None
    import lightgbm as lgb

    manifest = json.loads(manifest_path.read_text("utf-8"))
    booster = lgb.Booster(model_file=str(manifest_path.parent / manifest["model_file"]))
    model = LtrModel(booster, list(manifest["features"]), manifest)
    if manifest.get("adapters_file"):
        with np.load(manifest_path.parent / manifest["adapters_file"]) as z:
            n = sum(1 for f in model.feature_names if f.startswith("dense_ch") and "_" not in f[8:])
            model.adapters = [z[f"ch{c}"] if f"ch{c}" in z.files else None for c in range(n)]
    return model
