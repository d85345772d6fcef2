"""Training and honest measurement of the learned scoring stage on BEIR dev qrels.

``capture`` runs the served search once per query with a features-only stage and keeps each
pool's feature rows; labels are the qrels grades of the pooled documents (0 otherwise).
``cross_validate`` folds by query id (a hash, so a query shared by two benchmarks falls in the
same fold of both) and, per fold, trains on the other folds of every given benchmark, then
measures by running the served search on the held-out queries with that fold's model in the
index. ``fit`` trains the shipped model on all of them.
"""

from __future__ import annotations

import hashlib
import platform
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from indexing.rerank import RerankStage, build_stage
from models import ltr
from models.metrics import evaluate
from scripts.eval_bench import Prepared, Run, run_served


@dataclass
class Captured:
    prepared: Prepared
    stage: RerankStage  # features only (model None)
    x: list[np.ndarray]
    y: list[np.ndarray]


def features_only(p: Prepared, adapters: list[np.ndarray | None] | None = None) -> RerankStage:
    existing = p.index.rerank
    if existing is not None:
        return RerankStage(existing.docs, existing.channels, None, adapters=adapters)
    stage = build_stage(p.bench.doc_texts, _ChannelsOwner(p), None)
    assert stage is not None  # model=None always builds (unless XIAOQI_RERANK=0)
    p.index.rerank = stage  # keep the fitted document side for the next capture
    return RerankStage(stage.docs, stage.channels, None, adapters=adapters)


class _ChannelsOwner:  # what build_stage reads of an encoder
    def __init__(self, p: Prepared) -> None:
        self.channels, self.id = p.channels, p.index.manifest["encoder"]
        self.dim = p.index.vectors.shape[1]


def capture(p: Prepared, adapters: list[np.ndarray | None] | None = None) -> Captured:
    stage = features_only(p, adapters)
    rows: list[tuple[np.ndarray, np.ndarray]] = []
    stage.capture = lambda pool, x: rows.append((pool.copy(), x))
    run_served(p, stage)
    stage.capture = None
    ys = []
    for qid, (pool, _) in zip(p.bench.query_ids, rows, strict=True):
        rel = p.bench.qrels.get(qid, {})
        ys.append(np.array([rel.get(p.bench.doc_ids[j], 0) for j in pool.tolist()], np.float32))
    return Captured(p, stage, [x for _, x in rows], ys)


def fit_adapters(preps: Sequence[Prepared], keep: Callable[[str], bool]) -> list[np.ndarray | None]:
    """One query adapter per dense channel from the kept queries' (query, relevant document)
    pairs of every benchmark where both sides have that channel."""
    out: list[np.ndarray | None] = []
    for c, (_, lo, hi) in enumerate(preps[0].channels):
        qs, ds = [], []
        for p in preps:
            pos_of = {d: j for j, d in enumerate(p.bench.doc_ids)}
            for i, qid in enumerate(p.bench.query_ids):
                q = p.query_vecs[i, lo:hi]
                if not keep(qid) or np.linalg.norm(q) < 1e-6:
                    continue
                for doc, grade in p.bench.qrels.get(qid, {}).items():
                    d = p.index.vectors[pos_of[doc], lo:hi] if doc in pos_of else None
                    if grade > 0 and d is not None and np.linalg.norm(d) > 1e-6:
                        qs.append(q / np.linalg.norm(q))
                        ds.append(d / np.linalg.norm(d))
        out.append(ltr.fit_adapter(np.stack(qs), np.stack(ds)) if len(qs) >= 50 else None)
        del c
    return out


def fold_of(query_id: str, folds: int) -> int:
    return int.from_bytes(hashlib.blake2b(query_id.encode(), digest_size=4).digest()) % folds


def _blocks(
    caps: Sequence[Captured], keep: Callable[[str], bool]
) -> list[tuple[np.ndarray, np.ndarray]]:
    return [
        (x, y)
        for c in caps
        for qid, x, y in zip(c.prepared.bench.query_ids, c.x, c.y, strict=True)
        if keep(qid)
    ]


def _split(params: dict[str, Any] | None) -> tuple[dict[str, Any], bool]:
    """LightGBM parameters, and whether to fit query adapters (``"adapters": true``). Off by
    default: an adapter fitted on the very queries the ranker then trains on makes its cosine
    look better than it is on new queries, so the ranker over-trusts it (nested fitting: not
    done)."""
    rest = dict(params or {})
    return rest, bool(rest.pop("adapters", False))


def cross_validate(
    preps: Sequence[Prepared],
    folds: int = 5,
    params: dict[str, Any] | None = None,
    rounds: int = ltr.DEFAULT_ROUNDS,
    log: Callable[[str], None] = lambda s: None,
) -> dict[str, dict[str, float]]:
    """Held-out metrics per benchmark: each query scored by adapters and a model that never
    saw it (both fitted on the other folds of every given benchmark)."""
    runs: dict[str, Run] = {p.bench.name: {} for p in preps}
    params, use_adapters = _split(params)
    none: list[np.ndarray | None] = [None] * len(preps[0].channels)
    for f in range(folds):

        def train_q(q: str, f: int = f) -> bool:
            return fold_of(q, folds) != f

        adapters = fit_adapters(preps, train_q) if use_adapters else none
        caps = [capture(p, adapters) for p in preps]
        model = ltr.train(_blocks(caps, train_q), caps[0].stage.feature_names, params, rounds)
        model.adapters = adapters
        for c in caps:
            b = c.prepared.bench
            held = [i for i, q in enumerate(b.query_ids) if not train_q(q)]
            stage = RerankStage(c.stage.docs, c.stage.channels, model)
            runs[b.name].update(run_served(c.prepared, stage, held))
        log(f"fold {f + 1}/{folds} done")
    return {p.bench.name: evaluate(runs[p.bench.name], p.bench.qrels) for p in preps}


def fit(
    preps: Sequence[Prepared],
    command: str,
    params: dict[str, Any] | None = None,
    rounds: int = ltr.DEFAULT_ROUNDS,
    cv: dict[str, Any] | None = None,
    directory: Path = ltr.LTR_DIR,
) -> ltr.LtrModel:
    """Fit adapters and the model on every query and ship them (model, adapters, manifest)."""
    params, use_adapters = _split(params)
    none: list[np.ndarray | None] = [None] * len(preps[0].channels)
    adapters = fit_adapters(preps, lambda q: True) if use_adapters else none
    caps = [capture(p, adapters) for p in preps]
    model = ltr.train(_blocks(caps, lambda q: True), caps[0].stage.feature_names, params, rounds)
    model.adapters = adapters
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    manifest = {
        "version": f"ltr-{stamp}",
        "features_version": ltr.FEATURES_VERSION,
        "encoder": preps[0].index.manifest["encoder"],
        "trained_on": {p.bench.name: len(p.bench.query_ids) for p in preps},
        "params": {**ltr.DEFAULT_PARAMS, **(params or {})},
        "rounds": rounds,
        "adapters": use_adapters,
        "adapter_ridge": ltr.ADAPTER_RIDGE,
        "command": command,
        "cv": cv or {},
        "python": platform.python_version(),
        "note": "lambdarank on dev qrels grades of the served pool; no label-derived features",
    }
    ltr.save(model, manifest, directory)
    model.manifest = manifest
    return model
