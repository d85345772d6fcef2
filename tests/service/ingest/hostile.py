"""Hostile workbooks for the reader tests: zip bombs (honest and lying directories), wide and long
rows, and a way to measure a refusal's time and peak memory."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import openpyxl

SHEET = "xl/worksheets/sheet1.xml"
_ROW = b'<row><c t="inlineStr"><is><t>' + b"A" * 100 + b"</t></is></c></row>"
_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    b'<row r="1"><c r="A1" t="inlineStr"><is><t>\xe4\xbc\x81\xe4\xb8\x9a\xe5\x90\x8d\xe7\xa7\xb0'
    b"</t></is></c></row>"
)
_TAIL = b"</sheetData></worksheet>"


def _skeleton() -> dict[str, bytes]:
    """The parts of a real one-sheet workbook (made by openpyxl)."""
    wb = openpyxl.Workbook()
    buf = io.BytesIO()
    wb.save(buf)
    with zipfile.ZipFile(buf) as z:
        return {n: z.read(n) for n in z.namelist()}


def workbook(path: Path, sheet_xml: bytes) -> Path:
    parts = _skeleton()
    parts[SHEET] = sheet_xml
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return path


def bomb(path: Path, expanded: int) -> Path:
    """A workbook whose sheet XML inflates to about `expanded` bytes (ratio ~100:1)."""
    parts = _skeleton()
    block = _ROW * 10_000
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for name, data in parts.items():
            if name != SHEET:
                z.writestr(name, data)
        with z.open(SHEET, "w", force_zip64=True) as f:
            f.write(_HEAD)
            written = 0
            while written < expanded:
                f.write(block)
                written += len(block)
            f.write(_TAIL)
    return path


def lying_bomb(path: Path, expanded: int, declared: int) -> Path:
    """Like `bomb`, but the zip directory claims the sheet is only `declared` bytes."""
    parts = _skeleton()
    block = _ROW * 10_000
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for name, data in parts.items():
            if name != SHEET:
                z.writestr(name, data)
        body = _HEAD + block * (expanded // len(block) + 1) + _TAIL
        z.writestr(SHEET, body)
        del body
    data = bytearray(path.read_bytes())
    name = SHEET.encode()
    # local header: size at +22; central directory: size at +24 (32-bit fields, no zip64)
    local = data.find(b"PK\x03\x04")
    while local != -1:
        n = struct.unpack_from("<H", data, local + 26)[0]
        if data[local + 30 : local + 30 + n] == name:
            struct.pack_into("<I", data, local + 22, declared)
        local = data.find(b"PK\x03\x04", local + 4)
    central = data.find(b"PK\x01\x02")
    while central != -1:
        n = struct.unpack_from("<H", data, central + 28)[0]
        if data[central + 46 : central + 46 + n] == name:
            struct.pack_into("<I", data, central + 24, declared)
        central = data.find(b"PK\x01\x02", central + 4)
    path.write_bytes(bytes(data))
    return path


def peak_rss_reset() -> None:
    """Reset this process's peak RSS (Linux: VmHWM) so the next reading covers what follows."""
    Path("/proc/self/clear_refs").write_text("5")


def rss_mib() -> tuple[float, float]:
    """(current, peak) resident memory of this process in MiB."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]
