"""Fine-tuning the learned candidate-scoring stage (indexing/rerank.py) from review decisions.

What the benchmarks taught the shipped stage (data/retrieval/ltr.json) is how to weigh text
evidence (names, n-grams, BM25 per field, dense channels) relative to each query's own pool.
Review decisions add what this deployment's reviewers prefer among the candidates shown to them.

A decided run is replayed on the engine as it stands now, through the journey it took (same
requester, scope, filters and pool size; the subject's query text as it reads today). The
stage's feature rows of that pool are captured and the decided candidates' rows form one
lambdarank group (approve 1, reject 0); a group needs both labels. Groups are split by time (the
newest share held out, as a deployed model meets them). The stage that served (the shipped
model, an earlier fine-tune, or none) is continued with a few more trees, and the result is
kept only when it orders the held-out decisions better than the stage it started from, with the
gain's 5th bootstrap percentile (over held-out groups) above zero.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from pydantic import ValidationError

from indexing.rerank import RerankStage, build_stage
from models import ltr
from models import ltr_features_extra as lfx
from service.auth import repository as users
from service.config import Settings
from service.errors import DomainError
from service.recommendations import schemas as S
from service.recommendations import service as svc
from service.recommendations import training_repository as repo
from service.recommendations.engine import Engine
from service.recommendations.state import SOURCES

log = logging.getLogger(__name__)

STAGE_DIR = "stage"  # under the ranker directory: var/ranker/stage/ltr.json
# Few decisions: small trees, many rows per leaf relative to the data, a low learning rate, so
# a few hundred decisions nudge the benchmark-trained trees rather than replace them.
TUNE_PARAMS: dict[str, Any] = {
    "learning_rate": 0.05,
    "num_leaves": 7,
    "min_data_in_leaf": 5,
    "min_sum_hessian_in_leaf": 1e-3,
    "feature_fraction": 1.0,
    "bagging_fraction": 1.0,
    "bagging_freq": 0,
}
TUNE_ROUNDS = 40
MIN_GROUPS = 6  # groups with an approval and a rejection; at least two are held out


def stage_manifest(ranker_dir: Path) -> Path:
    """Where a fine-tuned stage lives; the engine prefers it to the shipped one when it fits."""
    return ranker_dir / STAGE_DIR / "ltr.json"


@dataclass
class Group:
    """The decided candidates of one subject in one run, as feature rows of the replayed pool."""

    run_id: int
    entity: str
    x: np.ndarray
    y: np.ndarray
    served: np.ndarray  # the score each item was served with (the stored 'fused' feature)


@dataclass
class Replayed:
    groups: list[Group]
    names: list[str]
    base: ltr.LtrModel | None
    skipped: Counter[str] = field(default_factory=Counter)


JOURNEYS: dict[str, tuple[Any, Any, str]] = {  # run kind → request schema, journey, entity
    "partner_enterprises": (S.PartnerEnterprisesRequest, svc.partner_enterprises, "enterprise"),
    "programmes": (S.ProgrammesRequest, svc.programmes, "programme"),
    "mentors": (S.MentorsRequest, svc.mentors, "mentor"),
    "practice_bases": (S.PracticeBasesRequest, svc.practice_bases, "practice_base"),
}


def _stage(
    conn: psycopg.Connection[Any], engine: Engine, entity: str, built: dict[str, RerankStage]
) -> RerankStage | None:
    """The entity's stage on the engine's current index; a features-only one (its texts read
    again) where the index has none, e.g. an encoder the shipped model was not trained for."""
    index = engine.candidates[entity].index
    if index.rerank is None:
        stage = built.get(entity)
        if stage is None or len(stage.docs.log_len) != len(index.ids):
            loader, text_of = SOURCES[entity]
            by_id = {int(r["id"]): text_of(r) for r in loader(conn)}
            stage = build_stage([by_id.get(int(i), "") for i in index.ids], engine.encoder, None)
            if stage is None:  # XIAOQI_RERANK=0
                return None
            built[entity] = stage
        index.rerank = stage
    return index.rerank


def _request_of(run: dict[str, Any], subject: tuple[str, int | None]) -> Any:
    """The run's request, narrowed to one subject of a batch."""
    schema, _, _ = JOURNEYS[run["kind"]]
    body = dict(run["request"] or {})
    if run["kind"] == "partner_enterprises" and subject[1] is not None:
        body.update(subject={"type": subject[0], "id": subject[1]}, subjects=[])
    return schema.model_validate(body)


