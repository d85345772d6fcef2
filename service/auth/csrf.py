"""Cross-site request forgery and browser hardening.

* Origin check (every state-changing request not authenticated by a bearer token — session
  cookie or none, so a cross-site login is refused too): the Origin header — or, without one,
  the Referer — must be this server's own origin, scheme, host and port. A form served from
  another port of the same host is another origin (SameSite=Lax does
  not stop it: same site), so it gets 403 and nothing runs. Bearer-token calls carry no ambient
  credential and are not checked; a request with neither header (curl, scripts) passes to the
  token check.
* Synchronizer token (web forms): every state-changing form sends `csrf_token`, derived from
  the session cookie (SHA-256 of a label and the cookie, which is HttpOnly, so another page
  cannot compute it); `require_token` refuses a missing or wrong one with 403.
* Headers on every response: a Content-Security-Policy without inline script and with
  frame-ancestors 'none', nosniff, a Referrer-Policy.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.auth.service import SESSION_COOKIE
from service.errors import Forbidden

FIELD = "csrf_token"
HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
# The interactive API docs load their own inline bootstrap script: CSP would blank them.
_CSP_EXEMPT = ("/docs", "/redoc")
HEADERS = {
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"same-origin",
    b"x-frame-options": b"DENY",
}
_REFUSED = (
    '{"error":"forbidden","detail":"请求来源不是本站，已拒绝（跨站请求）(cross_origin)"}'.encode()
)


def token_for(session_cookie: str) -> str:
    return hashlib.sha256(f"xiaoqi-csrf:{session_cookie}".encode()).hexdigest()


def token(request: Request) -> str:
    """The token the page's forms carry ('' without a session: nothing to protect)."""
    session = request.cookies.get(SESSION_COOKIE)
    return token_for(session) if session else ""


async def require_token(request: Request) -> None:
    """Dependency of the web pages: a state-changing form with a session sends its token."""
    if request.method in SAFE_METHODS:
        return
    session = request.cookies.get(SESSION_COOKIE)
    if not session:
        return  # anonymous: no credential to ride on (the login form has the Origin check)
    sent = request.headers.get(HEADER)
    if sent is None:
        form = await request.form()
        value = form.get(FIELD)
        sent = value if isinstance(value, str) else None
    if not sent or not hmac.compare_digest(sent, token_for(session)):
        raise Forbidden("表单已失效或来源不明，请刷新页面后重试 (csrf_token)")


def _origin_of(url: str) -> str | None:
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def same_origin(scope: Scope, headers: dict[str, str]) -> bool:
    """Is the request's Origin (else Referer) this server's origin? True when neither is sent."""
    claimed = headers.get("origin")
    if claimed is None or claimed == "null":
        referer = headers.get("referer")
        if claimed is None and referer is None:
            return True
        claimed = _origin_of(referer or "") if claimed is None else None
    else:
        claimed = _origin_of(claimed)
    host = headers.get("host")
    if not host or claimed is None:
        return False
    return claimed == f"{scope.get('scheme', 'http')}://{host}".lower()


class BrowserGuard:
    """Pure ASGI: the Origin check before anything runs, security headers on every answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])
        }
        path = str(scope.get("path", ""))
        csp = not path.startswith(_CSP_EXEMPT)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw = list(message.get("headers", []))
                present = {k.lower() for k, _ in raw}
                extra = [(k, v) for k, v in HEADERS.items() if k not in present]
                if csp and b"content-security-policy" not in present:
                    extra.append((b"content-security-policy", CSP.encode()))
                message = {**message, "headers": raw + extra}
            await send(message)

        unsafe = scope.get("method", "GET") not in SAFE_METHODS
        bearer = headers.get("authorization", "").lower().startswith("bearer ")
        # with or without a session cookie: a cross-origin login (login CSRF) is refused too
        if unsafe and not bearer and not same_origin(scope, headers):
            await send_with_headers(
                {
                    "type": "http.response.start",
                    "status": 403,
                    "headers": [(b"content-type", b"application/json; charset=utf-8")],
                }
            )
            await send_with_headers({"type": "http.response.body", "body": _REFUSED})
            return
        await self.app(scope, receive, send_with_headers)


def install(app: FastAPI) -> None:
    app.add_middleware(BrowserGuard)
