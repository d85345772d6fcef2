"""Training and honest measurement of the learned scoring stage on BEIR dev qrels.

``capture`` runs the served search once per query with a features-only stage and keeps each
pool's feature rows; labels are the qrels grades of the pooled documents (0 otherwise).
``cross_validate`` folds by query id (a hash, so a query shared by two benchmarks falls in the
same fold of both) and, per fold, fits everything on the other folds of every given benchmark —
query adapters, the LightGBM hyperparameters (picked by an inner CV over those queries only) and
the model — then measures by running the served search on the held-out queries with that fold's
adapters and model in the index. ``fit`` does the same on all dev queries and ships the result.

Adapters are cross-fitted: a training query's adapted cosine comes from an adapter fitted on the
other inner folds, never on itself, so the ranker learns how much an adapted cosine is worth on
a query the adapter has not seen (what it meets when serving).
"""

from __future__ import annotations

import hashlib
import json
import platform
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from indexing.rerank import RerankStage, build_stage
from models import ltr
from models.ltr_features_extra import FEATURES_VERSION
from models.metrics import evaluate
from scripts.eval_bench import Prepared, Run, run_served

INNER_FOLDS = 2
# LightGBM settings the inner CV chooses from (merged over ltr.DEFAULT_PARAMS and --params); each
# setting is trained once per inner fold with its largest round count and read at every count
GRID: tuple[dict[str, Any], ...] = ({"learning_rate": 0.1, "rounds": [60, 120, 200]},)
Adapters = list[np.ndarray | None]


@dataclass
class Captured:
    prepared: Prepared
    stage: RerankStage  # features only (model None)
    x: list[np.ndarray]
    y: list[np.ndarray]
    pools: list[np.ndarray] = field(default_factory=list)


def features_only(p: Prepared, adapters: Adapters | None = None) -> RerankStage:
    existing = p.index.rerank
    if existing is not None:
        return RerankStage(
            existing.docs, existing.channels, None, adapters=adapters, words=existing.words
        )
    stage = build_stage(p.bench.doc_texts, _ChannelsOwner(p), None)
    assert stage is not None  # model=None always builds (unless XIAOQI_RERANK=0)
    p.index.rerank = stage  # keep the fitted document side for the next capture
    return RerankStage(stage.docs, stage.channels, None, adapters=adapters, words=stage.words)


class _ChannelsOwner:  # what build_stage reads of an encoder
    def __init__(self, p: Prepared) -> None:
        self.channels, self.id = p.channels, p.index.manifest["encoder"]
        self.dim = p.index.vectors.shape[1]


def capture(p: Prepared, adapters: Adapters | None = None) -> Captured:
    stage = features_only(p, adapters)
    rows: list[tuple[np.ndarray, np.ndarray]] = []
    stage.capture = lambda pool, x: rows.append((pool.copy(), x))
    run_served(p, stage)
    stage.capture = None
    ys = []
    for qid, (pool, _) in zip(p.bench.query_ids, rows, strict=True):
        rel = p.bench.qrels.get(qid, {})
        ys.append(np.array([rel.get(p.bench.doc_ids[j], 0) for j in pool.tolist()], np.float32))
    return Captured(p, stage, [x for _, x in rows], ys, [pool for pool, _ in rows])


# dense channels whose adapter is trained contrastively (ltr.fit_adapter_contrastive: every
# document of the corpus a negative); the others get the ridge adapter (ltr.fit_adapter)
CONTRASTIVE_CHANNELS: frozenset[str] = frozenset()  # {"minilm"}: not yet validated by the served CV


