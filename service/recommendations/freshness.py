"""Incremental freshness: the engine follows the row change log (migration 0020) and applies
changed rows as deltas — new snapshot and index objects that share the base and append only the
changed rows (tombstoning the positions they supersede) — instead of rebuilding a snapshot.

Only the changed rows are read from PostgreSQL, and only rows whose profile text changed are
encoded (an unchanged text reuses its stored vector). When a delta grows past
``COMPACT_SHARE`` of the base, the entity is rebuilt (compacted) in the background while the
deltas keep serving, then the changes logged meanwhile are replayed onto the rebuilt base.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import psycopg

from indexing.vector_cache import text_hash
from models.dedup import EnterpriseRecord, duplicate_clusters
from models.text import tokenize
from service.recommendations import repository as repo
from service.recommendations.snapshot import Snapshot
from service.recommendations.state import SOURCES, Candidates

if TYPE_CHECKING:
    from service.recommendations.engine import Engine

log = logging.getLogger(__name__)
SUBJECT_REFRESH_S = 10.0  # stored subjects' query vectors are refreshed at most this often
GAP_WAIT_S = 30.0  # a sequence gap (a transaction not yet committed) is re-read this long

MAX_CHANGES = 20_000  # log rows applied as deltas at once; more means a full rebuild
# The change log is pruned by the serving engines: rows every engine has long applied. An
# engine further behind than the retention finds PRUNED above its position and rebuilds.
PRUNE_RETENTION_S = 3600.0
PRUNE_EVERY_S = 600.0
COMPACT_SHARE = 0.05  # delta rows + tombstones, as a share of the base, that start compaction
COMPACT_MIN = 2_000

# A logged change of (table entity) touches candidates of (entity) through (snapshot column).
# The entity's own rows are touched by id (column None).
TOUCHES: dict[str, list[tuple[str, str | None]]] = {
    "enterprise": [
        ("enterprise", None),
        ("mentor", "enterprise_id"),
        ("practice_base", "host_enterprise_id"),
    ],
    "park": [("enterprise", "park_id")],
    "school": [
        ("programme", "school_id"),
        ("mentor", "school_id"),
        ("practice_base", "host_school_id"),
    ],
    "programme": [("programme", None)],
    "mentor": [("mentor", None)],
    "practice_base": [("practice_base", None)],
}


def affected(
    changes: Iterable[Mapping[str, Any]], candidates: Mapping[str, Candidates]
) -> tuple[dict[str, set[int]], set[str]]:
    """Ids of each candidate entity the changes touch, and the entities to rebuild in full
    (a TRUNCATE, logged as row 0)."""
    by_table: dict[str, set[int]] = defaultdict(set)
    full: set[str] = set()
    for c in changes:
        by_table[c["entity_type"]].add(int(c["row_id"]))
    touched: dict[str, set[int]] = defaultdict(set)
    for table, ids in by_table.items():
        for entity, column in TOUCHES.get(table, []):
            if 0 in ids:
                full.add(entity)
                continue
            if column is None:
                touched[entity] |= ids
                continue
            cands = candidates.get(entity)
            if cands is None:
                continue
            snap = cands.snapshot
            index = snap._inverted_for(column)
            for value in ids:
                positions = index.get(value)
                if positions is not None:
                    touched[entity].update(int(i) for i in snap.ids[positions].tolist())
    return dict(touched), full


def apply_rows(
    engine: Engine, conn: psycopg.Connection[Any], cands: Candidates, entity: str, ids: set[int]
) -> Candidates:
    """``cands`` with the current rows of ``ids`` (read now) appended and the positions they
    supersede, or that were deleted, tombstoned. ``cands`` itself is not changed."""
    loader, text_of = SOURCES[entity]
    rows = list(loader(conn, sorted(ids)))
    snap, index = cands.snapshot, cands.index
    present = {int(r["id"]) for r in rows}
    old_positions = {r["id"]: snap.pos.get(int(r["id"])) for r in rows}
    new_snap, dead, texts = snap.with_changes(rows, ids - present, text_of, snap.version + 1)
    vectors = np.zeros((len(rows), engine.encoder.dim), dtype=np.float32)
    todo = []
    for n, (row, text) in enumerate(zip(new_snap.rows[len(snap.rows) :], texts, strict=True)):
        old = old_positions.get(row["id"])
        same = old is not None and text_hash(text_of(snap.rows[old])) == text_hash(text)
        if same and old is not None and index.has_vector(old):
            vectors[n] = index.vector_rows([old])[0]  # same profile text: same vector
        else:
            todo.append(n)
    if todo:
        vectors[todo] = engine.encoder.encode_documents([texts[n] for n in todo])
    new_index = index.with_changes(
        dead=dead,
        ids=new_snap.ids[len(snap.rows) :],
        vectors=vectors,
        tokens=[tokenize(t) for t in texts],
    )
    encoded = cands.encoded + len(todo)
    return replace(cands, snapshot=new_snap, index=new_index, encoded=encoded)


def needs_compaction(cands: Candidates) -> bool:
    index = cands.index
    if index.delta is None or index.pending is not None:  # no compaction before dense is full
        return False
    churn = len(index.delta) + (0 if index.live is None else int((~index.live).sum()))
    return churn > max(COMPACT_MIN, COMPACT_SHARE * index.base_count)


def known_vectors(cands: Candidates) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(ids, text hashes, vectors) of the live delta rows, so compaction encodes none again."""
    index, snap = cands.index, cands.snapshot
    if index.delta is None or not len(index.delta):
        return None
    _, text_of = SOURCES[snap.entity]
    positions = np.arange(index.base_count, index.count)
    if index.live is not None:
        positions = positions[index.live[index.base_count :]]
    hashes = np.array([text_hash(text_of(snap.rows[p])) for p in positions.tolist()], dtype="S8")
    return index.ids[positions], hashes, index.vector_rows(positions)


