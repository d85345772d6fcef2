"""The region's partnerships as the Annex-1 table of seed 002 (附件1 各地（校）结对包联情况汇总表):
title, 填报单位 line, the eight headers, one row per pair, unit and unit-contact cells merged
down over the unit's rows. Built from what the pairing import stores, so importing the export
changes nothing: the 【需求】, 【政策和举措】, 【推进情况】, 【完成时限】 sections
of `progress` go back to their columns; contacts come from the contact fields, only where
the policy shows them."""

from __future__ import annotations

import re
from typing import Any

import psycopg

from service.auth import policy, targets
from service.errors import InvalidInput
from service.exports import repository as repo
from service.exports.writer import Format, write_table
from service.ingest.pairing import COLUMNS, SECTIONS

TITLE = "各地（校）结对包联情况汇总表"
HEADERS = tuple(c.labels[0] for c in COLUMNS)  # the eight headers as printed in Annex 1
_SECTION = re.compile(r"【([^】]+)】(.*?)(?=\n【|\Z)", re.S)
_LABEL_TO_COLUMN = {label: col for col, label in SECTIONS}
_ORDER = [c.name for c in COLUMNS]  # unit, counterpart, counterpart_contact, unit_contact, ...


def filing_line(unit: str = "_____") -> str:
    return f"填报单位：{unit}（公章）        填报人及联系方式：_____"


def sections(progress: str) -> dict[str, str]:
    """`progress` back into the table's text columns (free text: 工作推进情况)."""
    found = {
        _LABEL_TO_COLUMN[m.group(1)]: m.group(2).strip()
        for m in _SECTION.finditer(progress or "")
        if m.group(1) in _LABEL_TO_COLUMN
    }
    if not found and (progress or "").strip():
        found["progress"] = progress.strip()
    return found


def table(
    conn: psycopg.Connection[Any], actor: Any, region_code: str | None, fmt: Format
) -> tuple[bytes, str]:
    """(file bytes, file name) of the Annex-1 table for a region (None: the province)."""
    path, unit_name = None, "河南省"
    if region_code:
        found = repo.region(conn, region_code)
        if found is None:
            problem = {"row": None, "column": "region", "reason": f"未知地区代码「{region_code}」"}
            raise InvalidInput(f"未知地区代码「{region_code}」", errors=[problem])
        path, unit_name = found["path"], found["name"]
    rows = repo.pairing_rows(conn, path)
    nodes = {(r["a_type"], r["a_id"]) for r in rows} | {(r["b_type"], r["b_id"]) for r in rows}
    scopes = targets.of_rows(conn, list(nodes)) if rows else {}
    out: list[list[Any]] = []
    for r in sorted(rows, key=_unit_order):
        unit_side = "a" if r["a_type"] in repo.UNIT_TYPES else "b"
        other = "b" if unit_side == "a" else "a"
        a, b = (r["a_type"], r["a_id"]), (r["b_type"], r["b_id"])
        target = scopes[a].merged(scopes[b])
        show = policy.allowed(actor, "contacts.read", target)
        values = {
            "unit": r[f"{unit_side}_name"],
            "counterpart": r[f"{other}_name"],
            "counterpart_contact": r[f"{other}_contact"] if show else None,
            "unit_contact": r[f"{unit_side}_contact"] if show else None,
            **sections(r["progress"]),
        }
        out.append([values.get(col) for col in _ORDER])
    content = write_table(
        fmt,
        HEADERS,
        out,
        title=TITLE,
        lines=[filing_line(unit_name)],
        merge_down=(0, 3),
        sheet="结对包联情况汇总表",
        widths=(24, 28, 22, 22, 30, 24, 24, 14),
    )
    return content, f"结对包联情况汇总表-{region_code or '全省'}.{fmt}"


def _unit_order(r: dict[str, Any]) -> tuple[str, str, int]:
    unit_side = "a" if r["a_type"] in repo.UNIT_TYPES else "b"
    return (r[f"{unit_side}_type"], r[f"{unit_side}_name"] or "", r["id"])
