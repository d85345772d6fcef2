"""Streaming readers for CSV (UTF-8 / UTF-8 BOM / UTF-16 / GBK-GB18030), XLSX and JSON Lines.

A reader yields ``(row_number, cells)`` where the row number is what the user sees: the line in
a CSV (the first line is 1), the sheet row in XLSX, the line in JSON Lines. Title rows above the
header (填报单位：…) are skipped by looking for the first row that names known columns.
Nothing reads the whole file into memory, except a top-level JSON array (bounded by size).
Every format streams under the same `Limits` (bytes, rows, columns, characters per cell), each
checked as the data arrives, before anything is held: see xlsx.py for workbooks.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import IO, Any

from service.exports.cells import unneutralise
from service.ingest.xlsx import Limits, XlsxProblem, open_sheet

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
        return _open_xlsx(raw, is_header, sheet, limits)
    if ext in XLSX_EXTS:
        raise FileProblem("文件不是有效的 XLSX 工作簿", "bad_xlsx")
    size = _size(raw)
    if size is not None and size > limits.max_bytes:
        raise FileProblem(
            f"文件大小 {size / (1 << 20):.0f} MB 超过上限 {limits.max_bytes / (1 << 20):.0f} MB",
            "too_large",
        )
    if ext in CSV_EXTS:
        return _open_csv(raw, is_header, limits)
    if ext in JSONL_EXTS:
        return _open_jsonl(raw, limits)
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


# ---------------------------------------------------------------- text: encoding and CSV


class _Counting(io.RawIOBase):
    """Counts bytes read (for the progress bar) without buffering the file."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.count += n
        return n


def detect_encoding(raw: IO[bytes]) -> tuple[str, str]:
    """Return (encoding, decoded sample). BOMs first; then strict UTF-8; then GB18030 (a superset
    of GBK); charset-normalizer only as a last resort. Strict UTF-8 is reliable even on short
    files: GBK-encoded Chinese almost never forms valid UTF-8, so this order is safe."""
    raw.seek(0)
    head = raw.read(DETECT_BYTES)
    at_eof = len(head) < DETECT_BYTES
    raw.seek(0)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", head.decode("utf-8-sig", errors="replace")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", head.decode("utf-16", errors="replace")
    sample, sample_eof = head, at_eof
    if head.isascii() and not at_eof:
        raw.seek(len(head))
        # A long ASCII prefix decides nothing: find the first non-ASCII byte (a lead byte in
        # both UTF-8 and GBK) and judge the bytes from there.
        while True:
            chunk = raw.read(DETECT_BYTES)
            if not chunk:
                break
            if not chunk.isascii():
                start = next(i for i, b in enumerate(chunk) if b >= 0x80)
                extra = raw.read(DETECT_BYTES)
                sample = chunk[start:] + extra
                sample_eof = len(extra) < DETECT_BYTES
                break
    raw.seek(0)
    shown = head.decode("latin-1") if head.isascii() else None
    for enc in ("utf-8", "gb18030"):
        try:
            codecs.getincrementaldecoder(enc)().decode(sample, final=sample_eof)
        except UnicodeDecodeError:
            continue
        return enc, shown if shown is not None else head.decode(enc, errors="replace")
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    if best is None or best.encoding is None:
        raise FileProblem("无法识别文件编码（支持 UTF-8、GBK/GB18030）", "encoding")
    return best.encoding, head.decode(best.encoding, errors="replace")


def _delimiter(sample: str) -> str:
    lines = [ln for ln in sample.splitlines()[:HEADER_SCAN_ROWS] if ln.strip()]
    best, best_count = ",", 0
    for d in ("\t", ",", ";", "|"):
        count = max((ln.count(d) for ln in lines), default=0)
        if count > best_count:
            best, best_count = d, count
    return best


