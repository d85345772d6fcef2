"""JSON Lines (and a bounded top-level JSON array): one object per row, columns from the keys."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import IO, Any

from service.ingest.read_text import (
    CountingReader,
    byte_size,
    check_shape,
    detect_encoding,
)
from service.ingest.tables import (
    JSON_ARRAY_MAX_BYTES,
    JSONL_KEY_SCAN,
    BadRow,
    Cells,
    FileProblem,
    Table,
    number_text,
)
from service.ingest.xlsx import Limits


def open_jsonl(raw: IO[bytes], limits: Limits) -> Table:
    encoding, sample = detect_encoding(raw)
    size = byte_size(raw)
    counter = CountingReader(raw)
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
    check_shape(1, 1, len(keys), limits)
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
        return number_text(value)
    return json.dumps(value, ensure_ascii=False)
