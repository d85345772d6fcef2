"""The four recommendation journeys, built from the shared pipeline stages."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import psycopg

from models import graph as G
from models.diversity import cap_exposure
from models.explain import display_terms
from models.profiles import need_text, park_query_text, programme_text, school_query_text
from models.text import tokenize
from service.config import Settings
from service.errors import NotFound
from service.recommendations import access
from service.recommendations import repository as repo
from service.recommendations import schemas as S
from service.recommendations.engine import Engine
from service.recommendations.pipeline import Guard, Scored, Subject, Timer, rank

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


# --------------------------------------------------------------------------- subjects
def _location(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "city_code": row.get("city_code"),
        "city_name": row.get("city_name"),
        "lat": row.get("lat"),
        "lon": row.get("lon"),
        "region_id": row.get("region_id"),
    }


@functools.lru_cache(maxsize=4096)
def _major_terms(names: tuple[str, ...]) -> frozenset[str]:
    return frozenset(t for t in tokenize(" ".join(names)) if len(t) >= 2)


def load_subject(conn: psycopg.Connection, ref: S.SubjectRef) -> Subject:
    if ref.type == "school":
        school = repo.school(conn, ref.id)
        if school is None:
            raise NotFound(f"学校 {ref.id} 不存在")
        progs = repo.school_programmes(conn, ref.id)
        return Subject(
            node=("school", ref.id),
            label={"type": "school", "id": ref.id, "name": school["name"]},
            query_text=school_query_text(school, progs),
            industries=sorted({c for p in progs for c in (p["industries"] or [])}),
            school_kind=school["kind"],
            major_terms=_major_terms(tuple(p["name"] for p in progs)),
            query_ref=("school", ref.id),
            **_location(school),
        )
    if ref.type == "programme":
        prog = repo.programme(conn, ref.id)
        if prog is None:
            raise NotFound(f"专业 {ref.id} 不存在")
        return Subject(
            node=("programme", ref.id),
            label={
                "type": "programme",
                "id": ref.id,
                "name": prog["name"],
                "school": prog["school_name"],
            },
            query_text=programme_text(prog),
            industries=list(prog["industries"] or []),
            school_kind=prog["school_kind"],
            major_terms=_major_terms((prog["name"],)),
            query_ref=("programme", ref.id),
            **_location(prog),
        )
    park = repo.park(conn, ref.id)
    if park is None:
        raise NotFound(f"产业园区 {ref.id} 不存在")
    return Subject(
        node=("park", ref.id),
        label={"type": "park", "id": ref.id, "name": park["name"]},
        query_text=park_query_text(park),
        industries=list(park["leading_industries"] or []),
        query_ref=("park", ref.id),
        **_location(park),
    )


def _need_subject(conn: psycopg.Connection, need_id: int) -> Subject:
    need = repo.need(conn, need_id)
    if need is None:
        raise NotFound(f"需求 {need_id} 不存在")
    return Subject(
        node=("enterprise", need["enterprise_id"]),
        label={
            "type": "need",
            "id": need_id,
            "title": need["title"],
            "enterprise": need["enterprise_name"],
        },
        query_text=need_text(need),
        industries=list(need["industry_codes"] or []),
        need_kinds=[need["kind"]],
        query_ref=("need", need_id),
        **_location(need),
    )


def _text_subject(text: str) -> Subject:
    return Subject(node=None, label={"type": "text", "text": text[:200]}, query_text=text)


# --------------------------------------------------------------------------- guards
def _pending(conn: psycopg.Connection, engine: Engine) -> set[tuple[G.Node, G.Node]]:
    out: set[tuple[G.Node, G.Node]] = set()
    for r in repo.pending_pairs(conn):
        a: G.Node = engine.graph.node(r["subject_type"], r["subject_id"])
        b: G.Node = engine.graph.node(r["candidate_type"], r["candidate_id"])
        out.add((a, b))
        out.add((b, a))
    return out


def pair_guards(engine: Engine, entity: str, pending: set[tuple[G.Node, G.Node]]) -> list[Guard]:
    g = engine.graph

    def node(row: dict[str, Any]) -> G.Node:
        return (entity, int(row["id"]))

    def already(s: Subject, row: dict[str, Any]) -> str | None:
        if s.node is None:
            return None
        return G.guard_duplicate_record(g, s.node, node(row)) or G.guard_already_partnered(
            g, s.node, node(row)
        )

    def group(s: Subject, row: dict[str, Any]) -> str | None:
        return G.guard_group_partnered(g, s.node, node(row)) if s.node else None

    def pend(s: Subject, row: dict[str, Any]) -> str | None:
        if s.node is None:
            return None
        return G.guard_pending(pending, g, g.node(*s.node), node(row))

    def capacity(s: Subject, row: dict[str, Any]) -> str | None:
        return G.guard_capacity(engine.capacity_left(entity, row))

    guards: list[Guard] = [already, pend]
    if entity == "enterprise":
        guards.insert(1, group)
    if entity in ("programme", "mentor", "practice_base"):
        guards.append(capacity)
    return guards


def quota_guard(engine: Engine, settings: Settings, school_of: Any) -> Guard:
    """(f) for school ↔ enterprise pairs; `school_of(subject, row)` names the school node."""
    g = engine.graph
    serving = g.schools_serving()
    served_cache: dict[int, set[str]] = {}

    def check(s: Subject, row: dict[str, Any]) -> str | None:
        school_node, industries = school_of(s, row)
        if school_node is None:
            return None
        sid = g.school_of(school_node)
        if sid is None:
            return None
        if sid not in served_cache:
            served_cache[sid] = g.industries_served_by_school(sid)
        return G.guard_quotas(
            g,
            school_node,
            industries,
            max_industries_per_school=settings.quota_industries_per_school,
            max_schools_per_industry=settings.quota_schools_per_industry,
            schools_serving=serving,
            served=served_cache[sid],
        )

    return check


# --------------------------------------------------------------------------- output
def _candidate_view(engine: Engine, entity: str, row: dict[str, Any]) -> dict[str, Any]:
    keys = {
        "enterprise": (
            "id",
            "name",
            "credit_code",
            "industry_codes",
            "size",
            "park_id",
            "park_name",
            "group_name",
            "region_code",
            "region_name",
            "city_name",
        ),
        "programme": (
            "id",
            "name",
            "major_code",
            "level",
            "school_id",
            "school_name",
            "school_kind",
            "industries",
            "capacity",
            "capacity_left",
            "region_code",
            "region_name",
            "city_name",
        ),
        "mentor": (
            "id",
            "name",
            "kind",
            "title",
            "fields",
            "school_id",
            "enterprise_id",
            "affiliation_name",
            "capacity",
            "capacity_left",
            "region_name",
            "city_name",
        ),
        "practice_base": (
            "id",
            "name",
            "fields",
            "slots_per_term",
            "capacity_left",
            "host_enterprise_id",
            "host_school_id",
            "host_name",
            "region_code",
            "region_name",
            "city_name",
        ),
    }[entity]
    view = {"type": entity, **{k: row.get(k) for k in keys}}
    if "capacity_left" in keys:
        view["capacity_left"] = engine.capacity_left(entity, row)
    return view


def _store_and_render(
    conn: psycopg.Connection,
    engine: Engine,
    *,
    kind: str,
    entity: str,
    actor: Actor,
    request: dict[str, Any],
    per_subject: list[tuple[Subject, list[Scored], dict[str, int]]],
    region: dict[str, Any] | None,
    timer: Timer,
    store: bool = True,
    notices: dict[int, str] | None = None,
) -> S.RecommendationResponse:
    per_subject = access.keep_in_scope(per_subject, region, entity, kind)
    versions = engine.versions()
    run_id = None
    stored_ids: list[list[int | None]] = [[None] * len(items) for _, items, _ in per_subject]
    if store:
        rank_no = 0
        flat = []
        for subject, items, _ in per_subject:
            for it in items:
                rank_no += 1
                flat.append(
                    {
                        "rank": rank_no,
                        "subject_type": subject.node[0] if subject.node else "text",
                        "subject_id": subject.node[1] if subject.node else None,
                        "candidate_type": entity,
                        "candidate_id": int(it.row["id"]),
                        "score": it.score,
                        "features": it.features,
                        "explanation": it.reasons,
                        "region_id": (region["id"] if region else subject.region_id),
                    }
                )
        run_id, item_ids = repo.insert_run(
            conn,
            kind=kind,
            requester_id=getattr(actor, "id", None),
            request=request,
            versions=versions,
            timings_ms=dict(timer.ms),
            items=flat,
        )
        ids = iter(item_ids)
        stored_ids = [[next(ids) for _ in items] for _, items, _ in per_subject]
        timer.lap("store")
    results = []
    for n, ((subject, items, excluded), rec_ids) in enumerate(
        zip(per_subject, stored_ids, strict=True)
    ):
        results.append(
            S.SubjectResult(
                subject=subject.label,
                items=[
                    S.Item(
                        rank=i + 1,
                        recommendation_id=rid,
                        candidate=_candidate_view(engine, entity, it.row),
                        score=it.score,
                        features=it.features,
                        reasons=[S.Reason(**r) for r in it.reasons],
                    )
                    for i, (it, rid) in enumerate(zip(items, rec_ids, strict=True))
                ],
                excluded=excluded,
                notice=(notices or {}).get(n),
            )
        )
    return S.RecommendationResponse(
        run_id=run_id, kind=kind, results=results, versions=versions, timings_ms=dict(timer.ms)
    )


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
    guards = pair_guards(engine, "programme", _pending(conn, engine))
    if subject.node is not None:
        guards.append(
            quota_guard(
                engine, settings, lambda s, row: (("programme", int(row["id"])), s.industries)
            )
        )
    timer.lap("filters")
    return _rank_one(
        conn, engine, "programme", "programmes", subject, mask, guards, req, actor, region, timer
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
        capacity_of=lambda r: engine.capacity_left(entity, r),
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
    guards = pair_guards(engine, "mentor", _pending(conn, engine))
    timer.lap("filters")
    return _rank_one(
        conn, engine, "mentor", "mentors", subject, mask, guards, req, actor, region, timer
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
    guards = pair_guards(engine, "practice_base", _pending(conn, engine))
    min_slots = req.min_slots
    guards.append(
        lambda s, row: (
            G.NO_CAPACITY if (engine.capacity_left("practice_base", row) or 0) < min_slots else None
        )
    )
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
        for h in cands.index.search(qvec, qtokens, mask=None, k=k, qtext=q):
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
