"""Tests that commit through `clean_db` leave the database empty for the next module's
rolled-back `conn` tests (which assume no committed parks or schools)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import truncate_all


@pytest.fixture(scope="module", autouse=True)
def _start_clean(module_starts_empty: None) -> None:
    """Start each module empty whatever an earlier file on this worker committed."""


@pytest.fixture(autouse=True)
def _leave_clean(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "clean_db" in request.fixturenames:
        truncate_all(request.getfixturevalue("pg_url"))
