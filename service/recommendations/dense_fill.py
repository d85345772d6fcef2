"""Completing a cold build's dense vectors in the background.

With ``Engine(defer_encoding_from=N)`` (the service), an entity or stored subject type with at
least N texts to encode is published without them: its index serves keyword results plus the
vectors that were ready (``dense_coverage`` < 1), and queries of subjects without a stored
vector are encoded at request time. This thread encodes what is missing (into the vector
caches, over every core), then publishes each completed index as a new state, and records
when full dense coverage was reached (``engine.dense_complete_s``, /health, the run versions).
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from indexing.dense_index import complete_dense, with_dense
from indexing.vector_cache import cached_vectors
from service.recommendations import builders
from service.recommendations.state import SOURCES, EngineState, SubjectVectors

if TYPE_CHECKING:
    from service.recommendations.engine import Engine

log = logging.getLogger(__name__)


def pending(engine: Engine, state: EngineState | None = None) -> dict[str, float]:
    """Dense coverage of every index or subject type that is not complete (empty: complete)."""
    state = state or engine.latest
    out = {
        e: c.index.dense_coverage
        for e, c in state.candidates.items()
        if c.index.pending is not None
    }
    for kind, (ids, *_) in list(engine.subjects_pending.items()):
        found = state.subjects.get(kind)
        out[f"subject:{kind}"] = round(len(found.slot) / max(1, len(ids)), 4) if found else 0.0
    return out


def fill(engine: Engine) -> None:
    """Encode every pending row, entity by entity (candidates first: they decide what is found;
    the smallest first, so the programmes and bases are complete minutes before 100,000
    enterprise profiles are), publishing each as it completes; loops until nothing is pending.

    Every service worker runs this fill; the vector folder's encoding lock
    (indexing/vector_cache.py) lets one of them encode each folder while the others wait and
    then map the written vectors."""
    t0 = time.perf_counter()
    while True:
        state = engine.latest
        todo = sorted(
            (
                e
                for e in SOURCES
                if e in state.candidates and state.candidates[e].index.pending is not None
            ),
            key=lambda e: _pending_rows(state, e),
        )
        if not todo and not engine.subjects_pending:
            break
        for entity in todo:
            _fill_entity(engine, entity, state)
        waiting = list(engine.subjects_pending.items())  # a copy: requests may change it
        for kind, _ in sorted(waiting, key=lambda item: len(item[1][0])):
            _fill_subjects(engine, kind)
    if engine.dense_complete_s is None:
        engine.dense_complete_s = round(time.monotonic() - engine.loaded_at, 1)
    log.info(
        "full dense coverage reached %.1f s after the engine started (%.1f s of background "
        "encoding)",
        engine.dense_complete_s,
        time.perf_counter() - t0,
    )


def _pending_rows(state: EngineState, entity: str) -> int:
    pending = state.candidates[entity].index.pending
    return 0 if pending is None else len(pending.positions)


def _fill_entity(engine: Engine, entity: str, state: EngineState) -> None:
    index = state.candidates[entity].index
    started = time.perf_counter()
    vectors = complete_dense(index, engine.encoder)

    def swap(s: EngineState) -> EngineState:
        current = s.candidates.get(entity)
        # rebuilt meanwhile (a new base with its own pending rows): the next pass fills that one
        if current is None or current.index.pending is not index.pending:
            return s
        return s.with_candidates(
            {entity: replace(current, index=with_dense(current.index, vectors))}
        )

    engine._publish(swap)
    engine.dense_filled[entity] = round(time.perf_counter() - started, 1)
    count = len(index.pending.positions) if index.pending is not None else 0
    log.info("%s: dense vectors complete (%d rows encoded)", entity, count)


def _fill_subjects(engine: Engine, kind: str) -> None:
    found = engine.subjects_pending.get(kind)
    if found is None:
        return
    ids, texts, hashes, built_from = found
    started = time.perf_counter()
    vectors, _ = cached_vectors(
        engine.index_dir / "subjects" / kind, ids, texts, hashes, engine.encoder, queries=True
    )
    slot = {i: (h, n) for n, (i, h) in enumerate(zip(ids.tolist(), hashes.tolist(), strict=True))}
    complete = SubjectVectors(MappingProxyType(slot), vectors, built_from)

    def swap(s: EngineState) -> EngineState:
        current = s.subjects.get(kind)
        if current is not None and current.built_from != built_from:
            return s  # rebuilt from newer data meanwhile
        return s.with_subjects(kind, complete)

    engine._publish(swap)
    builders.mark_subjects(engine.index_dir / "subjects" / kind, kind, built_from, ids, hashes)
    if engine.subjects_pending.get(kind) is found:
        engine.subjects_pending.pop(kind, None)
    engine.dense_filled[f"subject:{kind}"] = round(time.perf_counter() - started, 1)


def summary(engine: Engine) -> dict[str, Any]:
    """The dense side of /health and the run versions."""
    missing = pending(engine)
    return {
        "complete": not missing,
        "coverage": missing,
        "complete_after_s": engine.dense_complete_s,
        "filled_s": dict(engine.dense_filled),
    }
