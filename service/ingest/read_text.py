"""CSV and other delimited text: encoding detection (UTF-8 / BOM / UTF-16 / GBK-GB18030), the
delimiter, the header row below title rows, notes and totals below the data."""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterator
from typing import IO, Any

from service.exports.cells import unneutralise
from service.ingest.tables import (
    DETECT_BYTES,
    HEADER_SCAN_ROWS,
    BadRow,
    Cells,
    FileProblem,
    Table,
)
from service.ingest.xlsx import Limits


class CountingReader(io.RawIOBase):
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


def open_csv(raw: IO[bytes], is_header: Callable[[Cells], bool], limits: Limits) -> Table:
    encoding, sample = detect_encoding(raw)
    delimiter = _delimiter(sample)
    size = byte_size(raw)
    counter = CountingReader(raw)
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
            check_shape(start, state["records"], len(rec), limits)
            rec = [unneutralise(c) if c[:1] == "'" else c for c in rec]
            if any(c.strip() for c in rec):
                yield start, rec

    header_row, headers, rows = find_header(records(), is_header)
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


def check_shape(row: int, count: int, width: int, limits: Limits) -> None:
    if count > limits.max_rows:
        raise FileProblem(f"超过 {limits.max_rows} 行（上限）", "too_many_rows", row=row)
    if width > limits.max_columns:
        raise FileProblem(
            f"第 {row} 行有 {width} 列，超过 {limits.max_columns} 列（上限）",
            "too_many_columns",
            row=row,
        )


def find_header(
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


def byte_size(raw: IO[bytes]) -> int | None:
    try:
        pos = raw.tell()
        size = raw.seek(0, io.SEEK_END)
        raw.seek(pos)
        return size
    except OSError:
        return None
