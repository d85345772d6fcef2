"""Login / logout / me, API tokens, and account creation by the province admin."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.responses import JSONResponse

from service.auth import policy, service, throttle
from service.auth.deps import RequiredUser, require_roles
from service.auth.schemas import ROLES, LoginIn, TokenCreate, TokenOut, User, UserCreate, UserOut
from service.deps import Conn
from service.errors import Unauthorized

router = APIRouter(tags=["auth"])
# who may create accounts: the access policy's `user.create` rule (province admins)
USER_CREATORS = tuple(r for r in ROLES if policy.RULES["user.create"][r] == policy.EVERYWHERE)

_UNAUTHORIZED: dict[int | str, dict[str, Any]] = {401: {"description": "未登录或凭据无效"}}
_LOGIN: dict[int | str, dict[str, Any]] = {
    **_UNAUTHORIZED,
    429: {"description": "登录失败次数过多（带 Retry-After）"},
}


@router.post("/v1/auth/login", response_model=UserOut, responses=_LOGIN)
def login(body: LoginIn, request: Request, response: Response, conn: Conn) -> Any:
    """Check the password and start a server-side session (HttpOnly cookie `xiaoqi_session`).

    After 10 failures for the username or from this client address within 15 minutes: 429 with
    Retry-After, whatever the password. Failures are counted and audited (auth.login_failed)."""
    client = request.client.host if request.client else "unknown"
    try:
        user = throttle.login(conn, body.username, body.password, client)
    except Unauthorized as exc:
        # returned, not raised: the request's transaction commits the failure it counted
        return JSONResponse(exc.body(), status_code=exc.status_code)
    token, expires = service.start_session(conn, user)
    response.set_cookie(
        service.SESSION_COOKIE,
        token,
        max_age=int(service.SESSION_TTL.total_seconds()),
        expires=expires,
        httponly=True,
        samesite="lax",
        path="/",
        secure=request.url.scheme == "https",
    )
    return UserOut.of(user)


@router.post("/v1/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(request: Request, conn: Conn) -> Response:
    """End the session of this cookie (if any) and clear the cookie. Always succeeds."""
    cookie = request.cookies.get(service.SESSION_COOKIE)
    if cookie:
        service.end_session(conn, cookie)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(service.SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return response


@router.get("/v1/auth/me", response_model=UserOut, responses=_UNAUTHORIZED)
def me(user: RequiredUser) -> UserOut:
    return UserOut.of(user)


@router.post(
    "/v1/auth/tokens",
    response_model=TokenOut,
    status_code=status.HTTP_201_CREATED,
    responses=_UNAUTHORIZED,
)
def create_token(body: TokenCreate, user: RequiredUser, conn: Conn) -> TokenOut:
    """Create an API token for yourself; send it as `Authorization: Bearer <token>`.

    The token is shown in this response only; the server keeps its SHA-256.
    """
    return TokenOut(**service.create_token(conn, user, body.name))


@router.get("/v1/auth/tokens", responses=_UNAUTHORIZED)
def list_tokens(user: RequiredUser, conn: Conn) -> list[dict[str, Any]]:
    """Your API tokens (without the secrets)."""
    return service.list_tokens(conn, user)


@router.delete(
    "/v1/auth/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT, responses=_UNAUTHORIZED
)
def revoke_token(token_id: int, user: RequiredUser, conn: Conn) -> Response:
    service.revoke_token(conn, user, token_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/v1/users",
    response_model=UserOut,
    status_code=status.HTTP_201_CREATED,
    tags=["users"],
    responses={**_UNAUTHORIZED, 403: {"description": "需要省级管理员"}},
)
def create_user(
    body: UserCreate, conn: Conn, admin: User = Depends(require_roles(*USER_CREATORS))
) -> UserOut:
    """Create an account (province admin only). reviewer / bureau need `region`; school needs
    `school_code`; enterprise needs `enterprise_credit_code`."""
    return UserOut.of(service.create_user(conn, body, actor_id=admin.id))
