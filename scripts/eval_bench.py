"""Evaluate the served retrieval path and single-method baselines on a BEIR folder.

``xiaoqi`` is what the service runs: :func:`indexing.hybrid.open_hybrid_index` over the corpus
texts with the default encoder, queries clipped and tokenised as the engine does, a pool of
``max(100, 4k)`` from dense ∪ BM25, scored by the learned stage (data/retrieval/ltr.json) and
min-max scaled. Baselines run on the same corpus in the same process: ``bm25`` (the index's own
BM25 alone), ``tfidf`` (char_wb 1–3-grams), ``dense`` (the encoder's routed vectors alone) and
one ``dense:<channel>`` per dense channel, plus ``linear`` (the same index with the stage off:
the hybrid's linear fusion, what served before issue 15).
"""

from __future__ import annotations

import csv
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from indexing.hybrid import HybridIndex, open_hybrid_index
from indexing.rerank import RerankStage, encoder_channels
from models.encoder import Encoder, RoutedEncoder, load_encoder
from models.metrics import Qrels, evaluate
from models.text import tokenize

QUERY_CHARS = 256  # as service/recommendations/engine.QUERY_CHARS: the dense query's head
POOL_K = 100  # as service/recommendations/pipeline.CANDIDATE_POOL (k = max(100, 4·10))
TOP_K = 100
DEFAULT_CACHE = Path("/tmp/xiaoqi-eval")


@dataclass
class Bench:
    name: str
    doc_ids: list[str]
    doc_texts: list[str]
    query_ids: list[str]
    query_texts: list[str]
    qrels: Qrels


