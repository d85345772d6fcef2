"""FastAPI dependencies and scope helpers other domains use.

user: CurrentUser            # User | None (anonymous); also sets request.state.user
user: RequiredUser           # 401 when anonymous
user = Depends(require_roles("province_admin", "reviewer"))   # 401 / 403
region_scope(user)           # region path prefix the user is limited to (None = province)
in_scope(user, region_path)  # may the user see / act on something in this region?
(both are service.auth.policy's, re-exported: the policy is the one home of scope)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import ExitStack
from typing import Annotated, Any, TypeGuard, TypeVar

import psycopg
from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

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


MAX_SECRET = 512  # longer tokens / session ids cannot be ours


def _plausible(creds: tuple[str, str] | None) -> TypeGuard[tuple[str, str]]:
    return creds is not None and len(creds[1]) <= MAX_SECRET


def lookup(conn: psycopg.Connection, creds: tuple[str, str] | None) -> User | None:
    """Look the credentials up on `conn` (one indexed query); None for anonymous or unknown
    ones. Every request asks the database: a revoked token or ended session stops at once."""
    if not _plausible(creds):
        return None
    kind, secret = creds
    if kind == "bearer":
        return auth.user_for_token(conn, secret)
    return auth.user_for_session(conn, secret)


def resolve(pool: Any, creds: tuple[str, str] | None) -> User | None:
    """`lookup` on a connection of its own (the middleware's, outside the request's)."""
    if not _plausible(creds):  # no connection taken for what cannot match
        return None
    with pool.connection() as conn:
        return lookup(conn, creds)


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


T = TypeVar("T")


class UserTransaction:
    """The request's one transaction with its caller resolved on it: the pooled connection is
    taken, the transaction begun and the credentials looked up in one worker-thread hop; the
    handler's work, the commit and the connection's return in a second (`run`). A route that
    uses it is listed with middleware.resolve_in_route, so the caller is not also looked up on
    a connection of its own. Same lookup, same rules (require_user's 401s), fewer round trips."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self._stack: ExitStack | None = None
        self.conn: psycopg.Connection | None = None
        self.user: User | None = None

    def open(self) -> None:
        stack = ExitStack()
        try:
            conn = stack.enter_context(self.request.app.state.pool.connection())
            stack.enter_context(conn.transaction())
            state = self.request.scope.setdefault("state", {})
            if "user" not in state:
                creds = credentials(self.request.headers, self.request.cookies)
                state["user"] = lookup(conn, creds)
                state["auth_failed"] = creds is not None and state["user"] is None
            self.user = require_user(self.request, state["user"])
        except BaseException as exc:
            stack.__exit__(type(exc), exc, exc.__traceback__)  # roll back, give it back
            raise
        self._stack, self.conn = stack, conn

    def close(self, exc: BaseException | None = None) -> None:
        """Commit (exc None) or roll back, and return the connection; a failed commit raises
        here, before any response is sent."""
        stack, self._stack, self.conn = self._stack, None, None
        if stack is not None:
            if exc is None:
                stack.close()
            else:
                stack.__exit__(type(exc), exc, exc.__traceback__)

    def run(self, work: Callable[[psycopg.Connection, User], T]) -> T:
        """`work(conn, user)`, then commit: call in a worker thread (run_in_threadpool)."""
        assert self.conn is not None and self.user is not None
        try:
            result = work(self.conn, self.user)
        except BaseException as exc:
            self.close(exc)
            raise
        self.close()
        return result


async def user_transaction(request: Request) -> AsyncIterator[UserTransaction]:
    txn = UserTransaction(request)
    state = request.scope.setdefault("state", {})
    if "user" not in state and credentials(request.headers, request.cookies) is None:
        raise Unauthorized("请先登录 (login_required)")  # anonymous: no connection taken
    await run_in_threadpool(txn.open)
    try:
        yield txn
    except BaseException as exc:
        if txn.conn is not None:
            await run_in_threadpool(txn.close, exc)
        raise
    if txn.conn is not None:  # the handler did not run its work (nothing to commit)
        await run_in_threadpool(txn.close)


CurrentUser = Annotated[User | None, Depends(current_user)]
RequiredUser = Annotated[User, Depends(require_user)]
# scope="function": committed before the response is sent, as service.deps.Conn
UserTxn = Annotated[UserTransaction, Depends(user_transaction, scope="function")]


# Kept for importers written while service.deps.Conn still committed after the response; it now
# commits before (scope="function"), so the two are the same.
TxConn = Conn
