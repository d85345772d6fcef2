"""Resolve the caller on every request and set request.state.user (None when anonymous).

Pure ASGI so streaming responses are untouched; the db lookup runs in a worker thread and only
when the request carries a bearer token or a session cookie.
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread
import psycopg
from fastapi import FastAPI
from psycopg_pool import PoolTimeout
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Receive, Scope, Send

from service.auth.deps import credentials, resolve

# Paths whose routes look the caller up on their own transaction (deps.UserTransaction): one
# connection and one worker-thread hop fewer per request. current_user still resolves the
# caller on demand there, so nothing else loses it.
_RESOLVED_IN_ROUTE: set[str] = set()


def resolve_in_route(*paths: str) -> None:
    _RESOLVED_IN_ROUTE.update(paths)


class AuthMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("path") not in _RESOLVED_IN_ROUTE:
            headers = {
                k.decode("latin-1").lower(): v.decode("latin-1")
                for k, v in scope.get("headers", [])
            }
            creds = credentials(headers, cookie_parser(headers.get("cookie", "")))
            state: dict[str, Any] = scope.setdefault("state", {})
            try:
                user = None
                if creds is not None:
                    pool = scope["app"].state.pool
                    user = await anyio.to_thread.run_sync(resolve, pool, creds)
            except (psycopg.Error, PoolTimeout):
                # Database unavailable: leave it to current_user (inside the handlers) to fail
                # properly; endpoints that need no user, such as /health, still answer.
                pass
            else:
                state["user"] = user
                state["auth_failed"] = creds is not None and user is None
        await self.app(scope, receive, send)


def install(app: FastAPI) -> None:
    """Call in create_app() before the app starts. Also installs the browser guard (Origin
    check for cookie-authenticated writes, security headers: service.auth.csrf)."""
    from service.auth import csrf

    app.add_middleware(AuthMiddleware)
    csrf.install(app)  # added last = outermost: refuses a cross-origin write before auth runs
