"""What the learned scoring stage adds to a served search, in process.

Builds the served index over a BEIR corpus (as ``xiaoqi eval`` does), then times
``HybridIndex.search`` per query three ways in the same run: the linear fusion (no stage), the
stage with the query's text seen before (a stored subject: its query-side features are
memoised) and the stage on text never seen (free text: memo cleared before each query). Prints
JSON: p50/p95 milliseconds of each and the added p50.

    python -m scripts.bench_rerank ../shared/data/bench/cn-occ2major --queries 300
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from scripts.eval_bench import DEFAULT_CACHE, POOL_K, load_beir, prepare


def _pct(xs: list[float]) -> dict[str, float]:
    return {
        "p50": round(float(np.percentile(xs, 50)), 3),
        "p95": round(float(np.percentile(xs, 95)), 3),
    }


def _parts(p: Any, stage: Any, n: int) -> dict[str, float]:
    """Where the stage's time goes for free text, per query (medians): the query side (n-gram
    vectors of the text), the pool's inputs (postings, channel cosines), the feature matrix
    and the model."""
    from models import ltr

    captured: list[np.ndarray] = []
    stage.capture = lambda pool, x: captured.append(pool.copy())
    parts: dict[str, list[float]] = {"query_side": [], "inputs": [], "features": [], "model": []}
    try:
        for i in range(n):
            text, qvec, tokens = p.bench.query_texts[i], p.query_vecs[i], p.query_tokens[i]
            p.index.search(qvec, tokens, mask=None, k=POOL_K, qtext=text)
            pool = captured[-1]
            zero = np.zeros(len(pool))
            stage._sides.clear()
            t0 = time.perf_counter()
            side = stage.query_side(text)[0]
            t1 = time.perf_counter()
            q = stage.query_input(p.index, text, qvec, tokens, pool, zero, zero)
            t2 = time.perf_counter()
            x = ltr.features(q, stage.docs, side)
            t3 = time.perf_counter()
            stage.model.score(x)
            t4 = time.perf_counter()
            for k, a, b in zip(parts, (t0, t1, t2, t3), (t1, t2, t3, t4), strict=True):
                parts[k].append((b - a) * 1000)
    finally:
        stage.capture = None
    return {k: round(float(np.median(v)), 3) for k, v in parts.items()}


def run(folder: Path, queries: int, encoder: str | None, cache: Path) -> dict[str, Any]:
    p = prepare(load_beir(folder), encoder, cache)
    stage = p.index.rerank
    if stage is None or stage.model is None:
        raise SystemExit("no shipped ranking model for this encoder (data/retrieval/ltr.json)")
    n = min(queries, len(p.bench.query_ids))

    def one(i: int) -> float:
        t = time.perf_counter()
        p.index.search(
            p.query_vecs[i], p.query_tokens[i], mask=None, k=POOL_K, qtext=p.bench.query_texts[i]
        )
        return (time.perf_counter() - t) * 1000

    for i in range(min(n, 20)):  # warm caches (vocabulary, BM25 norms, LightGBM)
        one(i)
    linear, stored, free = [], [], []
    for i in range(n):  # interleaved, so machine load hits all three alike
        p.index.rerank = None
        linear.append(one(i))
        p.index.rerank = stage
        stage._sides.clear()
        free.append(one(i))
        stored.append(one(i))
    out: dict[str, Any] = {
        "bench": folder.name,
        "queries": n,
        "pool": POOL_K,
        "encoder": p.index.manifest["encoder"],
        "model": stage.model.manifest.get("version"),
        "search_linear_ms": _pct(linear),
        "search_stage_stored_ms": _pct(stored),
        "search_stage_free_text_ms": _pct(free),
    }
    out["stage_parts_free_text_p50_ms"] = _parts(p, stage, n)
    out["added_p50_ms"] = {
        "stored_subject": round(
            out["search_stage_stored_ms"]["p50"] - out["search_linear_ms"]["p50"], 3
        ),
        "free_text": round(
            out["search_stage_free_text_ms"]["p50"] - out["search_linear_ms"]["p50"], 3
        ),
    }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bench", type=Path)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--encoder", default=None)
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    a = ap.parse_args()
    print(json.dumps(run(a.bench, a.queries, a.encoder, a.cache)))


if __name__ == "__main__":
    main()
