"""The recommendation engine: one immutable state (snapshots, retrieval indexes, graph, ranker,
query vectors) behind a holder that swaps it atomically.

Every change is built to the side and published with one reference assignment; a request pins
the state current at its start (``Engine.refresh`` does it, in a context variable, so each
request served by FastAPI sees its own pin) and every read through the engine during that
request (masks, index search, rows, graph, versions) comes from that one pinned state. Building
a state never mutates one that was published.

Freshness: every request compares the data versions in PostgreSQL (bumped by triggers on every
write) with the ones the state was built from. A partnership change rebuilds the graph before
the request goes on; a changed catalogue table is rebuilt in the background when the engine
has a pool (the old state serves meanwhile), here otherwise.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import psycopg

from indexing.hybrid import HybridIndex, open_hybrid_index
from indexing.vector_cache import cached_vectors, text_hash, text_hashes
from models import profiles
from models.dedup import EnterpriseRecord, duplicate_clusters
from models.encoder import Encoder, load_encoder
from models.graph import PartnershipGraph
from models.ranker import Ranker
from models.text import tokenize
from service.recommendations import repository as repo
from service.recommendations.snapshot import Snapshot

log = logging.getLogger(__name__)

RowsOf = Callable[[psycopg.Connection], Any]
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


@dataclass(frozen=True)
class Candidates:
    snapshot: Snapshot
    index: HybridIndex
    built_from: tuple[int, ...]


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
    graph_from: tuple[int, ...] = ()

    def with_candidates(self, entity: str, cands: Candidates, **more: Any) -> EngineState:
        return replace(
            self, candidates=MappingProxyType({**self.candidates, entity: cands}), **more
        )

    def with_subjects(self, kind: str, vectors: SubjectVectors) -> EngineState:
        return replace(self, subjects=MappingProxyType({**self.subjects, kind: vectors}))


# The state each request pinned, per engine (by id): set by Engine.refresh/pin. FastAPI runs
# every sync handler in a copy of the context, so a pin never outlives its request there.
_PINS: ContextVar[Mapping[int, EngineState]] = ContextVar("xiaoqi_engine_pins")


def _empty_state(ranker: Ranker) -> EngineState:
    return EngineState(
        candidates=MappingProxyType({}),
        subjects=MappingProxyType({}),
        graph=PartnershipGraph(),
        clusters=(),
        ranker=ranker,
    )


class Engine:
    """Holds the current EngineState; reads go to the state this request pinned."""

    def __init__(
        self,
        *,
        encoder: Encoder,
        index_dir: Path,
        ranker_dir: Path,
        ranker: Ranker | None = None,
        exact: bool = False,
        pool: Any = None,
        state: EngineState | None = None,
    ) -> None:
        self.encoder = encoder
        self.index_dir = index_dir
        self.ranker_dir = ranker_dir
        self.exact = exact  # brute-force dense search at every size (the benchmark's baseline)
        self.pool = pool  # a psycopg_pool.ConnectionPool: enables background refreshes
        self._state = state or _empty_state(ranker or Ranker.default())
        self._swap_lock = threading.Lock()  # read-modify-write of the published state
        self._build_lock = threading.Lock()  # one snapshot/index builder at a time
        self._graph_lock = threading.Lock()
        self._background: threading.Thread | None = None
        self._query_cache: dict[str, np.ndarray] = {}
        self._token_cache: dict[str, list[str]] = {}

    @classmethod
    def load(
        cls,
        conn: psycopg.Connection[Any],
        *,
        encoder_name: str | None,
        index_dir: Path,
        ranker_dir: Path,
        progress: bool = False,
        exact: bool = False,
        pool: Any = None,
    ) -> Engine:
        engine = cls(
            encoder=load_encoder(encoder_name),
            index_dir=index_dir,
            ranker_dir=ranker_dir,
            ranker=Ranker.load(ranker_dir),
            exact=exact,
            pool=pool,
        )
        engine.refresh(conn, progress=progress, release=True)
        # One-off costs belong to loading, not to the first request: the encoder builds its
        # model and tokenizer lazily, jieba loads its dictionaries on first use.
        engine.encoder.encode_queries(["产教融合"])
        tokenize("产教融合")
        return engine

    # ----------------------------------------------------------------- the state
    @property
    def latest(self) -> EngineState:
        """The state published last (what the next request will pin)."""
        return self._state

    @property
    def state(self) -> EngineState:
        """The state this request pinned, or the latest when it pinned none."""
        pinned = _PINS.get(None)
        found = pinned.get(id(self)) if pinned else None
        return found if found is not None else self._state

    def pin(self) -> EngineState:
        """Pin the latest state for the rest of this request (this context) and return it."""
        state = self._state
        _PINS.set(MappingProxyType({**_PINS.get({}), id(self): state}))
        return state

    def _publish(self, change: Callable[[EngineState], EngineState]) -> None:
        with self._swap_lock:
            self._state = change(self._state)

    @property
    def candidates(self) -> Mapping[str, Candidates]:
        return self.state.candidates

    @property
    def subjects(self) -> Mapping[str, SubjectVectors]:
        return self.state.subjects

    @property
    def graph(self) -> PartnershipGraph:
        return self.state.graph

    @property
    def clusters(self) -> Sequence[list[int]]:
        return self.state.clusters

    @property
    def ranker(self) -> Ranker:
        return self.state.ranker

    # ----------------------------------------------------------------- freshness
    def refresh(
        self, conn: psycopg.Connection[Any], *, progress: bool = False, release: bool = False
    ) -> dict[str, float]:
        """Bring the engine up to the database's data versions, then pin the resulting state
        for this request; returns seconds per part.

        The partnership graph (which every guard and capacity reads) is rebuilt synchronously,
        so a new partnership is respected by the very next request. A changed catalogue table is
        re-snapshotted and re-indexed in the background when the engine has a pool (the old
        state serves meanwhile); without a pool (CLI, benchmarks) it happens here.

        ``release`` ends the (read-only) transaction after each table is read, so a long first
        load holds no table locks that a concurrent TRUNCATE or migration could deadlock with.
        """
        versions = repo.data_versions(conn)
        spent: dict[str, float] = {}
        state = self._state
        stale = _stale_entities(state, versions)
        stale_subjects = _stale_subjects(state, versions)
        missing = [e for e in stale if e not in state.candidates]
        missing += [f"subject:{e}" for e in stale_subjects if e not in state.subjects]
        later = len(stale) + len(stale_subjects) > len(missing)
        if missing or (later and self.pool is None):
            with self._build_lock:
                spent.update(self._rebuild(conn, versions, progress=progress, release=release))
        elif later:
            self._refresh_in_background()
        state = self._state
        if _graph_stamp(state, versions) != state.graph_from:
            with self._graph_lock:
                state = self._state
                if _graph_stamp(state, versions) != state.graph_from:
                    t0 = time.perf_counter()
                    graph, stamp = self._build_graph(conn, state, versions)
                    self._publish(lambda s: replace(s, graph=graph, graph_from=stamp))
                    spent["graph"] = time.perf_counter() - t0
        self.pin()
        return spent

    def _rebuild(
        self,
        conn: psycopg.Connection[Any],
        versions: dict[str, int],
        *,
        progress: bool,
        release: bool,
    ) -> dict[str, float]:
        """Rebuild what is stale (call with the build lock held); each part is published as
        soon as it is ready, together with what depends on it."""
        spent: dict[str, float] = {}
        for entity in _stale_entities(self._state, versions):
            t0 = time.perf_counter()
            cands, clusters = self._build_candidates(conn, entity, versions, progress=progress)
            more: dict[str, Any] = {} if clusters is None else {"clusters": clusters}
            self._publish(lambda s: s.with_candidates(entity, cands, **more))  # noqa: B023
            spent[entity] = time.perf_counter() - t0
            if release:
                conn.rollback()
        for kind in _stale_subjects(self._state, versions):
            t0 = time.perf_counter()
            vectors = self._build_subjects(conn, kind, versions, progress=progress)
            self._publish(lambda s: s.with_subjects(kind, vectors))  # noqa: B023
            spent[f"subject:{kind}"] = time.perf_counter() - t0
            if release:
                conn.rollback()
        return spent

    def _refresh_in_background(self) -> None:
        if self._background is not None and self._background.is_alive():
            return  # one rebuild at a time; it re-reads the versions when it starts

        def work() -> None:
            try:
                assert self.pool is not None
                with self._build_lock, self.pool.connection() as conn:
                    self._rebuild(conn, repo.data_versions(conn), progress=False, release=True)
            except Exception:  # the old state keeps serving; the next request retries
                log.exception("background index refresh failed")

        self._background = threading.Thread(target=work, name="xiaoqi-refresh", daemon=True)
        self._background.start()

    def _build_candidates(
        self,
        conn: psycopg.Connection[Any],
        entity: str,
        versions: dict[str, int],
        *,
        progress: bool,
    ) -> tuple[Candidates, list[list[int]] | None]:
        loader, text_of = SOURCES[entity]
        snap = Snapshot.build(entity, loader(conn), text_of, version=versions.get(entity, 0))
        stamp = _stamp(versions, DEPENDS[entity])
        index = open_hybrid_index(
            self.index_dir / entity,
            entity=entity,
            ids=snap.ids,
            texts=snap.texts,
            encoder=self.encoder,
            data_version=".".join(map(str, stamp)),
            progress=progress,
            **({"ann_threshold": 2**62} if self.exact else {}),
        )
        snap.texts = []  # the index keeps what it needs
        clusters = None
        if entity == "enterprise":
            clusters = duplicate_clusters(
                EnterpriseRecord(r["id"], r["name"], r["credit_code"], r.get("city_code") or "")
                for r in snap.rows
            )
        return Candidates(snapshot=snap, index=index, built_from=stamp), clusters

    def _build_subjects(
        self,
        conn: psycopg.Connection[Any],
        kind: str,
        versions: dict[str, int],
        *,
        progress: bool,
    ) -> SubjectVectors:
        loader, text_of, deps = SUBJECTS[kind]
        ids_list: list[int] = []
        texts: list[str] = []
        for row in loader(conn):
            ids_list.append(int(row["id"]))
            texts.append(text_of(row))
        ids = np.array(ids_list, dtype=np.int64)
        hashes = text_hashes(texts)
        vectors, _ = cached_vectors(
            self.index_dir / "subjects" / kind,
            ids,
            [t[:QUERY_CHARS] for t in texts],
            hashes,
            self.encoder,
            queries=True,
            label=f"{kind} queries",
            progress=progress,
        )
        slot = {i: (h, n) for n, (i, h) in enumerate(zip(ids_list, hashes.tolist(), strict=True))}
        return SubjectVectors(MappingProxyType(slot), vectors, _stamp(versions, deps))

    def _build_graph(
        self,
        conn: psycopg.Connection[Any],
        state: EngineState,
        versions: dict[str, int],
    ) -> tuple[PartnershipGraph, tuple[int, ...]]:
        stamp = _graph_stamp(state, versions)
        ent = state.candidates.get("enterprise")
        groups: dict[int, str] = {}
        industries: dict[int, list[str]] = {}
        if ent is not None:
            for row in ent.snapshot.rows:
                if row.get("group_name"):
                    groups[row["id"]] = row["group_name"]
                industries[row["id"]] = row.get("industry_codes") or []
        graph = PartnershipGraph.build(
            repo.active_partnerships(conn),
            duplicate_clusters=list(state.clusters),
            groups=groups,
            programmes=repo.programme_schools(conn),
            enterprise_industries=industries,
            version=stamp[0],
        )
        return graph, stamp

    def exact_copy(self) -> Engine:
        """This engine with exact brute-force dense search everywhere (for benchmarks): the
        snapshots, vectors, BM25, graph and ranker are shared, not reloaded."""
        state = self._state
        exact = {e: replace(c, index=c.index.exact_copy()) for e, c in state.candidates.items()}
        return Engine(
            encoder=self.encoder,
            index_dir=self.index_dir,
            ranker_dir=self.ranker_dir,
            exact=True,
            state=replace(state, candidates=MappingProxyType(exact)),
        )

    def capacity_left(self, entity: str, row: dict[str, Any]) -> int | None:
        """Capacity (or slots) minus current active partnerships, from the pinned graph."""
        if entity not in CAPACITY:
            return None
        column, partner_type = CAPACITY[entity]
        used = len(self.graph.neighbours((entity, int(row["id"])), partner_type))
        return int(row.get(column) or 0) - used

    # ----------------------------------------------------------------- queries
    def query_vector(self, text: str, subject: tuple[str, int] | None = None) -> np.ndarray:
        """A stored subject's precomputed query vector when its text is unchanged; otherwise the
        text is encoded (and kept: the same free text tends to be asked again)."""
        subjects = self.subjects
        if subject is not None and subject[0] in subjects:
            found = subjects[subject[0]].get(subject[1], text)
            if found is not None:
                return found
        cached = self._query_cache.get(text)
        if cached is not None:
            return cached
        # Profiles used as queries can run to pages (a school with dozens of programmes); the
        # dense channel gets the head, the keyword channel still sees every term.
        vec = self.encoder.encode_queries([text[:QUERY_CHARS]])[0]
        if len(self._query_cache) > 4096:
            self._query_cache.clear()
        self._query_cache[text] = vec
        return vec

    def query_tokens(self, text: str) -> list[str]:
        """jieba tokens of a query text, kept per text (subjects ask again and again)."""
        tokens = self._token_cache.get(text)
        if tokens is None:
            tokens = tokenize(text)
            if len(self._token_cache) > 16_384:
                self._token_cache.clear()
            self._token_cache[text] = tokens
        return tokens

    def versions(self) -> dict[str, Any]:
        state = self.state
        return {
            "encoder": self.encoder.id,
            "ranker": state.ranker.version,
            "indexes": {e: c.index.manifest_summary() for e, c in state.candidates.items()},
            "graph": {
                "partnership_version": state.graph.version,
                "edges": state.graph.edge_count,
            },
        }


def _stamp(versions: dict[str, int], keys: tuple[str, ...]) -> tuple[int, ...]:
    return tuple(versions.get(k, 0) for k in keys)


def _stale_entities(state: EngineState, versions: dict[str, int]) -> list[str]:
    return [
        e
        for e in SOURCES
        if _stamp(versions, DEPENDS[e])
        != (state.candidates[e].built_from if e in state.candidates else None)
    ]


def _stale_subjects(state: EngineState, versions: dict[str, int]) -> list[str]:
    return [
        k
        for k, (_, _, deps) in SUBJECTS.items()
        if _stamp(versions, deps) != (state.subjects[k].built_from if k in state.subjects else None)
    ]


def _graph_stamp(state: EngineState, versions: dict[str, int]) -> tuple[int, ...]:
    # The graph also follows the snapshots it reads groups and industries from.
    c = state.candidates
    snaps = tuple(id(c[e].snapshot) if e in c else 0 for e in ("enterprise", "programme"))
    return (versions.get("partnership", 0), versions.get("programme", 0), *snaps)
