"""Streaming writers: one row in, one row out, nothing kept (CSV in any encoding, JSONL, XLSX)."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any, Protocol

from service.sample.formats import FileSpec

Row = dict[str, Any]


class Sink(Protocol):
    path: Path
    count: int

    def write(self, row: Row) -> None: ...

    def close(self) -> None: ...


def _cell(value: Any, sep: str) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return sep.join(str(v) for v in value)
    return str(value)


class CsvSink:
    def __init__(self, path: Path, spec: FileSpec) -> None:
        self.path, self.spec, self.count = path, spec, 0
        # utf-8-sig: what Excel writes (and needs to open it); gbk: what older Excel exports are.
        self._f = path.open("w", encoding=spec.encoding, newline="", errors="strict")
        self._w = csv.writer(self._f, lineterminator="\r\n" if spec.crlf else "\n")
        for line in spec.preamble:
            self._w.writerow([line])
        self._w.writerow(spec.headers)

    def write(self, row: Row) -> None:
        self._w.writerow([_cell(row.get(f), self.spec.list_sep) for f in self.spec.fields])
        self.count += 1

    def close(self) -> None:
        self._f.close()


class JsonlSink:
    def __init__(self, path: Path, spec: FileSpec) -> None:
        self.path, self.spec, self.count = path, spec, 0
        self._f = path.open("w", encoding="utf-8", newline="\n")

    def write(self, row: Row) -> None:
        obj = {
            h: row.get(f)
            for f, h in zip(self.spec.fields, self.spec.headers, strict=True)
            if row.get(f) is not None
        }
        self._f.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")
        self.count += 1

    def close(self) -> None:
        self._f.close()


class XlsxSink:
    """openpyxl's write-only mode streams rows to a temporary file, so memory stays flat."""

    def __init__(self, path: Path, spec: FileSpec) -> None:
        from openpyxl import Workbook

        self.path, self.spec, self.count = path, spec, 0
        self._wb = Workbook(write_only=True)
        # Fixed metadata so the workbook's content does not depend on when it was made.
        self._wb.properties.creator = "xiaoqi sample"
        self._wb.properties.created = self._wb.properties.modified = dt.datetime(2025, 1, 1)
        self._ws = self._wb.create_sheet(spec.sheet or "Sheet1")
        self._ws.append(list(spec.headers))

    def write(self, row: Row) -> None:
        self._ws.append([_cell(row.get(f), self.spec.list_sep) for f in self.spec.fields])
        self.count += 1

    def close(self) -> None:
        self._wb.save(self.path)


def open_sink(out_dir: Path, spec: FileSpec) -> Sink:
    path = out_dir / spec.filename
    if spec.format == "csv":
        return CsvSink(path, spec)
    if spec.format == "jsonl":
        return JsonlSink(path, spec)
    return XlsxSink(path, spec)
