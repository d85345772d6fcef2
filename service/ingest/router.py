"""POST /v1/imports/{kind}: upload a file (multipart field `file`), get the import report.

200 with the report when committed; 422 with the same report (row-level `errors`) when nothing
was written; 413 when the upload exceeds the size limit (XIAOQI_IMPORT_MAX_BYTES, default
200 MB), checked from Content-Length before the body is read and again after it is spooled.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from service.auth.deps import require_user
from service.deps import Conn
from service.errors import Forbidden, InvalidInput, PayloadTooLarge
from service.ingest.schemas import ImportReport
from service.ingest.service import KINDS, import_file

DEFAULT_MAX_UPLOAD = 200 << 20

router = APIRouter(prefix="/v1/imports", tags=["imports"])
ImportKind = Enum("ImportKind", {name.replace("-", "_"): name for name in KINDS}, type=str)  # type: ignore[misc]


class ImportForbidden(Forbidden):
    """403: rows outside the importer's scope (nothing written; the report lists them)."""

    def __init__(self, report: ImportReport) -> None:
        errors = [e.model_dump() for e in report.errors]
        super().__init__("文件中有超出您权限范围的行，未写入任何数据", errors=errors)
        self.report = report

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "detail": self.detail, **self.report.model_dump(mode="json")}


class ImportRejected(InvalidInput):
    """422 whose body is the whole report (counts, every rejected row)."""

    def __init__(self, report: ImportReport) -> None:
        errors = [e.model_dump() for e in report.errors]
        super().__init__("文件有错误，未写入任何数据", errors=errors)
        self.report = report

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "detail": self.detail, **self.report.model_dump(mode="json")}


def max_upload_bytes(request: Request) -> int:
    settings = getattr(request.app.state, "settings", None)
    return int(getattr(settings, "import_max_bytes", DEFAULT_MAX_UPLOAD))


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"上传文件过大（上限 {limit / (1 << 20):.0f} MB）")


async def uploaded_file(request: Request) -> AsyncIterator[UploadFile]:
    limit = max_upload_bytes(request)
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise _too_large(limit)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise InvalidInput(
            "请以 multipart/form-data 上传，文件字段名为 file",
            errors=[{"row": None, "column": "file", "reason": "缺少上传文件"}],
        )
    try:
        form = await request.form(max_files=1, max_fields=20)
    except HTTPException as exc:  # malformed multipart body
        raise InvalidInput(f"上传内容无法解析：{exc.detail}") from exc
    try:
        file = form.get("file")
        if not isinstance(file, UploadFile):
            raise InvalidInput(
                "缺少文件字段 file",
                errors=[{"row": None, "column": "file", "reason": "缺少上传文件"}],
            )
        if file.size is not None and file.size > limit:
            raise _too_large(limit)
        yield file
    finally:
        await form.close()


_MULTIPART = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "CSV（UTF-8/GBK）、XLSX 或 JSON Lines 文件",
                        }
                    },
                }
            }
        },
    }
}


_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "未登录"},
    403: {"description": "角色无权导入，或文件中有超出权限范围的行（未写入，报告列出这些行）"},
    413: {"description": "文件过大"},
    422: {"description": "文件有错误，未写入"},
}
DryRun = Annotated[
    bool,
    Query(description="预览：返回逐行报告（新增/更新/未变/拒绝），不写入任何数据"),
]


@router.post(
    "",
    response_model=ImportReport,
    summary="导入文件，按表头自动识别类型（报告的 kind / detected_kind 说明按哪种类型读取）",
    responses=_RESPONSES,
    openapi_extra=_MULTIPART,
    dependencies=[Depends(require_user)],
)
def import_detected(
    upload: Annotated[UploadFile, Depends(uploaded_file)],
    conn: Conn,
    request: Request,
    skip_invalid: Annotated[bool, Query(description="跳过错误行，只写入有效行")] = False,
    sheet: Annotated[str | None, Query(max_length=100, description="XLSX 工作表名")] = None,
    dry_run: DryRun = False,
) -> ImportReport:
    return _import(upload, conn, request, None, skip_invalid, sheet, dry_run)


@router.post(
    "/{kind}",
    response_model=ImportReport,
    summary="导入学校、专业、企业、需求、导师、实践基地、园区、结对关系或结对包联汇总表",
    responses={
        401: {"description": "未登录"},
        403: {"description": "角色无权导入，或文件中有超出权限范围的行（未写入，报告列出这些行）"},
        413: {"description": "文件过大"},
        422: {"description": "文件有错误，未写入"},
    },
    openapi_extra=_MULTIPART,
    # the account check runs before the upload is read; which rows it may write is the access
    # policy's call, row by row (service.auth.import_access)
    dependencies=[Depends(require_user)],
)
def import_upload(
    kind: ImportKind,
    upload: Annotated[UploadFile, Depends(uploaded_file)],
    conn: Conn,
    request: Request,
    skip_invalid: Annotated[bool, Query(description="跳过错误行，只写入有效行")] = False,
    sheet: Annotated[str | None, Query(max_length=100, description="XLSX 工作表名")] = None,
    dry_run: DryRun = False,
) -> ImportReport:
    return _import(upload, conn, request, kind.value, skip_invalid, sheet, dry_run)


def _import(
    upload: UploadFile,
    conn: Any,
    request: Request,
    kind: str | None,
    skip_invalid: bool,
    sheet: str | None,
    dry_run: bool,
) -> ImportReport:
    user = getattr(request.state, "user", None)
    report = import_file(
        conn,
        upload.file,
        upload.filename or "upload",
        kind,
        skip_invalid=skip_invalid,
        sheet=sheet,
        actor_id=getattr(user, "id", None),
        actor=user,
        dry_run=dry_run,
    )
    if dry_run and report.total > 0 and not any(e.code == "forbidden" for e in report.errors):
        return report  # a preview answers with its report, rejected rows included
    if not report.committed and any(e.code == "forbidden" for e in report.errors):
        raise ImportForbidden(report)
    if not report.committed:
        raise ImportRejected(report)
    return report