def load_beir(folder: Path, split: str = "dev") -> Bench:
    """Corpus, the judged queries of ``split`` and their qrels from a BEIR folder."""
    folder = Path(folder)
    doc_ids, doc_texts = [], []
    with open(folder / "corpus.jsonl", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                d = json.loads(line)
                title, text = (d.get("title") or "").strip(), (d.get("text") or "").strip()
                doc_ids.append(str(d["_id"]))
                doc_texts.append(f"{title}: {text}" if title else text)
    qrels: dict[str, dict[str, int]] = {}
    with open(folder / "qrels" / f"{split}.tsv", encoding="utf-8", newline="") as fh:
        for i, row in enumerate(csv.reader(fh, delimiter="\t")):
            if len(row) < 3 or (i == 0 and not row[2].strip().lstrip("-").isdigit()):
                continue
            qrels.setdefault(row[0], {})[row[1]] = int(row[2])
    queries: dict[str, str] = {}
    with open(folder / "queries.jsonl", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                q = json.loads(line)
                if str(q["_id"]) in qrels:  # queries absent from the qrels are skipped
                    queries[str(q["_id"])] = q.get("text") or ""
    qrels = {q: r for q, r in qrels.items() if q in queries}
    return Bench(folder.name, doc_ids, doc_texts, list(queries), list(queries.values()), qrels)


class CachedEncoder:
    """An encoder whose vectors are kept on disk by text hash (one file per model and side):
    benchmark corpora are re-encoded by every eval otherwise, minutes on a small machine."""

    def __init__(self, inner: Encoder, directory: Path) -> None:
        self.inner, self.id, self.dim = inner, inner.id, inner.dim
        self._dir = directory
        self._mem: dict[str, dict[bytes, np.ndarray]] = {}

    def _file(self, side: str) -> Path:
        return self._dir / f"{self.id.replace('/', '_')}-{side}.npz"

    def _store(self, side: str) -> dict[bytes, np.ndarray]:
        if side not in self._mem:
            f = self._file(side)
            have: dict[bytes, np.ndarray] = {}
            if f.exists():
                with np.load(f) as z:
                    have = dict(zip(z["hashes"].tolist(), z["vectors"], strict=True))
            self._mem[side] = have
        return self._mem[side]

    def _get(self, texts: Sequence[str], side: str, encode: Callable[[list[str]], Any]) -> Any:
        have = self._store(side)
        keys = [hashlib.blake2b(t.encode("utf-8"), digest_size=8).digest() for t in texts]
        todo = list({k: t for k, t in zip(keys, texts, strict=True) if k not in have}.items())
        if todo:
            vecs = encode([t for _, t in todo])
            for (k, _), v in zip(todo, vecs, strict=True):
                have[k] = v
            self._dir.mkdir(parents=True, exist_ok=True)
            np.savez(
                self._file(side),
                hashes=np.array(list(have), dtype="S8"),
                vectors=np.stack(list(have.values())),
            )
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, k in enumerate(keys):
            out[i] = have[k]
        return out

    def encode_queries(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        return self._get(texts, "query", lambda t: self.inner.encode_queries(t, batch_size))

    def encode_documents(
        self, texts: Sequence[str], batch_size: int = 64, progress: Any = None
    ) -> np.ndarray:
        return self._get(texts, "document", lambda t: self.inner.encode_documents(t, batch_size))


def cached_encoder(encoder: Encoder, directory: Path) -> Encoder:
    """``encoder`` with an on-disk cache; a routed encoder caches each channel separately."""
    if isinstance(encoder, RoutedEncoder):
        routed = RoutedEncoder([(n, CachedEncoder(e, directory)) for n, e in encoder.parts])
        routed.id = encoder.id
        return routed
    return CachedEncoder(encoder, directory)


@dataclass
class Prepared:
    bench: Bench
    index: HybridIndex
    query_vecs: np.ndarray
    query_tokens: list[list[str]]
    channels: list[tuple[str, int, int]]
    seconds: float


def prepare(
    bench: Bench,
    encoder_name: str | None = None,
    cache: Path = DEFAULT_CACHE,
    rerank_model: Any = True,
) -> Prepared:
    """Build the serving index over the corpus (vectors cached under ``cache``) and encode and
    tokenise the queries as the engine does."""
    t0 = time.perf_counter()
    base = load_encoder(encoder_name)
    encoder = cached_encoder(base, cache / "emb")
    index = open_hybrid_index(
        cache / "index" / bench.name / base.id.replace("/", "_"),
        entity=bench.name,
        ids=np.arange(len(bench.doc_texts), dtype=np.int64),
        texts=bench.doc_texts,
        encoder=encoder,
        data_version="bench",
        ann_threshold=2**62,
        rerank_model=rerank_model,
    )
    qv = encoder.encode_queries([q[:QUERY_CHARS] for q in bench.query_texts])
    qt = [tokenize(q) for q in bench.query_texts]
    return Prepared(bench, index, qv, qt, encoder_channels(base), time.perf_counter() - t0)


Run = dict[str, list[str]]


def _run(bench: Bench, ranked: Any) -> Run:
    return {
        q: [bench.doc_ids[j] for j in r if j >= 0]
        for q, r in zip(bench.query_ids, ranked, strict=True)
    }


def run_served(p: Prepared, stage: RerankStage | None, queries: Sequence[int] | None = None) -> Run:
    """The served search for each query (all, or the positions in ``queries``) with ``stage``
    as the index's scoring stage (None: linear fusion)."""
    saved, p.index.rerank = p.index.rerank, stage
    try:
        picked = range(len(p.bench.query_ids)) if queries is None else queries
        ranked = []
        for i in picked:
            hits = p.index.search(
                p.query_vecs[i],
                p.query_tokens[i],
                mask=None,
                k=max(POOL_K, TOP_K),
                qtext=p.bench.query_texts[i],
            )
            ranked.append([h.position for h in hits[:TOP_K]])
    finally:
        p.index.rerank = saved
    qids = [p.bench.query_ids[i] for i in picked]
    return {q: [p.bench.doc_ids[j] for j in r] for q, r in zip(qids, ranked, strict=True)}


def run_bm25(p: Prepared) -> Run:
    ranked = []
    for tokens in p.query_tokens:
        top, _, _, _ = p.index._keyword(tokens, None, TOP_K)
        ranked.append(top.tolist())
    return _run(p.bench, ranked)


def run_tfidf(bench: Bench) -> Run:
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True)
    docs = vec.fit_transform(bench.doc_texts)
    ranked: list[Any] = []
    for s in range(0, len(bench.query_texts), 256):
        sims = (vec.transform(bench.query_texts[s : s + 256]) @ docs.T).toarray()
        ranked.extend(np.argsort(-sims, axis=1, kind="stable")[:, :TOP_K])
    return _run(bench, ranked)


def run_dense(p: Prepared, lo: int = 0, hi: int | None = None) -> Run:
    v = p.index.vectors[:, lo:hi]
    q = p.query_vecs[:, lo:hi]
    sims = (
        q
        @ v.T
        / np.maximum(np.linalg.norm(q, axis=1)[:, None] * np.linalg.norm(v, axis=1)[None, :], 1e-9)
    )
    return _run(p.bench, np.argsort(-sims, axis=1, kind="stable")[:, :TOP_K])


@dataclass
class Outcome:
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    runs: dict[str, Run] = field(default_factory=dict)
    cv: dict[str, Any] = field(default_factory=dict)


def _dense_run(p: Prepared, lo: int, hi: int) -> Callable[[], Run]:
    return lambda: run_dense(p, lo, hi)


def baselines(p: Prepared) -> dict[str, Callable[[], Run]]:
    out: dict[str, Callable[[], Run]] = {
        "linear": lambda: run_served(p, None),
        "bm25": lambda: run_bm25(p),
        "tfidf": lambda: run_tfidf(p.bench),
        "dense": lambda: run_dense(p),
    }
    if len(p.channels) > 1:
        for name, lo, hi in p.channels:
            out[f"dense:{name}"] = _dense_run(p, lo, hi)
    return out


def evaluate_bench(
    folder: Path,
    split: str = "dev",
    encoder_name: str | None = None,
    cache: Path = DEFAULT_CACHE,
    log: Callable[[str], None] = lambda s: None,
) -> Outcome:
    """In-sample figures: the product as served (shipped model) and every baseline."""
    bench = load_beir(folder, split)
    log(f"{folder}: {len(bench.doc_ids)} documents, {len(bench.query_ids)} judged queries")
    p = prepare(bench, encoder_name, cache)
    log(f"index ready in {p.seconds:.1f}s ({p.index.manifest['encoder']})")
    out = Outcome()
    methods: dict[str, Callable[[], Run]] = {"xiaoqi": lambda: run_served(p, p.index.rerank)}
    methods.update(baselines(p))
    for m, fn in methods.items():
        t = time.perf_counter()
        out.runs[m] = fn()
        secs = time.perf_counter() - t
        out.metrics[m] = {**evaluate(out.runs[m], bench.qrels), "seconds": round(secs, 2)}
        log(f"{m}: nDCG@10 {out.metrics[m]['nDCG@10']:.4f} ({secs:.1f}s)")
    out.metrics["xiaoqi"]["learned_stage"] = float(p.index.rerank is not None)
    return out