def replay(conn: psycopg.Connection[Any], engine: Engine, settings: Settings) -> Replayed:
    """Every decided (run, subject) group with its feature rows, from the journey the run took
    (same requester, scope, filters and pool size; the run it stores again is rolled back)."""
    runs = {int(r["id"]): r for r in repo.decided_runs(conn)}
    by_group: dict[tuple[int, str, int | None], list[dict[str, Any]]] = {}
    for d in repo.latest_decisions(conn):
        by_group.setdefault((int(d["run_id"]), d["subject_type"], d["subject_id"]), []).append(d)
    order = {run_id: n for n, run_id in enumerate(runs)}  # oldest decision first
    built: dict[str, RerankStage] = {}
    actors: dict[int | None, Any] = {None: None}
    out = Replayed([], [], None)
    captured: list[tuple[np.ndarray, np.ndarray]] = []
    for (run_id, stype, sid), items in sorted(by_group.items(), key=lambda kv: order[kv[0][0]]):
        run = runs[run_id]
        _, journey, entity = JOURNEYS[run["kind"]]
        stage = _stage(conn, engine, entity, built) if entity in engine.candidates else None
        if stage is None:
            out.skipped["no_stage"] += len(items)
            continue
        out.names = out.names or stage.feature_names
        out.base = out.base or stage.model
        requester = run["requester_id"]
        if requester not in actors:
            row = users.user_by_id(conn, requester)
            actors[requester] = users.to_user(row) if row else None
        captured.clear()
        stage.capture = lambda pool, x: captured.append((pool.copy(), x))
        try:
            with conn.transaction(force_rollback=True):
                journey(conn, engine, settings, _request_of(run, (stype, sid)), actors[requester])
        except (DomainError, ValidationError):
            out.skipped["request_refused"] += len(items)
            continue
        finally:
            stage.capture = None
        if not captured:
            out.skipped["empty_pool"] += len(items)
            continue
        pool, x = captured[-1]
        at = {cid: n for n, cid in enumerate(np.asarray(engine.candidates[entity].index.ids)[pool])}
        kept = [d for d in items if int(d["candidate_id"]) in at]
        out.skipped["not_in_pool"] += len(items) - len(kept)
        if kept:
            out.groups.append(
                Group(
                    run_id,
                    entity,
                    x[[at[int(d["candidate_id"])] for d in kept]],
                    np.array([1.0 if d["decision"] == "approve" else 0.0 for d in kept]),
                    np.array([float(d["features"].get("fused", 0.0)) for d in kept]),
                )
            )
    return out


def pairwise_accuracy(groups: Sequence[Group], scores: Sequence[np.ndarray]) -> float:
    """Share of (approved, rejected) pairs within a group ordered correctly (ties count half)."""
    right = total = 0.0
    for g, s in zip(groups, scores, strict=True):
        pos, neg = s[g.y > 0], s[g.y == 0]
        if len(pos) and len(neg):
            diff = pos[:, None] - neg[None, :]
            right += float((diff > 0).sum() + 0.5 * (diff == 0).sum())
            total += diff.size
    return right / total if total else float("nan")


