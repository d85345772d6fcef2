"""Checks on a file's header row before any data row is read: which import kind it is (asked
for, or recognised), repeated headers, missing required columns; and the file's digest."""

from __future__ import annotations

import hashlib
from typing import IO, Any

from service.ingest import detect
from service.ingest.headers import HeaderMap, column_letter
from service.ingest.kinds import Kind
from service.ingest.readers import FileProblem
from service.ingest.row import RowError
from service.ingest.schemas import ImportReport, Notice


def file_sha256(raw: IO[bytes]) -> str:
    digest = hashlib.sha256()
    raw.seek(0)
    while chunk := raw.read(1 << 20):
        digest.update(chunk)
    raw.seek(0)
    return digest.hexdigest()


def choose_kind(
    kinds: dict[str, Kind], spec: Kind | None, headers: list[Any], report: ImportReport
) -> Kind:
    """The kind asked for, or the one the header row shows (named in the report)."""
    found = detect.detect(kinds, headers)
    # a pairing table sent as `partnerships` fits both; the richer reading wins
    richer = found is not None and spec is not None and (spec.name, found.name) in detect.READ_AS
    if spec is not None and detect.fits(spec, headers) and not richer:
        return spec
    if spec is None:
        if found is None:
            raise FileProblem(
                "无法从表头识别导入类型，请指定类型（可选："
                + "、".join(f"{k.name}（{k.label}）" for k in kinds.values())
                + "）",
                "unknown_kind",
            )
        report.detected_kind = found.name
        report.notices.append(
            Notice(row=None, message=f"按表头识别为「{found.label}」（{found.name}）")
        )
        return found
    if found is not None and (spec.name, found.name) in detect.READ_AS:
        report.detected_kind = found.name
        report.notices.append(
            Notice(
                row=None,
                message=f"文件是「{found.label}」，已按 {found.name} 读取（而不是 {spec.name}）",
            )
        )
        return found
    if found is not None and found.name != spec.name:
        raise FileProblem(
            f"表头不是「{spec.label}」（{spec.name}）的格式，而是「{found.label}」，"
            f"请选择导入类型 {found.name}",
            "wrong_kind",
        )
    return spec  # missing columns are reported one by one


def duplicate_headers(hm: HeaderMap, header_row: int) -> list[RowError]:
    errors = []
    for first, again in hm.duplicates:
        a, b = column_letter(first), column_letter(again)
        text = hm.headers[again]
        errors.append(
            RowError(
                header_row,
                f"{a}列、{b}列",
                text,
                f"表头重复：{a}列与{b}列都是「{text}」，请删除或改名其中一列",
                "duplicate_header",
            )
        )
    return errors


def missing_columns(spec: Kind, hm: HeaderMap, header_row: int) -> list[RowError]:
    errors = []
    for col in spec.required:
        if col.name not in hm.positions:
            names = "、".join((*col.labels[:4], col.name))
            errors.append(
                RowError(
                    header_row,
                    col.display,
                    None,
                    f"缺少必填列「{col.display}」（可用列名：{names}）",
                    "missing_column",
                )
            )
    for group in spec.one_of:
        if not any(name in hm.positions for name in group):
            shown = " / ".join(spec.by_name[n].display for n in group)
            errors.append(
                RowError(
                    header_row, shown, None, f"缺少列：{shown}（至少需要其一）", "missing_column"
                )
            )
    return errors