def _unit(x: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(x, axis=-1, keepdims=True)
    return np.where(n > 1e-6, x / np.maximum(n, 1e-6), 0.0)


def fit_adapters(preps: Sequence[Prepared], keep: Callable[[str], bool]) -> Adapters:
    """One query adapter per dense channel from the kept queries' (query, relevant document)
    pairs of every benchmark where both sides have that channel."""
    out: Adapters = []
    for name, lo, hi in preps[0].channels:
        qs, ds = [], []
        groups = []  # per benchmark: its queries, its documents, the kept relevant pairs
        for p in preps:
            pos_of = {d: j for j, d in enumerate(p.bench.doc_ids)}
            docs = _unit(np.asarray(p.index.vectors[:, lo:hi], dtype=np.float32))
            queries = _unit(p.query_vecs[:, lo:hi])
            pairs = []
            for i, qid in enumerate(p.bench.query_ids):
                if not keep(qid) or not queries[i].any():
                    continue
                for doc, grade in p.bench.qrels.get(qid, {}).items():
                    j = pos_of.get(doc)
                    if grade > 0 and j is not None and docs[j].any():
                        qs.append(queries[i])
                        ds.append(docs[j])
                        pairs.append((i, j))
            groups.append((queries, docs, np.array(pairs, dtype=np.int64).reshape(-1, 2)))
        if len(qs) < 50:
            out.append(None)
        elif name in CONTRASTIVE_CHANNELS:
            out.append(ltr.fit_adapter_contrastive(groups))
        else:
            out.append(ltr.fit_adapter(np.stack(qs), np.stack(ds)))
    return out


def fold_of(query_id: str, folds: int) -> int:
    return int.from_bytes(hashlib.blake2b(query_id.encode(), digest_size=4).digest()) % folds


def inner_fold(query_id: str) -> int:
    return fold_of(query_id + "/inner", INNER_FOLDS)


def _adapted(c: Captured, i: int, adapters: Adapters) -> np.ndarray:
    """Query ``i``'s feature rows with the adapted-cosine columns (and their per-query
    normalisations) recomputed under ``adapters``: the same arithmetic as the served stage."""
    x = c.x[i].copy()
    channels = c.stage.channels
    names = c.stage.feature_names
    nb = len(ltr.base_names(len(channels)))
    q, vecs = c.prepared.query_vecs[i], c.prepared.index.vectors[c.pools[i]]
    for ch, ((_, lo, hi), a) in enumerate(zip(channels, adapters, strict=True)):
        qa = q[lo:hi] @ a if a is not None else q[lo:hi]
        dn, qn = np.linalg.norm(vecs[:, lo:hi], axis=1), float(np.linalg.norm(qa))
        ok = (dn > 1e-9) & (qn > 1e-9)
        cos = np.where(ok, vecs[:, lo:hi] @ qa / np.maximum(dn * qn, 1e-9), 0.0)
        j = names.index(f"adapted_ch{ch}")
        x[:, j] = cos
        x[:, nb + 3 * j : nb + 3 * j + 3] = ltr.per_query(cos[:, None].astype(np.float32))
    return x


def _cross_fitted(
    caps: Sequence[Captured], keep: Callable[[str], bool], use: bool
) -> list[list[np.ndarray]]:
    """Feature rows of every capture where a kept query's adapted cosines come from adapters
    fitted on the kept queries of the other inner folds (rows of other queries unchanged)."""
    xs = [list(c.x) for c in caps]
    if not use:
        return xs
    preps = [c.prepared for c in caps]
    for g in range(INNER_FOLDS):

        def fit_q(q: str, g: int = g) -> bool:
            return keep(q) and inner_fold(q) != g

        adapters = fit_adapters(preps, fit_q)
        for c, out in zip(caps, xs, strict=True):
            for i, qid in enumerate(c.prepared.bench.query_ids):
                if keep(qid) and inner_fold(qid) == g:
                    out[i] = _adapted(c, i, adapters)
    return xs


Blocks = list[tuple[str, np.ndarray, np.ndarray, float]]  # (query id, rows, labels, ideal DCG)


def _blocks(
    caps: Sequence[Captured], xs: list[list[np.ndarray]], keep: Callable[[str], bool]
) -> Blocks:
    out: Blocks = []
    disc = 1.0 / np.log2(np.arange(2, 12))
    for c, cx in zip(caps, xs, strict=True):
        b = c.prepared.bench
        for qid, x, y in zip(b.query_ids, cx, c.y, strict=True):
            if keep(qid):
                ideal = sorted((g for g in b.qrels.get(qid, {}).values() if g > 0), reverse=True)
                out.append(
                    (qid, x, y, float((np.array(ideal[:10]) * disc[: len(ideal[:10])]).sum()))
                )
    return out


def _ndcg10(score: np.ndarray, y: np.ndarray, ideal: float) -> float:
    top = y[np.argsort(-score, kind="stable")[:10]]
    return float((top / np.log2(np.arange(2, len(top) + 2))).sum() / ideal) if ideal > 0 else 0.0


def _train(blocks: Blocks, names: list[str], setting: dict[str, Any]) -> ltr.LtrModel:
    params = dict(setting)
    rounds = params.pop("rounds", ltr.DEFAULT_ROUNDS)
    rounds = max(rounds) if isinstance(rounds, list) else int(rounds)
    return ltr.train([(x, y) for _, x, y, _ in blocks], names, params, rounds)


def _round_counts(rounds: Any) -> list[int]:
    return [int(r) for r in rounds] if isinstance(rounds, list) else [int(rounds)]


def select(
    blocks: Blocks, names: list[str], grid: Sequence[dict[str, Any]], log: Callable[[str], None]
) -> tuple[dict[str, Any], dict[str, float]]:
    """The (setting, round count) with the best mean nDCG@10 over an inner CV of ``blocks``'
    queries: the outer fold's held-out queries are never looked at."""
    choices = [
        ({**g, "rounds": r}, i, r)
        for i, g in enumerate(grid)
        for r in _round_counts(g.get("rounds", ltr.DEFAULT_ROUNDS))
    ]
    if len(choices) == 1:
        return choices[0][0], {}
    scores: dict[int, list[float]] = {c: [] for c in range(len(choices))}
    for g in range(INNER_FOLDS):
        train_b = [b for b in blocks if inner_fold(b[0]) != g]
        held_b = [b for b in blocks if inner_fold(b[0]) == g]
        for i, setting in enumerate(grid):
            model = _train(train_b, names, setting)
            for c, (_, gi, r) in enumerate(choices):
                if gi == i:
                    scores[c] += [_ndcg10(model.score(x, r), y, d) for _, x, y, d in held_b]
    means = {
        json.dumps(choices[c][0], sort_keys=True): float(np.mean(v)) for c, v in scores.items()
    }
    best = max(range(len(choices)), key=lambda c: float(np.mean(scores[c])))
    log("  inner CV nDCG@10: " + ", ".join(f"{k} {v:.4f}" for k, v in means.items()))
    return choices[best][0], {k: round(v, 4) for k, v in means.items()}


def _settings(params: dict[str, Any] | None) -> tuple[list[dict[str, Any]], bool]:
    """The grid (``"grid": [...]`` replaces the default) with the other ``--params`` merged into
    each point, and whether to fit query adapters (``"adapters": false`` turns them off)."""
    rest = dict(params or {})
    use = bool(rest.pop("adapters", True))
    grid = rest.pop("grid", None) or list(GRID)
    return [{**g, **rest} for g in grid], use


def cross_validate(
    preps: Sequence[Prepared],
    folds: int = 5,
    params: dict[str, Any] | None = None,
    log: Callable[[str], None] = lambda s: None,
) -> dict[str, dict[str, float]]:
    """Held-out metrics per benchmark: each query scored by adapters, hyperparameters and a
    model fitted without it (on the other folds of every given benchmark)."""
    runs: dict[str, Run] = {p.bench.name: {} for p in preps}
    grid, use = _settings(params)
    caps = [capture(p) for p in preps]
    names = caps[0].stage.feature_names
    none: Adapters = [None] * len(preps[0].channels)
    for f in range(folds):

        def train_q(q: str, f: int = f) -> bool:
            return fold_of(q, folds) != f

        blocks = _blocks(caps, _cross_fitted(caps, train_q, use), train_q)
        setting, _ = select(blocks, names, grid, log)
        model = _train(blocks, names, setting)
        model.adapters = fit_adapters(preps, train_q) if use else none
        for c in caps:
            b = c.prepared.bench
            held = [i for i, q in enumerate(b.query_ids) if not train_q(q)]
            stage = RerankStage(c.stage.docs, c.stage.channels, model, words=c.stage.words)
            runs[b.name].update(run_served(c.prepared, stage, held))
        log(f"fold {f + 1}/{folds} done ({setting})")
    return {p.bench.name: evaluate(runs[p.bench.name], p.bench.qrels) for p in preps}


def fit(
    preps: Sequence[Prepared],
    command: str,
    params: dict[str, Any] | None = None,
    cv: dict[str, Any] | None = None,
    directory: Path = ltr.LTR_DIR,
    log: Callable[[str], None] = lambda s: None,
) -> ltr.LtrModel:
    """Pick the hyperparameters by inner CV over every dev query, fit adapters and the model on
    all of them and ship them (model, adapters, manifest)."""
    grid, use = _settings(params)
    caps = [capture(p) for p in preps]
    names = caps[0].stage.feature_names
    blocks = _blocks(caps, _cross_fitted(caps, lambda q: True, use), lambda q: True)
    setting, means = select(blocks, names, grid, log)
    model = _train(blocks, names, setting)
    model.adapters = fit_adapters(preps, lambda q: True) if use else [None] * len(preps[0].channels)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    rounds = setting.pop("rounds", ltr.DEFAULT_ROUNDS)
    manifest = {
        "version": f"ltr-{stamp}",
        "features_version": FEATURES_VERSION,
        "encoder": preps[0].index.manifest["encoder"],
        "trained_on": {p.bench.name: len(p.bench.query_ids) for p in preps},
        "params": {**ltr.DEFAULT_PARAMS, **setting},
        "rounds": rounds,
        "selection": {"grid": grid, "inner_cv_ndcg10": means, "inner_folds": INNER_FOLDS},
        "adapters": use,
        "adapter_ridge": ltr.ADAPTER_RIDGE,
        "adapter_contrastive": {"channels": sorted(CONTRASTIVE_CHANNELS), **ltr.CONTRASTIVE},
        "command": command,
        "cv": cv or {},
        "python": platform.python_version(),
        "note": "lambdarank on dev qrels grades of the served pool; no label-derived features; "
        "adapters cross-fitted for the training rows",
    }
    ltr.save(model, manifest, directory)
    model.manifest = manifest
    return model