def catch_up(
    engine: Engine, conn: psycopg.Connection[Any], versions: dict[str, int]
) -> dict[str, float]:
    """Apply the row changes logged since the state's ``change_seq`` as deltas (call with
    the build lock held)."""
    t0 = time.perf_counter()
    state = engine._state
    cursor = state.change_seq
    changes = repo.changes_since(conn, cursor, MAX_CHANGES + 1)
    if engine._gaps:
        changes += repo.changes_at(conn, sorted(engine._gaps))
    missed = versions.get(repo.PRUNED, 0) > cursor  # pruned before this engine applied them
    if len(changes) > MAX_CHANGES or missed:  # a bulk import: rebuild, deltas would be slow
        seq = repo.change_seq(conn)
        spent = engine._rebuild(conn, versions, progress=False, release=True)
        engine._publish(lambda s: replace(s, change_seq=max(s.change_seq, seq)))
        engine._gaps.clear()
        engine.fill_dense_in_background()
        return spent
    top = max([cursor, *(int(c["seq"]) for c in changes)])
    track_gaps(engine, cursor, top, {int(c["seq"]) for c in changes})
    touched, full = affected(changes, state.candidates)
    updated: dict[str, Candidates] = {}
    for entity in full:
        updated[entity], _ = engine._build_candidates(conn, entity, versions, progress=False)
    for entity, ids in touched.items():
        if entity not in full and entity in state.candidates:
            updated[entity] = apply_rows(engine, conn, state.candidates[entity], entity, ids)
    engine._publish(lambda s: s.with_candidates(updated, change_seq=max(s.change_seq, top)))
    spent = {"delta": time.perf_counter() - t0}
    engine.applied = {
        "rows": {e: len(ids) for e, ids in touched.items()},
        "rebuilt": sorted(full),
        "seconds": round(spent["delta"], 4),
    }
    if "enterprise" in updated:  # duplicate clusters and group/industry facts follow
        t1 = time.perf_counter()
        clusters = _clusters(engine._state.candidates["enterprise"].snapshot)
        engine._publish(lambda s: replace(s, clusters=clusters))
        graph = engine._build_graph(conn, engine._state, _graph_stamp(versions))
        engine._publish(lambda s: replace(s, graph=graph))
        spent["clusters+graph"] = time.perf_counter() - t1
    for entity, cands in updated.items():
        if needs_compaction(cands):
            engine._compact_in_background(entity, conn)
    if engine.pool is None or time.monotonic() - engine._subjects_at > SUBJECT_REFRESH_S:
        spent.update(engine._refresh_subjects(conn, versions))
    engine.fill_dense_in_background()  # a TRUNCATE's rebuild may have deferred its encoding
    prune(engine, conn)
    return spent


