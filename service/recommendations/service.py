"""The four recommendation journeys, built from the shared pipeline stages."""

from __future__ import annotations

from typing import Any

import numpy as np
import psycopg

from models import graph as G
from models.diversity import cap_exposure
from models.explain import display_terms
from service.config import Settings
from service.errors import NotFound
from service.recommendations import access
from service.recommendations import repository as repo
from service.recommendations import schemas as S
from service.recommendations.engine import Engine
from service.recommendations.guards import (
    Capacity,
    _pending,
    capacity_memo,
    pair_guards,
    quota_guard,
)
from service.recommendations.pipeline import Guard, Scored, Subject, Timer, pool_size, rank
from service.recommendations.render import _store_and_render
from service.recommendations.subjects import _need_subject, _text_subject, load_subject

__all__ = [  # what other domains call (plans, web pages, exports, benchmarks)
    "_need_subject",
    "_pending",
    "get_run",
    "load_subject",
    "mentors",
    "pair_guards",
    "partner_enterprises",
    "practice_bases",
    "programmes",
    "search",
]

Actor = Any  # service.auth's User (id, role, region_path); None for internal callers


# --------------------------------------------------------------------------- scope
# Who may ask about which subject, the region a request is limited to, and the last re-check of
# every item: service.recommendations.access (decisions by service.auth.policy).


def _scope_mask(engine: Engine, entity: str, region: dict[str, Any] | None) -> np.ndarray | None:
    if region is None:
        return None
    return engine.candidates[entity].snapshot.in_region(region["code"])


