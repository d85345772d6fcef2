"""Header cells → canonical columns.

A bureau's spreadsheet says 企业名称, ＊统一社会信用代码, or (from a PDF) 教育行政部 门(学校); an
export says credit_code. Headers are folded (NFKC, no whitespace, no required-markers, lower
case) and looked up in the kind's alias table.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

_MARKERS = re.compile(r"^[*＊]+|[*＊]+$|\((?:必填|选填|可选|required|optional)\)$")


def fold_header(cell: object) -> str:
    if cell is None:
        return ""
    text = "".join(unicodedata.normalize("NFKC", str(cell)).split()).lower()
    return _MARKERS.sub("", text)


@dataclass(frozen=True)
class Column:
    """One logical column of an import kind. `name` is the English header (DB column or the
    reference it resolves to); `labels` are Chinese headers, the first one shown in messages."""

    name: str
    labels: tuple[str, ...]
    required: bool = False
    aliases: tuple[str, ...] = ()

    @property
    def display(self) -> str:
        return self.labels[0] if self.labels else self.name

    def all_names(self) -> tuple[str, ...]:
        return (*self.labels, self.name, *self.aliases)


@dataclass
class HeaderMap:
    """Where each canonical column sits in the file (several headers may feed one column)."""

    headers: list[str]
    positions: dict[str, list[int]] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)
    # (first position, repeated position) of headers naming a column already named
    duplicates: list[tuple[int, int]] = field(default_factory=list)

    @property
    def present(self) -> frozenset[str]:
        return frozenset(self.positions)


def alias_table(columns: Sequence[Column]) -> dict[str, str]:
    table: dict[str, str] = {}
    for col in columns:
        for name in col.all_names():
            key = fold_header(name)
            if table.get(key, col.name) != col.name:
                raise ValueError(f"header alias {name!r} maps to both {table[key]} and {col.name}")
            table[key] = col.name
    return table


def map_headers(headers: Sequence[object], aliases: dict[str, str]) -> HeaderMap:
    shown = ["" if h is None else str(h).strip() for h in headers]
    hm = HeaderMap(headers=shown)
    for i, cell in enumerate(headers):
        key = fold_header(cell)
        if not key:
            continue
        name = aliases.get(key)
        if name is None:
            hm.ignored.append(shown[i])
        else:
            seen = hm.positions.setdefault(name, [])
            if any(fold_header(headers[j]) == key for j in seen):
                hm.duplicates.append((seen[0], i))
            seen.append(i)
    return hm


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA (as a spreadsheet shows it)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def recognised(cells: Sequence[object], aliases: dict[str, str]) -> int:
    """How many distinct columns a candidate header row names (to find it below title rows)."""
    return len({aliases[k] for k in map(fold_header, cells) if k in aliases})