def _open_csv(raw: IO[bytes], is_header: Callable[[Cells], bool], limits: Limits) -> Table:
    encoding, sample = detect_encoding(raw)
    delimiter = _delimiter(sample)
    size = _size(raw)
    counter = _Counting(raw)
    text = io.TextIOWrapper(io.BufferedReader(counter, 1 << 16), encoding=encoding, newline="")
    # The csv module's per-field cap is process-wide: only ever raise it (lowering it would break
    # every other CSV reader in the process); this import's own cap is checked per record below.
    if csv.field_size_limit() < limits.max_cell_chars:
        csv.field_size_limit(limits.max_cell_chars)
    reader = csv.reader(text, delimiter=delimiter)
    state = {"line": 0, "records": 0}
    too_long = "第 {start} 行无法解析：单元格内容超过上限（" + f"{limits.max_cell_chars} 个字符）"

    def records() -> Iterator[tuple[int, list[str]]]:
        while True:
            start = reader.line_num + 1
            try:
                rec = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError as exc:
                raise FileProblem(
                    f"第 {start} 行附近的字节不是 {encoding} 编码，文件可能混用了编码",
                    "encoding",
                    row=start,
                ) from exc
            except csv.Error as exc:
                reason = str(exc)
                if "field larger" in reason:
                    raise FileProblem(
                        too_long.format(start=start), "cell_too_long", row=start
                    ) from exc
                elif "NUL" in reason:
                    reason = "文件含有空字节，可能不是文本文件"
                raise FileProblem(f"第 {start} 行无法解析：{reason}", "csv", row=start) from exc
            if any(len(cell) > limits.max_cell_chars for cell in rec):
                raise FileProblem(too_long.format(start=start), "cell_too_long", row=start)
            state["line"] = start
            state["records"] += 1
            _check_shape(start, state["records"], len(rec), limits)
            rec = [unneutralise(c) if c[:1] == "'" else c for c in rec]
            if any(c.strip() for c in rec):
                yield start, rec

    header_row, headers, rows = _find_header(records(), is_header)
    table = Table(
        format="csv",
        header_row=header_row,
        headers=headers,
        rows=rows,
        encoding=encoding,
        done=lambda: counter.count,
        total=size,
        close=text.close,
    )
    table.rows = skip_notes(table.rows, table.notices)
    return table


_NOTE = re.compile(r"^(?:注[:：]|注\d|说明|填表说明|备注[:：]|合计|总计|小计)")


def is_note(cells: Cells) -> bool:
    """A footnote or total row under a bureau's table: its first filled cell starts 注：, 说明,
    填表说明, 备注：, 合计 or 总计 (compared without spaces, full-width folded)."""
    first = next((c for c in cells if c is not None and str(c).strip()), None)
    if first is None:
        return False
    return bool(_NOTE.match("".join(unicodedata.normalize("NFKC", str(first)).split())))


def skip_notes(
    rows: Iterator[tuple[int, Cells | BadRow]], notices: list[tuple[int, str]]
) -> Iterator[tuple[int, Cells | BadRow]]:
    """Drop note/total rows (and the single-cell lines that continue a note), noting each;
    note blank rows between data rows (a gap in the row numbers)."""
    last: int | None = None
    in_note = False
    for number, cells in rows:
        if last is not None and number > last + 1:
            gap = range(last + 1, number)
            shown = f"第 {gap[0]} 行" if len(gap) == 1 else f"第 {gap[0]}–{gap[-1]} 行"
            notices.append((gap[0], f"{shown}是空行，已跳过"))
        last = number
        if not isinstance(cells, BadRow):
            filled = sum(1 for c in cells if c is not None and str(c).strip())
            if is_note(cells) or (in_note and filled <= 1):
                in_note = True
                notices.append((number, "表下的注释或合计行，已跳过"))
                continue
        in_note = False
        yield number, cells


def _check_shape(row: int, count: int, width: int, limits: Limits) -> None:
    if count > limits.max_rows:
        raise FileProblem(f"超过 {limits.max_rows} 行（上限）", "too_many_rows", row=row)
    if width > limits.max_columns:
        raise FileProblem(
            f"第 {row} 行有 {width} 列，超过 {limits.max_columns} 列（上限）",
            "too_many_columns",
            row=row,
        )


def _find_header(
    records: Iterator[tuple[int, Cells]], is_header: Callable[[Cells], bool]
) -> tuple[int, list[Any], Iterator[tuple[int, Cells | BadRow]]]:
    """The first record that looks like a header within the first rows; else the first record."""
    seen: list[tuple[int, Cells]] = []
    for rec in records:
        seen.append(rec)
        if is_header(rec[1]):
            break
        if len(seen) >= HEADER_SCAN_ROWS:
            break
    else:
        if not seen:
            raise FileProblem("文件中没有任何数据（连表头也没有）", "empty_file")
    hit = next((i for i, (_, cells) in enumerate(seen) if is_header(cells)), 0)
    header_row, headers = seen[hit]

    def rest() -> Iterator[tuple[int, Cells | BadRow]]:
        yield from seen[hit + 1 :]
        yield from records

    return header_row, list(headers), rest()


def _size(raw: IO[bytes]) -> int | None:
    try:
        pos = raw.tell()
        size = raw.seek(0, io.SEEK_END)
        raw.seek(pos)
        return size
    except OSError:
        return None


