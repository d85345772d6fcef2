"""POST /v1/imports/{kind} over real HTTP: 200 / 422 / 413, never 500."""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row

from service.config import Settings
from service.main import create_app
from tests.fixtures.server import client, running_server
from tests.service.conftest import admin_token
from tests.service.ingest.conftest import credit_codes

HEADER = "企业名称,统一社会信用代码,所在地区\n"


@pytest.fixture(scope="module")
def ingest_base(pg_url: str) -> Iterator[str]:
    os.environ["XIAOQI_IMPORT_MAX_BYTES"] = str(256 * 1024)
    app = create_app(Settings(database_url=pg_url, mode="test"))
    try:
        with running_server(app) as base:
            yield base
    finally:
        os.environ.pop("XIAOQI_IMPORT_MAX_BYTES", None)


@pytest.fixture
def api(ingest_base: str, clean_db: str) -> Iterator[httpx.Client]:
    """Imports need a province admin or bureau account."""
    with client(ingest_base) as c:
        c.headers["Authorization"] = f"Bearer {admin_token(clean_db, 'ingest_admin')}"
        yield c


def _post(
    api: httpx.Client, name: str, body: bytes, kind: str = "enterprises", **params: str
) -> httpx.Response:
    return api.post(f"/v1/imports/{kind}", files={"file": (name, body)}, params=params)


def _count(url: str) -> int:
    with psycopg.connect(url, row_factory=dict_row) as c:
        return int(c.execute("SELECT count(*) AS n FROM enterprises").fetchone()["n"])


def test_good_file_200_then_unchanged(api: httpx.Client, clean_db: str) -> None:
    a, b = credit_codes(2, seed=40)
    body = f"{HEADER}甲公司,{a},郑州市\n乙公司,{b},金水区\n".encode("gbk")
    r = _post(api, "e.csv", body)
    assert r.status_code == 200, r.text
    assert r.json()["inserted"] == 2 and r.json()["committed"] is True
    r = _post(api, "e.csv", body)
    assert r.json()["unchanged"] == 2
    with psycopg.connect(clean_db, row_factory=dict_row) as c:
        assert (
            c.execute("SELECT count(*) AS n FROM audit_log WHERE action = 'import'").fetchone()["n"]
            == 2
        )


def test_bad_row_422_with_row_and_column(api: httpx.Client, clean_db: str) -> None:
    a, b = credit_codes(2, seed=41)
    body = f"{HEADER}甲公司,{a},郑州市\n乙公司,{b[:-1]},郑州市\n".encode()
    r = _post(api, "e.csv", body)
    assert r.status_code == 422
    data = r.json()
    assert data["committed"] is False and data["rejected"] == 1
    assert data["errors"][0]["row"] == 3 and data["errors"][0]["column"] == "统一社会信用代码"
    assert _count(clean_db) == 0
    r = _post(api, "e.csv", body, skip_invalid="true")
    assert r.status_code == 200 and r.json()["inserted"] == 1
    assert _count(clean_db) == 1


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("garbage.csv", bytes(range(256)) * 40),
        ("empty.csv", b""),
        ("doc.pdf", b"%PDF-1.4 not a table"),
        ("fake.xlsx", b"PK\x03\x04 definitely not a zip"),
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100),
        ("lines.jsonl", b'{"name": 1}\n[1,2]\nnot json\n'),
        ("huge-cell.csv", HEADER.encode() + b'"' + b"x" * 200_000 + b'",1,2\n'),
        ("headers-only.csv", HEADER.encode()),
    ],
)
def test_garbage_is_422_not_500(api: httpx.Client, clean_db: str, name: str, body: bytes) -> None:
    r = _post(api, name, body)
    assert r.status_code == 422, r.text
    assert r.json()["errors"] or r.json()["detail"]


def test_unknown_kind_missing_file_and_too_large(api: httpx.Client) -> None:
    assert api.post("/v1/imports/aliens", files={"file": ("a.csv", b"x")}).status_code == 422
    assert api.post("/v1/imports/enterprises", data={"x": "1"}).status_code == 422
    assert (
        api.post(
            "/v1/imports/enterprises", content=b"{}", headers={"content-type": "application/json"}
        ).status_code
        == 422
    )
    r = _post(api, "big.csv", HEADER.encode() + b"a,b,c\n" * 60_000)
    assert r.status_code == 413
