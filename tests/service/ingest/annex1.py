"""Annex-1 (附件1 各地（校）结对包联情况汇总表) sheets as a city bureau fills them in Excel."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import psycopg

from tests.service.ingest.conftest import (
    add_bureau,
    add_enterprise,
    add_park,
    add_school,
    credit_codes,
)

# The eight headers as printed in seed 002 (with the PDF's stray spaces), and as a bureau
# types them in Excel: line breaks inside the cells.
SEED_HEADERS = (
    "教育行政部门 (学校)",
    "包联产业园区 (企业) 名称",
    "产业园区 (企业)联系人及联系 方式",
    "教育行政部 门(学校) 包保负责人 及联系方式",
    "产业园区 (企业) 需求",
    "出台政策和 工作举措",
    "工作推进情况",
    "完成时限",
)
EXCEL_HEADERS = tuple(h.replace(" ", "\n", 1) for h in SEED_HEADERS)


def world(conn: psycopg.Connection) -> dict[str, int]:
    """A bureau, two parks, a school and three enterprises (one with full-width brackets)."""
    codes = credit_codes(3, seed=77)
    return {
        "bureau": add_bureau(conn),
        "park1": add_park(conn, "郑州经济技术开发区"),
        "park2": add_park(conn, "郑州航空港经济综合实验区"),
        "school": add_school(conn),
        "ent1": add_enterprise(conn, codes[0], "郑州丙智能装备有限公司"),
        "ent2": add_enterprise(conn, codes[1], "河南（郑州）精密机械有限公司"),
        "ent3": add_enterprise(conn, codes[2], "郑州丁新材料有限公司"),
    }


# (unit, counterpart, counterpart contact, need, progress); the unit and the unit's contact are
# written once per unit and merged down over its rows, as bureaus do.
PAIRS = (
    (
        "郑州市教育局",
        "郑州经济技术开发区",
        "王主任 13800000001",
        "急需智能制造技能人才",
        "已签订协议",
    ),
    ("郑州市教育局", "郑州航空港经济综合实验区", "赵主任 13800000002", "电子信息人才", "对接中"),
    ("郑州大学", " 郑州丙智能装备有限公司 ", "钱经理 13900000003", "焊接机器人工艺攻关", "已立项"),
    ("郑州大学", "河南(郑州)精密机械有限公司", "孙经理 13900000004", "共建实训基地", "对接中"),
    ("郑州大学", "郑州丁新材料有限公司", "", "员工培训", "已完成"),
)
UNIT_CONTACT = {"郑州市教育局": "李科长 0371-1234567", "郑州大学": "周老师 0371-7654321"}


def merged_sheet(path: Path, pairs: tuple[tuple[str, ...], ...] = PAIRS) -> Path:
    """Title (merged across), 填报单位 line, header with line breaks, unit and unit-contact cells
    merged down over their counterparts, a blank row, a 注： footnote and a 合计 row."""
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["附件1"])
    ws.append(["各地（校）结对包联情况汇总表"])
    ws.merge_cells("A2:H2")
    ws.append(["填报单位：郑州市教育局（公章）      填报人及联系方式：李科长 0371-1234567"])
    ws.merge_cells("A3:H3")
    ws.append(list(EXCEL_HEADERS))
    row = 5
    start = row
    for i, (unit, cp, cp_contact, need, progress) in enumerate(pairs):
        first = i == 0 or pairs[i - 1][0] != unit
        ws.cell(row, 1, unit if first else None)
        ws.cell(row, 2, cp)
        ws.cell(row, 3, cp_contact or None)
        ws.cell(row, 4, UNIT_CONTACT.get(unit) if first else None)
        ws.cell(row, 5, need)
        ws.cell(row, 7, progress)
        ws.cell(row, 8, "2026年6月")
        last = i == len(pairs) - 1 or pairs[i + 1][0] != unit
        if last:
            if row > start:
                ws.merge_cells(start_row=start, start_column=1, end_row=row, end_column=1)
                ws.merge_cells(start_row=start, start_column=4, end_row=row, end_column=4)
            start = row + 1
        row += 1
    row += 1  # a blank row before the notes
    ws.cell(row, 1, "注：1. 包联产业园区（企业）名称请填写全称；")
    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=8)
    ws.cell(row + 1, 1, "2. 联系方式请填写手机号码。")
    ws.cell(row + 2, 1, "合计")
    ws.cell(row + 2, 2, f"{len(pairs)} 个")
    wb.save(path)
    return path
