"""Named ranking stages shared by every endpoint: candidates → guards → features → score →
collapse. Each stage is timed; the endpoint-specific parts (subject, guards) are passed in."""

from __future__ import annotations

import functools
import math
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from indexing.hybrid import Hit
from models import explain
from models import features as F
from models.diversity import collapse
from models.graph import Node
from models.profiles import industry_label
from models.text import tokenize
from service.recommendations.engine import Engine

CANDIDATE_POOL = 100  # candidates fetched per subject before guards and ranking


def pool_size(k: int) -> int:
    """Candidates fetched from the index for an answer of ``k``: fused scores are normalised
    within the pool, so every search that returns ``k`` (recommendations, /v1/search) fetches
    the same pool for the same ``k``."""
    return max(CANDIDATE_POOL, 4 * k)


@dataclass
class Subject:
    """Who asks: a party (node) or free text, with what the features need to know about it."""

    node: Node | None
    label: dict[str, Any]
    query_text: str
    industries: list[str] = field(default_factory=list)
    city_code: str | None = None
    city_name: str | None = None
    lat: float | None = None
    lon: float | None = None
    school_kind: str | None = None
    need_kinds: list[str] = field(default_factory=list)
    major_terms: frozenset[str] = frozenset()
    region_id: int | None = None
    query_ref: tuple[str, int] | None = None  # the stored row whose text asks (None: free text)


@dataclass
class Scored:
    pos: int
    row: dict[str, Any]
    score: float
    features: dict[str, float]
    collapse_key: Any
    explain: Callable[[], list[dict[str, Any]]] = field(default=list, repr=False)
    _reasons: list[dict[str, Any]] | None = field(default=None, repr=False)

    @property
    def reasons(self) -> list[dict[str, Any]]:
        """Written on first use: only the items that are returned get explained."""
        if self._reasons is None:
            self._reasons = self.explain()
        return self._reasons


Guard = Callable[[Subject, dict[str, Any]], str | None]


class Timer:
    def __init__(self) -> None:
        self.ms: dict[str, float] = defaultdict(float)
        self._t = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.ms[stage] += round((now - self._t) * 1000, 3)
        self._t = now


