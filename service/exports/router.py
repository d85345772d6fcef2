"""GET /v1/exports/…: the Annex-1 pairing table of a region, blank import templates, any
catalogue list (same filters as the list endpoint) and any recommendation run, as CSV / XLSX.

No `from __future__ import annotations`: the per-entity filter models are local variables that
FastAPI must see as objects."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from service.auth import policy
from service.auth.deps import require_user
from service.catalog import service as catalog
from service.catalog.entities import WRITABLE, Entity
from service.deps import Conn
from service.errors import InvalidInput, NotFound
from service.exports import coverage, lists, pairing
from service.exports import repository as exports_repo
from service.exports.templates import template
from service.exports.writer import download
from service.ingest.service import KINDS

router = APIRouter(prefix="/v1/exports", tags=["exports"])
Fmt = Literal["csv", "xlsx"]


@router.get(
    "/pairing-table.{fmt}",
    summary="结对包联情况汇总表（附件1 版式）：标题、填报单位、八列，每对一行，单位格向下合并",
    response_class=Response,
    responses={200: {"description": "XLSX / CSV 文件"}, 401: {"description": "未登录"}},
    dependencies=[Depends(require_user)],
)
def pairing_table(
    fmt: Fmt,
    conn: Conn,
    request: Request,
    region: Annotated[str | None, Query(max_length=12, description="区划代码，如 410100")] = None,
) -> Response:
    user = getattr(request.state, "user", None)
    content, name = pairing.table(conn, user, region, fmt)
    return download(content, name, fmt)


@router.get(
    "/templates/{kind}.{fmt}",
    summary="各导入类型的空白模板（结对包联汇总表为附件1 版式）",
    response_class=Response,
    responses={200: {"description": "XLSX / CSV 文件"}, 404: {"description": "未知类型"}},
)
def import_template(kind: Annotated[str, Path(max_length=40)], fmt: Fmt) -> Response:
    spec = KINDS.get(kind)
    if spec is None:
        raise NotFound(f"未知的导入类型「{kind}」，可选：{'、'.join(KINDS)}")
    content, name = template(spec, fmt)
    return download(content, name, fmt)


@router.get(
    "/runs/{run_id}.{fmt}",
    summary="推荐记录导出（排名、候选、得分、理由）",
    response_class=Response,
    responses={200: {"description": "XLSX / CSV 文件"}, 403: {"description": "无权查看"}},
    dependencies=[Depends(require_user)],
)
def run_export(
    run_id: Annotated[int, Path(ge=1, le=2_147_483_647)], fmt: Fmt, conn: Conn, request: Request
) -> Response:
    from service.recommendations import access
    from service.recommendations import service as recommendations

    access.require_run(conn, getattr(request.state, "user", None), run_id)
    content, name = lists.run(conn, run_id, recommendations.get_run(conn, run_id), fmt)
    return download(content, name, fmt)


def _catalogue_route(entity: Entity) -> None:
    filters = entity.filters

    @router.get(
        f"/catalogue/{entity.path}.{{fmt}}",
        name=f"export_{entity.entity_type}",
        summary=f"{entity.label}列表导出（与列表接口相同的筛选条件）",
        response_class=Response,
    )
    def export_list(
        request: Request,
        conn: Conn,
        fmt: Fmt,
        params: Annotated[filters, Query()],  # type: ignore[valid-type]
    ) -> Response:
        actor = catalog.actor_of(request)
        content, name = lists.catalogue(conn, entity, params, actor, fmt)
        return download(content, name, fmt)


for _entity in WRITABLE:
    _catalogue_route(_entity)


def _coverage(request: Request, conn: Conn, region: str | None) -> coverage.Report:
    user = getattr(request.state, "user", None)
    path, title = policy.region_scope(user), "全省"
    if region:
        found = exports_repo.region(conn, region)
        if found is None:
            problem = {"row": None, "column": "region", "reason": f"未知地区代码「{region}」"}
            raise InvalidInput(f"未知地区代码「{region}」", errors=[problem])
        path, title = found["path"], found["name"]
    settings = request.app.state.settings
    return coverage.build(
        conn,
        path,
        f"{title}主导产业与学校覆盖情况",
        max_schools=settings.quota_schools_per_industry,
        max_industries=settings.quota_industries_per_school,
    )


@router.get(
    "/coverage.{fmt}",
    summary="覆盖情况报表：主导产业（5–10 所学校）与学校（2–3 个产业）配额，不足与超出",
    response_class=Response,
    dependencies=[Depends(require_user)],
)
def coverage_report(
    fmt: Literal["csv", "xlsx", "png"],
    conn: Conn,
    request: Request,
    region: Annotated[str | None, Query(max_length=12, description="区划代码")] = None,
) -> Response:
    report = _coverage(request, conn, region)
    if fmt == "png":
        return Response(coverage.png(report), media_type="image/png")
    content = coverage.xlsx(report, fmt)
    return download(content, f"覆盖情况-{region or '全部'}.{fmt}", fmt)
