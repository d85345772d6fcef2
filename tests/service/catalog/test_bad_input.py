"""A barrage of malformed requests at every catalogue endpoint: none may answer 5xx.

The endpoints, their query parameters and their body fields are read from /openapi.json, so a
new entity or filter is covered without editing this file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.service.catalog import helpers as h

BAD_IDS = [
    "abc",
    "0",
    "-1",
    "1.5",
    "2147483648",
    "99999999999999999999999",
    "%00",
    "1e3",
    "%20",
    "1%00",
]
BAD_SCALARS: list[Any] = [
    None,
    "",
    "a\x00b",
    "\ud800",
    "x" * 30_000,
    -1,
    2**31,
    2**64 + 1,
    1.5,
    True,
    {},
    ["\x00"],
    [None],
    "2026-02-30",
]
BAD_QUERY = [
    "",
    "\x00",
    "%_'",
    "-1",
    "2147483648",
    "9" * 30,
    "x" * 5000,
    "school:0",
    "school:99999999999",
    "410102\x00",
]
BAD_BODIES: list[bytes] = [
    b"",
    b"{",
    b"[]",
    b"null",
    b"123",
    b'"x"',
    b"{}",
    b'{"a":' * 200,
    b"\xff\xfe",
    b'{"name": NaN}',
    b'{"name": "\\u0000"}',
    b'{"name": "\\ud800"}',
]
CATALOGUE = (
    "/v1/regions",
    "/v1/bureaus",
    "/v1/parks",
    "/v1/schools",
    "/v1/programmes",
    "/v1/enterprises",
    "/v1/needs",
    "/v1/mentors",
    "/v1/practice-bases",
    "/v1/partnerships",
    "/v1/audit-log",
)


@pytest.fixture(scope="module")
def openapi(api_base: str) -> dict[str, Any]:
    with httpx.Client(base_url=api_base) as c:
        return dict(c.get("/openapi.json").json())


@pytest.fixture
def seeded(api: httpx.Client, clean_db: str) -> None:
    """Rows with id 1 everywhere, so PATCH/DELETE reach past the 404 into validation."""
    s = h.school(api)
    e = h.enterprise(api)
    h.bureau(api)
    h.park(api)
    h.programme(api, s["id"])
    h.need(api, e["id"])
    h.mentor(api, school_id=s["id"])
    h.practice_base(api, host_school_id=s["id"])
    h.partnership(api, ("school", s["id"]), ("enterprise", e["id"]))


def _resolve(schema: dict[str, Any], openapi: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref:
        return dict(openapi["components"]["schemas"][ref.rsplit("/", 1)[-1]])
    return schema


def operations(openapi: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in openapi["paths"].items():
        if path.startswith(CATALOGUE):
            for method, op in item.items():
                # other domains may hang routes below /v1/regions/… (plans): not catalogue
                if "catalogue 目录" in op.get("tags", []):
                    yield path, method.upper(), op


def body_fields(op: dict[str, Any], openapi: dict[str, Any]) -> list[str]:
    content = op.get("requestBody", {}).get("content", {}).get("application/json")
    if not content:
        return []
    return list(_resolve(content["schema"], openapi).get("properties", {}))


def check(r: httpx.Response, what: str, failures: list[str]) -> None:
    if r.status_code >= 500:
        failures.append(f"{what} → {r.status_code} {r.text[:200]}")
    elif r.status_code >= 400:
        body = r.json()  # every refusal is JSON with a reason
        if "detail" not in body:
            failures.append(f"{what} → {r.status_code} without detail: {r.text[:200]}")


def test_no_5xx_for_bad_input(api: httpx.Client, openapi: dict[str, Any], seeded: None) -> None:
    failures: list[str] = []
    ops = list(operations(openapi))
    assert len(ops) == 2 + 9 * 5 + 1  # regions: list/get; 9 entities × 5; audit-log: list
    for path, method, op in ops:
        params = [p for p in op.get("parameters", []) if p["in"] == "query"]
        if "{row_id}" in path:
            for bad in BAD_IDS:
                url = path.replace("{row_id}", bad)
                check(
                    api.request(method, url, json={"name": "x"} if method == "PATCH" else None),
                    f"{method} {url}",
                    failures,
                )
            url = path.replace("{row_id}", "1")
        else:
            url = path
        for p in params if method == "GET" else []:
            for bad in BAD_QUERY:
                check(
                    api.request(method, url, params={p["name"]: bad}),
                    f"{method} {url}?{p['name']}={bad[:20]!r}",
                    failures,
                )
        if method in ("POST", "PATCH"):
            for raw in BAD_BODIES:
                r = api.request(
                    method, url, content=raw, headers={"content-type": "application/json"}
                )
                check(r, f"{method} {url} body {raw[:20]!r}", failures)
            # One field at a time on an existing row: valid neighbours, so values reach the db.
            for field in body_fields(op, openapi) if method == "PATCH" else []:
                for bad in BAD_SCALARS:
                    raw = json.dumps({field: bad}).encode()  # ASCII escapes keep \ud800 intact
                    r = api.request(
                        method, url, content=raw, headers={"content-type": "application/json"}
                    )
                    check(r, f"{method} {url} {field}={str(bad)[:20]!r}", failures)
    assert not failures, "\n".join(failures[:40])


def test_list_parameters_are_bounded(api: httpx.Client) -> None:
    for params in (
        {"limit": 0},
        {"limit": 501},
        {"limit": "x"},
        {"offset": -1},
        {"sort": "nope"},
        {"sort": "-"},
        {"with_total": "maybe"},
    ):
        r = api.get("/v1/schools", params=params)
        assert r.status_code == 422, (params, r.text)
        body = r.json()
        assert body["error"] == "invalid_input" and body["errors"][0]["reason"]
    r = api.get("/v1/schools", params={"limit": 501})
    assert r.json()["errors"] == [{"row": None, "column": "limit", "reason": "不能大于 500"}]


def test_bad_ids_are_422_with_a_reason(api: httpx.Client) -> None:
    for bad in ("abc", "0", "2147483648"):
        r = api.get(f"/v1/enterprises/{bad}")
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["column"] == "row_id"


def test_wrong_body_shapes(api: httpx.Client, clean_db: str) -> None:
    r = api.post(
        "/v1/schools",
        json={"code": "4141", "name": "学校", "kind": "大学", "region": "410102", "bogus": 1},
    )
    assert r.status_code == 422
    got = {e["column"]: e["reason"] for e in r.json()["errors"]}
    assert got["bogus"] == "不允许的字段"
    assert got["kind"].startswith("应为以下之一")
    r = api.post(
        "/v1/needs",
        json={
            "enterprise_id": 1,
            "kind": "talent",
            "title": "t",
            "headcount": 2**40,
            "deadline": "明天",
        },
    )
    got = {e["column"]: e["reason"] for e in r.json()["errors"]}
    assert got == {"headcount": "不能大于 2147483647", "deadline": "应为日期（YYYY-MM-DD）"}