def _and(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    if a is None:
        return b
    if b is None:
        return a
    return a & b


# --------------------------------------------------------------------------- journeys
def partner_enterprises(
    conn: psycopg.Connection,
    engine: Engine,
    settings: Settings,
    req: S.PartnerEnterprisesRequest,
    actor: Actor,
) -> S.RecommendationResponse:
    timer = Timer()
    region = access.resolve_scope(conn, actor, req)
    engine.refresh(conn)
    timer.lap("refresh")
    snap = engine.candidates["enterprise"].snapshot
    mask = _and(_scope_mask(engine, "enterprise", region), snap.where("status", ["active"]))
    f = req.filters
    if f.industry_codes:
        mask = _and(mask, snap.in_divisions(f.industry_codes))
    if f.sizes:
        mask = _and(mask, snap.where("size", f.sizes))
    if f.park_id is not None:
        mask = _and(mask, snap.where("park_id", [f.park_id]))
    pending = _pending(conn, engine)
    guards = pair_guards(engine, "enterprise", pending)
    guards.append(
        quota_guard(
            engine,
            settings,
            lambda s, row: (
                s.node if s.node and s.node[0] in ("school", "programme") else None,
                row.get("industry_codes") or [],
            ),
        )
    )
    timer.lap("filters")
    cap = req.exposure_cap or settings.exposure_cap
    ranked: list[tuple[Subject, list[Scored], dict[str, int]]] = []
    notices: dict[int, str] = {}
    for n, ref in enumerate(req.all_subjects()):
        subject = load_subject(conn, ref)
        m = mask
        if f.max_distance_km is not None and subject.lat is not None:
            m = _and(m, snap.within_km(subject.lat, subject.lon or 0.0, f.max_distance_km))
        if ref.type == "programme":
            left = _programme_capacity_left(engine, ref.id)
            if left is not None and left <= 0:
                notices[n] = "该专业的合作名额已满（容量已用完），未推荐新的企业"
                ranked.append((subject, [], {G.NO_CAPACITY: 1}))
                continue
        items, excluded = rank(
            engine,
            "enterprise",
            subject,
            m,
            guards,
            k=req.k,
            timer=timer,
            collapse_key=lambda r: engine.graph.canon(int(r["id"])),
        )
        ranked.append((subject, items, excluded))
    # The exposure cap across the batch (a single subject is a batch of one: plain top-k).
    capped = cap_exposure(
        [items for _, items, _ in ranked],
        key=lambda it: engine.graph.canon(int(it.row["id"])),
        cap=cap,
        k=req.k,
    )
    per_subject = [(s, items, ex) for (s, _, ex), items in zip(ranked, capped, strict=True)]
    timer.lap("diversify")
    return _store_and_render(
        conn,
        engine,
        kind="partner_enterprises",
        entity="enterprise",
        actor=actor,
        request=req.model_dump(mode="json"),
        per_subject=per_subject,
        region=region,
        timer=timer,
        notices=notices,
    )


def _programme_capacity_left(engine: Engine, programme_id: int) -> int | None:
    snap = engine.candidates["programme"].snapshot
    pos = snap.pos.get(programme_id)
    return None if pos is None else engine.capacity_left("programme", snap.rows[pos])


def programmes(
    conn: psycopg.Connection,
    engine: Engine,
    settings: Settings,
    req: S.ProgrammesRequest,
    actor: Actor,
) -> S.RecommendationResponse:
    timer = Timer()
    region = access.resolve_scope(conn, actor, req)
    engine.refresh(conn)
    timer.lap("refresh")
    subject = _need_subject(conn, req.need_id) if req.need_id else _text_subject(req.text or "")
    snap = engine.candidates["programme"].snapshot
    mask = _scope_mask(engine, "programme", region)
    if req.levels:
        mask = _and(mask, snap.where("level", req.levels))
    if req.school_kinds:
        mask = _and(mask, snap.where("school_kind", req.school_kinds))
    capacity = capacity_memo(engine, "programme")
    guards = pair_guards(engine, "programme", _pending(conn, engine), capacity)
    if subject.node is not None:
        guards.append(
            quota_guard(
                engine, settings, lambda s, row: (("programme", int(row["id"])), s.industries)
            )
        )
    timer.lap("filters")
    return _rank_one(
        conn,
        engine,
        "programme",
        "programmes",
        subject,
        mask,
        guards,
        req,
        actor,
        region,
        timer,
        capacity,
    )


def _rank_one(
    conn: psycopg.Connection,
    engine: Engine,
    entity: str,
    kind: str,
    subject: Subject,
    mask: np.ndarray | None,
    guards: list[Guard],
    req: Any,
    actor: Actor,
    region: dict[str, Any] | None,
    timer: Timer,
    capacity: Capacity,
) -> S.RecommendationResponse:
    """Rank one subject's candidates of `entity` (capacity from the graph), store, render."""
    items, excluded = rank(
        engine,
        entity,
        subject,
        mask,
        guards,
        k=req.k,
        timer=timer,
        capacity_of=capacity,
    )
    return _store_and_render(
        conn,
        engine,
        kind=kind,
        entity=entity,
        actor=actor,
        request=req.model_dump(mode="json"),
        per_subject=[(subject, items[: req.k], excluded)],
        region=region,
        timer=timer,
    )


def mentors(
    conn: psycopg.Connection,
    engine: Engine,
    settings: Settings,
    req: S.MentorsRequest,
    actor: Actor,
) -> S.RecommendationResponse:
    timer = Timer()
    region = access.resolve_scope(conn, actor, req)
    engine.refresh(conn)
    timer.lap("refresh")
    if req.programme_id:
        subject = load_subject(conn, S.SubjectRef(type="programme", id=req.programme_id))
    elif req.need_id:
        subject = _need_subject(conn, req.need_id)
    else:
        subject = _text_subject(req.text or "")
    snap = engine.candidates["mentor"].snapshot
    mask = _scope_mask(engine, "mentor", region)
    if req.kinds:
        mask = _and(mask, snap.where("kind", req.kinds))
    capacity = capacity_memo(engine, "mentor")
    guards = pair_guards(engine, "mentor", _pending(conn, engine), capacity)
    timer.lap("filters")
    return _rank_one(
        conn,
        engine,
        "mentor",
        "mentors",
        subject,
        mask,
        guards,
        req,
        actor,
        region,
        timer,
        capacity,
    )


def practice_bases(
    conn: psycopg.Connection,
    engine: Engine,
    settings: Settings,
    req: S.PracticeBasesRequest,
    actor: Actor,
) -> S.RecommendationResponse:
    timer = Timer()
    region = access.resolve_scope(conn, actor, req)
    engine.refresh(conn)
    timer.lap("refresh")
    subject = load_subject(conn, S.SubjectRef(type="programme", id=req.programme_id))
    snap = engine.candidates["practice_base"].snapshot
    mask = _scope_mask(engine, "practice_base", region)
    if req.max_distance_km is not None and subject.lat is not None:
        mask = _and(mask, snap.within_km(subject.lat, subject.lon or 0.0, req.max_distance_km))
    capacity = capacity_memo(engine, "practice_base")
    guards = pair_guards(engine, "practice_base", _pending(conn, engine), capacity)
    min_slots = req.min_slots
    guards.append(lambda s, row: G.NO_CAPACITY if (capacity(row) or 0) < min_slots else None)
    timer.lap("filters")
    return _rank_one(
        conn,
        engine,
        "practice_base",
        "practice_bases",
        subject,
        mask,
        guards,
        req,
        actor,
        region,
        timer,
        capacity,
    )


def search(
    conn: psycopg.Connection,
    engine: Engine,
    q: str,
    types: list[str],
    k: int,
    *,
    refresh: bool = True,
) -> list[S.SearchHit]:
    """refresh=False: the caller pinned the engine's state itself (anonymous search reads the
    latest published state and never rebuilds on the request; see router.refresh_later)."""
    if refresh:
        engine.refresh(conn)
    qvec = engine.query_vector(q)
    qtokens = engine.query_tokens(q)
    hits: list[S.SearchHit] = []
    for entity in types:
        cands = engine.candidates[entity]
        found = cands.index.search(qvec, qtokens, mask=None, k=pool_size(k), qtext=q)
        for h in found[:k]:  # the recommendations' pool, then its top k
            row = cands.snapshot.rows[h.position]
            hits.append(
                S.SearchHit(
                    type=entity,
                    id=int(row["id"]),
                    name=str(row.get("name")),
                    score=round(h.fused, 6),
                    snippet=str(row.get("description") or "")[:120],
                    matched_terms=display_terms(h.matched_terms),
                )
            )
    hits.sort(key=lambda h: -h.score)
    return hits[:k]


def get_run(conn: psycopg.Connection, run_id: int) -> dict[str, Any]:
    run, items = repo.run_with_items(conn, run_id)
    if run is None:
        raise NotFound(f"推荐记录 {run_id} 不存在")
    return {"run": run, "items": items}
