"""The recommendation engine's state: snapshots, retrieval indexes, the graph and the ranker.

Loaded once (app lifespan) and kept current: every request compares the data versions in
PostgreSQL (bumped by triggers on every write) with the ones it was built from and refreshes
what moved — the partnership graph on any partnership change, a snapshot and its index when its
table changed. Refreshes run under a lock; requests read the current objects.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
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


@dataclass
class Candidates:
    snapshot: Snapshot
    index: HybridIndex
    built_from: tuple[int, ...]


@dataclass
class SubjectVectors:
    """Query vectors of one stored subject type, by id, valid while the text hash matches."""

    slot: dict[int, tuple[bytes, int]]  # id → (text hash, row of `vectors`)
    vectors: np.ndarray
    built_from: tuple[int, ...]

    def get(self, subject_id: int, text: str) -> np.ndarray | None:
        found = self.slot.get(subject_id)
        if found is None or found[0] != text_hash(text):
            return None
        return self.vectors[found[1]]


@dataclass
class Engine:
    encoder: Encoder
    index_dir: Path
    ranker_dir: Path
    candidates: dict[str, Candidates] = field(default_factory=dict)
    subjects: dict[str, SubjectVectors] = field(default_factory=dict)
    graph: PartnershipGraph = field(default_factory=PartnershipGraph)
    clusters: list[list[int]] = field(default_factory=list)
    ranker: Ranker = field(default_factory=Ranker.default)
    graph_from: tuple[int, ...] = ()
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _query_cache: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    _token_cache: dict[str, list[str]] = field(default_factory=dict, repr=False)
    exact: bool = False  # brute-force dense search at every size (the benchmark's baseline)
    pool: Any = None  # a psycopg_pool.ConnectionPool: enables background refreshes
    _background: threading.Thread | None = field(default=None, repr=False)

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

    # ----------------------------------------------------------------- freshness
    def refresh(
        self, conn: psycopg.Connection[Any], *, progress: bool = False, release: bool = False
    ) -> dict[str, float]:
        """Bring the engine up to the database's data versions; returns seconds per part.

        The partnership graph (which every guard and capacity reads) is rebuilt synchronously,
        so a new partnership is respected by the very next request. A changed catalogue table is
        re-snapshotted and re-indexed in the background when the engine has a pool (the old
        snapshot serves meanwhile); without a pool (CLI, benchmarks) it happens here.

        ``release`` ends the (read-only) transaction after each table is read, so a long first
        load holds no table locks that a concurrent TRUNCATE or migration could deadlock with.
        """
        versions = repo.data_versions(conn)
        spent: dict[str, float] = {}
        stale = self._stale_entities(versions)
        stale_subjects = self._stale_subjects(versions)
        missing = [e for e in stale if e not in self.candidates]
        missing += [f"subject:{e}" for e in stale_subjects if e not in self.subjects]
        later = len(stale) + len(stale_subjects) > len(missing)
        if missing or (later and self.pool is None):
            with self._lock:
                for entity in self._stale_entities(versions):
                    t0 = time.perf_counter()
                    self._load_candidates(conn, entity, versions, progress=progress)
                    spent[entity] = time.perf_counter() - t0
                    if release:
                        conn.rollback()
                for kind in self._stale_subjects(versions):
                    t0 = time.perf_counter()
                    self._load_subjects(conn, kind, versions, progress=progress)
                    spent[f"subject:{kind}"] = time.perf_counter() - t0
                    if release:
                        conn.rollback()
        elif later:
            self._refresh_in_background()
        if self._graph_stamp(versions) != self.graph_from:
            with self._lock:
                if self._graph_stamp(versions) != self.graph_from:
                    t0 = time.perf_counter()
                    self._load_graph(conn, versions)
                    spent["graph"] = time.perf_counter() - t0
        return spent

    def _stale_entities(self, versions: dict[str, int]) -> list[str]:
        return [
            e
            for e in SOURCES
            if self._stamp(versions, DEPENDS[e])
            != (self.candidates[e].built_from if e in self.candidates else None)
        ]

    def _stale_subjects(self, versions: dict[str, int]) -> list[str]:
        return [
            k
            for k, (_, _, deps) in SUBJECTS.items()
            if self._stamp(versions, deps)
            != (self.subjects[k].built_from if k in self.subjects else None)
        ]

    def _graph_stamp(self, versions: dict[str, int]) -> tuple[int, ...]:
        # The graph also follows the snapshots it reads groups and industries from.
        snaps = tuple(
            id(self.candidates[e].snapshot) if e in self.candidates else 0
            for e in ("enterprise", "programme")
        )
        return (versions.get("partnership", 0), versions.get("programme", 0), *snaps)

    def _refresh_in_background(self) -> None:
        if self._background is not None and self._background.is_alive():
            return  # one rebuild at a time; it re-reads the versions when it starts

        def work() -> None:
            try:
                assert self.pool is not None
                with self.pool.connection() as conn:
                    versions = repo.data_versions(conn)
                    for entity in self._stale_entities(versions):
                        self._load_candidates(conn, entity, versions, progress=False)
                        conn.rollback()  # hold no locks between tables
                    for kind in self._stale_subjects(versions):
                        self._load_subjects(conn, kind, versions, progress=False)
                        conn.rollback()
            except Exception:  # the old snapshot keeps serving; the next request retries
                log.exception("background index refresh failed")

        self._background = threading.Thread(target=work, name="xiaoqi-refresh", daemon=True)
        self._background.start()

    @staticmethod
    def _stamp(versions: dict[str, int], keys: tuple[str, ...]) -> tuple[int, ...]:
        return tuple(versions.get(k, 0) for k in keys)

    def _load_candidates(
        self,
        conn: psycopg.Connection[Any],
        entity: str,
        versions: dict[str, int],
        *,
        progress: bool,
    ) -> None:
        loader, text_of = SOURCES[entity]
        snap = Snapshot.build(entity, loader(conn), text_of, version=versions.get(entity, 0))
        stamp = self._stamp(versions, DEPENDS[entity])
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
        if entity == "enterprise":
            self.clusters = duplicate_clusters(
                EnterpriseRecord(r["id"], r["name"], r["credit_code"], r.get("city_code") or "")
                for r in snap.rows
            )
        self.candidates[entity] = Candidates(snapshot=snap, index=index, built_from=stamp)

    def _load_subjects(
        self,
        conn: psycopg.Connection[Any],
        kind: str,
        versions: dict[str, int],
        *,
        progress: bool,
    ) -> None:
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
        self.subjects[kind] = SubjectVectors(slot, vectors, self._stamp(versions, deps))

    def _load_graph(self, conn: psycopg.Connection[Any], versions: dict[str, int]) -> None:
        stamp = self._graph_stamp(versions)
        ent = self.candidates.get("enterprise")
        groups: dict[int, str] = {}
        industries: dict[int, list[str]] = {}
        if ent is not None:
            for row in ent.snapshot.rows:
                if row.get("group_name"):
                    groups[row["id"]] = row["group_name"]
                industries[row["id"]] = row.get("industry_codes") or []
        self.graph = PartnershipGraph.build(
            repo.active_partnerships(conn),
            duplicate_clusters=self.clusters,
            groups=groups,
            programmes=repo.programme_schools(conn),
            enterprise_industries=industries,
            version=stamp[0],
        )
        self.graph_from = stamp

    def exact_copy(self) -> Engine:
        """This engine with exact brute-force dense search everywhere (for benchmarks): the
        snapshots, vectors, BM25, graph and ranker are shared, not reloaded."""
        return dataclasses.replace(
            self,
            candidates={
                e: dataclasses.replace(c, index=c.index.exact_copy())
                for e, c in self.candidates.items()
            },
            exact=True,
            pool=None,
            _lock=threading.Lock(),
            _query_cache={},
            _token_cache={},
        )

    def capacity_left(self, entity: str, row: dict[str, Any]) -> int | None:
        """Capacity (or slots) minus current active partnerships, from the live graph."""
        if entity not in CAPACITY:
            return None
        column, partner_type = CAPACITY[entity]
        used = len(self.graph.neighbours((entity, int(row["id"])), partner_type))
        return int(row.get(column) or 0) - used

    # ----------------------------------------------------------------- queries
    def query_vector(self, text: str, subject: tuple[str, int] | None = None) -> np.ndarray:
        """A stored subject's precomputed query vector when its text is unchanged; otherwise the
        text is encoded (and kept: the same free text tends to be asked again)."""
        if subject is not None and subject[0] in self.subjects:
            found = self.subjects[subject[0]].get(subject[1], text)
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
        return {
            "encoder": self.encoder.id,
            "ranker": self.ranker.version,
            "indexes": {e: c.index.manifest_summary() for e, c in self.candidates.items()},
            "graph": {
                "partnership_version": self.graph.version,
                "edges": self.graph.edge_count,
            },
        }
