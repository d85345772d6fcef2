"""Leading industries per region and pairing plans (sync handlers over the pool)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response, UploadFile

from service.auth.deps import RequiredUser
from service.deps import Conn
from service.errors import PayloadTooLarge
from service.plans import industries, review, service
from service.plans.schemas import ApproveRequest, LeadingIndustriesIn, PlanRequest
from service.recommendations.router import engine_of

router = APIRouter(prefix="/v1", tags=["plans"])
RegionCode = Annotated[str, Path(pattern=r"^[0-9]{6}$")]
MAX_UPLOAD = 1 << 20


@router.get("/regions/{code}/leading-industries")
def get_leading_industries(conn: Conn, code: RegionCode) -> Any:
    return industries.get(conn, code)


@router.put("/regions/{code}/leading-industries")
def put_leading_industries(
    conn: Conn, code: RegionCode, body: LeadingIndustriesIn, user: RequiredUser
) -> Any:
    return industries.replace(conn, code, body, user)


@router.post("/regions/{code}/leading-industries/import")
def import_leading_industries(
    conn: Conn, code: RegionCode, file: UploadFile, user: RequiredUser
) -> Any:
    data = file.file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise PayloadTooLarge("文件超过 1 MiB")
    return industries.replace(conn, code, industries.parse_csv(data), user)


@router.post("/plans")
def create_plan(conn: Conn, request: Request, body: PlanRequest, user: RequiredUser) -> Response:
    result = service.run(conn, engine_of(request), body, user)
    return Response(result.model_dump_json(), media_type="application/json")


@router.get("/plans/{plan_id}")
def get_plan(conn: Conn, plan_id: int, user: RequiredUser) -> Any:
    return review.view(conn, plan_id, user)


@router.post("/plans/{plan_id}/submit")
def submit_plan(conn: Conn, plan_id: int, user: RequiredUser) -> Any:
    return review.submit(conn, plan_id, user)


@router.post("/plans/{plan_id}/approve")
def approve_plan(conn: Conn, request: Request, plan_id: int, body: ApproveRequest,
                 user: RequiredUser) -> Any:  # fmt: skip
    return review.approve(conn, engine_of(request), plan_id, body, user)
