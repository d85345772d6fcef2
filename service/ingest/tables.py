"""What every import reader shares: the table it yields, the file-level problem, the limits
and constants, and the header / note / shape helpers (readers.py picks the reader)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from service.ingest.xlsx import Limits

HEADER_SCAN_ROWS = 30
DETECT_BYTES = 1 << 20
JSON_ARRAY_MAX_BYTES = 50 << 20
JSONL_KEY_SCAN = 1000  # objects read ahead to collect the column names
CSV_EXTS = {".csv", ".tsv", ".txt"}
XLSX_EXTS = {".xlsx", ".xlsm"}
JSONL_EXTS = {".jsonl", ".ndjson", ".json"}
DEFAULT_LIMITS = Limits()


def settings_limits() -> Limits:
    from service.config import get_settings

    settings = get_settings()
    return Limits(
        max_bytes=settings.import_max_expanded_bytes,
        max_rows=settings.import_max_rows,
        max_columns=settings.import_max_columns,
        max_cell_chars=settings.import_max_cell_chars,
    )


class FileProblem(Exception):
    """The file as a whole cannot be read: one error, the whole file is rejected."""

    def __init__(self, reason: str, code: str, *, row: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.row = row


@dataclass(frozen=True)
class BadRow:
    """A row the reader could not parse (JSON Lines): reported as a row error."""

    reason: str
    value: str


Cells = Sequence[Any]


@dataclass
class Table:
    format: str
    header_row: int
    headers: list[Any]
    rows: Iterator[tuple[int, Cells | BadRow]]
    encoding: str | None = None
    sheet: str | None = None
    # progress: units done and total (bytes for text formats, rows for XLSX)
    done: Callable[[], int] = field(default=lambda: 0)
    total: int | None = None
    close: Callable[[], None] = field(default=lambda: None)
    # rows skipped below the header that are not data (blank rows, 注：… notes, 合计 totals)
    notices: list[tuple[int, str]] = field(default_factory=list)


def number_text(value: float) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)
