"""Domain errors carry their HTTP status; one handler renders them."""

from __future__ import annotations

from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse


class DomainError(Exception):
    status_code = 400
    code = "bad_request"

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


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        from service.validation import as_invalid_input

        mapped = as_invalid_input(exc)
        return JSONResponse(mapped.body(), status_code=mapped.status_code)

    @app.exception_handler(psycopg.Error)
    async def _db(_: Request, exc: psycopg.Error) -> JSONResponse:
        mapped = from_db_error(exc)
        if mapped is None:
            raise exc
        return JSONResponse(mapped.body(), status_code=mapped.status_code)