def rank(
    engine: Engine,
    entity: str,
    subject: Subject,
    mask: np.ndarray | None,
    guards: list[Guard],
    *,
    k: int,
    timer: Timer,
    capacity_of: Callable[[dict[str, Any]], int | None] = lambda r: None,
    collapse_key: Callable[[dict[str, Any]], Any] = lambda r: r["id"],
) -> tuple[list[Scored], dict[str, int]]:
    cands = engine.candidates[entity]
    snap, index = cands.snapshot, cands.index
    qvec = engine.query_vector(subject.query_text, subject.query_ref)
    qtokens = engine.query_tokens(subject.query_text)
    timer.lap("encode")
    # qtext: the learned stage (indexing/rerank.py) reads the query's own text (its n-grams);
    # without it, it would rebuild the text from jieba tokens.
    hits = index.search(qvec, qtokens, mask=mask, k=pool_size(k), qtext=subject.query_text)
    timer.lap("retrieve")

    excluded: Counter[str] = Counter()
    kept = []
    rows = snap.rows
    for hit in hits:
        row = rows[hit.position]
        for guard in guards:  # the first guard that blocks names the reason
            if (code := guard(subject, row)) is not None:
                excluded[code] += 1
                break
        else:
            kept.append((hit, row))
    timer.lap("guards")

    if not kept:
        return [], dict(excluded)
    best_bm25 = max((h.bm25 for h, _ in kept), default=0.0) or 1.0
    best_fused = max((h.fused for h, _ in kept), default=0.0) or 1.0
    rows_x: list[list[float]] = []
    details = []
    g = engine.graph
    firms = g.subject_firms(subject.node) if subject.node else set()
    subject_divisions = frozenset(F.divisions(subject.industries))
    for hit, row in kept:
        overlap, shared = _overlap(subject_divisions, tuple(row["divisions"]))
        same_city = bool(subject.city_code) and subject.city_code == row.get("city_code")
        dist = None
        if subject.lat is not None and row.get("lat") is not None:
            dist = F.haversine_km(subject.lat, subject.lon or 0.0, row["lat"], row["lon"])
        cap = capacity_of(row)
        cand_node: Node = (entity, int(row["id"]))
        peers = g.peer_partners(subject.node, cand_node, firms) if subject.node else 0
        load = g.degree(cand_node)
        cand_terms = _industry_terms(row)
        major_fit = (
            len(subject.major_terms & cand_terms) / math.sqrt(len(cand_terms) or 1)
            if subject.major_terms
            else 0.0
        )
        values = {
            "dense": round(float(hit.dense), 4),
            "bm25": round(float(hit.bm25) / best_bm25, 4),
            "fused": round(float(hit.fused) / best_fused, 4),
            "industry_match": round(overlap, 4),
            "major_fit": round(min(1.0, major_fit), 4),
            "same_city": 1.0 if same_city else 0.0,
            "proximity": round(F.proximity(dist), 4),
            "capacity_left": _capacity_score(cap),
            "kind_fit": round(_kind_fit(subject, row), 4),
            "peer_partners": _log1p(peers),
            "load": _log1p(load),
        }
        rows_x.append(F.PairFeatures(values).vector())
        details.append((hit, row, values, shared, same_city, dist, cap, peers, load))
    timer.lap("features")

    scores = engine.ranker.score(np.array(rows_x, dtype=np.float64))
    timer.lap("score")
    scored = []
    for (hit, row, values, shared, same_city, dist, cap, peers, load), s in zip(
        details, scores, strict=True
    ):

        def reasons(
            hit: Hit = hit,
            values: dict[str, float] = values,
            shared: list[str] = shared,
            same_city: bool = same_city,
            dist: float | None = dist,
            cap: int | None = cap,
            peers: int = peers,
            load: int = load,
        ) -> list[dict[str, Any]]:
            return explain.explain(
                features=values,
                matched_terms=hit.matched_terms,
                shared_industries=[(d, industry_label(d)) for d in shared],
                same_city=subject.city_name if same_city else None,
                distance_km=dist,
                capacity_left=cap,
                peer_partners=peers,
                load=load,
            )

        scored.append(
            Scored(hit.position, row, round(float(s), 6), values, collapse_key(row), reasons)
        )
    scored.sort(key=lambda x: -x.score)
    out = collapse(scored, key=lambda x: x.collapse_key)
    if len(out) < len(scored):
        excluded["near_duplicate_collapsed"] += len(scored) - len(out)
    timer.lap("rank")
    return out, dict(excluded)


# Memoised feature parts: the same few values recur across a pool's candidates (and requests).
@functools.lru_cache(maxsize=65_536)
def _overlap(subject: frozenset[str], candidate: tuple[str, ...]) -> tuple[float, list[str]]:
    return F.industry_overlap(subject, candidate)


@functools.lru_cache(maxsize=4096)
def _capacity_score(left: int | None) -> float:
    return round(F.capacity_score(left), 4)


@functools.lru_cache(maxsize=4096)
def _log1p(n: int) -> float:
    return round(math.log1p(n), 4)


def _kind_fit(subject: Subject, row: dict[str, Any]) -> float:
    if subject.school_kind:  # a school asks; the candidate enterprise has needs of some kinds
        return F.kind_fit(subject.school_kind, row.get("need_kinds") or [])
    if row.get("school_kind"):  # an enterprise asks; the candidate is a programme
        return F.kind_fit(row["school_kind"], subject.need_kinds)
    return 0.5


def _industry_terms(row: dict[str, Any]) -> frozenset[str]:
    """Words of the candidate's industry labels and fields, memoised on the row and by the
    codes and fields themselves (few combinations recur across a large snapshot's rows, most of
    which are read again long after their decoded row was dropped)."""
    terms = row.get("_industry_terms")
    if terms is None:
        codes = row.get("industry_codes") or row.get("industries") or []
        terms = _terms_of_labels(tuple(codes), tuple(row.get("fields") or []))
        row["_industry_terms"] = terms
    return terms


@functools.lru_cache(maxsize=65_536)
def _terms_of_labels(codes: tuple[str, ...], fields: tuple[str, ...]) -> frozenset[str]:
    return frozenset().union(
        *(_terms_of(industry_label(c)) for c in codes), *(_terms_of(f) for f in fields)
    )


@functools.lru_cache(maxsize=65_536)
def _terms_of(words: str) -> frozenset[str]:
    """Words (two characters or more) of one label or field; few distinct ones recur."""
    return frozenset(t for t in tokenize(words) if len(t) >= 2)
