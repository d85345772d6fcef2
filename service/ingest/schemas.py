"""The import report: what happened to every row of a file (also the HTTP response body)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class RowErrorOut(BaseModel):
    row: int | None = Field(description="行号：CSV/XLSX 中表头所在行计为实际行号，JSONL 为行号")
    column: str | None = Field(description="文件中书写的列名")
    value: str | None = None
    reason: str = Field(description="中文原因")
    code: str = Field(description="machine code, e.g. required, credit_code, reference, duplicate")


class Notice(BaseModel):
    row: int | None
    message: str = Field(description="中文说明：跳过的注释/合计行、空行，按哪种类型读取等")


class RowOutcome(BaseModel):
    """What an import does (or, in a preview, would do) with one record of one row."""

    row: int
    action: str = Field(description="insert / update / unchanged / rejected")
    table: str | None = None
    key: str | None = Field(default=None, description="记录的关键字段（按文件中的写法）")


class TargetCounts(BaseModel):
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0


class ImportReport(BaseModel):
    kind: str
    filename: str
    format: str | None = None
    encoding: str | None = None
    sheet: str | None = None
    header_row: int | None = None
    total: int = Field(default=0, description="数据行数（不含表头、标题行和空行）")
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = Field(default=0, description="被拒绝的行数")
    errors: list[RowErrorOut] = Field(default_factory=list)
    errors_truncated: bool = False
    ignored_columns: list[str] = Field(default_factory=list, description="未识别、已忽略的列")
    tables: dict[str, TargetCounts] = Field(default_factory=dict)
    committed: bool = False
    seconds: float = 0.0
    detected_kind: str | None = Field(
        default=None, description="未指定类型或类型不符时，按表头识别出的类型"
    )
    notices: list[Notice] = Field(default_factory=list)
    dry_run: bool = Field(default=False, description="预览：报告将发生什么，不写入任何数据")
    rows: list[RowOutcome] = Field(
        default_factory=list, description="预览时逐行的结果（insert/update/unchanged/rejected）"
    )
    rows_truncated: bool = False
    file_sha256: str | None = None
    preview_token: str | None = Field(
        default=None, description="预览令牌：带同一文件提交即写入预览的内容"
    )

    def summary(self) -> dict[str, Any]:
        """Counts only (for the audit log)."""
        return self.model_dump(
            include={
                "kind",
                "filename",
                "format",
                "total",
                "inserted",
                "updated",
                "unchanged",
                "rejected",
                "tables",
            }
        )
