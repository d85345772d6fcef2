"""Plans and cohort assignments as XLSX (openpyxl, one small writer until service/exports/
lands). Cells a spreadsheet would run as a formula (= + - @, and tab / CR lead-ins) are
neutralised with a leading apostrophe: names come from user data."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

from openpyxl import Workbook

_FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_LEADS):
        return "'" + value
    return value


def xlsx(sheets: Iterable[tuple[str, Sequence[str], Iterable[Sequence[Any]]]]) -> bytes:
    """Workbook bytes: one sheet per (title, header, rows)."""
    wb = Workbook()
    wb.remove(wb.active)
    for title, header, rows in sheets:
        ws = wb.create_sheet(title[:31])
        ws.append(list(header))
        for row in rows:
            ws.append([safe_cell(v) for v in row])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def plan_workbook(plan: dict[str, Any]) -> bytes:
    """The plan's pairs, its coverage before/after against the quotas, and its shortfalls."""
    summary = plan["summary"]
    pairs = [
        (
            it["school_name"],
            it["programme_name"],
            it["enterprise_name"],
            it["industry"],
            round(float(it["fit"]), 4),
            it["status"],
        )  # fmt: skip
        for it in plan["items"]
    ]
    cover = [
        (
            c["region_name"],
            c["industry"],
            c["industry_name"],
            c["before"],
            c["after"],
            c["min"],
            c["max"],
        )  # fmt: skip
        for c in summary.get("coverage", [])
    ]
    short = [(s["kind"], s["subject_name"], s["message"]) for s in summary.get("shortfalls", [])]
    return xlsx(
        [
            ("结对方案", ["学校", "专业", "企业", "主导产业", "匹配度", "状态"], pairs),
            ("覆盖情况", ["地区", "产业键", "产业", "现有", "方案后", "下限", "上限"], cover),
            ("配额缺口", ["类型", "对象", "说明"], short),
        ]
    )


def cohort_workbook(view: dict[str, Any]) -> bytes:
    rows = [
        (
            a["student_name"],
            a["subject"],
            a["mentor_name"],
            round(float(a["fit"]), 4),
            a["meetings"],
            "是" if a["meetings"] >= view["min_meetings"] else "否",
        )  # fmt: skip
        for a in view["assignments"]
    ]
    return xlsx([("导师分配", ["学生", "学科", "导师", "匹配度", "见面次数", "达标"], rows)])
