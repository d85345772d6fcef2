"""GET /health: 200 only when the database answers and the recommendation engine is serving.

Load balancers read the status code: 503 with `"status": "degraded"` and the reasons whenever
either part is not fully serving (database unreachable or pool exhausted, engine loading or
failed), so traffic can go elsewhere until it recovers. An engine that serves while a cold
build's dense vectors are still being encoded reports ``"engine": "partial"`` (answers are
keyword results plus the vectors that are ready; 200, since it serves) and its coverage under
``engine_detail.dense``; full coverage turns it ``ready``.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from service.errors import RETRY_AFTER_S

router = APIRouter(tags=["meta"])
HEALTH_DB_TIMEOUT_S = 2.0


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    database: Literal["ok", "unavailable"]
    engine: Literal["ready", "partial", "loading", "failed"]
    reasons: list[str] = Field(default_factory=list, description="为何不是 ok（中文）")
    pool: dict[str, int] = Field(default_factory=dict, description="连接池计数")
    notices: list[str] = Field(default_factory=list, description="仍在服务但需知晓的情况（中文）")
    engine_detail: dict[str, Any] = Field(
        default_factory=dict, description="推荐引擎：稠密向量覆盖率、索引、增量、修复"
    )


def check(request: Request) -> Health:
    from service.recommendations.router import engine_detail, engine_status

    app = request.app
    reasons: list[str] = []
    database: Literal["ok", "unavailable"] = "ok"
    pool = app.state.pool
    try:
        with pool.connection(timeout=HEALTH_DB_TIMEOUT_S) as conn:
            conn.execute("SELECT 1").fetchone()
    except Exception as exc:  # unreachable, restarting or every connection busy
        database = "unavailable"
        reasons.append(f"数据库不可用：{type(exc).__name__}: {str(exc)[:200]}")
    engine = engine_status(app)
    notices: list[str] = []
    detail = engine_detail(app) if engine in ("ready", "partial") else {}
    if engine == "partial":
        coverage = detail.get("dense", {}).get("coverage", {})
        shares = "，".join(f"{k} {v:.0%}" for k, v in coverage.items())
        notices.append(f"稠密向量仍在编码（{shares}）：暂以关键词结果和已就绪的向量作答")
    if engine == "loading":
        reasons.append("推荐引擎正在加载索引")
    elif engine == "failed":
        error = getattr(app.state, "engine_error", None) or ""
        reasons.append(f"推荐引擎加载失败：{error[:300]}")
    stats = pool.get_stats()
    counts = {k: int(stats.get(k, 0)) for k in ("pool_size", "pool_available", "requests_waiting")}
    return Health(
        status="degraded" if reasons else "ok",
        database=database,
        engine=engine,  # type: ignore[arg-type]
        reasons=reasons,
        pool=counts,
        notices=notices,
        engine_detail=detail,
    )


@router.get(
    "/health",
    response_model=Health,
    responses={503: {"model": Health, "description": "degraded：数据库或推荐引擎未完全可用"}},
)
def health(request: Request) -> JSONResponse:
    """Liveness and readiness: 200 `ok`, or 503 `degraded` with the reasons."""
    result = check(request)
    if result.status == "ok":
        return JSONResponse(result.model_dump())
    return JSONResponse(
        result.model_dump(), status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)}
    )
