"""Generated bad input (schemathesis) against the live app's OpenAPI document, over real HTTP.

Two passes, anonymous and as a province admin, positive and negative cases for every operation,
bounded in examples and in wall time so it stays a few minutes on 2 cores:
- 0 server errors (5xx) and 0 response-schema violations (the error shape is documented);
- anonymous writes are always refused (a 4xx, never a 2xx/3xx).
Cases are derandomised (the same every run); failures are collected, reported all at once.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from service.config import Settings
from service.main import create_app
from tests.fixtures.server import running_server, wait_engine_ready
from tests.service.conftest import admin_token
from tests.service.recommendations import world

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# Not refusals by design: login is how an anonymous caller gets in (random credentials are
# still refused; it stays in the check), logout of nobody is a no-op.
ANONYMOUS_MAY = {"POST /v1/auth/logout"}
# Would revoke the admin's own token or session mid-run (not a schema question).
ADMIN_SKIPS = {"POST /v1/auth/logout", "DELETE /v1/auth/tokens/{token_id}"}
EXAMPLES = {"anonymous": 6, "admin": 12}  # per operation and generation mode
BUDGET_S = {"anonymous": 75.0, "admin": 120.0}  # wall time per pass; the rest is skipped, said


@pytest.fixture(scope="module")
def fuzz_base(pg_url: str) -> Iterator[str]:
    from tests.conftest import truncate_all

    truncate_all(pg_url)
    world.build(pg_url)  # some real rows, so ids and lookups hit something
    app = create_app(Settings(database_url=pg_url, mode="test", anon_search_burst=10_000))
    with running_server(app) as base:
        wait_engine_ready(base)
        yield base


def _fuzz(
    op: Any,
    label: str,
    mode: GenerationMode,
    base: str,
    who: str,
    headers: dict[str, str],
    failures: list[str],
    statuses: Counter[str],
) -> None:
    method = label.split()[0]
    must_refuse = who == "anonymous" and method in WRITE_METHODS and label not in ANONYMOUS_MAY

    @given(case=op.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES[who],
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: failures are collected
        suppress_health_check=list(HealthCheck),
    )
    def one(case: Any) -> None:
        response = case.call(base_url=base, headers=headers, timeout=60)
        statuses[f"{label} {response.status_code}"] += 1
        try:
            case.validate_response(
                response, checks=[not_a_server_error, response_schema_conformance]
            )
        except Exception as exc:  # a Failure, or a group of them
            text = str(exc) + "".join(f"\n{e}" for e in getattr(exc, "exceptions", ()))
            failures.append(f"[{who}] {label} → {response.status_code}: {text}"[:1500])
        if must_refuse and not 400 <= response.status_code < 500:
            failures.append(
                f"[anonymous] {label} was not refused: {response.status_code} {response.text[:200]}"
            )

    # Unsatisfiable: nothing to make invalid (no parameters, no body); the positive pass covers it
    with contextlib.suppress(Unsatisfiable):
        one()


def _run(base: str, who: str, headers: dict[str, str]) -> tuple[list[str], Counter[str]]:
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    failures: list[str] = []
    statuses: Counter[str] = Counter()
    started = time.monotonic()
    skipped = 0
    for result in schema.get_all_operations():
        op = result.ok()
        label = f"{op.method.upper()} {op.path}"
        if who == "admin" and label in ADMIN_SKIPS:
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            if time.monotonic() - started > BUDGET_S[who]:
                skipped += 1
                continue

            _fuzz(op, label, mode, base, who, headers, failures, statuses)
    if skipped:
        print(f"{who}: time budget reached, {skipped} operation/mode pairs not run")
    return failures, statuses


@pytest.mark.parametrize("who", ["anonymous", "admin"])
def test_generated_requests(fuzz_base: str, pg_url: str, who: str) -> None:
    headers = {}
    if who == "admin":
        headers["Authorization"] = f"Bearer {admin_token(pg_url, 'fuzz_admin')}"
    failures, statuses = _run(fuzz_base, who, headers)
    total = sum(statuses.values())
    by_status: Counter[str] = Counter()
    for key, n in statuses.items():
        by_status[key.rsplit(" ", 1)[1]] += n
    print(f"{who}: {total} generated requests, by status {dict(sorted(by_status.items()))}")
    assert total > 300, "too few cases ran to mean anything"
    assert not failures, f"{len(failures)} failures:\n" + "\n\n".join(failures[:30])


def test_openapi_documents_the_real_error_shape(fuzz_base: str) -> None:
    spec = httpx.get(f"{fuzz_base}/openapi.json").json()
    assert "HTTPValidationError" not in str(spec)
    body = spec["components"]["schemas"]["ErrorBody"]
    assert set(body["required"]) == {"error", "detail"} and "errors" in body["properties"]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            declared = operation["responses"]
            assert "4XX" in declared or "422" in declared, f"{method} {path}"
    # framework errors (unknown path, wrong method) answer in that shape too
    missing = httpx.get(f"{fuzz_base}/v1/no-such-thing")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    wrong = httpx.put(f"{fuzz_base}/health")
    assert wrong.status_code == 405 and set(wrong.json()) == {"error", "detail"}
