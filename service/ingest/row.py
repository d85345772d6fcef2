"""One data row under validation: typed access to its cells, its errors, the records it yields."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from service.ingest.headers import Column, HeaderMap
from service.ingest.lookups import Lookups, Ref
from service.ingest.values import Cell, Parsed, as_text

VALUE_SHOWN = 200  # characters of a bad value echoed back in the report
NUL_REASON = "含有空字符（\\u0000），数据库无法保存"


@dataclass(frozen=True)
class RowError:
    row: int | None  # None: the file as a whole
    column: str | None
    value: str | None
    reason: str
    code: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "column": self.column,
            "value": self.value,
            "reason": self.reason,
            "code": self.code,
        }


@dataclass(frozen=True)
class Record:
    table: str
    values: dict[str, Any]
    key: str  # canonical natural key (resolved ids), for duplicate detection
    shown: str  # the key as the user wrote it, for messages


@dataclass
class Context:
    """What every row of one import shares."""

    hm: HeaderMap
    columns: dict[str, Column]
    lookups: Lookups
    filename: str


class Row:
    __slots__ = ("ctx", "number", "cells", "errors", "records")

    def __init__(self, ctx: Context, number: int, cells: Any) -> None:
        self.ctx = ctx
        self.number = number
        self.cells = cells
        self.errors: list[RowError] = []
        self.records: list[Record] = []

    # ------------------------------------------------------------ raw access
    def has(self, col: str) -> bool:
        return col in self.ctx.hm.positions

    def header(self, col: str) -> str:
        pos = self.ctx.hm.positions.get(col)
        if pos:
            return self.ctx.hm.headers[pos[0]] or self.ctx.columns[col].display
        return self.ctx.columns[col].display

    def raw(self, col: str) -> tuple[Cell, str]:
        """The first non-blank cell among the headers mapped to `col` (text cells stripped),
        with that header."""
        cells = self.cells
        for i in self.ctx.hm.positions.get(col, ()):
            value = cells[i] if i < len(cells) else None
            if value is None:
                continue
            if type(value) is str:  # the common case, kept fast
                value = value.strip()
                if not value:
                    continue
            elif as_text(value) is None:
                continue
            return value, self.ctx.hm.headers[i] or self.ctx.columns[col].display
        return None, self.header(col)

    # ------------------------------------------------------------ errors
    def error(self, col: str | None, value: Cell, reason: str, code: str) -> None:
        shown = as_text(value)
        if shown is not None and len(shown) > VALUE_SHOWN:
            shown = shown[:VALUE_SHOWN] + "…"
        header = self.header(col) if col else None
        self.errors.append(RowError(self.number, header, shown, reason, code))

    # ------------------------------------------------------------ typed access
    def get(
        self,
        col: str,
        parse: Callable[[Cell], Parsed],
        *,
        required: bool = False,
        default: Any = None,
        code: str = "invalid",
    ) -> Any:
        cell, header = self.raw(col)
        if cell is None:
            if required:
                self._required(col, header)
            return default
        if _has_nul(cell):
            self.errors.append(RowError(self.number, header, None, NUL_REASON, "invalid"))
            return None
        value, problem = parse(cell)
        if problem is not None:
            self.errors.append(RowError(self.number, header, _shown(cell), problem, code))
            return None
        return default if value is None else value

    def ref(
        self,
        col: str,
        find: Callable[[str], tuple[Ref | None, str | None]],
        *,
        required: bool = False,
    ) -> Ref | None:
        cell, header = self.raw(col)
        text = as_text(cell)
        if text is None:
            if required:
                self._required(col, header)
            return None
        if "\x00" in text:
            self.errors.append(RowError(self.number, header, None, NUL_REASON, "invalid"))
            return None
        found, problem = find(text)
        if found is None:
            self.errors.append(
                RowError(self.number, header, _shown(cell), problem or "未找到", "reference")
            )
        return found

    def region(self, col: str, *, required: bool = False) -> int | None:
        cell, header = self.raw(col)
        text = as_text(cell)
        if text is None:
            if required:
                self._required(col, header)
            return None
        region_id, problem = self.ctx.lookups.region(text)
        if region_id is None:
            self.errors.append(RowError(self.number, header, _shown(cell), problem or "", "region"))
        return region_id

    def _required(self, col: str, header: str) -> None:
        reason = f"必填项「{header}」为空"
        self.errors.append(RowError(self.number, header, None, reason, "required"))

    # ------------------------------------------------------------ output
    def emit(self, table: str, values: dict[str, Any], key: str, shown: str) -> None:
        self.records.append(Record(table, values, key, shown))


def _shown(cell: Cell) -> str | None:
    text = as_text(cell)
    if text is not None and len(text) > VALUE_SHOWN:
        return text[:VALUE_SHOWN] + "…"
    return text


def _has_nul(cell: Cell) -> bool:
    if isinstance(cell, str):
        return "\x00" in cell
    return isinstance(cell, list) and any("\x00" in str(v) for v in cell if v is not None)