def prune(engine: Engine, conn: psycopg.Connection[Any], *, force: bool = False) -> int:
    """Delete change log rows this engine has applied and that are older than
    PRUNE_RETENTION_S, at most every PRUNE_EVERY_S (only a pooled, serving engine writes; the
    caller's connection commits). Returns the rows deleted."""
    now = time.monotonic()
    if engine.pool is None or (not force and now - engine.pruned_at < PRUNE_EVERY_S):
        return 0
    engine.pruned_at = now
    try:
        with conn.transaction():  # a savepoint: a failed prune leaves the deltas' work alone
            gone = repo.prune_changes(conn, engine._state.change_seq, PRUNE_RETENTION_S)
    except psycopg.Error:
        log.warning("pruning the change log failed; retried later", exc_info=True)
        return 0
    if gone:
        log.info("pruned %d applied row changes from the change log", gone)
    return gone


def track_gaps(engine: Engine, cursor: int, top: int, seen: set[int]) -> None:
    """Sequence numbers below ``top`` not yet visible may belong to a transaction still
    committing: re-read them for a while (a rolled-back one never appears)."""
    now = time.monotonic()
    for s in seen:
        engine._gaps.pop(s, None)
    if top - cursor - len(seen) <= 10_000:
        for s in range(cursor + 1, top + 1):
            if s not in seen:
                engine._gaps.setdefault(s, now)
    for s, at in list(engine._gaps.items()):
        if now - at > GAP_WAIT_S:
            del engine._gaps[s]


def compact(engine: Engine, entity: str, conn: psycopg.Connection[Any] | None = None) -> None:
    """Rebuild ``entity``'s base from PostgreSQL beside the serving deltas (vectors of delta rows
    are reused, so nothing is encoded again), replay the changes applied meanwhile, publish."""
    try:
        if conn is None:
            with engine.pool.connection() as own:
                _compact(engine, entity, own)
        else:
            _compact(engine, entity, conn)
    except Exception:
        log.exception("compaction of %s failed; its deltas keep serving", entity)


def _compact(engine: Engine, entity: str, conn: psycopg.Connection[Any]) -> None:
    old = engine._state.candidates[entity]
    seq = repo.change_seq(conn)
    versions = repo.data_versions(conn)
    known = known_vectors(old)
    # no transaction open while the base is indexed (builders.end_read)
    fresh, clusters = engine._build_candidates(
        conn, entity, versions, progress=False, known=known, release=True, seq=seq
    )
    with engine._build_lock:
        state = engine._state
        later = repo.changes_since(conn, seq, MAX_CHANGES)
        later = [c for c in later if int(c["seq"]) <= state.change_seq]
        touched, _ = affected(later, {**state.candidates, entity: fresh})
        if entity in touched:
            fresh = apply_rows(engine, conn, fresh, entity, touched[entity])
        more: dict[str, Any] = {} if clusters is None else {"clusters": clusters}
        engine._publish(lambda s: s.with_candidates({entity: fresh}, **more))
    log.info("compacted %s: %d rows in the new base", entity, fresh.index.base_count)


def _clusters(snap: Snapshot) -> list[list[int]]:
    columns = snap.live_values("id", "name", "credit_code", "city_code")
    return duplicate_clusters(
        EnterpriseRecord(i, name, code, city or "")
        for i, name, code, city in zip(*columns, strict=True)
    )


def _graph_stamp(versions: dict[str, int]) -> tuple[int, ...]:
    """What the graph is built from besides the snapshots: partnerships, programme schools."""
    return (versions.get("partnership", 0), versions.get("programme", 0))
