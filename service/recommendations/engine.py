"""The recommendation engine: one immutable state (snapshots, retrieval indexes, graph, ranker,
query vectors; state.py) behind a holder that swaps it atomically.

Every change is built to the side and published with one reference assignment; a request pins
the state current at its start (``Engine.refresh`` does it, in a context variable, so each
request served by FastAPI sees its own pin) and every read through the engine during that
request (masks, index search, rows, graph, versions) comes from that one pinned state. Building
a state never mutates one that was published.

Freshness: every request reads the last row change logged (migration 0020) and the data
versions. Changed catalogue rows are applied as deltas (freshness.py) — in the background when
the engine has a pool, here otherwise; a partnership change rebuilds the graph before the
request goes on. A first load, a TRUNCATE, or more than ``MAX_CHANGES`` at once rebuild in full.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import psycopg

from indexing.token_store import TokenStore, load_or_extend
from indexing.vector_cache import text_hash
from models.encoder import Encoder, load_encoder
from models.graph import PartnershipGraph
from models.ranker import Ranker
from models.text import tokenize
from service.recommendations import builders, dense_fill, freshness
from service.recommendations import repository as repo
from service.recommendations.engine_health import health, run_versions
from service.recommendations.freshness import SUBJECT_REFRESH_S, _graph_stamp
from service.recommendations.state import (
    _PINS,
    _REQUEST_VERSIONS,
    CAPACITY,
    QUERY_CHARS,
    SOURCES,
    SUBJECTS,
    Candidates,
    EngineState,
    SubjectVectors,
    _empty_state,
    subject_texts,
)

__all__ = [
    "CAPACITY",
    "QUERY_CHARS",
    "SOURCES",
    "Candidates",
    "Engine",
    "EngineState",
    "health",
]
log = logging.getLogger(__name__)


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
        defer_encoding_from: int | None = None,
    ) -> None:
        self.encoder = encoder
        self.index_dir = index_dir
        self.ranker_dir = ranker_dir
        self.exact = exact  # brute-force dense search at every size (the benchmark's baseline)
        self.pool = pool  # a psycopg_pool.ConnectionPool: enables background refreshes
        self._state = state or _empty_state(ranker or Ranker.default())
        self._swap_lock = threading.Lock()  # read-modify-write of the published state
        self._build_lock = threading.RLock()  # one builder (deltas, rebuilds) at a time
        self._graph_lock = threading.Lock()
        self._background: threading.Thread | None = None
        self._compacting: dict[str, threading.Thread] = {}
        self._gaps: dict[int, float] = {}  # change seqs skipped (not yet committed?) → first seen
        self._subjects_at = 0.0
        self.pruned_at = time.monotonic()  # the change log is pruned at most every few minutes
        self._query_cache: dict[str, np.ndarray] = {}
        self._token_cache: dict[str, list[str]] = {}
        self.subject_tokens: TokenStore | None = None  # stored subjects' query tokens
        self._used: tuple[PartnershipGraph | None, dict[Any, int]] = (None, {})  # capacity_left
        self.applied: dict[str, Any] = {}  # last delta: rows per entity, seconds (for /health)
        # A cold build with at least this many texts to encode serves first and encodes in the
        # background (dense_fill.py); None: encode everything before serving.
        self.defer_encoding_from = defer_encoding_from
        self.subjects_pending: dict[str, tuple[np.ndarray, list[str], np.ndarray, Any]] = {}
        self.loaded_at = time.monotonic()
        self.dense_complete_s: float | None = None  # when full dense coverage was reached
        self.dense_filled: dict[str, float] = {}  # seconds of background encoding, per part
        self._fill: threading.Thread | None = None
        # pending review pairs as graph nodes, per (pending_review version, graph): guards.py
        self.pending_cache: tuple[tuple[Any, int], set[Any]] | None = None

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
        defer_encoding_from: int | None = None,
    ) -> Engine:
        """Load (or build) every part. ``defer_encoding_from``: see dense_fill.py."""
        engine = cls(
            encoder=load_encoder(encoder_name),
            index_dir=index_dir,
            ranker_dir=ranker_dir,
            ranker=Ranker.load(ranker_dir),
            exact=exact,
            pool=pool,
            defer_encoding_from=defer_encoding_from,
        )
        engine.refresh(conn, progress=progress, release=True)
        # One-off costs belong to loading, not to the first request: the encoder builds its
        # model and tokenizer lazily, jieba loads its dictionaries on first use.
        engine.encoder.encode_queries(["产教融合"])
        tokenize("产教融合")
        engine.load_subject_tokens(conn)
        return engine

    def load_subject_tokens(self, conn: psycopg.Connection[Any]) -> None:
        """The stored subjects' query tokens, kept by text hash like their query vectors
        (indexing/token_store.py): loaded from the index folder, the texts it lacks read and
        tokenized once. A subject whose text changed since is tokenized at request time."""
        hashes = [h for vectors in self.latest.subjects.values() for h, _ in vectors.slot.values()]
        texts = functools.partial(subject_texts, conn)
        try:
            directory = self.index_dir / "subjects" / "tokens"
            self.subject_tokens = load_or_extend(
                directory, np.array(hashes, dtype="S8"), texts, tokenize
            )
        except (OSError, ValueError, psycopg.Error) as exc:  # serving goes on (jieba per text)
            conn.rollback()
            log.warning("subject tokens not stored: %s", exc)

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

    @staticmethod
    def request_versions() -> Mapping[str, int]:
        """The data versions this request's refresh read (empty before one)."""
        return _REQUEST_VERSIONS.get({})

    def _publish(self, change: Any) -> None:
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
        """Bring the engine up to the database, then pin the resulting state for this request;
        returns seconds per part.

        The partnership graph (which every guard and capacity reads) is rebuilt synchronously,
        so a new partnership is respected by the very next request. Changed catalogue rows are
        applied as deltas in the background when the engine has a pool (the current state
        serves meanwhile, for the few milliseconds that takes); without a pool (CLI,
        benchmarks) here. ``release`` ends the (read-only) transaction after each table is
        read, so a long first load holds no locks a concurrent TRUNCATE could deadlock with.
        """
        versions = repo.data_versions(conn)
        _REQUEST_VERSIONS.set(versions)
        seq = versions.get(repo.CHANGE_SEQ, 0)
        spent: dict[str, float] = {}
        state = self._state
        missing = [e for e in SOURCES if e not in state.candidates]
        missing += [f"subject:{k}" for k in SUBJECTS if k not in state.subjects]
        behind = seq > state.change_seq or bool(self._gaps)
        behind |= versions.get(repo.PRUNED, 0) > state.change_seq  # changes pruned, unseen
        subjects_due = bool(builders.stale_subjects(state, versions)) and (
            self.pool is None or time.monotonic() - self._subjects_at > SUBJECT_REFRESH_S
        )
        if missing:
            with self._build_lock:
                spent.update(
                    self._rebuild(conn, versions, progress=progress, release=release, stored=True)
                )
                if self._state.change_seq < seq:  # persisted snapshots: replay the log since
                    spent.update(self._catch_up(conn, versions))
            self.fill_dense_in_background()
        elif (behind or subjects_due) and self.pool is not None:
            self._catch_up_in_background()
        elif behind or subjects_due:
            with self._build_lock:
                spent.update(self._catch_up(conn, versions))
        state = self._state
        stamp = _graph_stamp(versions)
        if stamp != state.graph_from:
            with self._graph_lock:
                if stamp != self._state.graph_from:
                    t0 = time.perf_counter()
                    graph = self._build_graph(conn, self._state, stamp)
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
        entities: Sequence[str] = tuple(SOURCES),
        stored: bool = False,
    ) -> dict[str, float]:
        """Build ``entities`` and every stored subject in full (call with the build lock
        held); each is published as soon as it is ready. ``stored`` (a first load): map back
        persisted snapshots where intact, and start the change log where the oldest was."""
        spent: dict[str, float] = {}
        seq = repo.change_seq(conn)  # read first: later changes are replayed as deltas
        start = seq
        for entity in entities:
            t0 = time.perf_counter()
            cands, clusters = self._build_candidates(
                conn,
                entity,
                versions,
                progress=progress,
                release=release,
                seq=seq,
                persisted=stored,
            )
            if cands.stored_seq is not None:
                start = min(start, cands.stored_seq)
            more: dict[str, Any] = {} if clusters is None else {"clusters": clusters}
            self._publish(lambda s: s.with_candidates({entity: cands}, **more))  # noqa: B023
            spent[entity] = time.perf_counter() - t0
            if release:
                conn.rollback()
        if not self._state.change_seq:
            self._publish(lambda s: replace(s, change_seq=start))
        spent.update(self._refresh_subjects(conn, versions, progress=progress, release=release))
        return spent

    def _refresh_subjects(
        self, conn: psycopg.Connection[Any], versions: dict[str, int], **kw: Any
    ) -> dict[str, float]:
        return builders.refresh_subjects(self, conn, versions, **kw)

    def _catch_up(
        self, conn: psycopg.Connection[Any], versions: dict[str, int]
    ) -> dict[str, float]:
        return freshness.catch_up(self, conn, versions)

    def _catch_up_in_background(self) -> None:
        if self._background is not None and self._background.is_alive():
            return  # one at a time; it reads the log when it starts

        def work() -> None:
            try:
                with self._build_lock, self.pool.connection() as conn:
                    self._catch_up(conn, repo.data_versions(conn))
            except Exception:  # the current state keeps serving; the next request retries
                log.exception("background delta refresh failed")

        self._background = threading.Thread(target=work, name="xiaoqi-refresh", daemon=True)
        self._background.start()

    def _compact_in_background(self, entity: str, conn: psycopg.Connection[Any]) -> None:
        """Compact ``entity`` (freshness.compact) in its own thread with a pool connection;
        without a pool, here on ``conn``."""
        running = self._compacting.get(entity)
        if running is not None and running.is_alive():
            return
        if self.pool is None:
            freshness.compact(self, entity, conn)
            return
        thread = threading.Thread(
            target=freshness.compact, args=(self, entity), name="xiaoqi-compact", daemon=True
        )
        self._compacting[entity] = thread
        thread.start()

    def fill_dense_in_background(self) -> None:
        """Start the background dense fill (dense_fill.py) when anything is pending."""
        if self._fill is not None and self._fill.is_alive():
            return
        if not dense_fill.pending(self):
            return

        def work() -> None:
            try:
                dense_fill.fill(self)
            except Exception:  # the partial state keeps serving; reported by /health
                log.exception("background dense encoding failed")

        self._fill = threading.Thread(target=work, name="xiaoqi-dense-fill", daemon=True)
        self._fill.start()

    def _build_candidates(
        self, conn: psycopg.Connection[Any], entity: str, versions: dict[str, int], **kw: Any
    ) -> tuple[Candidates, list[list[int]] | None]:
        return builders.build_candidates(self, conn, entity, versions, **kw)

    def _build_subjects(
        self, conn: psycopg.Connection[Any], kind: str, versions: dict[str, int], **kw: Any
    ) -> SubjectVectors:
        return builders.build_subjects(self, conn, kind, versions, **kw)

    def _build_graph(
        self, conn: psycopg.Connection[Any], state: EngineState, stamp: tuple[int, ...]
    ) -> PartnershipGraph:
        return builders.build_graph(conn, state, stamp)

    def exact_copy(self) -> Engine:
        """This engine with exact brute-force dense search everywhere (for benchmarks): the
        snapshots, vectors, BM25, graph and ranker are shared, not reloaded."""
        state = self._state
        exact = {e: replace(c, index=c.index.exact_copy()) for e, c in state.candidates.items()}
        twin = Engine(
            encoder=self.encoder,
            index_dir=self.index_dir,
            ranker_dir=self.ranker_dir,
            exact=True,
            state=replace(state, candidates=MappingProxyType(exact)),
        )
        twin.subject_tokens = self.subject_tokens
        return twin

    def capacity_left(self, entity: str, row: dict[str, Any]) -> int | None:
        """Capacity (or slots) minus current active partnerships, from the pinned graph (the
        partnerships counted once per graph: a published graph never changes)."""
        if entity not in CAPACITY:
            return None
        column, partner_type = CAPACITY[entity]
        graph = self.graph
        memo = self._used
        if memo[0] is not graph:
            memo = self._used = (graph, {})
        node = (entity, int(row["id"]))
        used = memo[1].get(node)
        if used is None:
            used = memo[1][node] = len(graph.neighbours(node, partner_type))
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
        """jieba tokens of a query text: a stored subject's from the token store (built at
        load), others tokenized and kept per text (subjects ask again and again)."""
        tokens = self._token_cache.get(text)
        if tokens is None and self.subject_tokens is not None:
            tokens = self.subject_tokens.get(text_hash(text))
        if tokens is None:
            tokens = tokenize(text)
            if len(self._token_cache) > 16_384:
                self._token_cache.clear()
            self._token_cache[text] = tokens
        return tokens

    def versions(self) -> dict[str, Any]:
        """What produced an answer (stored with every run): see engine_health.run_versions."""
        return run_versions(self)
