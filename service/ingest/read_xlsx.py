"""XLSX: the streamed sheet of service/ingest/xlsx.py as a Table (header row found, cells as the
importer expects them)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime, time
from typing import IO, Any

from service.exports.cells import unneutralise
from service.ingest.read_text import find_header, skip_notes
from service.ingest.tables import (
    Cells,
    FileProblem,
    Table,
    number_text,
)
from service.ingest.xlsx import Limits, XlsxProblem, open_sheet


def open_xlsx(
    raw: IO[bytes], is_header: Callable[[Cells], bool], sheet: str | None, limits: Limits
) -> Table:
    try:
        ws = open_sheet(raw, limits, sheet)
    except XlsxProblem as exc:
        raise FileProblem(exc.reason, exc.code, row=exc.row) from exc
    state = {"row": 0}

    def records() -> Iterator[tuple[int, list[Any]]]:
        try:
            for number, values in ws.rows:
                state["row"] = number
                cells = [_xlsx_cell(v) for v in values]
                if any(c is not None for c in cells):
                    yield number, cells
        except XlsxProblem as exc:
            raise FileProblem(exc.reason, exc.code, row=exc.row) from exc

    try:
        header_row, headers, rows = find_header(records(), is_header)
    except FileProblem:
        ws.close()
        raise
    table = Table(
        format="xlsx",
        header_row=header_row,
        headers=headers,
        rows=rows,
        sheet=ws.title,
        done=lambda: state["row"],
        total=None,
        close=ws.close,
    )
    table.rows = skip_notes(table.rows, table.notices)
    return table


def _xlsx_cell(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str):
        return unneutralise(value.strip()) or None
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int | float):
        return number_text(value)
    return str(value)
