"""Building the parts of an engine state from PostgreSQL: one entity's candidates (snapshot +
hybrid index), one stored subject type's query vectors, the partnership graph. Used by the
engine's first load, rebuilds and compaction (engine.py, freshness.py)."""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import psycopg

from indexing.hybrid import open_hybrid_index
from indexing.vector_cache import ready_vectors, text_hashes
from models.graph import PartnershipGraph
from service.recommendations import repository as repo
from service.recommendations.freshness import _clusters
from service.recommendations.snapshot import Snapshot
from service.recommendations.state import (
    DEPENDS,
    QUERY_CHARS,
    SOURCES,
    SUBJECTS,
    Candidates,
    EngineState,
    SubjectVectors,
)

if TYPE_CHECKING:
    from service.recommendations.engine import Engine


def stamp(versions: dict[str, int], keys: tuple[str, ...]) -> tuple[int, ...]:
    return tuple(versions.get(k, 0) for k in keys)


def end_read(conn: psycopg.Connection[Any], release: bool) -> None:
    """With ``release``, end the (read-only) transaction once the rows are read, so none stays
    open while they are encoded and indexed: at 100k that took longer than the pool's
    idle_in_transaction_session_timeout, PostgreSQL ended the session and the engine failed.
    The rows need no snapshot shared with later reads: the change-log position is read before
    them and every change after it is replayed as a delta. Without ``release`` (a caller's own
    transaction, e.g. a request's) nothing is ended."""
    if release:
        conn.rollback()


def build_candidates(
    engine: Engine,
    conn: psycopg.Connection[Any],
    entity: str,
    versions: dict[str, int],
    *,
    progress: bool,
    known: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    release: bool = False,
) -> tuple[Candidates, list[list[int]] | None]:
    """``entity``'s snapshot and index (vectors from the cache; with the engine's
    ``defer_encoding_from``, a large encoding job is left to the background fill), and for
    enterprises the duplicate clusters. ``release``: see :func:`end_read`."""
    loader, text_of = SOURCES[entity]
    snap = Snapshot.build(entity, loader(conn), text_of, version=versions.get(entity, 0))
    end_read(conn, release)
    built_from = stamp(versions, DEPENDS[entity])
    index = open_hybrid_index(
        engine.index_dir / entity,
        entity=entity,
        ids=snap.ids,
        texts=snap.texts,
        encoder=engine.encoder,
        data_version=".".join(map(str, built_from)),
        progress=progress,
        known=known,
        defer_encoding_from=engine.defer_encoding_from,
        # a stage fine-tuned from review decisions (`xiaoqi ranker train`) when one fits
        rerank_model=engine.ranker_dir / "stage" / "ltr.json",
        **({"ann_threshold": 2**62} if engine.exact else {}),
    )
    snap.texts = []  # the index keeps what it needs
    clusters = _clusters(snap) if entity == "enterprise" else None
    return Candidates(snapshot=snap, index=index, built_from=built_from), clusters


def build_subjects(
    engine: Engine,
    conn: psycopg.Connection[Any],
    kind: str,
    versions: dict[str, int],
    *,
    progress: bool,
    release: bool = False,
) -> SubjectVectors:
    """Query vectors of every stored subject of ``kind``. Rows still to encode in a deferred
    build are left out (their queries are encoded at request time) and recorded in
    ``engine.subjects_pending`` for the background fill. ``release``: see :func:`end_read`."""
    loader, text_of, deps = SUBJECTS[kind]
    ids_list: list[int] = []
    texts: list[str] = []
    for row in loader(conn):
        ids_list.append(int(row["id"]))
        texts.append(text_of(row))
    end_read(conn, release)
    ids = np.array(ids_list, dtype=np.int64)
    hashes = text_hashes(texts)
    clipped = [t[:QUERY_CHARS] for t in texts]
    directory = engine.index_dir / "subjects" / kind
    vectors, _, missing = ready_vectors(
        directory,
        ids,
        clipped,
        hashes,
        engine.encoder,
        queries=True,
        label=f"{kind} queries",
        progress=progress,
        defer_from=engine.defer_encoding_from,
    )
    built_from = stamp(versions, deps)
    ready = np.ones(len(ids), dtype=bool)
    ready[missing] = False
    if len(missing):
        engine.subjects_pending[kind] = (ids, clipped, hashes, built_from)
    else:
        engine.subjects_pending.pop(kind, None)
    pairs = enumerate(zip(ids_list, hashes.tolist(), strict=True))
    slot = {i: (h, n) for n, (i, h) in pairs if ready[n]}
    return SubjectVectors(MappingProxyType(slot), vectors, built_from)


def build_graph(
    conn: psycopg.Connection[Any], state: EngineState, graph_from: tuple[int, ...]
) -> PartnershipGraph:
    """Active partnerships, with the group and industry facts of the state's enterprises and
    its duplicate clusters."""
    ent = state.candidates.get("enterprise")
    groups: dict[int, str] = {}
    industries: dict[int, list[str]] = {}
    if ent is not None:
        for row in ent.snapshot.live_rows():
            if row.get("group_name"):
                groups[row["id"]] = row["group_name"]
            industries[row["id"]] = row.get("industry_codes") or []
    return PartnershipGraph.build(
        repo.active_partnerships(conn),
        duplicate_clusters=list(state.clusters),
        groups=groups,
        programmes=repo.programme_schools(conn),
        enterprise_industries=industries,
        version=graph_from[0],
    )
