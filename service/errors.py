"""Domain errors carry their HTTP status; one handler renders them.

Every error answer has one shape, `{"error", "detail", "errors": [...]}` (ErrorBody, also what
the OpenAPI document declares). The database being unreachable, the pool exhausted or a
statement cancelled by its timeout are the service's own trouble, not the client's: 503 / 504
with Retry-After, never a 500 (see docs/notes/issue-14.md).
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout, TooManyRequests
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

# Seconds a client is told to wait before retrying a 503 / 504 / 429 (Retry-After).
RETRY_AFTER_S = 5


class ErrorItem(BaseModel):
    """One reason, e.g. a malformed import row: row (None = the whole request) and column."""

    row: int | None = None
    column: str | None = None
    reason: str = ""
    model_config = {"extra": "allow"}


class ErrorBody(BaseModel):
    """The body of every error answer."""

    error: str = Field(description="机器可读的错误代码，例如 invalid_input、not_found")
    detail: str = Field(description="给人看的说明（中文）")
    errors: list[ErrorItem] = Field(default_factory=list, description="逐项的原因（没有时省略）")


class DomainError(Exception):
    status_code = 400
    code = "bad_request"
    retry_after: int | None = None  # seconds, sent as Retry-After (429/503/504 default 5)

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.code, "detail": self.detail}
        if self.errors:
            body["errors"] = self.errors
        return body


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class InvalidInput(DomainError):
    status_code = 422
    code = "invalid_input"


class Unauthorized(DomainError):
    status_code = 401
    code = "unauthorized"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class PayloadTooLarge(DomainError):
    status_code = 413
    code = "payload_too_large"


class TooManyRequestsError(DomainError):
    status_code = 429
    code = "rate_limited"


class ServiceUnavailable(DomainError):
    """The database (or another backend) cannot serve now; the client may retry."""

    status_code = 503
    code = "service_unavailable"


class GatewayTimeout(DomainError):
    """A statement ran past statement_timeout and was cancelled."""

    status_code = 504
    code = "timeout"


def from_infrastructure_error(exc: Exception) -> DomainError | None:
    """Pool exhausted, database unreachable or restarting, statement timeout → 503 / 504."""
    if isinstance(exc, PoolTimeout | TooManyRequests):
        return ServiceUnavailable("数据库繁忙或暂不可用，请稍后重试 (database_unavailable)")
    if isinstance(exc, psycopg.errors.QueryCanceled):
        return GatewayTimeout("数据库查询超时，请稍后重试或缩小查询范围 (statement_timeout)")
    if isinstance(exc, psycopg.errors.LockNotAvailable):
        return ServiceUnavailable("数据正被其他操作占用，请稍后重试 (lock_timeout)")
    if isinstance(exc, psycopg.errors.TransactionRollback):  # deadlock, serialization failure
        return ServiceUnavailable("并发冲突，请重试 (transaction_rollback)")
    if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
        # connection refused / lost, server shutting down or starting, connection closed
        return ServiceUnavailable("数据库暂不可用，请稍后重试 (database_unavailable)")
    return None


def from_db_error(exc: psycopg.Error) -> DomainError | None:
    """Constraint violations caused by the client's data become 409/422, not 500."""
    diag = exc.diag
    what = diag.message_primary or str(exc)
    detail = f"{what}" + (f" ({diag.message_detail})" if diag.message_detail else "")
    if isinstance(exc, psycopg.errors.UniqueViolation | psycopg.errors.ExclusionViolation):
        return Conflict(detail)
    if isinstance(
        exc,
        psycopg.errors.ForeignKeyViolation
        | psycopg.errors.CheckViolation
        | psycopg.errors.NotNullViolation
        | psycopg.errors.InvalidTextRepresentation
        | psycopg.errors.NumericValueOutOfRange
        | psycopg.errors.StringDataRightTruncation
        | psycopg.errors.InvalidDatetimeFormat
        | psycopg.errors.DatetimeFieldOverflow
        | psycopg.errors.CharacterNotInRepertoire
        | psycopg.errors.UntranslatableCharacter
        | psycopg.errors.ProgramLimitExceeded,
    ):
        if isinstance(exc, psycopg.errors.ForeignKeyViolation) and "still referenced" in detail:
            return Conflict(detail)
        return InvalidInput(detail)
    if isinstance(exc, psycopg.DataError):  # e.g. a NUL byte in a text value
        return InvalidInput(f"无效的数据：{what}")
    return None


def render(exc: DomainError) -> JSONResponse:
    headers = None
    if exc.retry_after is not None or exc.status_code in (429, 503, 504):
        headers = {"Retry-After": str(exc.retry_after or RETRY_AFTER_S)}
    return JSONResponse(exc.body(), status_code=exc.status_code, headers=headers)


# Framework-raised HTTP errors (unparsable body, unknown path, wrong method) in the same shape.
_HTTP_CODES: dict[int, tuple[str, str]] = {
    400: ("bad_request", "请求无法解析（请检查请求体的格式与编码）"),
    401: ("unauthorized", "请先登录"),
    403: ("forbidden", "无权执行此操作"),
    404: ("not_found", "请求的地址不存在"),
    405: ("method_not_allowed", "此地址不支持该请求方法"),
    406: ("not_acceptable", "无法提供所要求的内容类型"),
    413: ("payload_too_large", "请求体过大"),
    415: ("unsupported_media_type", "不支持的内容类型"),
}


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code, detail = _HTTP_CODES.get(exc.status_code, ("http_error", "请求未能处理"))
        if isinstance(exc.detail, str) and exc.detail and not exc.detail.isascii():
            detail = exc.detail  # a message already written for users (Chinese)
        return JSONResponse(
            {"error": code, "detail": detail},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        return render(exc)

    @app.exception_handler(PoolTimeout)
    async def _pool(_: Request, exc: PoolTimeout) -> JSONResponse:
        log.warning("database pool: %s", exc)
        mapped = from_infrastructure_error(exc)
        assert mapped is not None
        return render(mapped)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # A bug: the usual JSON body, never a plain-text page. Starlette logs the traceback.
        mapped = from_infrastructure_error(exc)
        if mapped is not None:
            return render(mapped)
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse(
            {"error": "internal_error", "detail": "服务器内部错误，请稍后重试"},
            status_code=500,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        from service.validation import as_invalid_input

        mapped = as_invalid_input(exc)
        return JSONResponse(mapped.body(), status_code=mapped.status_code)

    @app.exception_handler(psycopg.Error)
    async def _db(_: Request, exc: psycopg.Error) -> JSONResponse:
        mapped = from_db_error(exc) or from_infrastructure_error(exc)
        if mapped is None:
            log.error("database error", exc_info=exc)
            mapped = ServiceUnavailable(f"数据库错误，请稍后重试 ({type(exc).__name__})")
        elif mapped.status_code >= 500:
            log.warning("database: %s: %s", type(exc).__name__, exc)
        return render(mapped)


# Declared on the app for every operation (service/main.py): 4xx and 5xx answers are ErrorBody.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": ErrorBody, "description": "请求有误、未登录、无权限、不存在或冲突"},
    "5XX": {
        "model": ErrorBody,
        "description": "服务暂不可用（503，数据库不可用或繁忙；504，查询超时），带 Retry-After",
    },
}
