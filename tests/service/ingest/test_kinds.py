"""Schools, programmes, parks, needs, mentors, practice bases and partnerships."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from service.ingest import KINDS, import_file
from service.ingest.headers import alias_table
from tests.service.ingest.conftest import (
    add_bureau,
    add_enterprise,
    add_park,
    add_school,
    credit_codes,
    write_csv,
    write_jsonl,
)


@pytest.mark.parametrize("kind", list(KINDS))
def test_alias_tables_are_unambiguous(kind: str) -> None:
    alias_table(KINDS[kind].columns)  # raises on an alias naming two columns


def test_schools_and_programmes(conn: psycopg.Connection, files: Path) -> None:
    schools = write_csv(
        files / "s.csv",
        [
            ["学校代码", "学校名称", "办学类型", "所在地区", "标签"],
            ["4141010459", "测试大学", "本科", "郑州市", "双一流；省重点"],
            ["4141012345", "测试职业学院", "专科", "410105", "双高"],
        ],
    )
    report = import_file(conn, schools, "s.csv", "schools")
    assert report.committed and report.inserted == 2, report.errors
    kinds = {r["name"]: r["kind"] for r in conn.execute("SELECT name, kind FROM schools")}
    assert kinds == {"测试大学": "本科", "测试职业学院": "高职专科"}
    progs = write_csv(
        files / "p.csv",
        [
            ["学校", "专业代码", "专业名称", "服务产业", "可对接企业数"],
            ["测试大学", "080901", "", "I65", "5"],
            ["4141012345", "460104", "", "C34", ""],
            ["测试大学", "080999", "不存在的专业", "", ""],
            ["测试大学", "0809", "", "", "三"],
            ["未知大学", "080901", "", "", ""],
        ],
    )
    report = import_file(conn, progs, "p.csv", "programmes")
    assert not report.committed
    assert [(e.row, e.column, e.code) for e in report.errors] == [
        (4, "专业代码", "major_code"),
        (5, "专业代码", "major_code"),
        (5, "可对接企业数", "invalid"),
        (6, "学校", "reference"),
    ]
    report = import_file(conn, progs, "p.csv", "programmes", skip_invalid=True)
    assert report.committed and report.inserted == 2
    got = conn.execute(
        "SELECT major_code, name, level, capacity FROM programmes ORDER BY 1"
    ).fetchall()
    assert got[0] == {
        "major_code": "080901",
        "name": "计算机科学与技术",
        "level": "本科",
        "capacity": 5,
    }
    assert got[1]["level"] == "高职专科" and got[1]["capacity"] == 3


def test_parks_needs_mentors_bases(conn: psycopg.Connection, files: Path) -> None:
    add_school(conn)
    code_a, code_b = credit_codes(2, seed=20)
    add_enterprise(conn, code_a, "郑州甲科技有限公司")
    add_enterprise(conn, code_b, "郑州乙制造有限公司")
    parks = write_jsonl(
        files / "parks.jsonl",
        [
            {
                "园区名称": "郑州航空港经济综合实验区",
                "所在地区": "河南省郑州市",
                "主导产业": ["C39", "G56"],
            },
            {"园区名称": "金水科教园区", "所在地区": "金水区"},
        ],
    )
    report = import_file(conn, parks, "parks.jsonl", "parks")
    assert report.committed and report.inserted == 2, report.errors

    needs = write_csv(
        files / "n.csv",
        [
            ["企业", "需求类型", "需求标题", "需求人数", "截止日期"],
            [code_a, "人才", "招聘嵌入式工程师", "5", "2025年12月31日"],
            ["郑州乙制造有限公司", "技术攻关", "焊接工艺改进", "", "2026-06"],
            ["郑州乙制造有限公司", "实践基地", "共建实训基地", "十", "明年"],
        ],
    )
    report = import_file(conn, needs, "n.csv", "needs")
    assert [(e.row, e.column) for e in report.errors] == [(4, "需求人数"), (4, "截止日期")]
    report = import_file(conn, needs, "n.csv", "needs", skip_invalid=True)
    assert report.inserted == 2
    got = {
        r["title"]: r for r in conn.execute("SELECT title, kind, headcount, deadline FROM needs")
    }
    assert got["焊接工艺改进"]["kind"] == "technology"
    assert str(got["焊接工艺改进"]["deadline"]) == "2026-06-30"
    assert got["招聘嵌入式工程师"]["headcount"] == 5

    mentors = write_csv(
        files / "m.csv",
        [
            ["姓名", "导师类型", "所在单位", "研究方向", "邮箱"],
            ["王教授", "学术导师", "郑州大学", "人工智能、机器学习", "wang@zzu.edu.cn"],
            ["李工", "产业教授", code_b, "焊接", ""],
            ["赵老师", "产业教授", "郑州大学", "", ""],
        ],
    )
    report = import_file(conn, mentors, "m.csv", "mentors", skip_invalid=True)
    assert report.inserted == 2 and [e.row for e in report.errors] == [4]
    again = import_file(conn, mentors, "m.csv", "mentors", skip_invalid=True)
    assert (again.inserted, again.unchanged) == (0, 2)

    bases = write_csv(
        files / "b.csv",
        [
            ["基地名称", "依托单位", "每学期接纳人数"],
            ["甲科技实训基地", "郑州甲科技有限公司", "30"],
        ],
    )
    report = import_file(conn, bases, "b.csv", "practice-bases")
    assert report.committed and report.inserted == 1, report.errors
    base = conn.execute(
        "SELECT slots_per_term, region_id IS NOT NULL AS r FROM practice_bases"
    ).fetchone()
    assert base == {"slots_per_term": 30, "r": True}


def test_partnerships_generic(conn: psycopg.Connection, files: Path) -> None:
    add_bureau(conn)
    add_park(conn)
    add_school(conn)
    path = write_csv(
        files / "p.csv",
        [
            ["甲方", "乙方", "工作进展"],
            ["郑州市教育局", "郑州经济技术开发区", "已召开对接会"],
            ["郑州经济技术开发区", "郑州市教育局", "重复的一对"],
            ["郑州大学", "郑州大学", ""],
        ],
    )
    report = import_file(conn, path, "p.csv", "partnerships")
    assert sorted((e.row, e.code) for e in report.errors) == [(3, "duplicate"), (4, "invalid")]
    report = import_file(conn, path, "p.csv", "partnerships", skip_invalid=True)
    assert report.inserted == 1
    row = conn.execute("SELECT a_type, b_type, kind, progress FROM partnerships").fetchone()
    assert row == {
        "a_type": "bureau",
        "b_type": "park",
        "kind": "结对包联",
        "progress": "已召开对接会",
    }
