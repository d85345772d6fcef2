"""Evaluate the product retrieval pipeline and three baselines on a BEIR folder.

Runs in one process: ``xiaoqi`` (the hybrid: default encoder + FAISS, jieba BM25, fused with the
shipped weights), ``bm25`` (jieba + bm25s), ``tfidf`` (char_wb 1–3-grams, sublinear tf, cosine)
and ``dense`` (the default encoder alone). Reads only the folder it is given (and repo files).
Also learns the fusion weights on dev qrels with query-fold cross-validation (``learn``).
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from indexing.store import EntityIndex, build_index
from models.encoder import Encoder, load_encoder
from models.metrics import Qrels, evaluate, per_query_ndcg
from models.retrieval import FusionWeights, fuse_scores, load_fusion_weights, union_ids
from models.text import normalize, tokenize

METHODS = ("xiaoqi", "bm25", "tfidf", "dense")
TOP_K = 100


@dataclass
class Bench:
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
    return Bench(doc_ids, doc_texts, list(queries), list(queries.values()), qrels)


Run = dict[str, list[str]]


@dataclass
class Outcome:
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    runs: dict[str, Run] = field(default_factory=dict)


def _runs_from_ranked(bench: Bench, ranked: Any) -> Run:
    return {
        q: [bench.doc_ids[j] for j in r if j >= 0]
        for q, r in zip(bench.query_ids, ranked, strict=True)
    }


def run_bm25(bench: Bench) -> Run:
    import bm25s

    retriever = bm25s.BM25()  # bm25s defaults (Lucene, k1=1.5, b=0.75)
    retriever.index([tokenize(t) for t in bench.doc_texts], show_progress=False)
    ranked = []
    for q in bench.query_texts:
        s = retriever.get_scores(tokenize(q))
        ranked.append(np.argsort(-s, kind="stable")[:TOP_K])
    return _runs_from_ranked(bench, ranked)


def run_tfidf(bench: Bench) -> Run:
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True)
    docs = vec.fit_transform(bench.doc_texts)
    ranked: list[Any] = []
    for s in range(0, len(bench.query_texts), 256):
        sims = (vec.transform(bench.query_texts[s : s + 256]) @ docs.T).toarray()
        ranked.extend(np.argsort(-sims, axis=1, kind="stable")[:, :TOP_K])
    return _runs_from_ranked(bench, ranked)


@dataclass
class Prepared:
    index: EntityIndex
    query_vecs: np.ndarray
    seconds_docs: float
    seconds_queries: float


def prepare(bench: Bench, encoder: Encoder, weights: FusionWeights | None = None) -> Prepared:
    """Build the product index (in memory) and encode all queries once."""
    t0 = time.perf_counter()
    items = ((i, t) for i, t in enumerate(bench.doc_texts))
    index = build_index(
        "bench",
        items,
        encoder,
        None,
        "bench",
        expected_count=len(bench.doc_texts),
        kind="flat",
        progress=False,
    )
    if weights is not None:
        index.weights = weights
    t1 = time.perf_counter()
    qv = encoder.encode_queries(bench.query_texts)
    return Prepared(index, qv, t1 - t0, time.perf_counter() - t1)


def run_dense(bench: Bench, prep: Prepared) -> Run:
    ids, _ = prep.index.dense.search(prep.query_vecs, TOP_K)
    return _runs_from_ranked(bench, ids)


def run_xiaoqi(bench: Bench, prep: Prepared) -> Run:
    ranked: list[list[int]] = []
    for q, qv in zip(bench.query_texts, prep.query_vecs, strict=True):
        cands = prep.index.search_hybrid(q, k=TOP_K, query_vec=qv, explain=False)
        ranked.append([c.id for c in cands])
    return _runs_from_ranked(bench, ranked)


def evaluate_bench(
    folder: Path,
    split: str = "dev",
    encoder_name: str | None = None,
    methods: Sequence[str] = METHODS,
    log: Callable[[str], None] = lambda s: None,
) -> Outcome:
    bench = load_beir(folder, split)
    log(f"{folder}: {len(bench.doc_ids)} documents, {len(bench.query_ids)} judged queries")
    out = Outcome()
    prep: Prepared | None = None
    if "xiaoqi" in methods or "dense" in methods:
        encoder = load_encoder(encoder_name)
        log(f"encoding with {encoder.id} …")
        prep = prepare(bench, encoder)
    timers: dict[str, Callable[[], Run]] = {
        "bm25": lambda: run_bm25(bench),
        "tfidf": lambda: run_tfidf(bench),
    }
    if prep is not None:
        p = prep
        timers["dense"] = lambda: run_dense(bench, p)
        timers["xiaoqi"] = lambda: run_xiaoqi(bench, p)
    for m in methods:
        t = time.perf_counter()
        run = timers[m]()
        secs = time.perf_counter() - t
        if m in ("dense", "xiaoqi") and prep is not None:
            # both start from the document and query encodings (done once, shared)
            secs += prep.seconds_docs + prep.seconds_queries
        out.runs[m] = run
        out.metrics[m] = {**evaluate(run, bench.qrels), "seconds": round(secs, 2)}
        log(f"{m}: nDCG@10 {out.metrics[m]['nDCG@10']:.4f} ({secs:.1f}s)")
    return out


# ---------------------------------------------------------------------- learning the fusion


@dataclass
class Pools:
    """Per query: pooled candidate doc indexes with their dense and BM25 scores."""

    bench: Bench
    pools: list[tuple[np.ndarray, np.ndarray, np.ndarray]]


def pools_for(bench: Bench, prep: Prepared, pool_k: int) -> Pools:
    idx = prep.index
    out = []
    for q, qv in zip(bench.query_texts, prep.query_vecs, strict=True):
        d_ids, _ = idx.dense.search(qv[None, :], pool_k)
        terms = tokenize(normalize(q), normalized=True)
        main = idx.keyword.main_scores(terms)
        k_ids, _ = idx.keyword.search(terms, pool_k, main=main)
        pool = union_ids(d_ids[0], k_ids)
        dense = idx.dense.vectors(pool) @ qv
        kw = idx.keyword.score_ids(terms, pool.tolist(), main=main)
        out.append((pool, dense, kw))
    return Pools(bench, out)


def ndcg_per_query(p: Pools, w: FusionWeights) -> dict[str, float]:
    ranked = []
    for pool, dense, kw in p.pools:
        order = np.argsort(-fuse_scores(dense, kw, w), kind="stable")[:TOP_K]
        ranked.append(pool[order].tolist())
    return per_query_ndcg(_runs_from_ranked(p.bench, ranked), p.bench.qrels)


def grid() -> list[FusionWeights]:
    ws = [round(float(x), 2) for x in np.arange(0.2, 0.85, 0.05)]
    out = [FusionWeights(dense=w, keyword=round(1.0 - w, 2), method="zscore") for w in ws]
    out += [FusionWeights(dense=w, keyword=round(1.0 - w, 2), method="rrf") for w in ws]
    return out


def learn(
    folders: Sequence[Path], encoder_name: str | None = None, folds: int = 5, seed: int = 0
) -> dict[str, object]:
    """Grid-search the fusion on the dev qrels of all folders jointly; k-fold CV over queries."""
    encoder = load_encoder(encoder_name)
    base = load_fusion_weights()
    per_bench: dict[str, dict[str, dict[str, float]]] = {}  # bench → weight key → query → nDCG
    candidates = grid()
    for folder in folders:
        bench = load_beir(folder)
        prep = prepare(bench, encoder)
        pools = pools_for(bench, prep, base.pool_k)
        per_bench[folder.name] = {repr(w): ndcg_per_query(pools, w) for w in candidates}
    rng = np.random.default_rng(seed)
    fold_of = {
        b: dict(zip(qs, rng.permutation(len(qs)) % folds, strict=True))
        for b, d in per_bench.items()
        for qs in [list(next(iter(d.values())))]
    }

    def mean_ndcg(b: str, key: str, keep: Callable[[str], bool]) -> float:
        vals = [v for q, v in per_bench[b][key].items() if keep(q)]
        return float(np.mean(vals)) if vals else 0.0

    def objective(key: str, keep: Callable[[str, str], bool]) -> float:
        # benches weigh equally, whatever their query counts
        means = []
        for b in per_bench:

            def keep_b(q: str, b: str = b) -> bool:
                return keep(b, q)

            means.append(mean_ndcg(b, key, keep_b))
        return float(np.mean(means))

    held: dict[str, list[float]] = {b: [] for b in per_bench}
    chosen = []
    for f in range(folds):

        def train(b: str, q: str, f: int = f) -> bool:
            return bool(fold_of[b][q] != f)

        best = max(candidates, key=lambda w: objective(repr(w), train))
        chosen.append(best)
        for b in per_bench:

            def test(q: str, b: str = b, f: int = f) -> bool:
                return bool(fold_of[b][q] == f)

            held[b].append(mean_ndcg(b, repr(best), test))
    best = max(candidates, key=lambda w: objective(repr(w), lambda b, q: True))
    best = replace(best, pool_k=base.pool_k)
    return {
        "weights": best,
        "full_dev": {b: mean_ndcg(b, repr(best), lambda q: True) for b in per_bench},
        "held_out": {b: float(np.mean(v)) for b, v in held.items()},
        "fold_choices": [repr(w) for w in chosen],
    }
