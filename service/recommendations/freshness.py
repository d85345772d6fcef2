"""Incremental freshness: the engine follows the row change log (migration 0020) and applies
changed rows as deltas — new snapshot and index objects that share the base and append only the
changed rows (tombstoning the positions they supersede) — instead of rebuilding a snapshot.

Only the changed rows are read from PostgreSQL, and only rows whose profile text changed are
encoded (an unchanged text reuses its stored vector). When a delta grows past
``COMPACT_SHARE`` of the base, the entity is rebuilt (compacted) in the background while the
deltas keep serving, then the changes logged meanwhile are replayed onto the rebuilt base.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import psycopg

from indexing.vector_cache import text_hash
from models.text import tokenize

if TYPE_CHECKING:
    from service.recommendations.engine import Candidates, Engine

MAX_CHANGES = 20_000  # log rows applied as deltas at once; more means a full rebuild
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
    from dataclasses import replace

    from service.recommendations.engine import SOURCES

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
        if old is not None and text_hash(text_of(snap.rows[old])) == text_hash(text):
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
    if index.delta is None:
        return False
    churn = len(index.delta) + (0 if index.live is None else int((~index.live).sum()))
    return churn > max(COMPACT_MIN, COMPACT_SHARE * index.base_count)


def known_vectors(cands: Candidates) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(ids, text hashes, vectors) of the live delta rows, so compaction encodes none again."""
    from service.recommendations.engine import SOURCES

    index, snap = cands.index, cands.snapshot
    if index.delta is None or not len(index.delta):
        return None
    _, text_of = SOURCES[snap.entity]
    positions = np.arange(index.base_count, index.count)
    if index.live is not None:
        positions = positions[index.live[index.base_count :]]
    hashes = np.array([text_hash(text_of(snap.rows[p])) for p in positions.tolist()], dtype="S8")
    return index.ids[positions], hashes, index.vector_rows(positions)
