"""A streaming XLSX sheet reader that a hostile workbook cannot exhaust.

openpyxl (even read-only) trusts the file: it loads the whole shared-string table, pads every row
to the widest cell reference and has no byte budget, so a 3 MB zip that expands to 1 GB of XML
ran for minutes. Here:

* the zip directory's uncompressed sizes are summed and refused over the limit before a single
  byte is inflated; every member is then read through a counter, so a directory that lies stops
  at the same budget (zipfile itself also stops at the declared size);
* XML is parsed by expat callbacks, so a cell's text is counted as it arrives and refused at the
  cell limit; rows and columns are counted as they appear (a cell at column XFD is refused, not
  padded); a DTD (entity expansion) is refused outright;
* merged ranges (after sheetData in the XML) are found by a byte scan first, so rows can be
  streamed with a merged cell's value copied from its top-left cell.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import IO, Any

from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format
from openpyxl.utils.cell import column_index_from_string, range_boundaries

from service.ingest.xlsx_stream import (
    MAX_MEMBERS,
    MAX_MERGES,
    META_MAX_BYTES,
    ByteBudget,
    Limits,
    XlsxProblem,
    attributes,
    feed,
    local_name,
    megabytes,
    member_chunks,
    safe_parser,
)

_CELL_REF = re.compile(r"([A-Z]{1,3})(\d*)")
_MERGE = re.compile(rb"<(?:\w+:)?mergeCell\b[^>]*\bref=\"([A-Z]+\d+(?::[A-Z]+\d+)?)\"")
_SHEET_DATA_END = re.compile(rb"</(?:\w+:)?sheetData>")
_ROW_TAGS = (b"<row ", b"<row>", b":row ", b":row>")
_EPOCH_1900 = datetime(1899, 12, 30)
_EPOCH_1904 = datetime(1904, 1, 1)

__all__ = ["Limits", "Sheet", "XlsxProblem", "open_sheet"]


@dataclass
class Sheet:
    title: str
    names: list[str]
    rows: Iterator[tuple[int, list[Any]]]
    close: Callable[[], None]


def open_sheet(raw: IO[bytes], limits: Limits, sheet: str | None = None) -> Sheet:
    try:
        zf = zipfile.ZipFile(raw)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise XlsxProblem("文件不是有效的 XLSX 工作簿（zip 结构损坏）", "bad_xlsx") from exc
    try:
        return _open(zf, limits, sheet)
    except BaseException:
        zf.close()
        raise


def _open(zf: zipfile.ZipFile, limits: Limits, sheet: str | None) -> Sheet:
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise XlsxProblem(f"工作簿含 {len(infos)} 个部件，超过上限", "too_large")
    declared = sum(i.file_size for i in infos)
    if declared > limits.max_bytes:
        raise XlsxProblem(
            f"工作簿解压后为 {megabytes(declared)}，超过上限 {megabytes(limits.max_bytes)}，"
            "可能是压缩炸弹，已拒绝",
            "too_large",
        )
    names = {i.filename for i in infos}
    if "xl/workbook.xml" not in names:
        raise XlsxProblem("文件不是有效的 XLSX 工作簿（缺少 xl/workbook.xml）", "bad_xlsx")
    budget = ByteBudget(limits.max_bytes)
    book = attributes(zf, "xl/workbook.xml", budget, {"sheet", "workbookPr"})
    date1904 = any(t == "workbookPr" and a.get("date1904") in ("1", "true") for t, a in book)
    sheets = [(a.get("name", ""), a.get("r:id", "")) for t, a in book if t == "sheet"]
    if not sheets:
        raise XlsxProblem("工作簿中没有工作表", "bad_xlsx")
    titles = [s[0] for s in sheets]
    if sheet is not None and sheet not in titles:
        raise XlsxProblem(f"工作表「{sheet}」不存在，现有：{'、'.join(titles)}", "no_sheet")
    title, rid = next(s for s in sheets if sheet is None or s[0] == sheet)
    path = _sheet_path(zf, names, budget, rid, titles.index(title))
    shared = _shared_strings(zf, names, budget, limits)
    date_styles = _date_styles(zf, names, budget)
    merges = _merges(zf, path, budget, limits.max_rows)
    rows = _rows(zf, path, budget, limits, shared, date_styles, date1904, merges)
    return Sheet(title=title, names=titles, rows=rows, close=zf.close)


def _sheet_path(
    zf: zipfile.ZipFile, names: set[str], budget: ByteBudget, rid: str, index: int
) -> str:
    if "xl/_rels/workbook.xml.rels" in names:
        for _, a in attributes(zf, "xl/_rels/workbook.xml.rels", budget, {"Relationship"}):
            if a.get("Id") == rid:
                target = a.get("Target", "")
                path = target.lstrip("/") if target.startswith("/") else "xl/" + target
                if path in names:
                    return path
    guess = f"xl/worksheets/sheet{index + 1}.xml"
    if guess in names:
        return guess
    raise XlsxProblem("工作簿缺少工作表数据", "bad_xlsx")


def _shared_strings(
    zf: zipfile.ZipFile, names: set[str], budget: ByteBudget, limits: Limits
) -> list[str]:
    if "xl/sharedStrings.xml" not in names:
        return []
    out: list[str] = []
    parts: list[str] = []
    state = {"in_t": False, "skip": 0, "len": 0}

    def start(tag: str, _a: dict[str, str]) -> None:
        tag = local_name(tag)
        if tag == "si":
            parts.clear()
            state["len"] = 0
        elif tag in ("rPh", "phoneticPr"):  # phonetic guide text is not the cell's value
            state["skip"] += 1
        elif tag == "t" and not state["skip"]:
            state["in_t"] = True

    def end(tag: str) -> None:
        tag = local_name(tag)
        if tag == "t":
            state["in_t"] = False
        elif tag in ("rPh", "phoneticPr"):
            state["skip"] -= 1
        elif tag == "si":
            if len(out) >= limits.max_shared_strings:
                raise XlsxProblem(
                    f"共享字符串超过 {limits.max_shared_strings} 个（上限）", "too_large"
                )
            out.append("".join(parts))

    def chars(text: str) -> None:
        if state["in_t"]:
            state["len"] += len(text)
            if state["len"] > limits.max_cell_chars:
                raise XlsxProblem(
                    f"单元格内容超过 {limits.max_cell_chars // 1024} KB（上限）", "cell_too_long"
                )
            parts.append(text)

    p = safe_parser()
    p.StartElementHandler, p.EndElementHandler, p.CharacterDataHandler = start, end, chars
    for _ in feed(p, member_chunks(zf, "xl/sharedStrings.xml", budget)):
        pass
    return out


def _date_styles(zf: zipfile.ZipFile, names: set[str], budget: ByteBudget) -> set[int]:
    """Indices of cellXfs whose number format shows a date."""
    if "xl/styles.xml" not in names:
        return set()
    custom: dict[int, str] = {}
    xfs: list[int] = []
    depth = {"cellXfs": False}
    p = safe_parser()

    def start(tag: str, a: dict[str, str]) -> None:
        tag = local_name(tag)
        if tag == "numFmt":
            custom[int(a.get("numFmtId", "0") or 0)] = a.get("formatCode", "")
        elif tag == "cellXfs":
            depth["cellXfs"] = True
        elif tag == "xf" and depth["cellXfs"]:
            xfs.append(int(a.get("numFmtId", "0") or 0))

    def end(tag: str) -> None:
        if local_name(tag) == "cellXfs":
            depth["cellXfs"] = False

    p.StartElementHandler, p.EndElementHandler = start, end
    try:
        for _ in feed(p, member_chunks(zf, "xl/styles.xml", budget, META_MAX_BYTES)):
            pass
    except ValueError:
        return set()
    out = set()
    for i, fmt_id in enumerate(xfs):
        code = custom.get(fmt_id) or BUILTIN_FORMATS.get(fmt_id, "")
        if code and is_date_format(code):
            out.add(i)
    return out


def _merges(
    zf: zipfile.ZipFile, path: str, budget: ByteBudget, max_rows: int
) -> list[tuple[int, int, int, int]]:
    """Merged ranges as (min_col, min_row, max_col, max_row), 1-based. They follow sheetData,
    so the sheet's bytes are scanned (not parsed) up to there: inflating is cheap, XML is not.
    The same scan counts row elements, so a sheet of too many rows is refused before the
    (slow) parse: a small file of a million repeated rows costs seconds, not half a minute."""
    tail = b""
    found = False
    rows = 0
    for chunk in member_chunks(zf, path, budget):
        if not found:
            rows += sum(chunk.count(tag) for tag in _ROW_TAGS)
            if rows > max_rows:
                raise XlsxProblem(f"工作表超过 {max_rows} 行（上限），已拒绝", "too_many_rows")
        if found:
            tail += chunk
            if len(tail) > META_MAX_BYTES:
                raise XlsxProblem("合并单元格信息过大", "too_large")
            continue
        window = tail + chunk
        m = _SHEET_DATA_END.search(window)
        if m:
            found, tail = True, window[m.end() :]
        else:
            tail = window[-32:]
    out: list[tuple[int, int, int, int]] = []
    for m in _MERGE.finditer(tail if found else b""):
        if len(out) >= MAX_MERGES:
            raise XlsxProblem("合并单元格过多", "too_large")
        ref = m.group(1).decode()
        if ":" not in ref:
            continue
        min_col, min_row, max_col, max_row = range_boundaries(ref)
        if min_col and min_row and max_col and max_row:
            out.append((min_col, min_row, max_col, max_row))
    return out


def _column(ref: str, fallback: int) -> int:
    m = _CELL_REF.match(ref)
    return column_index_from_string(m.group(1)) if m else fallback


def _rows(
    zf: zipfile.ZipFile,
    path: str,
    budget: ByteBudget,
    limits: Limits,
    shared: list[str],
    date_styles: set[int],
    date1904: bool,
    merges: list[tuple[int, int, int, int]],
) -> Iterator[tuple[int, list[Any]]]:
    """(sheet row number, cell values) of every row that has a value of its own."""
    ready: list[tuple[int, list[Any]]] = []
    cells: dict[int, Any] = {}
    text: list[str] = []
    st: dict[str, Any] = {"row": 0, "col": 0, "t": "n", "s": 0, "in_v": False, "len": 0, "n": 0}
    st["skip"] = 0
    epoch = _EPOCH_1904 if date1904 else _EPOCH_1900
    by_top: dict[int, list[tuple[int, int, int, int]]] = {}
    for m in merges:
        by_top.setdefault(m[1], []).append(m)
    active: list[tuple[tuple[int, int, int, int], Any]] = []  # (range, top-left value)

    def problem(reason: str, code: str) -> XlsxProblem:
        return XlsxProblem(f"第 {st['row']} 行：{reason}", code, st["row"])

    def start(tag: str, a: dict[str, str]) -> None:
        tag = local_name(tag)
        if tag == "c":
            st["col"] = _column(a.get("r", ""), st["col"] + 1)
            if st["col"] > limits.max_columns:
                raise problem(f"超过 {limits.max_columns} 列（上限）", "too_many_columns")
            st["t"], st["s"] = a.get("t", "n"), int(a.get("s", "0") or 0)
            text.clear()
            st["len"] = 0
        elif tag == "row":
            r = a.get("r")
            st["row"] = int(r) if r and r.isdigit() else st["row"] + 1
            st["col"] = 0
            st["n"] += 1
            if st["n"] > limits.max_rows or st["row"] > limits.max_rows + 10_000:
                raise problem(f"超过 {limits.max_rows} 行（上限）", "too_many_rows")
            cells.clear()
        elif tag == "rPh":
            st["skip"] += 1
        elif tag in ("v", "t") and not st["skip"]:
            st["in_v"] = True

    def chars(data: str) -> None:
        if st["in_v"]:
            st["len"] += len(data)
            if st["len"] > limits.max_cell_chars:
                raise problem(
                    f"单元格内容超过 {limits.max_cell_chars // 1024} KB（上限）", "cell_too_long"
                )
            text.append(data)

    def end(tag: str) -> None:
        tag = local_name(tag)
        if tag in ("v", "t"):
            st["in_v"] = False
        elif tag == "rPh":
            st["skip"] -= 1
        elif tag == "c":
            value = _value(st["t"], "".join(text), st["s"] in date_styles, epoch, shared)
            if value is not None:
                cells[st["col"]] = value
        elif tag == "row":
            _emit(st["row"])

    def _emit(number: int) -> None:
        own = any(v is not None for v in cells.values())
        active[:] = [(m, v) for m, v in active if m[3] >= number]
        for m in by_top.pop(number, ()):
            active.append((m, cells.get(m[0])))
        if not own:
            return  # blank, or only covered by merges: a merge never makes a row out of nothing
        values = dict(cells)
        for (min_col, min_row, max_col, _), value in active:
            if min_row < number and value is not None:
                for col in range(min_col, max_col + 1):
                    values.setdefault(col, value)
        width = max(values)
        ready.append((number, [values.get(c) for c in range(1, width + 1)]))

    def drain() -> Iterator[tuple[int, list[Any]]]:
        yield from ready
        ready.clear()

    p = safe_parser()
    p.StartElementHandler, p.EndElementHandler, p.CharacterDataHandler = start, end, chars
    try:
        yield from feed(p, member_chunks(zf, path, budget), drain)
    except (ValueError, IndexError) as exc:
        raise problem(f"单元格无法读取（{type(exc).__name__}）", "bad_xlsx") from exc


def _value(kind: str, raw: str, is_date: bool, epoch: datetime, shared: list[str]) -> Any:
    if kind == "s":
        return shared[int(raw)] if raw else None
    if kind in ("inlineStr", "str"):
        return raw or None
    if kind == "b":
        return raw in ("1", "true")
    if kind == "e":
        return raw or None
    if not raw:
        return None
    if kind == "d":
        return datetime.fromisoformat(raw)
    number = float(raw) if any(c in raw for c in ".eE") else int(raw)
    if is_date:
        moment = epoch + timedelta(days=float(number))
        if epoch is _EPOCH_1900 and float(number) < 60:
            moment += timedelta(days=1)  # Excel's phantom 1900-02-29
        return moment if moment.time() != time(0) else moment.replace(microsecond=0)
    return number
