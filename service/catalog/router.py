"""HTTP routes of the catalogue: one factory builds list / get / create / update / delete for each
entity in entities.py; regions and the audit log are read-only.

No `from __future__ import annotations` here: the handlers' annotations name per-entity models
held in local variables, and FastAPI must see them as objects, not strings.
"""

from typing import Annotated, Any

import psycopg
from fastapi import APIRouter, Depends, Path, Query, Request, Response

from service.auth import policy
from service.auth.deps import require_roles, require_user
from service.auth.schemas import ROLES
from service.catalog import service as catalog
from service.catalog.entities import AUDIT_LOG, REGIONS, WRITABLE, Entity
from service.catalog.fields import INT4_MAX
from service.catalog.filters import ErrorOut, Page
from service.deps import get_conn

# The transaction must commit BEFORE the response is sent (FastAPI runs a yield dependency's exit
# after sending unless scope="function"): otherwise a client's next request may not see its own
# write, and a failed commit would follow a 201. Back to service.deps.Conn once that does this.
Conn = Annotated[psycopg.Connection, Depends(get_conn, scope="function")]

# Reading the published catalogue is open; writing needs an account, and service.auth.policy
# decides which rows it may write. The audit log is for the people who review.
AUDIT_READERS = tuple(
    r for r, rule in policy.RULES["audit.read"].items() if rule != policy.NEVER and r in ROLES
)

RowId = Annotated[int, Path(ge=1, le=INT4_MAX, description="编号")]
RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "未登录（写操作需要账号）"},
    403: {"model": ErrorOut, "description": "角色无权执行此操作"},
    404: {"model": ErrorOut, "description": "不存在"},
    409: {"model": ErrorOut, "description": "冲突（重复、仍被引用）"},
    422: {"model": ErrorOut, "description": "输入有误（errors 列出每个字段的原因）"},
}


def _shown(
    request: Request, conn: psycopg.Connection, entity: Entity, rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    return catalog.present_rows(conn, catalog.actor_of(request), entity, rows)


def read_routes(
    router: APIRouter,
    entity: Entity,
    *,
    with_get: bool = True,
    roles: tuple[str, ...] | None = None,
) -> None:
    filters, out = entity.filters, entity.out
    guard = [Depends(require_roles(*roles))] if roles else None

    # exclude_unset: hidden contact fields are left out of the answer, not sent as null.
    @router.get(
        f"/{entity.path}",
        response_model=Page[out],  # type: ignore[valid-type]
        response_model_exclude_unset=True,
        name=f"list_{entity.entity_type}",
        summary=f"{entity.label}列表",
        responses=RESPONSES,
        dependencies=guard,
    )
    def list_rows(request: Request, conn: Conn, params: Annotated[filters, Query()]) -> Any:  # type: ignore[valid-type]
        page = catalog.list_page(conn, entity, params, catalog.actor_of(request))
        page["items"] = _shown(request, conn, entity, page["items"])
        return page

    if not with_get:
        return

    @router.get(
        f"/{entity.path}/{{row_id}}",
        response_model=out,
        response_model_exclude_unset=True,
        name=f"get_{entity.entity_type}",
        summary=f"{entity.label}详情",
        responses=RESPONSES,
    )
    def get_row(request: Request, conn: Conn, row_id: RowId) -> Any:
        return _shown(request, conn, entity, [catalog.get(conn, entity, row_id)])[0]


def write_routes(router: APIRouter, entity: Entity) -> None:
    create, update, out = entity.create, entity.update, entity.out
    assert create is not None and update is not None
    # An account is needed (401); what it may write is the access policy's call (403).
    writer = [Depends(require_user)]

    @router.post(
        f"/{entity.path}",
        response_model=out,
        status_code=201,
        response_model_exclude_unset=True,
        name=f"create_{entity.entity_type}",
        summary=f"新建{entity.label}",
        responses=RESPONSES,
        dependencies=writer,
    )
    def create_row(request: Request, conn: Conn, body: create) -> Any:  # type: ignore[valid-type]
        row = catalog.create(conn, entity, body, actor=catalog.actor_of(request))
        return _shown(request, conn, entity, [row])[0]

    @router.patch(
        f"/{entity.path}/{{row_id}}",
        response_model=out,
        response_model_exclude_unset=True,
        name=f"update_{entity.entity_type}",
        summary=f"修改{entity.label}（只改给出的字段）",
        responses=RESPONSES,
        dependencies=writer,
    )
    def update_row(request: Request, conn: Conn, row_id: RowId, body: update) -> Any:  # type: ignore[valid-type]
        row = catalog.update(conn, entity, row_id, body, actor=catalog.actor_of(request))
        return _shown(request, conn, entity, [row])[0]

    @router.delete(
        f"/{entity.path}/{{row_id}}",
        status_code=204,
        name=f"delete_{entity.entity_type}",
        summary=f"删除{entity.label}",
        responses=RESPONSES,
        dependencies=writer,
    )
    def delete_row(
        request: Request,
        conn: Conn,
        row_id: RowId,
        force: Annotated[bool, Query(description="一并删除（或解除）其下属记录")] = False,
    ) -> Response:
        catalog.delete(conn, entity, row_id, force=force, actor=catalog.actor_of(request))
        return Response(status_code=204)


def build_router() -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["catalogue 目录"])
    read_routes(router, REGIONS)
    for entity in WRITABLE:
        read_routes(router, entity)
        write_routes(router, entity)
    # who reads which entries is the access policy's call (audit.read), inside list_page
    read_routes(router, AUDIT_LOG, with_get=False, roles=AUDIT_READERS)
    return router


router = build_router()
