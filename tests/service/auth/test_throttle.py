"""Login throttling in PostgreSQL: 10 failures per username or per client address in 15 minutes
→ 429 with Retry-After (even for the right password); every failure is in the audit log."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import psycopg

from tests.fixtures.server import client
from tests.service.auth.helpers import PASSWORD, make_user, one


def _login(base: str, username: str, password: str) -> tuple[int, str | None]:
    with client(base) as c:
        r = c.post("/v1/auth/login", json={"username": username, "password": password})
        return r.status_code, r.headers.get("retry-after")


def test_sixty_fast_wrong_passwords_then_the_right_one_is_refused(
    clean_db: str, base_url: str
) -> None:
    """Why: '60 wrong passwords in two seconds, all 401, then the right one works'."""
    make_user(clean_db, "bureau_zz", "bureau", region="410100")
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: _login(base_url, "bureau_zz", "guess-guess"), range(60)))
    codes = [c for c, _ in answers]
    assert codes.count(401) == 10 and codes.count(429) == 50, codes
    assert all(int(ra or 0) > 0 for c, ra in answers if c == 429)
    status, retry = _login(base_url, "bureau_zz", PASSWORD)
    assert status == 429 and retry is not None and 0 < int(retry) <= 15 * 60
    failed = one(clean_db, "SELECT count(*) AS n FROM audit_log WHERE action = 'auth.login_failed'")
    assert failed["n"] == 10
    entry = one(
        clean_db,
        "SELECT entity_type, entity_id, after FROM audit_log"
        " WHERE action = 'auth.login_failed' LIMIT 1",
    )
    assert entry["entity_type"] == "user" and entry["after"]["username"] == "bureau_zz"


def test_one_client_address_is_throttled_across_usernames(clean_db: str, base_url: str) -> None:
    make_user(clean_db, "school_a", "school")
    for n in range(10):
        assert _login(base_url, f"nobody{n}", "whatever-9")[0] == 401
    status, retry = _login(base_url, "school_a", PASSWORD)
    assert status == 429 and retry is not None


def test_failures_older_than_the_window_do_not_count(clean_db: str, base_url: str) -> None:
    make_user(clean_db, "rev_zz", "reviewer", region="410100")
    with psycopg.connect(clean_db) as c:
        c.execute(
            "INSERT INTO login_failures (username, client, at)"
            " SELECT 'rev_zz', '127.0.0.1', now() - interval '16 minutes'"
            " FROM generate_series(1, 20)"
        )
    assert _login(base_url, "rev_zz", PASSWORD)[0] == 200
