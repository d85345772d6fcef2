"""A region's planning problem, built from the engine's snapshots, graph, guards and ranker.

Pair fits are the recommendation pipeline's own scores (service.recommendations.pipeline.rank:
retrieval → guards → features → ranker), with the school as subject; the guards (already
partnered, same group, duplicate record, pending review) drop refused pairs before the solver
sees them. Quotas are counted per (city, leading-industry division), the rule of models/quotas.py
(service.partnerships.create counts the same way): industry key '<city code>:<division>'.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import psycopg

from models import planner as P
from models import quotas as Q
from models.graph import industry_division
from service.errors import InvalidInput
from service.plans import repository as repo
from service.plans.schemas import PlanSettings
from service.recommendations import schemas as RS
from service.recommendations.engine import Engine
from service.recommendations.pipeline import Scored, Timer, rank
from service.recommendations.service import _pending, load_subject, pair_guards


@dataclass
class Built:
    problem: P.Problem
    full: P.Problem  # every retrieved candidate, unpruned (for the pruning bound)
    schools: dict[int, dict[str, Any]]
    industry_names: dict[str, str]  # key → '安阳市 · 36 汽车制造业'
    industry_region: dict[str, str]
    scored: dict[tuple[int, int], Scored] = field(default_factory=dict)
    programme_names: dict[int, str] = field(default_factory=dict)


def industry_lists(conn: psycopg.Connection[Any], region: dict[str, Any]) -> dict[str, list[dict]]:
    """City code → its leading industries (a city without a list uses the province's)."""
    cities = repo.cities_under(conn, region["path"])
    province = repo.region(conn, str(region["path"]).split(".")[0])
    ids = [c["id"] for c in cities] + ([province["id"]] if province else [])
    rows = repo.leading_industries(conn, ids)
    by_region: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_region[r["region_code"]].append(r)
    fallback = by_region.get(province["code"], []) if province else []
    return {c["code"]: by_region.get(c["code"]) or fallback for c in cities}


def build(
    conn: psycopg.Connection[Any],
    engine: Engine,
    region: dict[str, Any],
    settings: PlanSettings,
) -> Built:
    lists = industry_lists(conn, region)
    if not any(lists.values()):
        raise InvalidInput(f"{region['name']}尚未设置主导产业，请先导入或编辑主导产业清单")
    names: dict[str, str] = {}
    city_of_key: dict[str, str] = {}
    divs_of_city: dict[str, dict[str, str]] = {}  # city → division → key
    city_names = {c["code"]: c["name"] for c in repo.cities_under(conn, region["path"])}
    for city, items in lists.items():
        divs_of_city[city] = {}
        for it in items:
            d = industry_division(it["code"])
            key = Q.industry_key(city, d)
            if d in divs_of_city[city]:
                continue  # two groups of one division count as one industry
            divs_of_city[city][d] = key
            names[key] = f"{city_names.get(city, city)} · {d} {it['name']}"
            city_of_key[key] = city_names.get(city, city)
    schools = {s["id"]: s for s in repo.schools_in(conn, region["path"], settings.school_kinds)}
    g = engine.graph
    ent = engine.candidates["enterprise"].snapshot
    progs = engine.candidates["programme"].snapshot
    scope = ent.in_region(region["code"]) & ent.where("status", ["active"])
    guards = pair_guards(engine, "enterprise", _pending(conn, engine))
    held = repo.pending_plan_pairs(conn)
    guards.append(
        lambda s, row: "pending_review" if s.node and (s.node[1], int(row["id"])) in held else None
    )
    prog_rows: dict[int, list[dict]] = defaultdict(list)
    for row in progs.rows:
        if row["school_id"] in schools:
            prog_rows[row["school_id"]].append(row)
    served: dict[int, frozenset[str]] = {}
    cands_full: list[P.Candidate] = []
    cands: list[P.Candidate] = []
    value: dict[tuple[int, str], float] = {}
    prog_left: dict[int, int] = {}
    scored: dict[tuple[int, int], Scored] = {}
    prog_names: dict[int, str] = {}
    timer = Timer()
    # Pairs are retrieved per (school, leading industry): the pipeline's pool of candidates
    # (CANDIDATE_POOL) forms the unpruned problem, its top `candidates_per_industry` the MIP's.
    for sid, school in schools.items():
        city_divs = divs_of_city.get(Q.city_of(school["region_path"]), {})
        have = g.industries_served_by_school(sid)
        served[sid] = frozenset(k for d, k in city_divs.items() if d in have)
        by_div: dict[str, list[int]] = defaultdict(list)
        for pr in prog_rows[sid]:
            prog_left[int(pr["id"])] = max(0, engine.capacity_left("programme", pr) or 0)
            prog_names[int(pr["id"])] = pr["name"]
            for d in pr["divisions"]:
                if d in city_divs:
                    by_div[d].append(int(pr["id"]))
        n_prog = max(1, len(prog_rows[sid]))
        for d, pids in by_div.items():
            value[(sid, city_divs[d])] = len(pids) / n_prog
        if not by_div:
            continue
        subject = load_subject(conn, RS.SubjectRef(type="school", id=sid))
        for d, pids in sorted(by_div.items()):  # one pool per industry: each stays eligible
            ranked, _ = rank(
                engine,
                "enterprise",
                subject,
                scope & ent.in_divisions([d]),
                guards,
                k=settings.candidates_per_industry,
                timer=timer,
                collapse_key=lambda r: g.canon(int(r["id"])),
            )
            for n, hit in enumerate(ranked):
                eid = int(hit.row["id"])
                if (sid, eid) in scored and scored[(sid, eid)].score >= hit.score:
                    continue  # a firm of two leading industries: one pool is enough
                scored[(sid, eid)] = hit
                for pid in pids:
                    c = P.Candidate(sid, pid, eid, city_divs[d], round(float(hit.score), 6))
                    cands_full.append(c)
                    if n < settings.candidates_per_industry:
                        cands.append(c)
    ents = {c.enterprise for c in cands_full}
    problem = P.Problem(
        schools=sorted(schools),
        industries=sorted(names),
        candidates=cands,
        quotas=P.Quotas(
            schools_per_industry=(
                settings.schools_per_industry.min,
                settings.schools_per_industry.max,
            ),
            industries_per_school=(
                settings.industries_per_school.min,
                settings.industries_per_school.max,
            ),
            max_new_pairs_per_school_industry=settings.max_new_pairs_per_school_industry,
            industry_weight=settings.industry_weight,
        ),  # fmt: skip
        served=served,
        programme_left=prog_left,
        enterprise_left={
            e: settings.enterprise_partner_limit - _partner_schools(engine, e) for e in ents
        },
        seats=_seats(engine, settings, ents),
        industry_value=value,
    )
    full = P.Problem(**{**problem.__dict__, "candidates": cands_full})
    return Built(problem, full, schools, names, city_of_key, scored, prog_names)


def _partner_schools(engine: Engine, enterprise_id: int) -> int:
    """Schools the enterprise already works with (directly or through a programme)."""
    g = engine.graph
    out = set()
    for node in g.neighbours(("enterprise", enterprise_id)):
        school = g.school_of(node)
        if school is not None:
            out.add(school)
    return len(out)


def _seats(engine: Engine, settings: PlanSettings, ents: set[int]) -> dict[str, Any]:
    """Mentor seats and practice-base slots each enterprise has left (only when a pair uses
    some: 0 per pair leaves the constraint out)."""
    seats: dict[str, Any] = {}
    for name, entity, owner, per_pair in (
        ("mentor", "mentor", "enterprise_id", settings.mentor_seats_per_pair),
        ("practice_base", "practice_base", "host_enterprise_id", settings.practice_slots_per_pair),
    ):
        if per_pair <= 0:
            continue
        left: dict[int, int] = dict.fromkeys(ents, 0)
        for row in engine.candidates[entity].snapshot.rows:
            e = row.get(owner)
            if e in left:
                left[e] += max(0, engine.capacity_left(entity, row) or 0)
        seats[name] = (per_pair, left)
    return seats
