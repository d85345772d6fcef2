"""Templates, the navigation by role, and the page-level auth helpers of the web UI."""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from models import vocab as V
from models.explain import GUARD_TEXT
from service.auth import csrf
from service.auth.deps import current_user
from service.auth.schemas import ROLE_NAMES, User
from service.config import REPO_ROOT

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(HERE / "templates"))


def _csrf_field(context: Any) -> Markup:
    value = context.get("csrf_token", "")
    return Markup('<input type="hidden" name="csrf_token" value="{}">').format(value)


templates.env.globals["csrf_field"] = jinja2.pass_context(_csrf_field)

PARTY_LABELS = V.SUBJECT_LABELS  # parties, and the need / text a recommendation was asked for
FEATURE_LABELS = {
    "dense": "语义相似度",
    "bm25": "关键词得分",
    "fused": "融合检索分",
    "industry_match": "行业匹配",
    "major_fit": "专业–产业契合",
    "same_city": "同城",
    "proximity": "距离接近度",
    "capacity_left": "剩余容量",
    "kind_fit": "院校类型适配",
    "peer_partners": "同伴合作",
    "load": "现有合作负荷",
}
KEY_FEATURES = ("fused", "industry_match", "major_fit", "proximity", "peer_partners")
DECISION_NAMES = V.REVIEW_DECISION_LABELS
STATE_NAMES = V.REVIEW_STATE_LABELS
MENTOR_KINDS = V.MENTOR_KIND_LABELS
NEED_KINDS = V.NEED_KIND_LABELS

EXCLUDED_TEXT = {**GUARD_TEXT, "near_duplicate_collapsed": "近似重复的企业记录已合并"}

# Who sees which page (the API enforces the same or stricter rules underneath).
BUREAU_ROLES = ("province_admin", "bureau", "reviewer", "school")
REVIEW_ROLES = ("province_admin", "reviewer", "bureau")
IMPORT_ROLES = ("province_admin", "bureau")

NAV = [  # (path, label, roles or None for everyone, needs login)
    ("/", "首页", None, False),
    ("/schools", "学校", None, False),
    ("/enterprises", "企业", None, False),
    ("/bureau", "教育局推荐", BUREAU_ROLES, True),
    ("/enterprise", "企业需求", None, True),
    ("/review", "审核队列", REVIEW_ROLES, True),
    ("/network", "合作网络", None, False),
    ("/coverage", "覆盖情况", None, True),
    ("/plans", "结对方案", REVIEW_ROLES, True),
    ("/import", "数据导入", IMPORT_ROLES, True),
]


@lru_cache
def industry_names() -> dict[str, str]:
    """GB/T 4754 code → name (sections, divisions, groups, classes)."""
    path = REPO_ROOT / "data" / "reference" / "industries.csv"
    with path.open(encoding="utf-8") as f:
        return {r["code"]: r["name"] for r in csv.DictReader(f)}


def industry_label(code: str) -> str:
    digits = "".join(c for c in code if c.isdigit())
    names = industry_names()
    name = names.get(digits) or names.get(digits[:3]) or names.get(digits[:2]) or ""
    return f"{code} {name}".strip()


def user_of(request: Request) -> User | None:
    """The caller (resolved once per request by the auth middleware, else looked up here)."""
    return current_user(request)


def nav_for(user: User | None, current: str) -> list[tuple[str, str, bool]]:
    """(path, label, active) of the pages this user may open."""
    out = []
    for path, label, roles, login in NAV:
        if login and user is None:
            continue
        if roles is not None and (user is None or user.role not in roles):
            continue
        active = current == path or (path != "/" and current.startswith(path + "/"))
        out.append((path, label, active))
    return out


def page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    user = user_of(request)
    base = {
        "user": user,
        "role_name": ROLE_NAMES.get(user.role, "") if user else "",
        "nav": nav_for(user, request.url.path),
        "path": request.url.path,
        "party_labels": PARTY_LABELS,
        "feature_labels": FEATURE_LABELS,
        "key_features": KEY_FEATURES,
        "decision_names": DECISION_NAMES,
        "state_names": STATE_NAMES,
        "industry_label": industry_label,
        "guard_text": EXCLUDED_TEXT,
        "mentor_kinds": MENTOR_KINDS,
        "need_kinds": NEED_KINDS,
        "csrf_token": csrf.token(request),  # every POST form: {{ csrf_field() }}
    }
    return templates.TemplateResponse(request, name, {**base, **context}, status_code=status_code)


def to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def gate(request: Request, roles: tuple[str, ...] | None = None) -> User | Response:
    """The signed-in user allowed on this page, else a redirect to /login or a 403 page."""
    user = user_of(request)
    if user is None:
        return to_login(request)
    if roles is not None and user.role not in roles:
        allowed = "、".join(ROLE_NAMES[r] for r in roles)
        return page(
            request,
            "error.html",
            status_code=403,
            title="无权访问",
            message=f"此页面仅向以下角色开放：{allowed}。您当前的角色是"
            f"「{ROLE_NAMES.get(user.role, user.role)}」。",
        )
    return user


def safe_next(target: str | None) -> str:
    """Only local paths: never redirect a login to another site."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def scope_label(user: User) -> str:
    if user.role == "province_admin":
        return "全省"
    return user.region_name or "（未设置辖区）"
