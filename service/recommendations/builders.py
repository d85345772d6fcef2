"""Building the parts of an engine state: one entity's candidates (snapshot + hybrid index),
one stored subject type's query vectors, the partnership graph. Used by the engine's first
load, rebuilds and compaction (engine.py, freshness.py).

A snapshot built from PostgreSQL is persisted (``<index>/<entity>/snapshot/``, see
snapshot.py) with the change-log position read before its rows; a first load maps it back
instead of reading the rows and the engine replays the log from that position. A stored
subject type whose data versions are unchanged is taken from its vector cache
(``subjects.json`` names the versions it was built from), without reading its rows.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import time
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import psycopg

from indexing.artefacts import Damaged, Mismatch, read_manifest, record_repair, write_manifest
from indexing.hybrid import open_hybrid_index
from indexing.snapshot_store import Unstorable
from indexing.vector_cache import read_cached, ready_vectors, text_hashes
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

log = logging.getLogger(__name__)
SNAPSHOT_DIR = "snapshot"
SUBJECTS_MANIFEST = "subjects.json"


@functools.cache
def schema_key() -> str:
    """What persisted rows and texts were produced by: the SQL, the profile texts, the snapshot
    layout. Editing any of these files makes every stored snapshot stale (rebuilt, not
    counted as damage)."""
    import indexing.snapshot_store
    import models.features
    import models.profiles
    from service.recommendations import snapshot, state

    h = hashlib.blake2b(digest_size=16)
    for module in (repo, models.profiles, models.features, snapshot, state):
        h.update(Path(str(module.__file__)).read_bytes())
    h.update(Path(str(indexing.snapshot_store.__file__)).read_bytes())
    return h.hexdigest()


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
    seq: int | None = None,
    persisted: bool = False,
) -> tuple[Candidates, list[list[int]] | None]:
    """``entity``'s snapshot and index (vectors from the cache; with the engine's
    ``defer_encoding_from``, a large encoding job is left to the background fill), and for
    enterprises the duplicate clusters. ``persisted``: map the stored snapshot back when
    there is an intact one (``Candidates.stored_seq`` says where the log must be replayed
    from). ``seq``: the change-log position read before the rows; a snapshot read from
    PostgreSQL is persisted with it. ``release``: see :func:`end_read`."""
    loader, text_of = SOURCES[entity]
    directory = engine.index_dir / entity
    stored = stored_snapshot(directory / SNAPSHOT_DIR, entity) if persisted else None
    stored_seq: int | None = None
    clusters: list[list[int]] | None = None
    if stored is not None:
        snap, meta, clusters = stored
        built_from = tuple(int(v) for v in meta["built_from"])
        stored_seq = int(meta["change_seq"])
        hashes = snap.hashes if snap.hashes is not None else text_hashes(snap.texts)
    else:
        snap = Snapshot.build(entity, loader(conn), text_of, version=versions.get(entity, 0))
        end_read(conn, release)
        built_from = stamp(versions, DEPENDS[entity])
        hashes = text_hashes(snap.texts)
    index = open_hybrid_index(
        directory,
        entity=entity,
        ids=snap.ids,
        texts=snap.texts,
        hashes=hashes,
        encoder=engine.encoder,
        data_version=".".join(map(str, built_from)),
        progress=progress,
        known=known,
        defer_encoding_from=engine.defer_encoding_from,
        # a stage fine-tuned from review decisions (`xiaoqi ranker train`) when one fits
        rerank_model=engine.ranker_dir / "stage" / "ltr.json",
        **({"ann_threshold": 2**62} if engine.exact else {}),
    )
    if entity == "enterprise" and clusters is None:
        clusters = _clusters(snap)
    if stored is None:
        if seq is not None:
            _persist(snap, directory / SNAPSHOT_DIR, seq, built_from, hashes, clusters)
        snap.texts = []  # the index keeps what it needs
    cands = Candidates(snapshot=snap, index=index, built_from=built_from, stored_seq=stored_seq)
    return cands, clusters


def stored_snapshot(
    directory: Path, entity: str
) -> tuple[Snapshot, dict[str, Any], list[list[int]] | None] | None:
    """The persisted snapshot when intact and built by this code; a damaged one is logged as
    a repair (and rebuilt by the caller), a stale one (other code) just rebuilt."""
    try:
        return Snapshot.load(directory, entity, {"schema": schema_key()})
    except Mismatch:
        return None
    except Damaged as exc:
        record_repair("snapshot", directory, str(exc))
        return None


def _persist(
    snap: Snapshot,
    directory: Path,
    seq: int,
    built_from: tuple[int, ...],
    hashes: np.ndarray,
    clusters: list[list[int]] | None,
) -> None:
    meta = {
        "entity": snap.entity,
        "schema": schema_key(),
        "change_seq": seq,
        "built_from": list(built_from),
        "version": snap.version,
    }
    try:
        snap.save(directory, meta, hashes, clusters)
    except (Unstorable, OSError) as exc:  # serving goes on; the next restart reads PostgreSQL
        log.warning("snapshot of %s not persisted: %s", snap.entity, exc)


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
    directory = engine.index_dir / "subjects" / kind
    built_from = stamp(versions, deps)
    found = stored_subjects(engine, kind, built_from)
    if found is not None:
        engine.subjects_pending.pop(kind, None)
        return found
    ids_list: list[int] = []
    texts: list[str] = []
    for row in loader(conn):
        ids_list.append(int(row["id"]))
        texts.append(text_of(row))
    end_read(conn, release)
    ids = np.array(ids_list, dtype=np.int64)
    hashes = text_hashes(texts)
    clipped = [t[:QUERY_CHARS] for t in texts]
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
    ready = np.ones(len(ids), dtype=bool)
    ready[missing] = False
    if len(missing):
        engine.subjects_pending[kind] = (ids, clipped, hashes, built_from)
    else:
        engine.subjects_pending.pop(kind, None)
        mark_subjects(directory, kind, built_from, ids, hashes)
    pairs = enumerate(zip(ids_list, hashes.tolist(), strict=True))
    slot = {i: (h, n) for n, (i, h) in pairs if ready[n]}
    return SubjectVectors(MappingProxyType(slot), vectors, built_from)


def refresh_subjects(
    engine: Engine,
    conn: psycopg.Connection[Any],
    versions: dict[str, int],
    *,
    progress: bool = False,
    release: bool = False,
) -> dict[str, float]:
    """Rebuild (and publish) every stored subject type whose data versions moved; seconds
    per kind. ``release``: see :func:`end_read`."""
    spent: dict[str, float] = {}
    for kind in stale_subjects(engine._state, versions):
        t0 = time.perf_counter()
        vectors = engine._build_subjects(conn, kind, versions, progress=progress, release=release)
        engine._publish(lambda s: s.with_subjects(kind, vectors))  # noqa: B023
        spent[f"subject:{kind}"] = time.perf_counter() - t0
        end_read(conn, release)
    engine._subjects_at = time.monotonic()
    return spent


def _set_key(ids: np.ndarray, hashes: np.ndarray) -> str:
    data = ids.astype(np.int64).tobytes() + np.asarray(hashes).tobytes()
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def mark_subjects(
    directory: Path, kind: str, built_from: tuple[int, ...], ids: np.ndarray, hashes: np.ndarray
) -> None:
    """Record that the folder's vector cache holds every ``kind`` subject as of ``built_from``."""
    meta = {
        "kind": kind,
        "schema": schema_key(),
        "built_from": list(built_from),
        "key": _set_key(ids, hashes),
    }
    write_manifest(directory, SUBJECTS_MANIFEST, [], meta)


