"""Plans: build the region's problem, solve it exactly, explain it, store it."""

from __future__ import annotations

from typing import Any

import psycopg

from models import planner as P
from service.errors import NotFound
from service.plans import access
from service.plans import repository as repo
from service.plans.candidates import Built, build
from service.plans.schemas import (
    CoverageCell,
    PlanOut,
    PlanPair,
    PlanRequest,
    PlanSettings,
    ShortfallOut,
)
from service.recommendations.engine import Engine

_KIND_TEXT = {
    P.INDUSTRY_MIN: "主导产业支撑学校不足",
    P.INDUSTRY_MAX: "主导产业支撑学校超过上限",
    P.SCHOOL_MIN: "学校服务的主导产业不足",
    P.SCHOOL_MAX: "学校服务的主导产业超过上限",
}


def region_or_404(conn: psycopg.Connection, code: str) -> dict[str, Any]:
    region = repo.region(conn, code)
    if region is None:
        raise NotFound(f"未知的行政区划代码：{code}")
    return region


def shortfall_message(s: P.Shortfall, built: Built) -> tuple[str, str]:
    """(subject name, the sentence a bureau reads)."""
    if s.kind in (P.INDUSTRY_MIN, P.INDUSTRY_MAX):
        name = built.industry_names.get(s.subject, s.subject)
        city, _, label = name.partition(" · ")
        if s.kind == P.INDUSTRY_MIN:
            if s.eligible is not None and s.eligible < s.required:
                text = (f"产业 {label} 在{city}只有 {s.eligible} 所符合条件的学校，"
                        f"需要 {s.required} 所（缺 {s.required - s.eligible} 所）")  # fmt: skip
            else:
                text = (f"产业 {label} 在{city}最多只能由 {s.reachable} 所学校支撑，"
                        f"需要 {s.required} 所（缺 {s.amount} 所）")  # fmt: skip
        else:
            text = (f"产业 {label} 在{city}已有 {s.reachable} 所学校支撑，"
                    f"超过上限 {s.required} 所（多 {s.amount} 所）")  # fmt: skip
        return name, text
    school = built.schools.get(int(s.subject), {})
    name = str(school.get("name", s.subject))
    if s.kind == P.SCHOOL_MIN:
        if s.eligible is not None and s.eligible < s.required:
            text = (f"{name}只有 {s.eligible} 个可服务的主导产业（有对口专业和候选企业），"
                    f"需要 {s.required} 个")  # fmt: skip
        else:
            text = (f"{name}最多只能服务 {s.reachable} 个主导产业，"
                    f"需要 {s.required} 个（缺 {s.amount} 个）")  # fmt: skip
    else:
        text = (f"{name}已服务 {s.reachable} 个主导产业，"
                f"超过上限 {s.required} 个（多 {s.amount} 个）")  # fmt: skip
    return name, text


def coverage(built: Built, chosen: list[P.Candidate]) -> list[CoverageCell]:
    p = built.problem
    lo, hi = p.quotas.schools_per_industry
    after: dict[str, set[int]] = {i: set() for i in p.industries}
    for s in p.schools:
        for i in p.served.get(s, frozenset()):
            after.setdefault(i, set()).add(s)
    before = {i: len(v) for i, v in after.items()}
    for c in chosen:
        after[c.industry].add(c.school)
    return [
        CoverageCell(
            industry=i,
            industry_name=built.industry_names[i].partition(" · ")[2],
            region_name=built.industry_region[i],
            before=before[i],
            after=len(after[i]),
            min=lo,
            max=hi,
        )
        for i in p.industries
    ]


def _pairs(built: Built, chosen: list[P.Candidate]) -> list[PlanPair]:
    out = []
    for c in sorted(chosen, key=lambda c: (c.school, c.industry, -c.fit)):
        it = built.scored[(c.school, c.enterprise)]
        out.append(
            PlanPair(
                school_id=c.school,
                school_name=built.schools[c.school]["name"],
                programme_id=c.programme,
                programme_name=built.programme_names.get(c.programme),
                enterprise_id=c.enterprise,
                enterprise_name=str(it.row["name"]),
                industry=c.industry,
                industry_name=built.industry_names[c.industry],
                fit=c.fit,
                reasons=it.reasons,
            )
        )
    return out


def run(
    conn: psycopg.Connection, engine: Engine, req: PlanRequest, actor: Any, *, store: bool = True
) -> PlanOut:
    region = region_or_404(conn, req.region)
    access.require(actor, "recommend", region["path"], f"地区 {region['name']}")
    engine.refresh(conn)
    st = req.settings or PlanSettings()
    built = build(conn, engine, region, st)
    sol = P.solve(
        built.problem,
        solver=st.solver,
        time_limit_s=st.time_limit_s,
        allow_shortfall=st.allow_shortfall,
    )
    bound = None
    if sol.status != "infeasible" and len(built.full.candidates) > len(built.problem.candidates):
        # LP relaxation over every retrieved candidate: an upper bound on the unpruned optimum
        relaxed = P.solve(built.full, relax=True, time_limit_s=st.time_limit_s)
        if relaxed.status != "infeasible":
            bound = round(max(0.0, relaxed.objective - sol.objective), 6)
    elif sol.status != "infeasible":
        bound = 0.0
    shortfalls = []
    for s in sol.shortfalls:
        name, text = shortfall_message(s, built)
        shortfalls.append(
            ShortfallOut(
                kind=s.kind,
                subject=s.subject,
                subject_name=name,
                required=s.required,
                reachable=s.reachable,
                eligible=s.eligible,
                message=text,
            )
        )
    pairs = _pairs(built, sol.chosen)
    if sol.status == "infeasible":
        message = "无法同时满足全部配额：" + "；".join(s.message for s in shortfalls[:20])
    else:
        kind = "最优" if sol.status == "optimal" else "可行"
        message = f"已求得{kind}方案：新增 {len(pairs)} 对结对"
    counts = {
        "schools": len(built.problem.schools),
        "industries": len(built.problem.industries),
        "candidates": len(built.problem.candidates),
        "candidates_retrieved": len(built.full.candidates),
        "pairs": len(pairs),
    }
    out = PlanOut(
        plan_id=None,
        region=region["code"],
        region_name=region["name"],
        status=sol.status,
        message=message,
        objective=round(sol.objective, 6),
        fit=round(sol.fit, 6),
        gap=round(sol.gap, 9),
        runtime_s=round(sol.runtime_s, 3),
        solver=sol.solver,
        pruning_bound=bound,
        counts=counts,
        shortfalls=shortfalls,
        coverage=coverage(built, sol.chosen),
        pairs=pairs,
    )
    if store:
        summary = out.model_dump(mode="json", exclude={"pairs"})
        items = [
            {
                **p.model_dump(include={"school_id", "programme_id", "enterprise_id"}),
                "industry": p.industry,
                "fit": p.fit,
                "features": built.scored[(p.school_id, p.enterprise_id)].features,
                "reasons": p.reasons,
            }
            for p in pairs
        ]
        plan_id, ids = repo.insert_plan(
            conn,
            region_id=region["id"],
            user_id=getattr(actor, "id", None),
            settings=st.model_dump(mode="json"),
            summary=summary,
            items=items,
        )
        out.plan_id = plan_id
        for p, item_id in zip(out.pairs, ids, strict=True):
            p.item_id = item_id
    return out