# ---------------------------------------------------------------- JSON Lines


def _open_jsonl(raw: IO[bytes], limits: Limits) -> Table:
    encoding, sample = detect_encoding(raw)
    size = _size(raw)
    counter = _Counting(raw)
    text = io.TextIOWrapper(io.BufferedReader(counter, 1 << 16), encoding=encoding)
    rows_iter: Iterator[tuple[int, Any]]
    if sample.lstrip("\ufeff \t\r\n").startswith("["):
        if size is None or size > min(JSON_ARRAY_MAX_BYTES, limits.max_bytes):
            raise FileProblem(
                "JSON 数组文件过大，请改用 JSON Lines（每行一个对象）", "json_too_big"
            )
        rows_iter = _json_array(raw, encoding)
    else:
        rows_iter = _json_lines(text, encoding, limits)
    objects = _with_headers(rows_iter, limits)
    header_row, headers = 1, next(objects)
    return Table(
        format="jsonl",
        header_row=header_row,
        headers=headers,
        rows=objects,
        encoding=encoding,
        done=lambda: counter.count,
        total=size,
        close=text.close,
    )


def _json_lines(text: IO[str], encoding: str, limits: Limits) -> Iterator[tuple[int, Any]]:
    # A line may hold many cells, but is read whole: bounded so one endless line cannot fill RAM.
    max_line = min(limits.max_bytes, limits.max_cell_chars * 8)
    lineno = 0
    while True:
        try:
            line = text.readline(max_line + 1)
        except UnicodeDecodeError as exc:
            raise FileProblem(
                f"第 {lineno + 1} 行的字节不是 {encoding} 编码", "encoding", row=lineno + 1
            ) from exc
        if not line:
            return
        lineno += 1
        if len(line) > max_line:
            raise FileProblem(
                f"第 {lineno} 行超过 {max_line // 1024} KB（上限）", "cell_too_long", row=lineno
            )
        if lineno > limits.max_rows:
            raise FileProblem(f"超过 {limits.max_rows} 行（上限）", "too_many_rows", row=lineno)
        if not line.strip():
            continue
        try:
            yield lineno, json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            yield lineno, BadRow("不是有效的 JSON", line.strip()[:200])


def _json_array(raw: IO[bytes], encoding: str) -> Iterator[tuple[int, Any]]:
    try:
        data = json.loads(raw.read().decode(encoding))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise FileProblem(f"不是有效的 JSON：{exc}", "json") from exc
    yield from enumerate(data, start=1)


def _with_headers(items: Iterator[tuple[int, Any]], limits: Limits) -> Iterator[Any]:
    """First yields the header (the keys of the first objects, in order of appearance), then
    (row, cells) aligned to it. Keys first seen after JSONL_KEY_SCAN objects are ignored."""
    pending: list[tuple[int, Any]] = []
    seen: dict[str, None] = {}
    for lineno, obj in items:
        pending.append((lineno, obj))
        if isinstance(obj, dict):
            seen.update(dict.fromkeys(str(k) for k in obj))
        if len(pending) >= JSONL_KEY_SCAN:
            break
    keys = list(seen) or None
    if keys is None:
        raise FileProblem('文件中没有 JSON 对象（每行应为一个对象，如 {"name": …}）', "json")
    _check_shape(1, 1, len(keys), limits)
    yield keys

    def align(lineno: int, obj: Any) -> tuple[int, Cells | BadRow]:
        if isinstance(obj, BadRow):
            return lineno, obj
        if not isinstance(obj, dict):
            shown = json.dumps(obj, ensure_ascii=False)[:200]
            return lineno, BadRow("每行应为一个 JSON 对象", shown)
        cells = [_json_cell(obj.get(k)) for k in keys]
        for cell in cells:
            if isinstance(cell, str) and len(cell) > limits.max_cell_chars:
                raise FileProblem(
                    f"第 {lineno} 行：单元格内容超过 {limits.max_cell_chars // 1024} KB（上限）",
                    "cell_too_long",
                    row=lineno,
                )
        return lineno, cells

    for lineno, obj in pending:
        yield align(lineno, obj)
    for lineno, obj in items:
        yield align(lineno, obj)


def _json_cell(value: Any) -> Any:
    if value is None or isinstance(value, str | list):
        return value
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int | float):
        return _number_text(value)
    return json.dumps(value, ensure_ascii=False)


# ---------------------------------------------------------------- XLSX


def _open_xlsx(
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
        header_row, headers, rows = _find_header(records(), is_header)
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
        return _number_text(value)
    return str(value)


def _number_text(value: float) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)