def stored_subjects(
    engine: Engine, kind: str, built_from: tuple[int, ...]
) -> SubjectVectors | None:
    """``kind``'s query vectors from its vector cache when they were complete for these very
    data versions (no row read); None otherwise."""
    directory = engine.index_dir / "subjects" / kind
    expect = {"kind": kind, "schema": schema_key(), "built_from": list(built_from)}
    try:
        body = read_manifest(directory, SUBJECTS_MANIFEST, expect)
    except Mismatch:
        return None
    except Damaged as exc:
        record_repair("subjects", directory, str(exc))
        return None
    cached = read_cached(directory, engine.encoder, queries=True) if body else None
    if body is None or cached is None:
        return None
    ids, hashes, vectors = cached
    if _set_key(ids, hashes) != body.get("key"):
        return None  # the cache was rewritten for other rows since
    pairs = enumerate(zip(ids.tolist(), hashes.tolist(), strict=True))
    slot = {i: (h, n) for n, (i, h) in pairs}
    return SubjectVectors(MappingProxyType(slot), vectors, built_from)


def stale_subjects(state: EngineState, versions: dict[str, int]) -> list[str]:
    return [
        k
        for k, (_, _, deps) in SUBJECTS.items()
        if stamp(versions, deps) != (state.subjects[k].built_from if k in state.subjects else None)
    ]


def build_graph(
    conn: psycopg.Connection[Any], state: EngineState, graph_from: tuple[int, ...]
) -> PartnershipGraph:
    """Active partnerships, with the group and industry facts of the state's enterprises and
    its duplicate clusters."""
    ent = state.candidates.get("enterprise")
    groups: dict[int, str] = {}
    industries: dict[int, list[str]] = {}
    if ent is not None:
        columns = ent.snapshot.live_values("id", "group_name", "industry_codes")
        for i, group, codes in zip(*columns, strict=True):
            if group:
                groups[i] = group
            industries[i] = codes or []
    return PartnershipGraph.build(
        repo.active_partnerships(conn),
        duplicate_clusters=list(state.clusters),
        groups=groups,
        programmes=repo.programme_schools(conn),
        enterprise_industries=industries,
        version=graph_from[0],
    )
