"""The plan page per region (run a plan, coverage before/after against the quotas, why each
pair was chosen, send to review, XLSX) and the cohort page (assignments, meetings, export)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from service.auth.deps import TxConn
from service.cohorts import service as cohorts
from service.errors import DomainError
from service.plans import export, review
from service.plans import repository as repo
from service.plans import service as plans
from service.plans.schemas import ApproveRequest, PlanRequest, PlanSettings, Range
from service.recommendations.router import engine_of
from service.web.render import REVIEW_ROLES, gate, page

router = APIRouter(include_in_schema=False)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _regions(conn: Any, user: Any) -> list[dict[str, Any]]:
    """The province and its cities the user may plan for."""
    rows = conn.execute(
        "SELECT code, name, path FROM regions WHERE level IN ('province', 'city') ORDER BY code"
    ).fetchall()
    scope = getattr(user, "region_path", None)
    if user.role == "province_admin" or not scope:
        return list(rows) if user.role == "province_admin" else []
    return [r for r in rows if r["path"] == scope or str(r["path"]).startswith(scope + ".")]


@router.get("/plans")
def plans_page(request: Request, conn: TxConn, region: str = "", plan: int = 0) -> Response:
    user = gate(request, REVIEW_ROLES)
    if isinstance(user, Response):
        return user
    regions = _regions(conn, user)
    code = region or (regions[0]["code"] if regions else "")
    shown = None
    remaining = None
    error = None
    if plan:
        try:
            shown = review.view(conn, plan, user)
            code = shown["region"]
            if shown["submitted"]:  # what the undecided part of the plan is still needed for
                remaining = review.remaining_needs(conn, repo.plan(conn, plan) or {})
        except DomainError as exc:
            error = exc.detail
    current = repo.region(conn, code) if code else None
    recent = repo.recent_plans(conn, current["id"]) if current else []
    return page(request, "plans.html", title="结对方案", regions=regions, code=code,
                plan=shown, recent=recent, error=error, remaining=remaining,
                school_options=_school_options(shown))  # fmt: skip


def _school_options(plan: dict[str, Any] | None) -> list[tuple[int, str]]:
    if plan is None:
        return []
    return sorted({(it["school_id"], it["school_name"]) for it in plan["items"]})


@router.post("/plans/run")
def run_plan(
    request: Request,
    conn: TxConn,
    region: Annotated[str, Form(pattern=r"^[0-9]{6}$")],
    min_schools: Annotated[int, Form(ge=0, le=100)] = 5,
    max_schools: Annotated[int, Form(ge=0, le=100)] = 10,
    min_industries: Annotated[int, Form(ge=0, le=100)] = 2,
    max_industries: Annotated[int, Form(ge=0, le=100)] = 3,
    allow_shortfall: Annotated[bool, Form()] = False,
) -> Response:
    user = gate(request, REVIEW_ROLES)
    if isinstance(user, Response):
        return user
    try:
        settings = PlanSettings(
            schools_per_industry=Range(min=min_schools, max=max_schools),
            industries_per_school=Range(min=min_industries, max=max_industries),
            allow_shortfall=allow_shortfall,
        )
        out = plans.run(conn, engine_of(request), PlanRequest(region=region, settings=settings),
                        user)  # fmt: skip
    except (DomainError, ValueError) as exc:
        message = exc.detail if isinstance(exc, DomainError) else "配额设置无效：下限不能大于上限"
        return page(request, "plans.html", status_code=422, title="结对方案",
                    regions=_regions(conn, user), code=region, plan=None, recent=[],
                    error=message)  # fmt: skip
    return RedirectResponse(f"/plans?plan={out.plan_id}", status_code=303)


@router.post("/plans/{plan_id}/send")
def send_plan(request: Request, conn: TxConn, plan_id: int) -> Response:
    user = gate(request, REVIEW_ROLES)
    if isinstance(user, Response):
        return user
    try:
        review.submit(conn, plan_id, user)
    except DomainError as exc:
        shown = review.view(conn, plan_id, user)
        return page(request, "plans.html", status_code=exc.status_code, title="结对方案",
                    regions=_regions(conn, user), code=shown["region"], plan=shown,
                    recent=[], error=exc.detail)  # fmt: skip
    return RedirectResponse(f"/plans?plan={plan_id}", status_code=303)


@router.post("/plans/{plan_id}/approve")
def approve_plan(
    request: Request,
    conn: TxConn,
    plan_id: int,
    scope: Annotated[str, Form(pattern="^(all|school|industry)$")] = "all",
    key: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Approve the whole plan or one school's / one industry's part (the API's approve)."""
    user = gate(request, REVIEW_ROLES)
    if isinstance(user, Response):
        return user
    try:
        body = ApproveRequest(
            schools=[int(key)] if scope == "school" and key.isdigit() else None,
            industries=[key] if scope == "industry" else None,
        )
        review.approve(conn, engine_of(request), plan_id, body, user)
    except DomainError as exc:
        shown = review.view(conn, plan_id, user)
        return page(request, "plans.html", status_code=exc.status_code, title="结对方案",
                    regions=_regions(conn, user), code=shown["region"], plan=shown,
                    recent=[], error=exc.detail)  # fmt: skip
    return RedirectResponse(f"/plans?plan={plan_id}", status_code=303)


@router.get("/plans/{plan_id}.xlsx")
def plan_xlsx(request: Request, conn: TxConn, plan_id: int) -> Response:
    user = gate(request, REVIEW_ROLES)
    if isinstance(user, Response):
        return user
    body = export.plan_workbook(review.view(conn, plan_id, user))
    headers = {"Content-Disposition": f'attachment; filename="plan-{plan_id}.xlsx"'}
    return Response(body, media_type=XLSX, headers=headers)


@router.get("/cohorts/{cohort_id}")
def cohort_page(request: Request, conn: TxConn, cohort_id: int) -> Response:
    user = gate(request, REVIEW_ROLES)
    if isinstance(user, Response):
        return user
    return page(request, "cohort.html", title="英才计划导师分配",
                cohort=cohorts.view(conn, cohort_id, user))  # fmt: skip


@router.get("/cohorts/{cohort_id}/assignments.xlsx")
def cohort_xlsx(request: Request, conn: TxConn, cohort_id: int) -> Response:
    user = gate(request, REVIEW_ROLES)
    if isinstance(user, Response):
        return user
    body = export.cohort_workbook(cohorts.view(conn, cohort_id, user))
    headers = {"Content-Disposition": f'attachment; filename="cohort-{cohort_id}.xlsx"'}
    return Response(body, media_type=XLSX, headers=headers)
