"""Every page over plain HTTP (no browser needed): anonymous visitors and each role get a page or
a redirect to /login, never a 5xx; role gates, contact hiding and bad parameters."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from tests.browser.conftest import USERS, Site
from tests.service.auth.helpers import login as _login


def csrf_token(c: httpx.Client) -> str:
    """The token a signed-in page carries (its forms send it as csrf_token)."""
    m = re.search(r'<meta name="csrf-token" content="([0-9a-f]*)">', c.get("/").text)
    assert m is not None
    return m.group(1)


@contextmanager
def login(base: str, username: str) -> Iterator[httpx.Client]:
    c = _login(base, username)
    c.headers["X-CSRF-Token"] = csrf_token(c)  # as the forms would send it
    try:
        yield c
    finally:
        c.close()


PAGES = [
    "/",
    "/login",
    "/schools",
    "/schools?q=郑州",
    "/enterprises?q=数控&page=1",
    "/bureau",
    "/bureau?type=programme&q=数控",
    "/bureau?type=park",
    "/enterprise",
    "/review",
    "/review/history",
    "/network",
    "/network?type=school&id=1",
    "/network?type=enterprise&q=数控",
    "/coverage",
    "/coverage?all=1",
    "/import",
    "/static/app.css",
    "/static/app.js",
]
NEEDS_LOGIN = {"/bureau", "/enterprise", "/review", "/coverage", "/import"}
ROLE_PAGES = {  # page → roles let in (others get 403)
    "/bureau": {"province_admin", "bureau", "reviewer", "school"},
    "/review": {"province_admin", "reviewer", "bureau"},
    "/review/history": {"province_admin", "reviewer", "bureau"},
    "/import": {"province_admin", "bureau"},
}


def _path(p: str) -> str:
    return p.split("?")[0]


def test_anonymous_pages(site: Site) -> None:
    with httpx.Client(base_url=site.base, timeout=60) as c:
        for p in PAGES:
            r = c.get(p)
            if _path(p) in NEEDS_LOGIN or _path(p).startswith("/review"):
                assert r.status_code == 303, p
                assert r.headers["location"].startswith("/login?next="), p
            else:
                assert r.status_code == 200, (p, r.text[:300])
        home = c.get("/").text
        assert "校企" in home and "登录" in home and 'href="/import"' not in home


@pytest.mark.parametrize("username", sorted(USERS))
def test_pages_for_each_role(site: Site, username: str) -> None:
    role = USERS[username][0]
    with login(site.base, username) as c:
        for p in PAGES:
            r = c.get(p)
            allowed = ROLE_PAGES.get(_path(p))
            expected = 403 if allowed is not None and role not in allowed else 200
            assert r.status_code == expected, (username, p, r.status_code, r.text[:300])
            if expected == 403:
                assert "无权访问" in r.text


def test_contacts_hidden_from_anonymous(site: Site) -> None:
    with httpx.Client(base_url=site.base, timeout=60) as anon:
        assert "联系人" not in anon.get("/schools").text
    with login(site.base, "admin") as c:
        assert "联系人" in c.get("/schools").text


def test_bad_parameters_do_not_break_pages(site: Site) -> None:
    with login(site.base, "admin") as c:
        for p in [
            "/network?type=nope&id=x",
            "/network?type=school&id=99999999",
            "/review?page=-3&sort=zzz&type=bad",
            "/review/items/abc",
            "/review/items/999999",
            "/schools?page=abc&q=" + "%25" * 300,
            "/bureau?type=zzz&id=abc",
            "/static/..%2Fapp.css",
            "/static/nope.css",
        ]:
            r = c.get(p)
            assert r.status_code < 500, (p, r.status_code)
        r = c.post("/bureau", data={"type": "school", "id": ""})
        assert r.status_code == 200 and "请先选择" in r.text
        r = c.post("/bureau", data={"type": "school", "id": "99999"})
        assert r.status_code == 200 and "不存在" in r.text
        r = c.post("/enterprise", data={"text": "x"})
        assert r.status_code == 200 and "至少两个字" in r.text
        r = c.post("/review/items/999999/decide", data={"decision": "approve"})
        assert r.status_code == 303 and "err=" in r.headers["location"]
        r = c.post("/import", data={"kind": "schools"})
        assert r.status_code == 200 and "请选择要上传的文件" in r.text


def test_login_form_errors_and_safe_redirect(site: Site) -> None:
    with httpx.Client(base_url=site.base, timeout=60) as c:
        r = c.post("/login", data={"username": "admin", "password": "wrong-password"})
        assert r.status_code == 401 and "用户名或密码错误" in r.text
        r = c.post(
            "/login",
            data={"username": "admin", "password": site.password, "next": "//evil.example/"},
        )
        assert r.status_code == 303 and r.headers["location"] == "/"
        assert c.get("/v1/auth/me").json()["username"] == "admin"
        assert c.post("/logout").status_code == 403  # no CSRF token: refused, still signed in
        assert c.get("/v1/auth/me").status_code == 200
        r = c.post("/logout", data={"csrf_token": csrf_token(c)})
        assert r.status_code == 303
        assert c.get("/v1/auth/me").status_code == 401


def test_result_pages_render(site: Site) -> None:
    """The pages that show results (recommendations, matches, review evidence) render."""
    w = site.world
    with login(site.base, "admin") as c:
        r = c.post("/bureau", data={"type": "school", "id": str(w["S1"]), "k": "5"})
        assert r.status_code == 200 and 'id="results"' in r.text and "提交审核" in r.text
        assert 'class="chip' in r.text
        r = c.post("/enterprise", data={"text": "数控机床维修技术人才"})
        assert r.status_code == 200
        assert all(f'id="{s}"' in r.text for s in ("programmes", "mentors", "bases"))
        r = c.get(f"/network?type=school&id={w['S1']}&radius=2")
        assert r.status_code == 200 and "<svg" in r.text and 'class="node"' in r.text
        r = c.get("/network?type=school&q=郑州")
        assert r.status_code == 200 and "郑州智能制造职业学院" in r.text
        r = c.get("/coverage")
        assert r.status_code == 200 and 'id="coverage"' in r.text
    with login(site.base, "ent_e8") as c:
        r = c.post("/enterprise", data={"need_id": str(w["N1"])})
        assert r.status_code == 200 and 'name="rec"' in r.text
