"""What the engine reports about itself: its status (ready, or serving with partial dense
coverage), per-index summaries for /health and for every stored run's versions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from indexing.artefacts import repairs
from service.recommendations import dense_fill
from service.recommendations.state import Candidates

if TYPE_CHECKING:
    from service.recommendations.engine import Engine


def status(engine: Engine) -> str:
    """``ready``, or ``partial`` while dense vectors are still being encoded (the engine serves
    keyword results plus the vectors that are ready meanwhile)."""
    return "partial" if dense_fill.pending(engine) else "ready"


def health(engine: Engine) -> dict[str, Any]:
    """What /health says about the engine: status and dense coverage; per entity rows, delta
    size; compaction running; the change log position; damaged artefacts rebuilt in this
    process."""
    state = engine.latest
    return {
        "status": status(engine),
        "dense": dense_fill.summary(engine),
        "change_seq": state.change_seq,
        "indexes": {e: index_summary(c) for e, c in state.candidates.items()},
        "compacting": sorted(e for e, t in engine._compacting.items() if t.is_alive()),
        "last_delta": engine.applied,
        "repairs": repairs(),
    }


def index_summary(cands: Candidates) -> dict[str, Any]:
    index = cands.index
    tombstones = 0 if index.live is None else int((~index.live).sum())
    return {
        **index.manifest_summary(),
        "live": cands.snapshot.live_count,
        "delta_rows": len(index.delta) if index.delta is not None else 0,
        "tombstones": tombstones,
        "delta_encoded": cands.encoded,
    }


def run_versions(engine: Engine) -> dict[str, Any]:
    """What produced an answer (stored with every run): encoder, ranker, each index's manifest
    with its delta (rows appended, tombstones) and the change log position."""
    state = engine.state
    return {
        "encoder": engine.encoder.id,
        "ranker": state.ranker.version,
        "change_seq": state.change_seq,
        "indexes": {e: index_summary(c) for e, c in state.candidates.items()},
        # False while a cold build's dense vectors are still being encoded: this answer
        # came from keyword results plus the vectors that were ready (see dense_fill.py)
        "dense_complete": not dense_fill.pending(engine, state),
        "graph": {
            "partnership_version": state.graph.version,
            "edges": state.graph.edge_count,
        },
    }
