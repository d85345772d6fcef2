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
