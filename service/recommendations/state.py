"""The engine's state and what it is built from: the candidate sources (SQL loader and profile
text per entity), the stored subjects whose query vectors are precomputed, and the immutable
``EngineState`` a request pins (see engine.py)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

import numpy as np

from indexing.hybrid import HybridIndex
from indexing.vector_cache import text_hash
from models import profiles
from models.graph import PartnershipGraph
from models.ranker import Ranker
from service.recommendations import repository as repo
from service.recommendations.snapshot import Snapshot

RowsOf = Callable[..., Any]  # (conn) or (conn, ids) → rows
TextOf = Callable[[dict[str, Any]], str]

# entity → (rows loader, profile text)
SOURCES: dict[str, tuple[RowsOf, TextOf]] = {
    "enterprise": (
        repo.enterprises,
        lambda r: profiles.enterprise_text(r, r.get("need_texts") or []),
    ),
    "programme": (repo.programmes, profiles.programme_text),
    "mentor": (repo.mentors, profiles.mentor_text),
    "practice_base": (repo.practice_bases, profiles.practice_base_text),
}
# Which data versions a snapshot depends on (enterprise text includes its open needs, etc.).
# Capacity left is not in a snapshot: it is read from the graph, which follows every
# partnership change at once (see capacity_left).
DEPENDS: dict[str, tuple[str, ...]] = {
    "enterprise": ("enterprise", "need", "park"),
    "programme": ("programme", "school"),
    "mentor": ("mentor", "school", "enterprise"),
    "practice_base": ("practice_base", "enterprise", "school"),
}
# Capacity column, and which partners use it up (None = any partner).
CAPACITY: dict[str, tuple[str, str | None]] = {
    "programme": ("capacity", "enterprise"),
    "mentor": ("capacity", None),
    "practice_base": ("slots_per_term", None),
}


QUERY_CHARS = 256  # characters of a query text the encoder sees

# Stored subjects (who asks) → (rows loader, query text, data versions it depends on). Their
# query vectors are encoded ahead, like the candidates' document vectors, and looked up by id
# and text hash; free text (and a row changed since) is encoded at request time.
SUBJECTS: dict[str, tuple[RowsOf, TextOf, tuple[str, ...]]] = {
    "school": (
        repo.all_schools,
        lambda r: profiles.school_query_text(r, r["programmes"]),
        ("school", "programme"),
    ),
    "programme": (repo.all_programmes, profiles.programme_text, ("programme", "school")),
    "park": (repo.all_parks, profiles.park_query_text, ("park",)),
    "need": (repo.all_needs, profiles.need_text, ("need", "enterprise")),
}


def subject_texts(conn: Any) -> list[tuple[bytes, str]]:
    """(text hash, query text) of every stored subject, read in one transaction that is ended
    before the caller works on them (no transaction stays open while jieba runs)."""
    out = []
    for loader, text_of, _ in SUBJECTS.values():
        for row in loader(conn):
            text = text_of(row)
            out.append((text_hash(text), text))
    conn.rollback()
    return out


@dataclass(frozen=True)
class Candidates:
    snapshot: Snapshot
    index: HybridIndex
    built_from: tuple[int, ...]
    encoded: int = 0  # rows encoded by deltas since this base was built
    # the change-log position of the persisted snapshot this base was loaded from (None: read
    # from PostgreSQL); the engine replays the log from there
    stored_seq: int | None = None


@dataclass(frozen=True)
class SubjectVectors:
    """Query vectors of one stored subject type, by id, valid while the text hash matches."""

    slot: Mapping[int, tuple[bytes, int]]  # id → (text hash, row of `vectors`)
    vectors: np.ndarray
    built_from: tuple[int, ...]

    def get(self, subject_id: int, text: str) -> np.ndarray | None:
        found = self.slot.get(subject_id)
        if found is None or found[0] != text_hash(text):
            return None
        return self.vectors[found[1]]


@dataclass(frozen=True)
class EngineState:
    """Everything a request reads, published as a whole and never changed after."""

    candidates: Mapping[str, Candidates]
    subjects: Mapping[str, SubjectVectors]
    graph: PartnershipGraph
    clusters: Sequence[list[int]]
    ranker: Ranker
    graph_from: tuple[int, ...] = ()  # (partnership, programme) data versions
    change_seq: int = 0  # row change log applied up to here (migration 0020)

    def with_candidates(self, updated: Mapping[str, Candidates], **more: Any) -> EngineState:
        candidates = MappingProxyType({**self.candidates, **updated})
        return replace(self, candidates=candidates, **more)

    def with_subjects(self, kind: str, vectors: SubjectVectors) -> EngineState:
        return replace(self, subjects=MappingProxyType({**self.subjects, kind: vectors}))


# The state each request pinned, per engine (by id): set by Engine.refresh/pin. FastAPI runs
# every sync handler in a copy of the context, so a pin never outlives its request there.
_PINS: ContextVar[Mapping[int, EngineState]] = ContextVar("xiaoqi_engine_pins")
# The data versions the request's refresh read, for caches keyed by a version (guards.pending).
_REQUEST_VERSIONS: ContextVar[Mapping[str, int]] = ContextVar("xiaoqi_request_versions")


def _empty_state(ranker: Ranker) -> EngineState:
    return EngineState(
        candidates=MappingProxyType({}),
        subjects=MappingProxyType({}),
        graph=PartnershipGraph(),
        clusters=(),
        ranker=ranker,
    )
