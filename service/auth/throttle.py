"""Login throttling, kept in PostgreSQL so it holds across server workers.

After LIMIT failed logins for one username, or from one client address, within WINDOW, further
attempts get 429 with Retry-After — before the password is even checked, so the right password
does not get through either. Every failure is also an audit entry (auth.login_failed).
"""

from __future__ import annotations

import psycopg

from service import audit
from service.auth import repository as repo
from service.auth import service as auth
from service.auth.schemas import User
from service.errors import TooManyRequestsError, Unauthorized

LIMIT = 10
WINDOW_S = 15 * 60


class LoginThrottled(TooManyRequestsError):
    def __init__(self, wait_s: int) -> None:
        minutes = max(1, -(-wait_s // 60))
        super().__init__(f"登录失败次数过多，请 {minutes} 分钟后再试 (login_throttled)")
        self.retry_after = max(1, wait_s)


def check(conn: psycopg.Connection, username: str, client: str) -> None:
    """Raise LoginThrottled when the username or the client has LIMIT recent failures."""
    repo.lock_login(conn, username)
    wait = repo.retry_after_s(conn, username, client, LIMIT, WINDOW_S)
    if wait > 0:
        raise LoginThrottled(wait)


def failed(conn: psycopg.Connection, username: str, client: str) -> None:
    """Count a failed login and audit it (the caller commits: the answer is a plain 401)."""
    repo.insert_login_failure(conn, username, client)
    row = repo.user_by_username(conn, username)
    audit.record(
        conn,
        actor_id=None,
        action="auth.login_failed",
        entity_type="user",
        entity_id=int(row["id"]) if row else None,
        after={"username": username[:64], "client": client},
    )


def login(conn: psycopg.Connection, username: str, password: str, client: str) -> User:
    """The one login check (API and web form): throttle, then the password. A failure is
    counted and audited, then re-raised — the caller must answer without rolling back (the API
    returns its 401 rather than raising it; the web form renders the page)."""
    check(conn, username, client)
    try:
        with conn.transaction():
            return auth.authenticate(conn, username, password)
    except Unauthorized:
        failed(conn, username, client)
        raise
