"""Settings from environment variables (prefix XIAOQI_), validated once at start."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="XIAOQI_", env_file=".env", extra="ignore")

    # Unset: xiaoqi runs its own embedded PostgreSQL in `pgdata_dir` (see service/embedded_pg.py).
    database_url: str | None = None
    var_dir: Path = REPO_ROOT / "var"
    pgdata_dir: Path | None = None
    index_dir: Path | None = None

    # demo: `xiaoqi demo` may create the public demo accounts; production/test: it may not.
    # Sessions and API tokens are random secrets stored hashed, so no signing key is configured.
    mode: Literal["demo", "production", "test"] = "production"

    encoder: str | None = None  # sentence-transformers name/path; None = offline default
    pool_min_size: int = Field(default=2, ge=1)
    pool_max_size: int = Field(default=10, ge=1)
    statement_timeout_ms: int = Field(default=30_000, ge=100)
    # Failure answers (issue 14): a request waits at most pool_timeout_s for a connection, then
    # 503 (twice that when it also carries credentials), so a stopped database is answered in
    # seconds; a dead pooled connection is replaced, retried every second or so for
    # pool_reconnect_timeout_s, then again on the next request, so service resumes promptly.
    pool_timeout_s: float = Field(default=2.0, gt=0)
    connect_timeout_s: int = Field(default=3, ge=1)
    pool_reconnect_timeout_s: float = Field(default=10.0, gt=0)
    # A client that vanishes mid-transaction cannot hold locks for longer than this.
    idle_in_transaction_timeout_ms: int = Field(default=60_000, ge=1000)
    # Anonymous /v1/search and /network per client address (token bucket: per minute, burst).
    anon_search_per_minute: int = Field(default=120, ge=1)
    anon_search_burst: int = Field(default=30, ge=1)

    # Policy quotas (seed 004): each leading industry 5–10 schools, each school 2–3 industries.
    quota_industries_per_school: int = Field(default=3, ge=1)
    quota_schools_per_industry: int = Field(default=10, ge=1)
    # How long a recommendation request waits for an engine that is still loading, then 503.
    engine_wait_s: float = Field(default=120.0, ge=0)
    exposure_cap: int = Field(default=3, ge=1)  # an enterprise at most N times per bureau batch
    import_max_bytes: int = Field(default=200 << 20, ge=1)  # upload limit of POST /v1/imports
    # Reader budgets for every import (API, CLI, web), checked before data expands in memory:
    # uncompressed bytes (an XLSX's zip members together), rows, columns, characters per cell.
    import_max_expanded_bytes: int = Field(default=200 << 20, ge=1)
    import_max_rows: int = Field(default=1_000_000, ge=1)
    import_max_columns: int = Field(default=200, ge=1)
    import_max_cell_chars: int = Field(default=128 << 10, ge=1)

    # BLAS / FAISS threads per server process: a request is one thread's work, and extra
    # threads only spin-wait and compete with the other workers (run one worker per core).
    compute_threads: int = Field(default=1, ge=1)
    # `xiaoqi serve --workers N`: uvicorn's supervisor kills a worker that misses its ping for
    # this long (uvicorn's own 5 s killed CPU-starved workers under load, and each replacement
    # reloads its engine for minutes: the soak at 100k, docs/notes/issue-14-load.md).
    worker_healthcheck_s: int = Field(default=30, ge=1)
    # A cold start serves keyword + ready-vector results while the background encodes any part
    # with at least this many texts to encode (0: encode everything before serving). Low, so
    # that the time to serving waits on no encoding job of more than a few seconds (issue 11).
    defer_encoding_from: int = Field(default=500, ge=0)

    @property
    def pgdata(self) -> Path:
        return self.pgdata_dir or self.var_dir / "pgdata"

    @property
    def indexes(self) -> Path:
        return self.index_dir or self.var_dir / "indexes"


@lru_cache
def get_settings() -> Settings:
    return Settings()
