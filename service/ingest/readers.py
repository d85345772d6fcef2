"""Streaming readers for CSV (UTF-8 / UTF-8 BOM / UTF-16 / GBK-GB18030), XLSX and JSON Lines.

A reader yields ``(row_number, cells)`` where the row number is what the user sees: the line in
a CSV (the first line is 1), the sheet row in XLSX, the line in JSON Lines. Title rows above the
header (填报单位：…) are skipped by looking for the first row that names known columns.
Nothing reads the whole file into memory, except a top-level JSON array (bounded by size).
Every format streams under the same `Limits` (bytes, rows, columns, characters per cell), each
checked as the data arrives, before anything is held: see xlsx.py for workbooks.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

from service.ingest.read_json import open_jsonl
from service.ingest.read_text import byte_size, detect_encoding, open_csv
from service.ingest.read_xlsx import open_xlsx
from service.ingest.tables import (
    CSV_EXTS,
    DETECT_BYTES,
    JSONL_EXTS,
    XLSX_EXTS,
    BadRow,
    Cells,
    FileProblem,
    Table,
    settings_limits,
)
from service.ingest.xlsx import Limits

__all__ = [
    "DETECT_BYTES",
    "BadRow",
    "Cells",
    "FileProblem",
    "Table",
    "detect_encoding",
    "open_table",
    "seekable",
    "settings_limits",
]


def open_table(
    raw: IO[bytes],
    filename: str,
    is_header: Callable[[Cells], bool],
    *,
    sheet: str | None = None,
    limits: Limits | None = None,
) -> Table:
    """Sniff the format (content first, then the extension) and position on the header row.
    `raw` must be seekable (see `seekable`); the caller closes it. `limits`: the settings'
    (XIAOQI_IMPORT_MAX_*) unless given."""
    if limits is None:
        limits = settings_limits()
    head = raw.read(8)
    raw.seek(0)
    if not head:
        raise FileProblem("文件为空", "empty_file")
    ext = Path(filename or "").suffix.lower()
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileProblem(
            "不支持旧版 Excel（.xls）文件，请另存为 .xlsx 后再导入", "xls_unsupported"
        )
    if head.startswith(b"PK\x03\x04") and ext not in CSV_EXTS | JSONL_EXTS:
        return open_xlsx(raw, is_header, sheet, limits)
    if ext in XLSX_EXTS:
        raise FileProblem("文件不是有效的 XLSX 工作簿", "bad_xlsx")
    size = byte_size(raw)
    if size is not None and size > limits.max_bytes:
        raise FileProblem(
            f"文件大小 {size / (1 << 20):.0f} MB 超过上限 {limits.max_bytes / (1 << 20):.0f} MB",
            "too_large",
        )
    if ext in CSV_EXTS:
        return open_csv(raw, is_header, limits)
    if ext in JSONL_EXTS:
        return open_jsonl(raw, limits)
    shown = ext or "（无扩展名）"
    raise FileProblem(
        f"不支持的文件类型 {shown}，支持 .csv .tsv .txt .xlsx .jsonl", "unsupported_type"
    )


def seekable(source: IO[bytes]) -> IO[bytes]:
    """The stream itself, or a spooled copy when it cannot seek (encoding detection rewinds)."""
    if source.seekable():
        return source
    spool = tempfile.SpooledTemporaryFile(max_size=16 << 20)  # noqa: SIM115 (closed by caller)
    shutil.copyfileobj(source, spool)
    spool.seek(0)
    return spool
