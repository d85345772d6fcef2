"""The Annex-1 pairing table of seed 002 (附件1 各地（校）结对包联情况汇总表)."""

from __future__ import annotations

from pathlib import Path

import psycopg

from service.ingest import import_file
from service.ingest.pairing import need_kind, need_title
from tests.service.ingest.conftest import (
    add_bureau,
    add_enterprise,
    add_park,
    add_school,
    credit_codes,
    versions,
)

# The header as extracted from the PDF of seed 002 (tab-separated, with its stray spaces).
HEADER = (
    "教育行政部门 (学校)\t包联产业园区 (企业) 名称\t产业园区 (企业)联系人及联系 方式\t"
    "教育行政部 门(学校) 包保负责人 及联系方式\t产业园区 (企业) 需求\t出台政策和 工作举措\t"
    "工作推进情况\t完成时限"
)


def _table(rows: list[list[str]]) -> str:
    lines = [
        "附件 1",
        "",
        "各地（校）结对包联情况汇总表",
        "",
        "填报单位：_____ (公章) 填报人及联系方式：_____",
        "",
        HEADER,
    ]
    return "\n".join(lines + ["\t".join(r) for r in rows]) + "\n"


def test_seed_header_is_recognised_and_rows_import(conn: psycopg.Connection, files: Path) -> None:
    add_bureau(conn)
    add_park(conn)
    add_school(conn)
    code = credit_codes(1, seed=30)[0]
    ent = add_enterprise(conn, code, "郑州丙智能装备有限公司")
    path = files / "pairing.txt"
    path.write_bytes(
        _table(
            [
                [
                    "郑州市教育局",
                    "郑州经济技术开发区",
                    "王主任 13800000000",
                    "李科长 0371-1234567",
                    "急需智能制造技能人才",
                    "出台校企合作十条",
                    "已签订协议",
                    "2025年12月31日",
                ],
                [
                    "郑州大学",
                    "郑州丙智能装备有限公司、郑州经济技术开发区",
                    "",
                    "",
                    "焊接机器人工艺攻关；共建实训基地",
                    "",
                    "对接中",
                    "2026年6月",
                ],
            ]
        ).encode("gbk")
    )
    before = versions(conn)
    report = import_file(conn, path, "pairing.txt", "pairing-table")
    assert report.committed, report.errors
    assert report.header_row == 7 and report.total == 2
    assert report.tables["partnerships"].inserted == 3
    assert report.tables["needs"].inserted == 1
    need = conn.execute("SELECT enterprise_id, kind, title, deadline FROM needs").fetchone()
    assert need["enterprise_id"] == ent and need["kind"] == "technology"
    assert need["title"] == "焊接机器人工艺攻关" and str(need["deadline"]) == "2026-06-30"
    park_pair = conn.execute(
        "SELECT progress, a_contact, b_contact FROM partnerships"
        " WHERE a_type = 'bureau' AND b_type = 'park'"
    ).fetchone()
    assert "【需求】急需智能制造技能人才" in park_pair["progress"]
    # contacts are fields (issue 10), never inside the free text: b is the park (counterpart)
    assert park_pair["b_contact"] == "王主任 13800000000"
    assert "13800000000" not in park_pair["progress"] and "联系人" not in park_pair["progress"]
    mid = versions(conn)
    assert mid["partnership"] > before.get("partnership", 0)
    again = import_file(conn, path, "pairing.txt", "pairing-table")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 4)
    assert versions(conn) == mid


def test_unknown_names_are_row_errors(conn: psycopg.Connection, files: Path) -> None:
    add_bureau(conn)
    path = files / "p.csv"
    path.write_text(
        _table(
            [
                ["郑州市教育局", "不存在的园区", "", "", "", "", "", ""],
                ["某县教育局", "郑州市教育局", "", "", "", "", "", ""],
            ]
        ),
        encoding="utf-8",
    )
    report = import_file(conn, path, "p.csv", "pairing-table")
    assert not report.committed
    assert [(e.row, e.column, e.value) for e in report.errors] == [
        (8, "包联产业园区 (企业) 名称", "不存在的园区"),
        (9, "教育行政部门 (学校)", "某县教育局"),
        (9, "包联产业园区 (企业) 名称", "郑州市教育局"),
    ]
    assert conn.execute("SELECT count(*) AS n FROM partnerships").fetchone()["n"] == 0


def test_need_heuristics() -> None:
    assert need_kind("员工培训与技能提升") == "training"
    assert need_kind("引进技术人才") == "talent"
    assert need_kind("共建实习实训基地") == "practice_base"
    assert need_title("急需数控人才。另需培训") == "急需数控人才"
    assert len(need_title("长" * 100)) == 60
