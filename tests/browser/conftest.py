"""The web UI under test: the real app on loopback over the small recommendation world, one
account per role, and (for the browser tests) Debian's headless Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from service.config import Settings
from service.main import create_app
from tests.conftest import truncate_all
from tests.fixtures.server import running_server
from tests.service.auth.helpers import PASSWORD, make_user
from tests.service.recommendations.world import World, build

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
USERS = {  # username → (role, region)
    "admin": ("province_admin", None),
    "reviewer_zz": ("reviewer", "410100"),
    "bureau_zz": ("bureau", "410100"),
    "school_s1": ("school", None),
    "ent_e8": ("enterprise", None),
}


@dataclass
class Site:
    base: str
    url: str  # the database
    world: World
    users: dict[str, int] = field(default_factory=dict)
    password: str = PASSWORD


@pytest.fixture(scope="module")
def site(pg_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    truncate_all(pg_url)
    world = build(pg_url)
    users = {}
    for name, (role, region) in USERS.items():
        users[name] = make_user(
            pg_url,
            name,
            role,
            region=region,
            school_id=world["S1"] if role == "school" else None,
            enterprise_id=world["E8"] if role == "enterprise" else None,
        )
    settings = Settings(database_url=pg_url, mode="test", var_dir=tmp_path_factory.mktemp("var"))
    with running_server(create_app(settings)) as base:
        yield Site(base, pg_url, world, users)
    truncate_all(pg_url)


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    path = chromium_path()
    if path is None:
        if os.environ.get("XIAOQI_REQUIRE_BROWSER") == "1":
            pytest.fail("chromium is required (XIAOQI_REQUIRE_BROWSER=1) but not installed")
        pytest.skip("chromium not installed (apt-get install chromium fonts-noto-cjk)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()
