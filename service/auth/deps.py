"""FastAPI dependencies and scope helpers other domains use.

user: CurrentUser            # User | None (anonymous); also sets request.state.user
user: RequiredUser           # 401 when anonymous
user = Depends(require_roles("province_admin", "reviewer"))   # 401 / 403
region_scope(user)           # region path prefix the user is limited to (None = province)
in_scope(user, region_path)  # may the user see / act on something in this region?
(both are service.auth.policy's, re-exported: the policy is the one home of scope)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any

from fastapi import Depends, Request

from service.auth import policy
from service.auth import service as auth
from service.auth.schemas import ROLES, User
from service.deps import Conn
from service.errors import Forbidden, Unauthorized

# Matches no region path: the scope of a non-admin account that has lost its region.
NO_REGION = "-"
in_scope = policy.inside
region_scope = policy.region_scope


def credentials(headers: Mapping[str, str], cookies: Mapping[str, str]) -> tuple[str, str] | None:
    """('bearer', token) from the Authorization header, else ('session', cookie), else None."""
    authz = headers.get("authorization", "")
    scheme, _, value = authz.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return "bearer", value.strip()
    cookie = cookies.get(auth.SESSION_COOKIE)
    if cookie:
        return "session", cookie
    return None


def resolve(pool: Any, creds: tuple[str, str] | None) -> User | None:
    """Look the credentials up (one indexed query); None for anonymous or unknown ones."""
    if creds is None:
        return None
    kind, secret = creds
    if len(secret) > 512:
        return None
    with pool.connection() as conn:
        if kind == "bearer":
            return auth.user_for_token(conn, secret)
        return auth.user_for_session(conn, secret)


def current_user(request: Request) -> User | None:
    """The caller, or None when anonymous. Uses what the middleware resolved when installed."""
    state = request.scope.setdefault("state", {})
    if "user" not in state:
        creds = credentials(request.headers, request.cookies)
        state["user"] = resolve(request.app.state.pool, creds)
        state["auth_failed"] = creds is not None and state["user"] is None
    user: User | None = state["user"]
    return user


def require_user(request: Request, user: User | None = Depends(current_user)) -> User:
    if user is None:
        if request.scope.get("state", {}).get("auth_failed"):
            raise Unauthorized("登录已过期或令牌无效，请重新登录 (invalid_credentials)")
        raise Unauthorized("请先登录 (login_required)")
    return user


def require_roles(*roles: str) -> Callable[..., User]:
    """A dependency admitting only the given roles: 401 when anonymous, 403 for other roles."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles: {sorted(unknown)}")

    def dependency(user: User = Depends(require_user)) -> User:
        if user.role not in roles:
            raise Forbidden(f"此操作需要以下角色之一：{'、'.join(roles)} (role_forbidden)")
        return user

    return dependency


CurrentUser = Annotated[User | None, Depends(current_user)]
RequiredUser = Annotated[User, Depends(require_user)]


# Kept for importers written while service.deps.Conn still committed after the response; it now
# commits before (scope="function"), so the two are the same.
TxConn = Conn
