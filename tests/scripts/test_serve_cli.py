"""`xiaoqi serve`: the worker health-check timeout reaches the preforking supervisor (uvicorn's
own 5 s killed CPU-starved workers under load; docs/notes/issue-14-load.md, finding 2); one
worker is plain uvicorn. The supervisor itself, as real processes: tests/service/test_workers.py."""

from __future__ import annotations

import importlib
import os
from typing import Any

import pytest
import uvicorn
from typer.testing import CliRunner

import service.workers
from scripts.cli import app
from service.config import get_settings


class _Built(Exception):
    """Raised once uvicorn has built its Config, so nothing binds or serves."""


def _configs(monkeypatch: pytest.MonkeyPatch) -> list[uvicorn.Config]:
    built: list[uvicorn.Config] = []

    class Recording(uvicorn.Config):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            built.append(self)
            raise _Built

    # the module itself: the package's `uvicorn.main` attribute is the click command
    monkeypatch.setattr(importlib.import_module("uvicorn.main"), "Config", Recording)
    return built


def _supervised(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """What `serve --workers N` hands the preforking supervisor, recorded instead of served."""
    calls: list[dict[str, Any]] = []

    def record(factory: Any, host: str, port: int, workers: int, healthcheck_s: float) -> int:
        calls.append({"workers": workers, "healthcheck_s": healthcheck_s, "port": port})
        return 0

    monkeypatch.setattr(service.workers, "serve", record)
    return calls


@pytest.mark.parametrize(
    ("env", "args", "expected"),
    [
        (None, [], 30),  # the setting's default, not uvicorn's 5
        ("45", [], 45),  # XIAOQI_WORKER_HEALTHCHECK_S
        ("45", ["--worker-healthcheck-s", "90"], 90),  # the option wins
    ],
)
def test_worker_healthcheck_reaches_the_supervisor(
    monkeypatch: pytest.MonkeyPatch, env: str | None, args: list[str], expected: int
) -> None:
    if env is None:
        monkeypatch.delenv("XIAOQI_WORKER_HEALTHCHECK_S", raising=False)
    else:
        monkeypatch.setenv("XIAOQI_WORKER_HEALTHCHECK_S", env)
    get_settings.cache_clear()
    calls = _supervised(monkeypatch)
    try:
        result = CliRunner().invoke(app, ["serve", "--workers", "2", "--port", "0", *args])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert calls == [{"workers": 2, "healthcheck_s": expected, "port": 0}]


def test_worker_healthcheck_setting_is_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XIAOQI_WORKER_HEALTHCHECK_S", "0")
    get_settings.cache_clear()
    try:
        with pytest.raises(ValueError, match="worker_healthcheck_s"):
            get_settings()
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.parametrize(("env", "expected"), [(None, "2"), ("4", "4")])
def test_serve_limits_malloc_arenas_for_its_workers(
    monkeypatch: pytest.MonkeyPatch, env: str | None, expected: str, workers: str
) -> None:
    """Workers inherit MALLOC_ARENA_MAX=2 (resident memory drift in the soak); a set value wins."""
    if env is None:
        monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    else:
        monkeypatch.setenv("MALLOC_ARENA_MAX", env)
    built, calls = _configs(monkeypatch), _supervised(monkeypatch)
    result = CliRunner().invoke(app, ["serve", "--workers", workers, "--port", "0"])
    if workers == "1":  # plain uvicorn, no supervisor
        assert isinstance(result.exception, _Built), result.output
        assert len(built) == 1 and not calls
    else:
        assert result.exit_code == 0 and len(calls) == 1 and not built, result.output
    assert os.environ.get("MALLOC_ARENA_MAX") == expected
