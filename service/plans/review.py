"""A plan through review as one batch: view, submit, approve whole or in part.

Approval creates every partnership through service.partnerships.service.create (the one
guarded path; each pair is programme ↔ enterprise, so the programme's capacity is the one the
planner counted). Each pair is tried in its own savepoint: a pair the guards now refuse (the
world moved since the plan was solved) is reported, not forced, and the rest still land. After
approval the quotas are re-checked on the live graph, and what the remaining part still needs
is listed.
"""

from __future__ import annotations

from typing import Any

import psycopg

from models import quotas as Q
from models import vocab as V
from service.errors import Conflict, NotFound
from service.partnerships import service as partnerships
from service.plans import access
from service.plans import repository as repo
from service.plans.schemas import ApproveRequest
from service.recommendations.engine import Engine


def _plan(conn: psycopg.Connection, plan_id: int, *, lock: bool = False) -> dict[str, Any]:
    plan = repo.plan(conn, plan_id, lock=lock)
    if plan is None:
        raise NotFound(f"方案 {plan_id} 不存在")
    return plan


def view(conn: psycopg.Connection, plan_id: int, actor: Any) -> dict[str, Any]:
    plan = _plan(conn, plan_id)
    access.require(actor, "recommend", plan["region_path"], f"方案 {plan_id}")
    items = repo.plan_items(conn, plan_id)
    return {
        "plan_id": plan_id,
        "region": plan["region_code"],
        "region_name": plan["region_name"],
        "settings": plan["settings"],
        "summary": plan["summary"],
        "submitted": plan["submitted_at"] is not None,
        "items": [
            {
                k: it[k]
                for k in (
                    "id",
                    "school_id",
                    "school_name",
                    "programme_id",
                    "programme_name",
                    "enterprise_id",
                    "enterprise_name",
                    "industry",
                    "fit",
                    "reasons",
                )
            }  # fmt: skip
            | {"status": it["decision"] or "proposed"}
            for it in items
        ],
    }


def submit(conn: psycopg.Connection, plan_id: int, actor: Any) -> dict[str, Any]:
    plan = _plan(conn, plan_id, lock=True)
    access.require(actor, "review.submit", plan["region_path"], f"方案 {plan_id}")
    if plan["summary"].get("status") == "infeasible" and not repo.plan_items(conn, plan_id):
        raise Conflict("不可行且没有结对的方案不能提交审核")
    if not repo.submit(conn, plan_id, getattr(actor, "id", None)):
        raise Conflict(f"方案 {plan_id} 已提交审核")
    return {"plan_id": plan_id, "submitted": True}


def approve(
    conn: psycopg.Connection, engine: Engine, plan_id: int, body: ApproveRequest, actor: Any
) -> dict[str, Any]:
    plan = _plan(conn, plan_id, lock=True)
    if plan["submitted_at"] is None:
        raise Conflict(f"方案 {plan_id} 尚未提交审核")
    access.require_decide(actor, plan["region_path"], plan["submitted_by"], f"方案 {plan_id}")
    settings = plan["settings"]
    quotas = (settings["industries_per_school"]["max"], settings["schools_per_industry"]["max"])
    items = [it for it in repo.plan_items(conn, plan_id) if it["decision"] is None]
    if body.schools is not None:
        items = [it for it in items if it["school_id"] in set(body.schools)]
    if body.industries is not None:
        items = [it for it in items if it["industry"] in set(body.industries)]
    if not items:
        raise Conflict("所选范围内没有待审核的结对")
    approved, refused = [], []
    for it in items:
        try:
            with conn.transaction():  # a savepoint: a refused pair leaves the rest intact
                row = partnerships.create(
                    conn,
                    actor,
                    ("programme", it["programme_id"]),
                    ("enterprise", it["enterprise_id"]),
                    V.plan_source(plan_id),
                    kind="共建专业",
                    quotas=quotas,
                    reviewed=True,  # the plan was reviewed: its deciders are reviewers too
                )
        except partnerships.GuardRefused as exc:
            refused.append({"item_id": it["id"], "reason": exc.reason, "message": exc.detail})
            continue
        repo.record_decision(
            conn,
            plan_id=plan_id,
            item_id=it["id"],
            decision="approved",
            user_id=getattr(actor, "id", None),
            partnership_id=int(row["id"]),
            note=body.note,
        )
        approved.append({"item_id": it["id"], "partnership_id": int(row["id"])})
    return {
        "plan_id": plan_id,
        "approved": approved,
        "refused": refused,
        "remaining": remaining_needs(conn, plan),
    }


def remaining_needs(conn: psycopg.Connection, plan: dict[str, Any]) -> dict[str, Any]:
    """The minimum quotas on the partnerships as they now are (existing + approved), and which
    of them the plan's still-undecided pairs are needed for."""
    settings = plan["settings"]
    items = repo.plan_items(conn, plan["id"])
    schools = repo.schools_in(conn, plan["region_path"], settings["school_kinds"])
    served = repo.served_divisions(conn, [s["id"] for s in schools])
    lo_i = settings["schools_per_industry"]["min"]
    lo_s = settings["industries_per_school"]["min"]
    industries = {it["industry"] for it in items} | set(plan["summary"].get("industries", []))
    for cell in plan["summary"].get("coverage", []):
        industries.add(cell["industry"])
    now: dict[str, set[int]] = {i: set() for i in industries}
    school_now: dict[int, set[str]] = {s["id"]: set() for s in schools}
    for s in schools:
        keys = {Q.industry_key(Q.city_of(s["region_path"]), d) for d in served.get(s["id"], ())}
        for i in industries:
            if i in keys:
                now[i].add(s["id"])
                school_now[s["id"]].add(i)
    waiting = [it for it in items if it["decision"] is None]
    return {
        "industries": [
            {
                "industry": i,
                "now": len(now[i]),
                "min": lo_i,
                "needs": lo_i - len(now[i]),
                "undecided_schools": len(
                    {it["school_id"] for it in waiting if it["industry"] == i} - now[i]
                ),
            }  # fmt: skip
            for i in sorted(industries)
            if len(now[i]) < lo_i
        ],
        "schools": [
            {
                "school_id": s,
                "now": len(school_now[s]),
                "min": lo_s,
                "needs": lo_s - len(school_now[s]),
                "undecided_industries": len(
                    {it["industry"] for it in waiting if it["school_id"] == s} - school_now[s]
                ),
            }  # fmt: skip
            for s in sorted({it["school_id"] for it in items})
            if s in school_now and len(school_now[s]) < lo_s
        ],
    }
