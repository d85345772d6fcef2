"""What the learned scoring stage adds to a served search, in process.

Builds the served index over a BEIR corpus (as ``xiaoqi eval`` does), then times
``HybridIndex.search`` per query three ways in the same run: the linear fusion (no stage), the
stage with the query's text seen before (a stored subject: its query-side values are memoised)
and the stage on text never seen (free text: memos cleared before each query). Prints JSON:
p50/p95 wall milliseconds of each, the same in thread CPU time (what the search itself spent,
whatever else the shared machine runs), the added p50s and where the free-text time goes.

    python -m scripts.bench_rerank ../shared/data/bench/cn-occ2major --queries 300

``--baseline-tree DIR`` (a ``git archive`` of another commit) runs the same measurement on that
tree's code in child processes, alternating with this tree (``--rounds`` pairs), and prints all
runs with the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
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


def _forget(stage: Any) -> None:
    """Clear the stage's query memos (older trees only had the per-text one)."""
    forget = getattr(stage, "forget_queries", None)
    if forget is not None:
        forget()
    else:
        stage._sides.clear()


def _parts(p: Any, stage: Any, n: int) -> dict[str, float]:
    """Where the stage's time goes for free text, per query (medians of thread CPU time): the
    query side (n-gram vectors of the text), the pool's inputs (postings, channel cosines),
    the feature matrix (with the word-level columns of a v3 model) and the model."""
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
            _forget(stage)
            t0 = time.thread_time()
            side = stage.query_side(text)[0]
            t1 = time.thread_time()
            q = stage.query_input(p.index, text, qvec, tokens, pool, zero, zero)
            t2 = time.thread_time()
            x = ltr.features(q, stage.docs, side)
            words = getattr(
                stage, "words", None
            )  # v3 word-level columns, when the model reads them
            if getattr(stage, "_with_words", False) and words is not None:
                head = sorted(stage.query_side(text)[1])
                x = np.hstack([x, words.features(pool, tokens, head)])
            t3 = time.thread_time()
            stage.model.score(x)
            t4 = time.thread_time()
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

    def one(i: int) -> tuple[float, float]:
        w, c = time.perf_counter(), time.thread_time()
        p.index.search(
            p.query_vecs[i], p.query_tokens[i], mask=None, k=POOL_K, qtext=p.bench.query_texts[i]
        )
        return (time.perf_counter() - w) * 1000, (time.thread_time() - c) * 1000

    for i in range(min(n, 20)):  # warm caches (vocabulary, BM25 norms, LightGBM)
        one(i)
    runs: dict[str, list[tuple[float, float]]] = {"linear": [], "stored": [], "free": []}
    for i in range(n):  # interleaved, so machine load hits all three alike
        p.index.rerank = None
        runs["linear"].append(one(i))
        p.index.rerank = stage
        _forget(stage)
        runs["free"].append(one(i))
        runs["stored"].append(one(i))
    out: dict[str, Any] = {
        "bench": folder.name,
        "tree": _tree(),  # where the measured code was imported from
        "queries": n,
        "pool": POOL_K,
        "encoder": p.index.manifest["encoder"],
        "model": stage.model.manifest.get("version"),
    }
    names = {"linear": "linear", "stored": "stage_stored", "free": "stage_free_text"}
    for clock, at in (("ms", 0), ("cpu_ms", 1)):
        for k, name in names.items():
            out[f"search_{name}_{clock}"] = _pct([r[at] for r in runs[k]])
        lin = out[f"search_linear_{clock}"]["p50"]
        out[f"added_p50_{clock}"] = {
            "stored_subject": round(out[f"search_stage_stored_{clock}"]["p50"] - lin, 3),
            "free_text": round(out[f"search_stage_free_text_{clock}"]["p50"] - lin, 3),
        }
    out["stage_parts_free_text_p50_cpu_ms"] = _parts(p, stage, n)
    return out


def _tree() -> str:
    import models

    return str(Path(models.__file__).resolve().parent.parent)


def alternate(args: argparse.Namespace) -> dict[str, Any]:
    """Child runs of this script over the baseline tree's code and this tree's, alternating."""
    here = Path(__file__).resolve().parent.parent
    trees = {"baseline": Path(args.baseline_tree).resolve(), "this": here}
    cmd = [str(Path(__file__).resolve()), str(Path(args.bench).resolve())]
    cmd += ["--queries", str(args.queries), "--cache", str(Path(args.cache).resolve())]
    if args.encoder:
        cmd += ["--encoder", args.encoder]
    load_before = os.getloadavg()
    runs = []
    for r in range(args.rounds):
        for name, tree in trees.items():
            env = {**os.environ, "PYTHONPATH": str(tree)}
            done = subprocess.run(
                [sys.executable, *cmd], cwd=tree, env=env, capture_output=True, text=True
            )
            if done.returncode:
                raise SystemExit(done.stderr[-2000:])
            row = json.loads(done.stdout.strip().splitlines()[-1])
            runs.append({"round": r + 1, "code": name, "loadavg": os.getloadavg(), **row})
    return {"loadavg_before": load_before, "loadavg_after": os.getloadavg(), "runs": runs}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bench", type=Path)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--encoder", default=None)
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    ap.add_argument("--baseline-tree", type=Path, default=None)
    ap.add_argument("--rounds", type=int, default=2)
    a = ap.parse_args()
    if a.baseline_tree is not None:
        print(json.dumps(alternate(a)))
    else:
        print(
            json.dumps({**run(a.bench, a.queries, a.encoder, a.cache), "loadavg": os.getloadavg()})
        )


if __name__ == "__main__":
    main()
