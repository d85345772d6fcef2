from __future__ import annotations

import hashlib
from contextlib import closing

import httpx

from tests.fixtures.server import client
from tests.service.auth.helpers import PASSWORD, login, make_user, one, rows, token_client


def test_login_sets_session_cookie_and_me(clean_db: str, base_url: str) -> None:
    make_user(clean_db, "rev_zz", "reviewer", region="410100")
    with client(base_url) as c:
        r = c.post("/v1/auth/login", json={"username": "rev_zz", "password": PASSWORD})
        assert r.status_code == 200, r.text
        assert r.json()["role"] == "reviewer" and r.json()["region_code"] == "410100"
        cookie = r.headers["set-cookie"]
        assert cookie.startswith("xiaoqi_session=")
        assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower() and "Path=/" in cookie
        value = c.cookies["xiaoqi_session"]
        me = c.get("/v1/auth/me")
        assert me.status_code == 200 and me.json()["username"] == "rev_zz"
        assert me.json()["region_name"] == "郑州市"
    # The database holds the SHA-256 of the cookie, never the cookie itself.
    stored = rows(clean_db, "SELECT id FROM sessions")
    assert [s["id"] for s in stored] == [hashlib.sha256(value.encode()).hexdigest()]
    logins = one(clean_db, "SELECT count(*) AS n FROM audit_log WHERE action = 'auth.login'")
    assert logins["n"] == 1


def test_wrong_password_and_unknown_user_are_401(clean_db: str, base_url: str) -> None:
    make_user(clean_db, "admin", "province_admin")
    with client(base_url) as c:
        for body in (
            {"username": "admin", "password": "wrong-password"},
            {"username": "nobody", "password": PASSWORD},
        ):
            r = c.post("/v1/auth/login", json=body)
            assert r.status_code == 401
            assert r.json()["error"] == "unauthorized"
            assert "set-cookie" not in r.headers
        assert c.post("/v1/auth/login", json={"username": "admin"}).status_code == 422
        assert c.get("/v1/auth/me").status_code == 401
    assert one(clean_db, "SELECT count(*) AS n FROM sessions")["n"] == 0


def test_logout_ends_the_session(clean_db: str, base_url: str) -> None:
    make_user(clean_db, "admin", "province_admin")
    c = login(base_url, "admin")
    value = c.cookies["xiaoqi_session"]
    r = c.post("/v1/auth/logout")
    assert r.status_code == 204
    assert 'xiaoqi_session=""' in r.headers["set-cookie"] or "Max-Age=0" in r.headers["set-cookie"]
    assert one(clean_db, "SELECT count(*) AS n FROM sessions")["n"] == 0
    # Replaying the old cookie does not work any more.
    with client(base_url) as other:
        other.cookies.set("xiaoqi_session", value)
        r = other.get("/v1/auth/me")
        assert r.status_code == 401 and "invalid_credentials" in r.json()["detail"]
    c.close()


def test_expired_session_is_rejected(clean_db: str, base_url: str) -> None:
    make_user(clean_db, "admin", "province_admin")
    c = login(base_url, "admin")
    assert c.get("/v1/auth/me").status_code == 200
    import psycopg

    with psycopg.connect(clean_db) as conn:
        conn.execute("UPDATE sessions SET expires_at = now() - interval '1 second'")
    assert c.get("/v1/auth/me").status_code == 401
    c.close()


def test_inactive_user_cannot_log_in_or_use_a_session(clean_db: str, base_url: str) -> None:
    uid = make_user(clean_db, "admin", "province_admin")
    c = login(base_url, "admin")
    import psycopg

    with psycopg.connect(clean_db) as conn:
        conn.execute("UPDATE users SET active = false WHERE id = %s", (uid,))
    assert c.get("/v1/auth/me").status_code == 401
    r = httpx.post(f"{base_url}/v1/auth/login", json={"username": "admin", "password": PASSWORD})
    assert r.status_code == 401
    c.close()


def test_api_token_is_shown_once_and_works_as_bearer(clean_db: str, base_url: str) -> None:
    make_user(clean_db, "bureau_zz", "bureau", region="410100")
    with closing(login(base_url, "bureau_zz")) as c:
        r = c.post("/v1/auth/tokens", json={"name": "脚本"})
        assert r.status_code == 201, r.text
        token, token_id = r.json()["token"], r.json()["id"]
        listed = c.get("/v1/auth/tokens").json()
        assert [t["name"] for t in listed] == ["脚本"] and "token" not in listed[0]
    stored = one(clean_db, "SELECT token_hash FROM api_tokens")["token_hash"]
    assert stored == hashlib.sha256(token.encode()).hexdigest()
    with token_client(base_url, token) as api:
        me = api.get("/v1/auth/me")
        assert me.status_code == 200 and me.json()["username"] == "bureau_zz"
        assert api.delete(f"/v1/auth/tokens/{token_id}").status_code == 204
        r = api.get("/v1/auth/me")
        assert r.status_code == 401 and "invalid_credentials" in r.json()["detail"]
    with token_client(base_url, "xq_not-a-token") as bad:
        assert bad.get("/v1/auth/me").status_code == 401


def test_anonymous_is_401(clean_db: str, base_url: str) -> None:
    for method, path in [
        ("GET", "/v1/auth/me"),
        ("POST", "/v1/auth/tokens"),
        ("GET", "/v1/auth/tokens"),
        ("POST", "/v1/users"),
    ]:
        r = httpx.request(method, f"{base_url}{path}", json={})
        assert r.status_code == 401, (path, r.status_code)
        assert r.json()["error"] == "unauthorized"


def test_only_province_admin_creates_users(clean_db: str, base_url: str) -> None:
    make_user(clean_db, "admin", "province_admin")
    make_user(clean_db, "bureau_zz", "bureau", region="410100")
    body = {
        "username": "rev_ly",
        "password": "long-enough-1",
        "role": "reviewer",
        "region": "410300",
        "display_name": "洛阳审核员",
    }
    with closing(login(base_url, "bureau_zz")) as c:
        r = c.post("/v1/users", json=body)
        assert r.status_code == 403 and r.json()["error"] == "forbidden"
    with closing(login(base_url, "admin")) as c:
        r = c.post("/v1/users", json=body)
        assert r.status_code == 201, r.text
        assert r.json()["region_name"] == "洛阳市" and r.json()["role"] == "reviewer"
        assert c.post("/v1/users", json=body).status_code == 409
        r = c.post("/v1/users", json={**body, "username": "rev_x", "region": None})
        assert r.status_code == 422
        assert r.json()["errors"][0]["column"] == "region"
        r = c.post("/v1/users", json={**body, "username": "rev_y", "region": "419999"})
        assert r.status_code == 422 and "419999" in r.json()["errors"][0]["reason"]
        r = c.post("/v1/users", json={**body, "username": "sch", "role": "school", "region": None})
        assert r.status_code == 422 and r.json()["errors"][0]["column"] == "school_code"
        assert c.post("/v1/users", json={**body, "password": "short"}).status_code == 422
        assert c.post("/v1/users", json={**body, "role": "root"}).status_code == 422
        assert c.post("/v1/users", json={**body, "username": "bad name"}).status_code == 422
    created = one(clean_db, "SELECT password_hash FROM users WHERE username = 'rev_ly'")
    assert created["password_hash"].startswith("$argon2id$")
    audit = one(clean_db, "SELECT actor_id, after FROM audit_log WHERE action = 'user.create'")
    assert audit["after"]["username"] == "rev_ly"
    with closing(login(base_url, "rev_ly", "long-enough-1")) as c:
        assert c.get("/v1/auth/me").json()["region_code"] == "410300"
