"""A reusable CSV / XLSX writer: one call for a table, with the official-layout extras.

    write_table(fmt, headers, rows, *, title=None, lines=(), merge_down=(), sheet="Sheet1",
                widths=None) -> bytes
    download(content, filename, fmt) -> fastapi.Response   (attachment, UTF-8 filename)

`fmt` is "csv" (UTF-8 with BOM, as Excel/WPS open it) or "xlsx". `title` and `lines` (e.g. the
填报单位 line) are written above the header; in XLSX the title is merged across and centred.
`merge_down`: 0-based columns whose equal consecutive values are merged into one cell (XLSX;
CSV repeats the value), as bureaus merge the unit column. Every cell goes through cells.safe.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any, Literal
from urllib.parse import quote

from fastapi import Response

from service.exports.cells import safe

Format = Literal["csv", "xlsx"]
MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def write_table(
    fmt: Format,
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    title: str | None = None,
    lines: Sequence[str] = (),
    merge_down: Sequence[int] = (),
    sheet: str = "Sheet1",
    widths: Sequence[int] | None = None,
) -> bytes:
    if fmt == "csv":
        return _csv(headers, rows, title, lines)
    if fmt == "xlsx":
        return _xlsx(headers, rows, title, lines, merge_down, sheet, widths)
    raise ValueError(f"unknown export format {fmt!r}")


def _csv(
    headers: Sequence[str], rows: Iterable[Sequence[Any]], title: str | None, lines: Sequence[str]
) -> bytes:
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\r\n")
    for line in ([title] if title else []) + list(lines):
        out.writerow([safe(line)])
    out.writerow([safe(h) for h in headers])
    for row in rows:
        out.writerow(["" if v is None else safe(v) for v in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def _xlsx(
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    title: str | None,
    lines: Sequence[str],
    merge_down: Sequence[int],
    sheet: str,
    widths: Sequence[int] | None,
) -> bytes:
    import openpyxl
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = sheet[:31]
    width = max(len(headers), 1)
    r = 1
    if title:
        ws.cell(r, 1, safe(title)).font = Font(bold=True, size=14)
        ws.cell(r, 1).alignment = Alignment(horizontal="center")
        if width > 1:
            ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=width)
        r += 1
    for line in lines:
        ws.cell(r, 1, safe(line))
        if width > 1:
            ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=width)
        r += 1
    wrap = Alignment(wrap_text=True, vertical="center")
    for c, h in enumerate(headers, start=1):
        cell = ws.cell(r, c, safe(h))
        cell.font, cell.alignment = Font(bold=True), wrap
    r += 1
    runs: dict[int, tuple[int, Any]] = {}  # column → (start row, value) of the open merge run

    def close(col: int, end: int) -> None:
        start, value = runs.pop(col)
        if end > start and value[1] is not None:
            ws.merge_cells(start_row=start, start_column=col + 1, end_row=end, end_column=col + 1)

    for row in rows:
        group = safe(row[merge_down[0]]) if merge_down else None
        for c, value in enumerate(row):
            v = safe(value)
            if c in merge_down:
                key = (group, v)  # merged only within one unit's rows
                if c in runs and runs[c][1] == key and v is not None:
                    continue  # covered by the merge above
                if c in runs:
                    close(c, r - 1)
                runs[c] = (r, key)
            if v is not None:
                ws.cell(r, c + 1, v).alignment = wrap
        r += 1
    for col in list(runs):
        close(col, r - 1)
    for c in range(1, width + 1):
        given = widths[c - 1] if widths and c - 1 < len(widths) else 18
        ws.column_dimensions[get_column_letter(c)].width = given
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def download(content: bytes, filename: str, fmt: Format) -> Response:
    ascii_name = filename.encode("ascii", "ignore").decode() or f"export.{fmt}"
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    return Response(content, media_type=MEDIA[fmt], headers={"Content-Disposition": disposition})
