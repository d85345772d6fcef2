"""Blank import templates in the official layouts (the pairing table: Annex 1 of seed 002)."""

from __future__ import annotations

from service.exports import pairing
from service.exports.writer import Format, write_table
from service.ingest.kinds import Kind


def template(kind: Kind, fmt: Format) -> tuple[bytes, str]:
    if kind.name == "pairing-table":
        content = write_table(
            fmt,
            pairing.HEADERS,
            [],
            title=pairing.TITLE,
            lines=[pairing.filing_line()],
            sheet="结对包联情况汇总表",
            widths=(24, 28, 22, 22, 30, 24, 24, 14),
        )
        return content, f"附件1-{pairing.TITLE}-模板.{fmt}"
    headers = [c.display for c in kind.columns]
    note = "必填列：" + "、".join(c.display for c in kind.required) if kind.required else ""
    content = write_table(
        fmt,
        headers,
        [],
        title=f"{kind.label}导入模板",
        lines=[note] if note else [],
        sheet=kind.label,
    )
    return content, f"{kind.label}导入模板.{fmt}"
