"""Home, login / logout, the public catalogue (schools, enterprises) and static files."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from pydantic import ValidationError

from service.auth import service as auth
from service.auth import throttle
from service.auth.deps import TxConn
from service.catalog import service as catalog
from service.catalog.entities import BY_TYPE
from service.catalog.schemas import EnterpriseFilters, SchoolFilters
from service.errors import DomainError
from service.web import repository as repo
from service.web.render import HERE, page, safe_next, user_of

router = APIRouter(include_in_schema=False)
STATIC = HERE / "static"
PAGE_SIZE = 20


@router.get("/static/{name}")
def static(name: str) -> Response:
    path = STATIC / name
    # Only plain files directly inside static/ (no traversal, no sub-folders).
    if "/" in name or "\\" in name or name.startswith(".") or not path.is_file():
        return Response("未找到", status_code=404, media_type="text/plain; charset=utf-8")
    return FileResponse(path, headers={"Cache-Control": "public, max-age=3600"})


@router.get("/")
def home(request: Request, conn: TxConn) -> Response:
    return page(request, "home.html", title="首页", stats=repo.counts(conn))


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    return page(request, "login.html", title="登录", next=safe_next(next), error=None, username="")


@router.post("/login")
def login(
    request: Request,
    conn: TxConn,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    target = safe_next(next)
    if not username or not password:
        return page(
            request,
            "login.html",
            status_code=422,
            title="登录",
            next=target,
            error="请输入用户名和密码",
            username=username,
        )
    try:
        client = request.client.host if request.client else "unknown"
        user = throttle.login(conn, username, password, client)  # counts and audits failures
        token, expires = auth.start_session(conn, user)
    except DomainError as exc:
        shown = page(
            request,
            "login.html",
            status_code=exc.status_code,
            title="登录",
            next=target,
            error=exc.detail.split(" (")[0],
            username=username,
        )
        if exc.retry_after is not None:
            shown.headers["Retry-After"] = str(exc.retry_after)
        return shown
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        auth.SESSION_COOKIE,
        token,
        max_age=int(auth.SESSION_TTL.total_seconds()),
        expires=expires,
        httponly=True,
        samesite="lax",
        path="/",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout")
def logout(request: Request, conn: TxConn) -> Response:
    cookie = request.cookies.get(auth.SESSION_COOKIE)
    if cookie:
        auth.end_session(conn, cookie)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(auth.SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return response


def _int(text: str | None, default: int = 0) -> int:
    return int(text) if text and text.isdigit() and len(text) < 9 else default


def _catalogue(request: Request, conn: TxConn, kind: str, q: str, page_no: str | None) -> Response:
    entity = BY_TYPE[kind]
    number = max(1, _int(page_no, 1))
    query: dict[str, Any] = {"limit": PAGE_SIZE, "offset": (number - 1) * PAGE_SIZE, "sort": "name"}
    if q.strip():
        query["q"] = q.strip()[:100]
    error = None
    try:
        if kind == "enterprise":
            query["status"] = "active"
        params = (SchoolFilters if kind == "school" else EnterpriseFilters)(**query)
        result = catalog.list_page(conn, entity, params)
    except (ValidationError, DomainError) as exc:
        error = "搜索条件有误" if isinstance(exc, ValidationError) else exc.detail
        result = {"items": [], "total": 0}
    items = catalog.present_rows(conn, user_of(request), entity, result["items"])
    total = result["total"] or 0
    return page(
        request,
        "catalogue.html",
        title=entity.label + "名录",
        kind=kind,
        label=entity.label,
        q=q,
        items=items,
        total=total,
        page_no=number,
        pages=max(1, -(-total // PAGE_SIZE)),
        contacts=user_of(request) is not None,  # the column; each row's cells follow the policy
        error=error,
    )


@router.get("/schools")
def schools(request: Request, conn: TxConn, q: str = "", page: str | None = None) -> Response:
    return _catalogue(request, conn, "school", q, page)


@router.get("/enterprises")
def enterprises(request: Request, conn: TxConn, q: str = "", page: str | None = None) -> Response:
    return _catalogue(request, conn, "enterprise", q, page)
