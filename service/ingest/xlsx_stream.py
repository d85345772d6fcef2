"""The bounded primitives of the XLSX reader (xlsx.py): the limits, one byte budget over all
zip members, members read in counted chunks, and expat parsers that refuse a DTD."""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from xml.parsers import expat

CHUNK = 1 << 16
MAX_MEMBERS = 10_000
MAX_MERGES = 200_000
META_MAX_BYTES = 16 << 20  # workbook.xml, rels, styles: small files in any real workbook


@dataclass(frozen=True)
class Limits:
    """Budgets for one file (see Settings.import_*)."""

    max_bytes: int = 200 << 20  # uncompressed bytes (all zip members together; text files)
    max_rows: int = 1_000_000
    max_columns: int = 200
    max_cell_chars: int = 128 << 10
    max_shared_strings: int = 5_000_000


class XlsxProblem(Exception):
    def __init__(self, reason: str, code: str, row: int | None = None) -> None:
        super().__init__(reason)
        self.reason, self.code, self.row = reason, code, row


def megabytes(n: int) -> str:
    return f"{n / (1 << 20):.0f} MB"


class ByteBudget:
    """Uncompressed bytes inflated from the members so far, against the limit (a member read
    twice, like the sheet, counts once: by the longer read)."""

    def __init__(self, limit: int) -> None:
        self.limit, self.used = limit, 0
        self.read: dict[str, int] = {}

    def take(self, name: str, total: int) -> None:
        before = self.read.get(name, 0)
        if total <= before:
            return
        self.read[name] = total
        self.used += total - before
        if self.used > self.limit:
            raise XlsxProblem(
                f"工作簿解压后超过 {megabytes(self.limit)}（上限），可能是压缩炸弹，已拒绝",
                "too_large",
            )


def member_chunks(
    zf: zipfile.ZipFile, name: str, budget: ByteBudget, cap: int | None = None
) -> Iterator[bytes]:
    try:
        with zf.open(name) as member:
            read = 0
            while chunk := member.read(CHUNK):
                read += len(chunk)
                budget.take(name, read)
                if cap is not None and read > cap:
                    raise XlsxProblem(f"工作簿部件 {name} 过大", "too_large")
                yield chunk
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
        # a CRC or size that does not match the directory, a corrupt or unknown compression
        raise XlsxProblem(f"工作簿已损坏（{name}：{type(exc).__name__}）", "bad_xlsx") from exc


def safe_parser() -> Any:
    p = expat.ParserCreate()
    p.buffer_text = True

    def refuse(*_: Any) -> None:
        raise XlsxProblem("工作簿含有 DTD/实体声明，已拒绝", "bad_xlsx")

    p.StartDoctypeDeclHandler = refuse
    p.EntityDeclHandler = refuse
    return p


def feed(
    p: Any, chunks: Iterator[bytes], after_chunk: Callable[[], Iterator[Any]] | None = None
) -> Iterator[Any]:
    try:
        for chunk in chunks:
            p.Parse(chunk, False)
            if after_chunk is not None:
                yield from after_chunk()
        p.Parse(b"", True)
        if after_chunk is not None:
            yield from after_chunk()
    except expat.ExpatError as exc:
        raise XlsxProblem(f"工作簿 XML 无法解析（{exc}）", "bad_xlsx") from exc


def local_name(name: str) -> str:
    return name.rsplit(":", 1)[-1]


def attributes(
    zf: zipfile.ZipFile, name: str, budget: ByteBudget, tags: set[str]
) -> list[tuple[str, dict[str, str]]]:
    """(tag, attributes) of every element named in `tags`, in document order (small parts)."""
    out: list[tuple[str, dict[str, str]]] = []
    p = safe_parser()
    p.StartElementHandler = lambda tag, attrs: (
        out.append((local_name(tag), attrs)) if local_name(tag) in tags else None
    )
    for _ in feed(p, member_chunks(zf, name, budget, META_MAX_BYTES)):
        pass
    return out
