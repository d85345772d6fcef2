"""Cell parsers: raw spreadsheet text → typed values, or a Chinese reason why not.

Every parser takes the raw cell (``str``, a ``list`` from JSON Lines, or ``None`` for empty) and
returns ``(value, None)`` or ``(None, reason)``. They never raise on bad input.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from datetime import date
from typing import Any

Cell = str | list[Any] | None
Parsed = tuple[Any, str | None]

# Multi-valued cells: Chinese and ASCII list separators, pipes and whitespace.
_SPLIT = re.compile(r"[；;，,、|\s]+")
_INT = re.compile(r"^[+]?(\d+)(?:\.0+)?(?:人|名|个|家|项)?$")
_INDUSTRY = re.compile(r"^(?:[A-T]|[A-T]?\d{2,4})$")
_DATE_PATTERNS = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)
_MONTH_PATTERNS = (
    re.compile(r"^(\d{4})年(\d{1,2})月(?:底|末)?$"),
    re.compile(r"^(\d{4})[-/.](\d{1,2})$"),
)


def fold(text: str) -> str:
    """NFKC (full-width → half-width) and no whitespace: the form used to compare names/codes."""
    if text.isascii():
        return "".join(text.split()) if " " in text or "\t" in text else text
    return "".join(unicodedata.normalize("NFKC", text).split())


def as_text(cell: Cell) -> str | None:
    """The stripped text of a cell, None when blank."""
    if cell is None:
        return None
    if isinstance(cell, list):
        cell = "；".join(str(v) for v in cell if v is not None)
    text = str(cell).strip()
    return text or None


def parse_text(cell: Cell, *, max_len: int = 20_000) -> Parsed:
    if isinstance(cell, list):
        return None, "应为单个值，不能是列表"
    text = as_text(cell)
    if text is not None and len(text) > max_len:
        return None, f"内容过长（{len(text)} 字，上限 {max_len} 字）"
    return text, None


def split_multi(cell: Cell) -> list[str]:
    """Split a multi-valued cell on ；;，,、| and whitespace; JSON lists are taken item by item."""
    if cell is None:
        return []
    items = cell if isinstance(cell, list) else [cell]
    out: list[str] = []
    for item in items:
        if item is None:
            continue
        out.extend(p for p in _SPLIT.split(str(item)) if p)
    return out


def parse_list(cell: Cell, *, max_items: int = 200) -> Parsed:
    values = list(dict.fromkeys(split_multi(cell)))  # keep order, drop repeats
    if len(values) > max_items:
        return None, f"取值过多（{len(values)} 个，上限 {max_items} 个）"
    return values, None


def parse_industry_codes(cell: Cell) -> Parsed:
    values, problem = parse_list(cell)
    if problem:
        return None, problem
    codes = [fold(v).upper() for v in values]
    bad = [c for c in codes if not _INDUSTRY.match(c)]
    if bad:
        shown = "、".join(bad[:3])
        return None, f"行业代码格式错误：{shown}（应为 GB/T 4754 代码，如 C、39、3911）"
    return codes, None


def parse_int(cell: Cell, *, minimum: int = 0, maximum: int = 1_000_000) -> Parsed:
    if isinstance(cell, bool):
        return None, "应为整数"
    if isinstance(cell, int | float) and not isinstance(cell, bool):
        if float(cell) != int(cell):
            return None, "应为整数"
        value = int(cell)
    else:
        text = as_text(cell)
        if text is None:
            return None, None
        m = _INT.match(fold(text))
        if not m:
            return None, "应为非负整数"
        value = int(m.group(1))
    if not minimum <= value <= maximum:
        return None, f"数值应在 {minimum} 到 {maximum} 之间"
    return value, None


def parse_date(cell: Cell, *, month_end: bool = True) -> Parsed:
    """ISO, 2025/12/31, 2025年12月31日, 20251231; a bare month (2025年12月) means its last day."""
    text = as_text(cell)
    if text is None:
        return None, None
    text = fold(text)
    for pattern in _DATE_PATTERNS:
        m = pattern.match(text)
        if m:
            y, mo, d = (int(g) for g in m.groups())
            try:
                return date(y, mo, d), None
            except ValueError:
                return None, "日期不存在"
    if month_end:
        for pattern in _MONTH_PATTERNS:
            m = pattern.match(text)
            if m:
                y, mo = int(m.group(1)), int(m.group(2))
                if 1 <= mo <= 12 and y >= 1900:
                    return date(y, mo, calendar.monthrange(y, mo)[1]), None
    return None, "日期格式无法识别（应如 2025-12-31 或 2025年12月31日）"


def parse_enum(cell: Cell, labels: dict[str, str]) -> Parsed:
    """Map a label (Chinese or the English value; `labels` keys are folded) to its value."""
    text = as_text(cell)
    if text is None:
        return None, None
    value = labels.get(text)
    if value is not None:
        return value, None
    key = fold(text).lower()
    if key in labels:
        return labels[key], None
    shown = "、".join(dict.fromkeys(k for k in labels if not k.isascii()))
    return None, f"取值无效，可选：{shown}"


def enum_labels(values: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """{value: (label, ...)} → {folded label or value: value}."""
    out: dict[str, str] = {}
    for value, labels in values.items():
        for label in (*labels, value):
            out[fold(label).lower()] = value
    return out
