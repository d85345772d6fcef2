"""Security headers on every answer, no inline script in any template, and cross-origin writes
refused even before login (login CSRF)."""

from __future__ import annotations

import re

import httpx

from service.config import REPO_ROOT
from tests.service.auth.helpers import PASSWORD, make_user

TEMPLATES = REPO_ROOT / "service" / "web" / "templates"


def test_pages_and_api_send_the_security_headers(clean_db: str, base_url: str) -> None:
    for path in ("/", "/login", "/schools", "/v1/schools", "/static/app.js"):
        r = httpx.get(base_url + path)
        assert r.status_code == 200, path
        csp = r.headers["content-security-policy"]
        script_src = re.search(r"script-src ([^;]*)", csp)
        assert script_src and "'unsafe-inline'" not in script_src.group(1), csp
        assert "frame-ancestors 'none'" in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "same-origin"


def test_templates_have_no_inline_script() -> None:
    for path in TEMPLATES.glob("*.html"):
        text = path.read_text(encoding="utf-8")
        for tag in re.findall(r"<script\b[^>]*>", text):
            assert "src=" in tag, (path.name, tag)
        handler = r"\son(click|change|submit|input|load|error|key\w+|mouse\w+|focus|blur)\s*="
        assert not re.search(handler, text), path.name
        assert "javascript:" not in text, path.name


def test_cross_origin_login_and_writes_are_refused(clean_db: str, base_url: str) -> None:
    make_user(clean_db, "admin", "province_admin")
    body = {"username": "admin", "password": PASSWORD}
    other_port = re.sub(r":(\d+)$", lambda m: f":{int(m.group(1)) + 1}", base_url)
    r = httpx.post(base_url + "/v1/auth/login", json=body, headers={"Origin": other_port})
    assert r.status_code == 403 and "cross_origin" in r.text
    assert "set-cookie" not in r.headers
    r = httpx.post(base_url + "/login", data=body, headers={"Referer": other_port + "/x"})
    assert r.status_code == 403
    ok = httpx.post(base_url + "/v1/auth/login", json=body, headers={"Origin": base_url})
    assert ok.status_code == 200
