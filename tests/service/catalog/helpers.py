"""Small factories for catalogue API tests: each creates one row through the real API."""

from __future__ import annotations

import itertools
import random
from typing import Any

import httpx

from models.codes import make_credit_code

_seq = itertools.count(1)
_rng = random.Random(20261123)


def credit_code(region: str = "410100") -> str:
    return make_credit_code(_rng, region)


def post(api: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    r = api.post(f"/v1/{path}", json=body)
    assert r.status_code == 201, (path, r.status_code, r.text)
    return dict(r.json())


def school(api: httpx.Client, **over: Any) -> dict[str, Any]:
    n = next(_seq)
    body = {
        "code": f"41{n:08d}",
        "name": f"测试学院{n}",
        "kind": "高职专科",
        "region": "410102",
        "tags": ["双高"],
        "contact_name": "王老师",
        "contact_phone": "0371-1234567",
    }
    return post(api, "schools", body | over)


def enterprise(api: httpx.Client, **over: Any) -> dict[str, Any]:
    n = next(_seq)
    body = {
        "credit_code": credit_code(),
        "name": f"测试科技有限公司{n}",
        "region": "410102",
        "industry_codes": ["3911"],
        "contact_name": "李经理",
        "contact_phone": "13800000000",
    }
    return post(api, "enterprises", body | over)


def park(api: httpx.Client, **over: Any) -> dict[str, Any]:
    n = next(_seq)
    body = {"name": f"测试产业园{n}", "region": "410100", "leading_industries": ["39"]}
    return post(api, "parks", body | over)


def bureau(api: httpx.Client, **over: Any) -> dict[str, Any]:
    n = next(_seq)
    return post(api, "bureaus", {"name": f"测试教育局{n}", "region": "410100"} | over)


def programme(api: httpx.Client, school_id: int, **over: Any) -> dict[str, Any]:
    body = {"school_id": school_id, "major_code": "510201", "industries": ["6513"]}
    return post(api, "programmes", body | over)


def need(api: httpx.Client, enterprise_id: int, **over: Any) -> dict[str, Any]:
    n = next(_seq)
    body = {
        "enterprise_id": enterprise_id,
        "kind": "talent",
        "title": f"招聘嵌入式工程师{n}",
        "headcount": 5,
    }
    return post(api, "needs", body | over)


def mentor(api: httpx.Client, **over: Any) -> dict[str, Any]:
    n = next(_seq)
    return post(api, "mentors", {"name": f"导师{n}", "kind": "academic"} | over)


def practice_base(api: httpx.Client, **over: Any) -> dict[str, Any]:
    n = next(_seq)
    return post(api, "practice-bases", {"name": f"实践基地{n}", "region": "410102"} | over)


def partnership(
    api: httpx.Client, a: tuple[str, int], b: tuple[str, int], **over: Any
) -> dict[str, Any]:
    body = {"a": {"type": a[0], "id": a[1]}, "b": {"type": b[0], "id": b[1]}}
    return post(api, "partnerships", body | over)