@dataclass
class StageTuning:
    groups_train: int
    groups_test: int
    decisions: int
    skipped: dict[str, int]
    base: str  # what it started from
    accuracy_base: float
    accuracy_tuned: float
    gain_low: float  # 5th percentile of the held-out gain over group bootstrap resamples
    model: ltr.LtrModel | None = field(default=None, repr=False)

    @property
    def helps(self) -> bool:
        """Better on held-out decisions, and not by the luck of which groups were held out."""
        return self.gain_low > 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "groups_train": self.groups_train,
            "groups_test": self.groups_test,
            "decisions": self.decisions,
            "skipped": self.skipped,
            "base": self.base,
            "pairwise_accuracy_base": round(self.accuracy_base, 4),
            "pairwise_accuracy_tuned": round(self.accuracy_tuned, 4),
            "gain_bootstrap_p05": round(self.gain_low, 4),
            "tuned_beats_base": self.helps,
        }


def _fit(groups: Sequence[Group], names: list[str], base: ltr.LtrModel | None) -> ltr.LtrModel:
    model = ltr.train([(g.x, g.y) for g in groups], names, TUNE_PARAMS, TUNE_ROUNDS, init=base)
    model.adapters = list(base.adapters) if base is not None else []
    return model


def fine_tune(data: Replayed, holdout: float = 0.25) -> StageTuning:
    """Held-out comparison (newest groups) of the tuned stage against where it started."""
    groups = [g for g in data.groups if 0 < g.y.sum() < len(g.y)]
    if len(groups) < MIN_GROUPS:
        raise ValueError(
            f"只有 {len(groups)} 组同时含通过与驳回的审核决定，至少需要 {MIN_GROUPS} 组"
        )
    cut = min(len(groups) - 2, max(1, int(round(len(groups) * (1 - holdout)))))
    train, test = groups[:cut], groups[cut:]
    base = data.base
    before = [base.score(g.x) if base is not None else g.served for g in test]
    tuned = _fit(train, data.names, base)
    after = [tuned.score(g.x) for g in test]
    return StageTuning(
        len(train),
        len(test),
        int(sum(len(g.y) for g in data.groups)),
        dict(data.skipped),
        str(base.manifest.get("version")) if base is not None else "linear fusion (no stage)",
        pairwise_accuracy(test, before),
        pairwise_accuracy(test, after),
        _gain_low(test, before, after),
        tuned,
    )


BOOTSTRAP = 500


def _gain_low(test: Sequence[Group], before: list[np.ndarray], after: list[np.ndarray]) -> float:
    """5th percentile of (tuned - base) pairwise accuracy over resamples of the held-out groups
    (few groups: a gain from one lucky group does not count)."""
    rng = np.random.default_rng(0)
    gains = []
    for _ in range(BOOTSTRAP):
        pick = rng.integers(0, len(test), len(test)).tolist()
        sample = [test[i] for i in pick]
        b = pairwise_accuracy(sample, [before[i] for i in pick])
        a = pairwise_accuracy(sample, [after[i] for i in pick])
        gains.append(a - b)
    return float(np.percentile(gains, 5))


def _features_version(names: list[str]) -> str:
    """v3 when the stage computed the word-level columns (models/ltr_features_extra.py)."""
    channels = sum(1 for n in names if n.startswith("dense_ch") and n[8:].isdigit())
    return (
        lfx.FEATURES_VERSION if names == lfx.stage_feature_names(channels) else ltr.FEATURES_VERSION
    )


def save_tuned(data: Replayed, result: StageTuning, engine: Engine, ranker_dir: Path) -> Path:
    """Refit on every group (held-out ones too, now that they showed it helps) and save."""
    groups = [g for g in data.groups if 0 < g.y.sum() < len(g.y)]
    model = _fit(groups, data.names, data.base)
    base = data.base.manifest if data.base is not None else {}
    manifest = {
        "version": "stage-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"),
        "features_version": _features_version(data.names),
        "encoder": getattr(engine.encoder, "id", None),
        "fine_tuned_from": base.get("version"),
        "params": {**base.get("params", {}), **TUNE_PARAMS},
        "rounds": int(base.get("rounds", 0)) + TUNE_ROUNDS,
        "review_decisions": result.as_dict(),
    }
    path = ltr.save(model, manifest, stage_manifest(ranker_dir).parent)
    log.info("fine-tuned ranking stage saved to %s", path)
    return path
