"""The guards every candidate passes before ranking: already partnered (duplicate records
included), same group, pending review, capacity, and the quotas (industries per school,
schools per industry). Decisions are models.graph's; the facts come from the pinned state."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg

from models import graph as G
from service.config import Settings
from service.recommendations import repository as repo
from service.recommendations.engine import Engine
from service.recommendations.pipeline import Guard, Subject

PENDING_VERSION = "pending_review"  # data version bumped by migration 0040's triggers


def pending(conn: psycopg.Connection, engine: Engine) -> set[tuple[G.Node, G.Node]]:
    """Pairs waiting for review, both ways, as graph nodes. Kept by the engine per
    ``pending_review`` data version (migration 0040; read with the other versions by this
    request's refresh) and graph: no query while nothing was submitted or reviewed."""
    version = engine.request_versions().get(PENDING_VERSION)
    key = (version, id(engine.graph))
    cached = engine.pending_cache
    if version is not None and cached is not None and cached[0] == key:
        return cached[1]
    out: set[tuple[G.Node, G.Node]] = set()
    for r in repo.pending_pairs(conn):
        a: G.Node = engine.graph.node(r["subject_type"], r["subject_id"])
        b: G.Node = engine.graph.node(r["candidate_type"], r["candidate_id"])
        out.add((a, b))
        out.add((b, a))
    if version is not None:
        engine.pending_cache = (key, out)
    return out


_pending = pending  # the name service.plans imports


Capacity = Callable[[dict[str, Any]], int | None]


def capacity_memo(engine: Engine, entity: str) -> Capacity:
    """engine.capacity_left per candidate, kept for one request: the capacity guard, the
    features and the slots guard ask about the same rows (each a walk of the graph)."""
    seen: dict[int, int | None] = {}

    def capacity(row: dict[str, Any]) -> int | None:
        rid = int(row["id"])
        if rid not in seen:
            seen[rid] = engine.capacity_left(entity, row)
        return seen[rid]

    return capacity


def pair_guards(
    engine: Engine,
    entity: str,
    pending: set[tuple[G.Node, G.Node]],
    capacity_of: Capacity | None = None,
) -> list[Guard]:
    g = engine.graph
    capacity_left = capacity_of or capacity_memo(engine, entity)

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
        return G.guard_capacity(capacity_left(row))

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

    # one decision per (school side, industries) for this request: candidates of a pool share
    # a few industry sets, and the graph and quotas are fixed while the request runs
    decided: dict[tuple[Any, tuple[str, ...]], str | None] = {}

    def check(s: Subject, row: dict[str, Any]) -> str | None:
        school_node, industries = school_of(s, row)
        if school_node is None:
            return None
        key = (school_node, tuple(industries))
        if key in decided:
            return decided[key]
        sid = g.school_of(school_node)
        if sid is None:
            decided[key] = None
            return None
        if sid not in served_cache:
            served_cache[sid] = g.industries_served_by_school(sid)
        decided[key] = G.guard_quotas(
            g,
            school_node,
            industries,
            max_industries_per_school=settings.quota_industries_per_school,
            max_schools_per_industry=settings.quota_schools_per_industry,
            schools_serving=serving,
            served=served_cache[sid],
        )
        return decided[key]

    return check
